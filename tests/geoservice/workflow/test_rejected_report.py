"""A problem sent back (退回) can be reported fixed again in one submission: one direct
transition ``rejected`` → ``reported``, recorded as one honest history row."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError
from geoservice.workflow.access_rules import check_change, transitions_for
from geoservice.workflow.store import history, read_problems, update_problem
from tests.support.workflow import workspace

VILLAGE = Principal("u1", "张三", "village", village_code="V01", village_name="丰阳村")
OFFICE = Principal("u0", "李四", "office")


def _row(status: str) -> dict[str, str]:
    return {"problem_id": "P-1", "status": status, "village_code": "V01"}


def test_a_village_may_report_its_rejected_problem_fixed() -> None:
    assert transitions_for(VILLAGE, _row("rejected")) == ("in_progress", "reported")


def test_the_role_check_lets_a_village_report_a_rejected_problem() -> None:
    check_change(VILLAGE, _row("rejected"), "reported")


def test_a_village_still_cannot_verify_a_rejected_problem() -> None:
    with pytest.raises(PermissionDeniedError, match="cannot move problem P-1 to 'verified'"):
        check_change(VILLAGE, _row("rejected"), "verified")


def test_rejected_to_reported_is_one_history_row_from_rejected(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{"整改状态": "退回"}])
    change = update_problem(
        ws, "P-1", "reported", "village:V01:张三", note="已复绿", expected_version=1
    )
    past = history(ws, "P-1")
    assert (change["from_state"], change["to_state"], change["version"]) == (
        "rejected",
        "reported",
        2,
    )
    assert past[["from_state", "to_state", "note"]].values.tolist()[-1] == [
        "rejected",
        "reported",
        "已复绿",
    ]
    assert "in_progress" not in set(past["to_state"])
    assert read_problems(ws).iloc[0]["status"] == "reported"


def test_rejected_still_cannot_jump_to_verified(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{"整改状态": "退回"}])
    with pytest.raises(OptionError, match=r"allowed next states are: in_progress, reported"):
        update_problem(ws, "P-1", "verified", "office:镇林长办", expected_version=1)
    assert read_problems(ws).iloc[0]["version"] == 1


def test_the_office_sees_both_moves_of_a_rejected_problem() -> None:
    assert transitions_for(OFFICE, _row("rejected")) == ("in_progress", "reported")
