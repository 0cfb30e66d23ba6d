"""The Art. 9 report from the department ledger: every department, what each did, its own
account, and one definition of the on-time rate everywhere it is shown."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import typer
from typer.testing import CliRunner

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.cli.reports import report_app
from geoservice.cli.villages import villages_app
from geoservice.files.importing import import_file
from geoservice.reports import department_report
from geoservice.reports.department_columns import COLUMNS
from geoservice.reports.html import render_html
from geoservice.reports.xlsx import write_xlsx
from geoservice.workflow import store
from geoservice.workflow.ledger_access import record_entry, write_statement
from geoservice.workflow.rates import ON_TIME_RATE
from geoservice.workflow.store import update_problem
from geoservice.workflow.target_store import add_action, update_target
from geoservice.workflow.villages import village_status
from layers.codes import DEPARTMENTS
from tests.support.workflow import SAMPLE, workspace

POLICE = Principal(user_id="p", name="派出所民警", role="department", department="police")
START, END = date(2026, 10, 1), date(2026, 12, 31)
COUNTS = [c.key for c in COLUMNS]
STATEMENT = "本季度会同农业农村办开展联合核查1次，出动警力3人次；进村宣传1次。"


@pytest.fixture
def empty(tmp_path: Path) -> Workspace:
    """A workspace with the villages only: no problem, target or ledger entry."""
    ws = Workspace(tmp_path / "empty.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    return ws


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """P-1 copied to the police; two police entries in Q4 and one before it, a target the
    police lead closed in Q4 with one action record, and the police's Q4 statement."""
    ws = workspace(tmp_path_factory.mktemp("ledger"), [{"问题编号": "P-1", "抄送部门": "派出所"}])
    for day, kind, people in (
        ("2026-10-12", "co_verification", 3),
        ("2026-11-02", "publicity", None),
    ):
        record_entry(
            ws,
            POLICE,
            "police",
            kind=kind,
            acted_on=date.fromisoformat(day),
            object_kind="problem" if people else "none",
            object_id="P-1" if people else None,
            people=people,
        )
    record_entry(ws, POLICE, "police", kind="inspection", acted_on=date(2026, 9, 30), people=9)
    snapshot = {"lead_department": "police", "cooperating_departments": "agriculture"}
    add_action(
        ws,
        "T-1",
        "office:林长办",
        department="police",
        acted_on=date(2026, 11, 5),
        action="现场制止并查扣油锯",
        people=4,
        snapshot=snapshot,
    )
    for state, case in (
        ("dispatched", None),
        ("in_action", None),
        ("case_opened", "林罚〔2026〕7号"),
        ("penalised", None),
        ("closed", None),
    ):
        update_target(ws, "T-1", state, "office:林长办", case_number=case)
    write_statement(ws, POLICE, "police", "2026-Q4", STATEMENT)
    return ws


def test_an_empty_workspace_lists_all_14_departments_with_zeros(empty: Workspace) -> None:
    report = department_report(empty, START, END)
    depts = report.departments
    assert depts["department"].tolist() == list(DEPARTMENTS) and len(depts) == 14
    assert (depts[COUNTS] == 0).all().all()
    assert report.is_empty and report.statements.empty


def test_the_empty_report_prints_every_department_and_no_chart(
    empty: Workspace, tmp_path: Path
) -> None:
    report = department_report(empty, START, END)
    page = render_html(report, "zh")
    for zh, _en in DEPARTMENTS.values():
        assert zh in page
    assert page.count("本期未报送履职情况") == 14 and "<svg" not in page
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", "zh"))
    assert book["各部门"].max_row == 15 and book["履职自述"].max_row == 15


def test_a_departments_own_entries_count_in_its_row_only(ledger: Workspace) -> None:
    depts = department_report(ledger, START, END).departments.set_index("department")
    police = depts.loc["police"]
    assert (police["entries_co_verification"], police["entries_publicity"]) == (1, 1)
    assert police["entries_inspection"] == 0  # dated before the period
    assert (police["target_actions"], police["people"]) == (1, 3 + 4)
    assert (police["targets_led_closed"], police["problems_copied"]) == (1, 1)
    assert (depts.drop(index="police")[COUNTS] == 0).all().all()


def test_the_departments_statement_is_printed_in_html_and_xlsx(
    ledger: Workspace, tmp_path: Path
) -> None:
    report = department_report(ledger, START, END)
    assert report.statements["text"].tolist() == [STATEMENT]
    page = render_html(report, "zh")
    police = re.search(r'<li data-department="police">(.*?)</li>', page)
    assert police is not None and STATEMENT in police.group(1)
    assert page.count("本期未报送履职情况") == 13
    sheet = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", "zh"))["履职自述"]
    texts = {r[0]: r[3] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert texts["镇郊派出所"] == STATEMENT and texts["镇妇联"] == "本期未报送履职情况"


def test_a_statement_of_another_period_is_not_in_the_report(ledger: Workspace) -> None:
    report = department_report(ledger, date(2026, 7, 1), date(2026, 9, 30))
    assert report.statements.empty
    row = report.departments.set_index("department").loc["police"]
    assert (row["entries_inspection"], row["people"]) == (1, 9)


# --- one definition of the on-time rate ---------------------------------------------------

app = typer.Typer()
app.add_typer(report_app, name="report")
app.add_typer(villages_app, name="villages")


def _flat(text: str) -> str:
    return re.sub(r"[\s│]+", "", text)


@pytest.mark.parametrize("args", [["report", "departments"], ["villages", "status"]])
def test_the_rate_definition_in_the_command_help_is_the_reports_note(
    empty: Workspace, args: list[str]
) -> None:
    notes = department_report(empty, START, END).notes
    definition = next(n for n in notes if n.kind == "definition")
    assert definition.text("zh") == ON_TIME_RATE.definition_zh
    res = CliRunner().invoke(app, [*args, "--help"], terminal_width=100)
    assert res.exit_code == 0, res.output
    assert _flat(ON_TIME_RATE.definition_zh) in _flat(res.output)
    assert _flat(ON_TIME_RATE.definition_en) in _flat(res.output)


def test_the_rate_definition_is_printed_in_the_report_notes(empty: Workspace) -> None:
    page = render_html(department_report(empty, START, END), "en")
    assert ON_TIME_RATE.definition_en.replace("'", "&#x27;") in page


def test_village_status_and_report_give_one_on_time_rate_per_village(tmp_path: Path) -> None:
    rows = [
        {"问题编号": "P-1", "整改期限": "2026-10-15"},  # reported late
        {"问题编号": "P-2", "整改期限": "2026-10-20", "整改状态": "已整改"},  # imported done
        {"问题编号": "P-3", "整改期限": "2026-11-01"},  # still open
        {"问题编号": "P-4", "村名": "松柏村", "整改期限": "2026-11-10"},  # reported on time
    ]
    ws = workspace(tmp_path, rows)
    with pytest.MonkeyPatch.context() as mp:
        for pid, day in (("P-1", "2026-10-30"), ("P-4", "2026-11-05")):
            mp.setattr(store, "now_iso", lambda day=day: f"{day}T09:00:00+00:00")
            update_problem(ws, pid, "reported", "clerk")
    as_of = date(2026, 11, 28)
    status = village_status(ws, as_of).set_index("village_name")
    report = department_report(ws, date(2026, 1, 1), as_of).villages.set_index("village_name")
    for name in ("丰阳村", "松柏村"):
        assert status.loc[name, "on_time_rate"] == report.loc[name, "on_time_rate"], name
    assert status.loc["丰阳村", "on_time_rate"] == pytest.approx(1 / 3)
