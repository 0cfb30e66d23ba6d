"""The department meeting report (Art. 9): numbers, HTML, XLSX and the command."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.errors import OptionError
from geoservice.base.workspace import Workspace
from geoservice.cli.app import DEMO_FILES
from geoservice.cli.reports import report_app
from geoservice.files.importing import import_file
from geoservice.reports import DepartmentReport, department_report
from geoservice.reports.html import render_html
from geoservice.reports.xlsx import write_xlsx
from geoservice.workflow import store
from geoservice.workflow.store import history, read_problems, update_problem
from layers.codes import DEPARTMENTS

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"
START, END = date(2026, 9, 1), date(2026, 11, 30)
# (problem, new state, day of the change): late and on-time reports, a closure in the period.
UPDATES = [
    ("DC202603-002", "reported", "2026-11-10"),  # deadline 2026-06-17: late
    ("DC202609-003", "reported", "2026-11-10"),  # deadline 2026-11-14: on time
    ("DC202609-003", "verified", "2026-11-20"),
    ("DC202606-003", "reported", "2026-11-05"),  # deadline 2026-10-17: late
    ("DC202609-002", "reported", "2026-11-25"),  # deadline 2026-12-31: not yet due
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("report")
    workspace = Workspace(folder / "town.gpkg")
    for f in DEMO_FILES:
        import_file(workspace, SAMPLE / f.name, f.kind, actor="t", **f.options())
    analyze(workspace, as_of=date(2026, 11, 28), rules=load_rules(None), actor="t")
    with pytest.MonkeyPatch.context() as mp:
        for pid, state, day in UPDATES:
            mp.setattr(store, "now_iso", lambda day=day: f"{day}T09:00:00+00:00")
            update_problem(workspace, pid, state, "clerk")
    yield workspace


@pytest.fixture(scope="module")
def report(ws: Workspace) -> DepartmentReport:
    return department_report(ws, START, END, town="溪岭镇")


def _expected(ws: Workspace) -> pd.DataFrame:
    """Per-problem flags computed directly from the workflow tables."""
    p = read_problems(ws)
    h = history(ws)
    real = h[h["from_state"].notna() & ~h["note"].fillna("").str.startswith("[import")]
    last = real.groupby(["problem_id", "to_state"])["at"].max().str.slice(0, 10)
    rep = pd.to_datetime(p["problem_id"].map(last.xs("reported", level="to_state")))
    ver = pd.to_datetime(p["problem_id"].map(last.xs("verified", level="to_state")))
    s, e = pd.Timestamp(START), pd.Timestamp(END)
    done = p["status"].isin(["reported", "verified"])
    due = p["deadline"].between(s, e)
    return pd.DataFrame(
        {
            "village_code": p["village_code"],
            "cc": p["cc_departments"].fillna("").str.split(","),
            "handed": p["found_on"].between(s, e),
            "closed": (p["status"] == "verified") & ver.fillna(p["deadline"]).between(s, e),
            "due": due,
            "on_time": due & done & (rep.isna() | (rep <= p["deadline"])),
            "overdue": p["status"].isin(["assigned", "in_progress", "rejected"])
            & (p["deadline"] < e),
            "problem_id": p["problem_id"],
        }
    )


@pytest.mark.slow
def test_department_rows_match_workflow_tables_and_targets(
    ws: Workspace, report: DepartmentReport
) -> None:
    flags = _expected(ws).explode("cc")
    counts = flags.groupby("cc")[["handed", "closed", "due", "on_time", "overdue"]].sum()
    targets = ws.read("targets")
    led = targets["lead_department"].value_counts()
    coop = targets["cooperating_departments"].str.split(";").explode().value_counts()
    got = report.departments.set_index("department")
    for code, row in got.iterrows():
        c = counts.reindex([code]).fillna(0).iloc[0]
        assert row["targets_led"] == led.get(code, 0), code
        assert row["targets_cooperating"] == coop.get(code, 0), code
        assert (row["problems_copied"], row["closed"], row["due"]) == (
            c["handed"],
            c["closed"],
            c["due"],
        ), code
        assert (row["on_time"], row["overdue"]) == (c["on_time"], c["overdue"]), code
    assert list(got.index) == list(DEPARTMENTS)  # every department, zeros shown


def test_village_on_time_rates_match_workflow_tables(
    ws: Workspace, report: DepartmentReport
) -> None:
    flags = _expected(ws)
    per = flags.groupby("village_code")[["due", "on_time"]].sum()
    per = per[per["due"] > 0]
    got = report.villages.set_index("village_code").dropna(subset=["on_time_rate"])
    expected = (per["on_time"] / per["due"]).sort_index()
    pd.testing.assert_series_equal(
        got["on_time_rate"].sort_index(), expected, check_names=False, check_index_type=False
    )


def test_summary_counts_p1_targets_and_overdue_problems(
    ws: Workspace, report: DepartmentReport
) -> None:
    targets = ws.read("targets")
    assert report.summary["targets"] == len(targets)
    assert report.summary["p1"] == int((targets["priority"] == "P1").sum())
    assert set(report.overdue["problem_id"]) == {"DC202603-008", "DC202606-001", "DC202606-002"}
    assert report.summary["closed"] == 1  # DC202609-003, verified on 2026-11-20


def test_late_report_counts_due_but_not_on_time(report: DepartmentReport) -> None:
    songbai = report.villages.set_index("village_name").loc["松柏村"]
    assert (songbai["due"], songbai["on_time"]) == (1, 0)


def test_summary_paragraph_states_the_counts_in_chinese(report: DepartmentReport) -> None:
    s = report.summary
    text = report.summary_text("zh")
    assert f"P1优先目标{s['p1']}处" in text and f"逾期未整改{s['overdue']}个" in text
    assert f"按期整改率{s['on_time_rate']:.0%}" in text


def test_findings_name_listed_problem_and_cite_articles_7_and_9(
    report: DepartmentReport,
) -> None:
    texts = [f.text("zh") for f in report.findings]
    listed = next(t for t in texts if "DC202606-001" in t)
    assert "挂牌督办" in listed and "第七条" in listed
    assert any("第九条" in t and "镇农业农村办" in t for t in texts)


def test_html_declares_utf8_and_names_departments_in_chinese(
    report: DepartmentReport,
) -> None:
    page = render_html(report, "zh")
    assert '<meta charset="utf-8">' in page
    assert "溪岭镇林长制协作部门履职情况汇报" in page
    for code in report.departments["department"]:
        assert DEPARTMENTS[code][0] in page


def test_html_department_chart_has_one_bar_per_department_per_series(
    report: DepartmentReport,
) -> None:
    page = render_html(report, "zh")
    for series in ("targets", "problems", "overdue"):
        bars = re.findall(
            rf'<rect class="bar" data-series="{series}" data-department="(\w+)"', page
        )
        assert bars == report.departments["department"].tolist()


def test_html_village_chart_has_a_bar_per_village_with_problems_due(
    report: DepartmentReport,
) -> None:
    page = render_html(report, "zh")
    bars = re.findall(r'<rect class="bar" data-village="(\d+)"', page)
    assert bars == report.villages.dropna(subset=["on_time_rate"])["village_code"].tolist()


def test_html_names_no_external_url_and_prints_on_a4(report: DepartmentReport) -> None:
    page = render_html(report, "zh")
    assert "http://" not in page and "https://" not in page
    assert "size: A4" in page and "break-before: page" in page
    assert "Noto Sans CJK SC" in page and "Microsoft YaHei" in page


def test_html_in_english_uses_english_names(report: DepartmentReport) -> None:
    page = render_html(report, "en")
    assert "Problems and suggestions" in page and "police station" in page
    assert "(Art. 7)." in page


def test_xlsx_has_chinese_headers_and_native_charts(
    report: DepartmentReport, tmp_path: Path
) -> None:
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", "zh"))
    depts, villages = book["各部门"], book["各村"]
    assert [c.value for c in depts[1]][:2] == ["部门", "联合核查"]
    assert depts.max_row == len(report.departments) + 1
    assert len(depts._charts) == 1 and len(villages._charts) == 1


def test_empty_period_gives_zero_rows_and_says_nothing_happened(ws: Workspace) -> None:
    empty = department_report(ws, date(2020, 1, 1), date(2020, 3, 31))
    assert empty.is_empty and empty.active_departments.empty and empty.villages.empty
    page = render_html(empty, "zh")
    assert "期间无需汇报事项" in page and "<svg" not in page


@pytest.mark.parametrize(
    ("start", "end", "as_of", "pattern"),
    [
        (date(2026, 11, 30), date(2026, 9, 1), None, r"`from` was 2026-11-30 .* on or before"),
        (START, END, date(2026, 8, 1), r"`as-of` was 2026-08-01 .* on or after"),
    ],
)
def test_reversed_period_or_early_as_of_is_refused(
    ws: Workspace, start: date, end: date, as_of: date | None, pattern: str
) -> None:
    with pytest.raises(OptionError, match=pattern):
        department_report(ws, start, end, as_of)


# --- the command ------------------------------------------------------------------------

app = typer.Typer()
app.add_typer(report_app, name="report")
app.command("noop")(lambda: None)  # keeps "report" a sub-command


@pytest.mark.parametrize("fmt", ["html", "xlsx"])
def test_command_writes_report_and_logs_the_export(ws: Workspace, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"meeting.{fmt}"
    args = ["report", "departments", "--from", "2026-09-01", "--to", "2026-11-30"]
    res = CliRunner().invoke(
        app, [*args, "--format", fmt, "--out", str(target), "-w", str(ws.path), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["out"] == str(target) and target.stat().st_size > 0
    log = ws.audit()
    row = log[(log["action"] == "report.departments") & (log["target"] == str(target))]
    assert json.loads(row["detail"].iloc[-1])["format"] == fmt


@pytest.mark.parametrize(
    ("dates", "needle"),
    [
        (["--from", "2026-13-01", "--to", "2026-11-30"], "`from` was '2026-13-01'"),
        (["--from", "2026-09-01", "--to", "yesterday"], "`to` was 'yesterday'"),
        (["--from", "2026-12-01", "--to", "2026-11-30"], "on or before `to`"),
    ],
)
def test_command_bad_dates_are_one_line_errors(
    ws: Workspace, tmp_path: Path, dates: list[str], needle: str
) -> None:
    out = ["--out", str(tmp_path / "r.html"), "-w", str(ws.path), "--lang", "en"]
    res = CliRunner().invoke(app, ["report", "departments", *dates, *out])
    assert res.exit_code == 2
    assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_command_refuses_unknown_format(ws: Workspace, tmp_path: Path) -> None:
    args = ["--from", "2026-09-01", "--to", "2026-11-30", "--out", str(tmp_path / "r.pdf")]
    res = CliRunner().invoke(app, ["report", "departments", *args, "-w", str(ws.path)])
    assert res.exit_code == 2 and "html 或 xlsx" in res.stderr


@pytest.fixture(scope="module")
def report_missing(tmp_path_factory: pytest.TempPathFactory) -> DepartmentReport:
    """Three overdue problems: one of no village, one of a code outside the villages layer
    with no category, one of a known village."""
    from geoservice.base.workspace_write import write_frame
    from tests.support.workflow import workspace

    folder = tmp_path_factory.mktemp("missing")
    ws = workspace(folder, [{"问题编号": f"P-{i}", "整改期限": "2026-10-01"} for i in (1, 2, 3)])
    frame = ws.read("problems")
    frame.loc[0, ["village_code", "village_name"]] = [None, None]
    frame.loc[1, ["village_code", "village_name", "category"]] = ["441882109999", None, None]
    with ws.transaction() as work:
        write_frame(frame, work, "problems")
    return department_report(ws, date(2026, 9, 1), date(2026, 11, 30), town="溪岭镇")


def test_report_keeps_missing_villages_and_categories_missing_in_its_tables(
    report_missing: DepartmentReport,
) -> None:
    villages = report_missing.villages
    assert villages["problems_handed_over"].sum() == 3
    assert villages["due"].sum() == 3
    assert villages["village_code"].isna().sum() == 1
    assert villages["village_name"].isna().sum() == 2
    assert report_missing.overdue["category"].isna().sum() == 1


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ["未知村（代码 441882109999）", "未知村问题P-1", "未分类"]),
        ("en", ["unknown village (code 441882109999)", "unknown village problem P-1"]),
    ],
)
def test_report_names_missing_villages_and_categories_in_html_and_xlsx(
    report_missing: DepartmentReport, tmp_path: Path, lang: str, words: list[str]
) -> None:
    page = render_html(report_missing, lang)
    assert not re.search(r"\bnan\b|&lt;NA&gt;|\bNone\b", page)
    for word in words:
        assert word in page
    book = openpyxl.load_workbook(write_xlsx(report_missing, tmp_path / "r.xlsx", lang))
    cells = {
        str(c)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if c is not None
    }
    assert words[0] in cells
    assert not {"nan", "<NA>", "None"} & cells
