"""Escalation documents as A4 HTML and PDF: the PDF reads back with the number, the
addressee, each item, the reply date, the quoted article, the issuer and the departments
copied; English with lang=en; the command line issues, lists and shows them."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.reports.escalation_letters import letter_html, render_letter, write_letters
from geoservice.workflow.escalation_docs import issue_documents, list_documents, read_document
from tests.support.builders import run_cli
from tests.support.workflow import workspace

DAY = date(2026, 11, 28)
LETTER = "镇林长办提〔2026〕1号"
LISTED = "镇林长办挂〔2026〕1号"
# Article 7 of the town's rules, word for word
ARTICLE_7 = "各村（居）要按时限要求将问题整改落实情况报镇林长办及相关部门。"


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """丰阳村 with a problem 3 days late (a letter) and one 40 days late (listed); 沙坪村
    with one 3 days late whose description holds markup."""
    ws = workspace(
        tmp_path_factory.mktemp("letters"),
        [
            {
                "问题编号": "DC-01",
                "整改期限": "2026-11-25",
                "问题描述": "林地内新建砖房一处",
                "抄送部门": "镇郊派出所、镇自然资源所",
            },
            {"问题编号": "DC-02", "整改期限": "2026-10-19", "问题描述": "松材线虫病枯死木未清理"},
            {
                "问题编号": "DC-03",
                "村名": "沙坪村",
                "整改期限": "2026-11-25",
                "问题描述": "<b>倾倒</b>建筑垃圾",
            },
        ],
    )
    issue_documents(ws, DAY, "office:张主任")
    return ws


def pdf_text(data: bytes) -> tuple[str, list[PdfReader]]:
    """The PDF's text without whitespace (lines wrap anywhere) and its pages."""
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", "", text), list(reader.pages)


@pytest.mark.slow
def test_the_pdf_reads_back_with_number_addressee_items_reply_date_and_basis(town, pdf_libraries):
    done = render_letter(town, None, LETTER, "pdf")
    text, pages = pdf_text(done.body)
    assert len(pages) == 1
    assert (round(float(pages[0].mediabox.width)), round(float(pages[0].mediabox.height))) == (
        595,
        842,
    )  # A4 in points
    for expected in (
        "提醒函",
        LETTER,
        "丰阳村：",
        "DC-01",
        "林地内新建砖房一处",
        "2026-11-25",
        "2026年12月8日前",  # reply within 10 days
        "第七条",
        ARTICLE_7,
        "2026年11月28日",
        "抄送：镇郊派出所、镇自然资源所",
    ):
        assert expected in text, expected
    assert "DC-02" not in text  # listed, in its own notice


@pytest.mark.slow
def test_the_listed_notice_says_what_is_required_and_by_when(town, pdf_libraries):
    text, _ = pdf_text(render_letter(town, None, LISTED, "pdf").body)
    assert "挂牌督办通知书" in text
    assert "DC-02" in text and "40" in text
    assert "制定整改方案" in text and "2026年12月3日前" in text


def test_the_english_document_is_in_english(town):
    html = render_letter(town, None, LETTER, "html", "en").body.decode("utf-8")
    assert "Reminder letter" in html
    assert "Article 7 of the Rules for Departmental Collaboration" in html
    assert "by 2026-12-08" in html
    assert "police station" in html.lower() or "police" in html.lower()
    assert "提醒函" not in html


def test_markup_in_a_description_is_printed_as_text(town):
    number = str(list_documents(town, village="沙坪村")["number"].iloc[0])
    html = letter_html(read_document(town, number))
    assert "&lt;b&gt;倾倒&lt;/b&gt;建筑垃圾" in html
    assert "<b>倾倒</b>" not in html


def test_file_names_carry_the_title_and_number_with_an_ascii_fallback(town):
    done = render_letter(town, None, LETTER, "html")
    assert (done.name, done.fallback) == (f"提醒函_{LETTER}.html", "escalation-letter-2026-1.html")
    assert done.media_type.startswith("text/html")


def test_a_format_other_than_pdf_or_html_is_refused_naming_it(town):
    with pytest.raises(OptionError, match=r"docx.*pdf or html"):
        render_letter(town, None, LETTER, "docx")


def test_another_villages_document_is_not_found_for_a_village(town):
    code = str(list_documents(town, village="沙坪村")["village_code"].iloc[0])
    other = Principal("v", "李四", "village", village_code=code)
    with pytest.raises(NotFoundError, match=re.escape(LETTER)):
        render_letter(town, other, LETTER, "html")


@pytest.mark.slow
def test_write_letters_writes_html_and_pdf_of_each_document(town, tmp_path, pdf_libraries):
    docs = [read_document(town, n) for n in (LETTER, LISTED)]
    written = write_letters(docs, tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        [
            f"提醒函_{LETTER}.html",
            f"提醒函_{LETTER}.pdf",
            f"挂牌督办通知书_{LISTED}.html",
            f"挂牌督办通知书_{LISTED}.pdf",
        ]
    )
    assert all(p.stat().st_size > 0 for p in written)


def test_write_letters_into_a_file_path_is_an_error_naming_it(town, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(OptionError, match=r"Cannot write into .*file"):
        write_letters([read_document(town, LETTER)], blocked / "sub")


# --- the command line ---------------------------------------------------------------------


def cli_town(tmp_path: Path) -> Path:
    ws = workspace(
        tmp_path,
        [
            {"问题编号": "DC-01", "整改期限": "2026-11-25"},
            {"问题编号": "DC-02", "村名": "沙坪村", "整改期限": "2026-10-19"},
        ],
    )
    return ws.path


@pytest.mark.slow
def test_cli_issue_writes_html_and_pdf_and_a_second_run_issues_nothing(tmp_path):
    path = cli_town(tmp_path)
    out = tmp_path / "docs"
    args = ("escalations", "issue", "--as-of", "2026-11-28", "--out", out, "-w", path)
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert LETTER in first.stdout and LISTED in first.stdout
    assert len(list(out.glob("*.pdf"))) == 2 and len(list(out.glob("*.html"))) == 2
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "没有需要新发的督办文书" in second.stdout
    assert len(list(out.iterdir())) == 4


@pytest.mark.slow
def test_cli_dry_run_lists_the_documents_and_writes_nothing(tmp_path):
    path = cli_town(tmp_path)
    out = tmp_path / "docs"
    res = run_cli(
        "escalations",
        "issue",
        "--as-of",
        "2026-11-28",
        "--dry-run",
        "--out",
        out,
        "-w",
        path,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [d["number"] for d in doc["documents"]] == [LETTER, LISTED]
    assert doc["files"] == [] and not out.exists()
    assert list_documents(Workspace(path)).empty


@pytest.mark.slow
def test_cli_list_and_show_read_the_issued_documents(tmp_path, pdf_libraries):
    path = cli_town(tmp_path)
    run_cli("escalations", "issue", "--as-of", "2026-11-28", "--out", tmp_path / "d", "-w", path)
    listed = json.loads(run_cli("escalations", "list", "-w", path, "--json").stdout)
    assert {d["number"] for d in listed["documents"]} == {LETTER, LISTED}
    shown = run_cli("escalations", "show", LISTED, "-w", path, "--out", tmp_path / "n.pdf")
    assert shown.returncode == 0, shown.stderr
    assert "DC-02" in shown.stdout and "沙坪村" in shown.stdout
    assert pdf_text((tmp_path / "n.pdf").read_bytes())[0].count(LISTED) >= 1


@pytest.mark.slow
def test_cli_show_of_an_unknown_number_exits_2_naming_it(tmp_path):
    path = cli_town(tmp_path)
    res = run_cli("escalations", "show", "镇林长办提〔2026〕7号", "-w", path)
    assert res.returncode == 2
    assert "镇林长办提〔2026〕7号" in res.stderr


def test_a_document_covering_patches_names_them_with_area_and_overdue_stage():
    item = {"number": "N", "level": "listed", "deadline": "2026-12-05", "description": None}
    doc = {
        "number": "镇林长办挂〔2027〕5号",
        "level": "listed",
        "year": 2027,
        "seq": 5,
        "village_code": "441882101214",
        "village_name": "下洞村",
        "issued_by": "office:张主任",
        "issued_at": "2027-01-31T02:00:00+00:00",
        "as_of": "2027-01-31",
        "reply_by": "2027-02-05",
        "cc_departments": [],
        "items": [
            {
                **item,
                "kind": "problem",
                "item_id": "DC-9",
                "days_overdue": 47,
                "category": "wildlife_crime",
                "description": "巡护发现猎套",
                "status": "in_progress",
                "area_ha": None,
            },
            {
                **item,
                "kind": "patch",
                "item_id": "44188220260015",
                "days_overdue": 57,
                "category": "illegal_logging",
                "status": "interpreted",
                "area_ha": 0.574,
            },
        ],
    }
    html = letter_html(doc)
    assert "你村下列 2 项问题和变化图斑长期逾期未办结" in html
    assert "变化图斑，盗伐滥伐林木，0.57 公顷；已判读阶段逾期" in html
    assert "抄送：无" in html
    english = letter_html(doc, "en")
    assert "change patch, illegal logging, 0.57 ha; stage interpreted overdue" in english


@pytest.mark.parametrize(
    ("kinds", "zh", "en"),
    [
        (["problem"], "1 项问题长期逾期未整改到位", "not rectified"),
        (["patch"], "1 项变化图斑长期逾期未办结", "not completed"),
        (["problem", "patch"], "2 项问题和变化图斑长期逾期未办结", "not completed"),
    ],
)
def test_the_intro_says_rectification_for_problems_and_completion_for_patches(kinds, zh, en):
    items = [
        {
            "number": "N",
            "level": "listed",
            "deadline": "2026-12-05",
            "kind": kind,
            "item_id": f"X-{i}",
            "days_overdue": 40,
            "category": "illegal_logging",
            "description": "林下采伐",
            "status": "dispatched" if kind == "patch" else "in_progress",
            "area_ha": 0.5 if kind == "patch" else None,
        }
        for i, kind in enumerate(kinds)
    ]
    doc = {
        "number": "镇林长办挂〔2027〕6号",
        "level": "listed",
        "year": 2027,
        "seq": 6,
        "village_code": "441882101214",
        "village_name": "下洞村",
        "issued_by": "office:张主任",
        "issued_at": "2027-01-31T02:00:00+00:00",
        "as_of": "2027-01-31",
        "reply_by": "2027-02-05",
        "cc_departments": [],
        "items": items,
    }
    assert zh in letter_html(doc)
    assert en in letter_html(doc, "en")
