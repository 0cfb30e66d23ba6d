"""The joint-enforcement work order (联合执法任务书) of the sample town's targets: the PDF
reads back with the target id, the lead department and the legal citation, the HTML holds
the map, the reporter's phone is for the office only, and the command line writes them."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from geoservice.analysis.rules import load_rules
from geoservice.analysis.thresholds import cite
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.reports.dossier import (
    build_dossier,
    load_weasyprint,
    write_all_dossiers,
    write_dossier,
)
from geoservice.reports.dossier_data import dossier_facts
from geoservice.reports.dossier_threshold import applicable_threshold, threshold_citation
from tests.conftest import require_program
from tests.support.builders import run_cli, run_demo, write_shp, xiaoban
from tests.support.files import copy_workspace

ROOT = Path(__file__).resolve().parents[3]
PHONE = "138****5678"
ISSUED = date(2026, 12, 1)
RULES = load_rules()
POLICE = Principal("u1", "民警", "department", department="police")


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The analysed sample town; the first complaint behind the first target the police
    station is on carries a reporter's phone, as a complaint sent over the web does."""
    path = run_demo(tmp_path_factory.mktemp("dossier-town"))
    ws = Workspace(path)
    targets = ws.read("targets", read_geometry=False)
    on = targets["lead_department"].eq("police") | targets["cooperating_departments"].str.contains(
        "police"
    )
    target_id = str(targets.loc[on, "target_id"].iloc[0])
    complaint = str(dossier_facts(ws, None, target_id, "zh").complaints["complaint_id"].iloc[0])
    with ws.sql_transaction("test") as con:
        con.execute("ALTER TABLE complaints ADD COLUMN reporter_phone_masked TEXT")
        con.execute(
            "UPDATE complaints SET reporter_phone_masked = ? WHERE complaint_id = ?",
            (PHONE, complaint),
        )
    return path


def targets_of(path: Path):  # type: ignore[no-untyped-def]
    return Workspace(path).read("targets", read_geometry=False)


def phone_target(path: Path) -> str:
    targets = targets_of(path)
    on = targets["lead_department"].eq("police") | targets["cooperating_departments"].str.contains(
        "police"
    )
    return str(targets.loc[on, "target_id"].iloc[0])


def pdf_text(data: bytes) -> tuple[str, int]:
    """The PDF's text without whitespace (lines wrap anywhere) and its page count."""
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", "", text), len(reader.pages)


def save_page_picture(pdf: Path) -> None:
    """Page 1 as PNG in test-output/ when GEOSERVICE_SCREENSHOTS is set."""
    if not os.environ.get("GEOSERVICE_SCREENSHOTS"):
        return
    pdftoppm = require_program("pdftoppm", install="apt-get install poppler-utils")
    folder = ROOT / "test-output"
    folder.mkdir(exist_ok=True)
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "110",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf,
            folder / "dossier-page1",
        ],
        check=True,
    )


# --- the documents ----------------------------------------------------------------------


@pytest.mark.slow
def test_every_target_prints_one_to_three_pages_naming_id_lead_and_citation(
    town, tmp_path, pdf_libraries
):
    ws = Workspace(town)
    targets = targets_of(town)
    assert len(targets) > 0
    for row in targets.itertuples():
        out = write_dossier(
            ws, None, row.target_id, tmp_path / f"{row.target_id}.pdf", RULES, issued=ISSUED
        )
        text, pages = pdf_text(out.read_bytes())
        assert 1 <= pages <= 3, (row.target_id, pages)
        assert row.target_id in text
        assert "联合执法任务书" in text
        assert RULES.department_name(row.lead_department) in text
        cited = applicable_threshold(dossier_facts(ws, None, row.target_id, "zh"), RULES).citation
        assert re.sub(r"\s+", "", cited) in text
        assert "《部门协作制度》第八条" in text
    save_page_picture(tmp_path / f"{targets['target_id'].iloc[0]}.pdf")


def test_html_holds_the_map_as_an_inline_png(town, pdf_libraries):
    target_id = str(targets_of(town)["target_id"].iloc[0])
    html = build_dossier(Workspace(town), None, target_id, RULES, issued=ISSUED).html
    found = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert found is not None
    image = Image.open(io.BytesIO(base64.b64decode(found.group(1))))
    assert image.format == "PNG" and image.width > 1000
    assert "http://" not in html and "https://" not in html  # nothing fetched when printed


def test_reporter_phone_is_shown_to_the_office(town, pdf_libraries):
    html = build_dossier(Workspace(town), None, phone_target(town), RULES, issued=ISSUED).html
    assert PHONE in html
    assert "举报人电话" in html


def test_reporter_phone_is_hidden_from_a_department(town, pdf_libraries):
    html = build_dossier(Workspace(town), POLICE, phone_target(town), RULES, issued=ISSUED).html
    assert PHONE not in html
    assert "举报人电话" not in html


def test_a_department_gets_no_work_order_of_a_target_it_is_not_on(town):
    targets = targets_of(town)
    foreign = targets.loc[
        ~targets["lead_department"].eq("police")
        & ~targets["cooperating_departments"].str.contains("police"),
        "target_id",
    ]
    assert len(foreign)
    with pytest.raises(NotFoundError, match=str(foreign.iloc[0])):
        build_dossier(Workspace(town), POLICE, str(foreign.iloc[0]), RULES)


def test_unknown_target_is_an_error_naming_the_id(town):
    with pytest.raises(NotFoundError, match="T-0000000000"):
        build_dossier(Workspace(town), None, "T-0000000000", RULES)


def test_english_work_order_is_in_english(town):
    row = targets_of(town).iloc[0]
    html = build_dossier(Workspace(town), None, str(row["target_id"]), RULES, lang="en").html
    assert "Joint Enforcement Work Order" in html
    assert RULES.department_name(str(row["lead_department"]), "en") in html
    assert "Article 8 of the Collaboration Rules" in html
    assert "联合执法任务书" not in html


@pytest.mark.slow
def test_deadline_is_the_analysis_deadline_counted_from_the_analysis_date_by_priority(
    town, pdf_libraries
):
    targets = targets_of(town)
    days = {"P1": 7, "P2": 15, "P3": 30}
    as_of = date.fromisoformat(
        str(dossier_facts(Workspace(town), None, targets["target_id"].iloc[0], "zh").as_of)[:10]
    )
    for row in targets.head(2).itertuples():
        due = date.fromordinal(as_of.toordinal() + days[row.priority]).isoformat()
        assert row.deadline == due
        for issued in (ISSUED, date(2027, 3, 1)):
            html = build_dossier(Workspace(town), None, row.target_id, RULES, issued=issued).html
            assert f"处置期限：<b>{due}</b>" in html


def test_target_page_address_uses_the_public_address(town, pdf_libraries):
    target_id = str(targets_of(town)["target_id"].iloc[0])
    html = build_dossier(
        Workspace(town), None, target_id, RULES, base_url="http://192.168.1.20:8000"
    ).html
    assert f"http://192.168.1.20:8000/app/targets/{target_id}" in html


def test_target_page_without_a_public_address_gives_the_path_and_the_setting(town, pdf_libraries):
    target_id = str(targets_of(town)["target_id"].iloc[0])
    html = build_dossier(Workspace(town), None, target_id, RULES).html
    assert f"/app/targets/{target_id}" in html
    assert "GEOSERVICE_PUBLIC_URL" in html


def test_departments_are_listed_lead_first_with_their_registered_duties(town, pdf_libraries):
    row = targets_of(town).iloc[0]
    html = build_dossier(Workspace(town), None, str(row["target_id"]), RULES).html
    names = [str(row["lead_department"]), *str(row["cooperating_departments"]).split(";")]
    at = [html.index(f'<td class="id">{RULES.department_name(c)}</td>') for c in names]
    assert at == sorted(at)
    for code in names:
        assert RULES.departments[code].duty_zh in html
        assert html.count(f"<b>{RULES.department_name(code)}（") == 1  # one sign-off block


def test_a_department_without_targets_writes_no_work_orders(town, tmp_path):
    education = Principal("u2", "教办", "department", department="education")
    assert write_all_dossiers(Workspace(town), education, tmp_path, RULES) == []


def test_work_order_file_must_be_pdf_or_html(town, tmp_path):
    target_id = str(targets_of(town)["target_id"].iloc[0])
    with pytest.raises(OptionError, match=r"order\.docx.*pdf or html"):
        write_dossier(Workspace(town), None, target_id, tmp_path / "order.docx", RULES)


# --- the command line -------------------------------------------------------------------


@pytest.mark.slow
def test_cli_writes_the_work_order_as_pdf(town, tmp_path):
    target_id = str(targets_of(town)["target_id"].iloc[0])
    out = tmp_path / "任务书.pdf"
    res = run_cli("targets", "dossier", target_id, "--out", out, "-w", town)
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout
    text, pages = pdf_text(out.read_bytes())
    assert target_id in text and 1 <= pages <= 3


@pytest.mark.slow
def test_cli_writes_english_with_lang_en(town, tmp_path, pdf_libraries):
    row = targets_of(town).iloc[0]
    out = tmp_path / "order.pdf"
    res = run_cli("targets", "dossier", row["target_id"], "--out", out, "--lang", "en", "-w", town)
    assert res.returncode == 0, res.stderr
    text, _ = pdf_text(out.read_bytes())
    assert "JointEnforcementWorkOrder" in text
    assert "".join(RULES.department_name(str(row["lead_department"]), "en").split()) in text


@pytest.mark.slow
def test_cli_unknown_target_exits_2_naming_it(town, tmp_path):
    res = run_cli("targets", "dossier", "T-0000000000", "--out", tmp_path / "x.pdf", "-w", town)
    assert res.returncode == 2
    assert "T-0000000000" in res.stderr
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.slow
def test_cli_all_writes_one_work_order_per_target(town, tmp_path):
    res = run_cli(
        "targets",
        "dossier",
        "--all",
        "--out",
        tmp_path / "orders",
        "--format",
        "html",
        "-w",
        town,
        "--json",
    )
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in (tmp_path / "orders").iterdir())
    expected = sorted(f"联合执法任务书_{t}.html" for t in targets_of(town)["target_id"])
    assert names == expected
    audit = Workspace(town).audit()
    assert (audit["action"] == "targets.dossier").any()


@pytest.mark.slow
def test_cli_asks_for_a_target_id_or_all(town, tmp_path):
    res = run_cli("targets", "dossier", "--out", tmp_path / "x.pdf", "-w", town)
    assert res.returncode == 2
    assert "--all" in res.stderr


@pytest.mark.slow
def test_cli_all_before_any_analysis_names_the_analyze_command(tmp_path):
    ws = tmp_path / "ws.gpkg"
    imported = run_cli("import", "parcels", write_shp(xiaoban(), tmp_path / "xb.shp"), "-w", ws)
    assert imported.returncode == 0, imported.stderr
    res = run_cli("targets", "dossier", "--all", "--out", tmp_path / "orders", "-w", ws)
    assert res.returncode == 2
    assert "geoservice analyze" in res.stderr


@pytest.mark.slow
def test_long_hotline_transcripts_still_print_on_three_pages(town, tmp_path, pdf_libraries):
    weasyprint = load_weasyprint()

    path = tmp_path / "town.gpkg"
    copy_workspace(town, path)
    ws = Workspace(path)
    targets = targets_of(path)
    busiest = str(targets.sort_values("complaint_count").iloc[-1]["target_id"])
    ids = dossier_facts(ws, None, busiest, "zh").complaints["complaint_id"].tolist()
    transcript = "12345热线来电转办：" + "群众反映近期连续多日有人夜间在山上用油锯砍伐林木，" * 14
    with ws.sql_transaction("test") as con:
        con.executemany(
            "UPDATE complaints SET description = ? WHERE complaint_id = ?",
            [(transcript, i) for i in ids],
        )
    dossier = build_dossier(ws, None, busiest, RULES, issued=ISSUED)
    assert len(weasyprint.HTML(string=dossier.html).render().pages) > 3  # the trap is real
    text, pages = pdf_text(dossier.pdf())
    assert 1 <= pages <= 3
    assert busiest in text
    cited = applicable_threshold(dossier_facts(ws, None, busiest, "zh"), RULES).citation
    assert re.sub(r"\s+", "", cited) in text


def test_threshold_is_cited_as_the_rules_cite_it(town, pdf_libraries):
    facts = dossier_facts(Workspace(town), None, str(targets_of(town)["target_id"].iloc[0]), "zh")
    threshold = applicable_threshold(facts, RULES)
    assert threshold.citation == threshold_citation(RULES, "zh", threshold.basis)
    assert threshold.citation in build_dossier(Workspace(town), None, facts.target_id, RULES).html


def test_a_category_without_a_threshold_cites_the_town_article(town):
    facts = dossier_facts(Workspace(town), None, str(targets_of(town)["target_id"].iloc[0]), "zh")
    facts.target = facts.target.copy()
    facts.target["categories"] = "pest_disease"
    facts.target["criminal_threshold_met"] = False
    facts.risk = facts.risk.assign(criminal_basis="")
    threshold = applicable_threshold(facts, RULES)
    assert threshold.basis == "none"
    assert threshold.citation == "《部门协作制度》第十条"
    assert "林业有害生物" in threshold.rule


@pytest.mark.parametrize(
    ("category", "basis", "key"),
    [("fire_hazard", "fire", "fire"), ("wildlife_crime", "hunting", "hunting")],
)
def test_fire_and_poaching_targets_state_their_threshold_and_citation(town, category, basis, key):
    targets = targets_of(town)
    hit = targets.loc[targets["categories"].str.split(";").str[0] == category, "target_id"]
    assert len(hit), f"the sample town plants a {category} target"
    threshold = applicable_threshold(dossier_facts(Workspace(town), None, hit.iloc[0], "zh"), RULES)
    assert threshold.basis == basis
    assert threshold.citation == cite(RULES, key)
