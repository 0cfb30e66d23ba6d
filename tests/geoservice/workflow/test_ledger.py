"""The department ledger: entries, statements, and who may record what on which object."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from geoservice.base.access import Principal
from geoservice.base.errors import (
    NotFoundError,
    OptionError,
    PermissionDeniedError,
    PreconditionRequiredError,
    StaleVersionError,
)
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.ledger import parse_period, read_entries
from geoservice.workflow.ledger_access import (
    department_list,
    ledger_rows,
    record_entry,
    statement,
    write_statement,
)
from geoservice.workflow.target_store import add_action
from layers.codes import DEPARTMENTS
from tests.support.workflow import SAMPLE, workspace

OFFICE = Principal(user_id="o", name="林长办", role="office")
POLICE = Principal(user_id="p", name="派出所民警", role="department", department="police")
FORESTRY = Principal(user_id="a", name="林业站", role="department", department="agriculture")
VILLAGE = Principal(user_id="v", name="村干部", role="village", village_code="441882101212")
DAY = date(2026, 11, 20)
PATCH = "44188220250001"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Two problems: P-1 copied to police and agriculture, P-2 to environment only; the
    sample town's change patches (``internal``, as imported by default)."""
    ws = workspace(
        tmp_path,
        [
            {"问题编号": "P-1", "抄送部门": "派出所,农业农村办"},
            {"问题编号": "P-2", "抄送部门": "环保办"},
        ],
    )
    import_file(ws, SAMPLE / "patches.shp", "patches", actor="t")
    return ws


@pytest.fixture
def plain(tmp_path: Path) -> Workspace:
    """Villages and one problem: for what needs no patch or second problem."""
    return workspace(tmp_path)


def test_a_department_records_on_a_problem_copied_to_it(ws: Workspace) -> None:
    entry = record_entry(
        ws,
        POLICE,
        "police",
        kind="co_verification",
        acted_on=DAY,
        object_kind="problem",
        object_id="P-1",
        people=3,
        note="会同村干部现场核查",
    )
    stored = read_entries(ws, "police")
    assert entry["entry_id"] == 1 and stored["object_id"].tolist() == ["P-1"]
    assert (stored["kind"].iloc[0], stored["people"].iloc[0]) == ("co_verification", 3)
    log = ws.audit()
    assert (log["action"] == "department.entry").sum() == 1


def test_a_department_cannot_record_for_another(ws: Workspace) -> None:
    with pytest.raises(PermissionDeniedError, match="own department only, not for environment"):
        record_entry(ws, POLICE, "镇环保办", kind="inspection", acted_on=DAY)
    assert read_entries(ws).empty


def test_a_department_cannot_record_on_a_problem_not_copied_to_it(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no problem 'P-2' that you may see"):
        record_entry(
            ws,
            POLICE,
            "police",
            kind="inspection",
            acted_on=DAY,
            object_kind="problem",
            object_id="P-2",
        )


def test_the_office_records_for_any_department_on_any_problem(ws: Workspace) -> None:
    entry = record_entry(
        ws,
        OFFICE,
        "environment",
        kind="enforcement",
        acted_on=DAY,
        object_kind="problem",
        object_id="P-1",
    )
    assert entry["department"] == "environment" and entry["created_by"].startswith("office:")


def test_villages_do_not_record_ledgers(ws: Workspace) -> None:
    with pytest.raises(PermissionDeniedError, match="only for office, department"):
        record_entry(ws, VILLAGE, "police", kind="inspection", acted_on=DAY)


def test_forestry_records_on_a_patch_and_the_police_do_not(ws: Workspace) -> None:
    entry = record_entry(
        ws,
        FORESTRY,
        "agriculture",
        kind="co_verification",
        acted_on=DAY,
        object_kind="patch",
        object_id=PATCH,
    )
    assert entry["object_kind"] == "patch"
    with pytest.raises(PermissionDeniedError, match="records on the problem or target"):
        record_entry(
            ws,
            POLICE,
            "police",
            kind="inspection",
            acted_on=DAY,
            object_kind="patch",
            object_id=PATCH,
        )


def test_a_restricted_patch_layer_is_out_of_a_departments_scope(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    import_file(ws, SAMPLE / "patches.shp", "patches", actor="t", classification="restricted")
    with pytest.raises(NotFoundError, match=f"no change patch '{PATCH}'"):
        record_entry(
            ws,
            FORESTRY,
            "agriculture",
            kind="inspection",
            acted_on=DAY,
            object_kind="patch",
            object_id=PATCH,
        )
    assert (
        record_entry(
            ws,
            OFFICE,
            "agriculture",
            kind="inspection",
            acted_on=DAY,
            object_kind="patch",
            object_id=PATCH,
        )["object_id"]
        == PATCH
    )


def test_an_unknown_patch_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no change patch '9999-999'"):
        record_entry(
            ws,
            FORESTRY,
            "agriculture",
            kind="inspection",
            acted_on=DAY,
            object_kind="patch",
            object_id="9999-999",
        )


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"kind": "meeting"}, "`kind` was 'meeting'"),
        ({"kind": "inspection", "object_kind": "none", "object_id": "P-1"}, "none takes none"),
        ({"kind": "inspection", "object_kind": "problem"}, "need an id"),
        ({"kind": "inspection", "object_kind": "village", "object_id": "x"}, "`object kind`"),
        ({"kind": "inspection", "people": -1}, "`people` was -1"),
    ],
)
def test_bad_entries_are_refused_naming_the_value(
    plain: Workspace, kwargs: dict[str, object], pattern: str
) -> None:
    with pytest.raises(OptionError, match=pattern):
        record_entry(plain, OFFICE, "police", acted_on=DAY, **kwargs)  # type: ignore[arg-type]


def test_an_unknown_department_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no department 'forestry_bureau'"):
        record_entry(ws, OFFICE, "forestry_bureau", kind="inspection", acted_on=DAY)


def test_the_ledger_lists_target_actions_beside_entries_once_each(ws: Workspace) -> None:
    record_entry(ws, POLICE, "police", kind="publicity", acted_on=DAY, note="进村宣传")
    snapshot = {"lead_department": "police", "cooperating_departments": "agriculture"}
    add_action(
        ws,
        "T-1",
        "office:林长办",
        department="police",
        acted_on=date(2026, 11, 21),
        action="现场制止",
        people=4,
        snapshot=snapshot,
    )
    rows = ledger_rows(ws, "police")
    assert rows["entry_id"].tolist() == ["A1", "E1"]  # newest first
    assert rows["source"].tolist() == ["target_action", "ledger"]
    assert read_entries(ws).shape[0] == 1  # the target action is not copied into the ledger
    assert ledger_rows(ws, "police", kind="target_action")["object_id"].tolist() == ["T-1"]
    assert ledger_rows(ws, "police", first=date(2026, 11, 21))["entry_id"].tolist() == ["A1"]


def test_the_department_list_has_the_14_departments_and_counts_only_its_own(
    ws: Workspace,
) -> None:
    record_entry(ws, POLICE, "police", kind="inspection", acted_on=DAY)
    rows = department_list(ws, POLICE, "zh")
    assert [r["code"] for r in rows] == list(DEPARTMENTS) and len(rows) == 14
    mine = {r["code"]: r["entries"] for r in rows}
    assert mine["police"] == 1 and mine["agriculture"] is None
    assert {r["code"]: r["entries"] for r in department_list(ws, OFFICE, "en")}["agriculture"] == 0


# --- statements -------------------------------------------------------------------------


def test_a_statement_is_written_then_changed_from_its_version(plain: Workspace) -> None:
    first = write_statement(plain, POLICE, "police", "2026-Q4", "开展联合巡查3次。")
    assert (first["version"], first["period"]) == (1, "2026-10-01_2026-12-31")
    second = write_statement(
        plain, POLICE, "police", "2026-10-01_2026-12-31", "开展联合巡查4次。", expected_version=1
    )
    assert second["version"] == 2 and statement(plain, OFFICE, "镇郊派出所", "2026-Q4")["text"] == (
        "开展联合巡查4次。"
    )


def test_a_stale_statement_version_changes_nothing(plain: Workspace) -> None:
    write_statement(plain, POLICE, "police", "2026-Q4", "第一稿")
    write_statement(plain, OFFICE, "police", "2026-Q4", "林长办修改稿", expected_version=1)
    with pytest.raises(StaleVersionError, match="expected version 1 but it is at version 2"):
        write_statement(plain, POLICE, "police", "2026-Q4", "第二稿", expected_version=1)
    assert statement(plain, POLICE, "police", "2026-Q4")["text"] == "林长办修改稿"


def test_changing_a_statement_needs_its_version(plain: Workspace) -> None:
    write_statement(plain, POLICE, "police", "2026-11", "第一稿")
    with pytest.raises(PreconditionRequiredError, match=r"already has a statement .*version 1"):
        write_statement(plain, POLICE, "police", "2026-11", "第二稿")


def test_a_department_cannot_write_another_departments_statement(plain: Workspace) -> None:
    with pytest.raises(PermissionDeniedError, match="own department only, not for agriculture"):
        write_statement(plain, POLICE, "agriculture", "2026-Q4", "代写")


def test_an_empty_statement_is_refused(plain: Workspace) -> None:
    with pytest.raises(OptionError, match=r"statement of police .* is empty"):
        write_statement(plain, POLICE, "police", "2026-Q4", "  ")


def test_a_statement_not_written_yet_reads_as_none(plain: Workspace) -> None:
    doc = statement(plain, POLICE, "police", "2026")
    assert doc["text"] is None and doc["version"] is None and doc["period_end"] == "2026-12-31"


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-09-01..2026-11-30", date(2026, 9, 1), date(2026, 11, 30)),
    ],
)
def test_periods_are_read_as_first_and_last_day(text: str, first: date, last: date) -> None:
    assert parse_period(text) == (first, last)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "2026-11-30_2026-09-01", "上季度", ""])
def test_a_bad_period_is_refused_with_the_forms_accepted(text: str) -> None:
    with pytest.raises(OptionError, match="expected to be 2026 \\(a year\\), 2026-Q4"):
        parse_period(text)
