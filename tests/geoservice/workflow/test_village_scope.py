"""A village's part of the kept status is given without an update only when it is current."""

from __future__ import annotations

import contextlib
import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geoservice.base.gpkg_sql import connect_file
from geoservice.base.workspace import Workspace
from geoservice.workflow import store, store_schema, village_updates
from geoservice.workflow.store import read_problems, update_problem
from geoservice.workflow.village_updates import kept_view
from geoservice.workflow.villages import rebuild_village_status
from tests.support.workflow import (
    movable_problems,
    move_problem,
    update_in_another_process,
    workspace,
)

DAY = date.today()
# P-1 in 丰阳村 (the caller's village), P-2 and P-3 in 沙坪村
ROWS = [{}, {"问题编号": "P-2", "村名": "沙坪村"}, {"问题编号": "P-3", "村名": "沙坪村"}]


@pytest.fixture(autouse=True)
def _forget() -> None:
    village_updates.clear_kept()


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "now_iso", lambda: "2026-12-06T08:00:00+00:00")
    monkeypatch.setattr(store_schema, "now_iso", lambda: "2026-12-06T08:00:00+00:00")


def _code(ws: Workspace, problem_id: str) -> str:
    probs = read_problems(ws)
    return str(probs.loc[probs["problem_id"] == problem_id, "village_code"].iloc[0])


def _own_part(ws: Workspace, code: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The village's status rows and problems as given for ``code``, checked against a
    full rebuild."""
    view = kept_view(ws, DAY, code)
    rows = view.status[view.status["village_code"].astype(str) == code].reset_index(drop=True)
    probs = view.problems[view.problems["village_code"].astype(str) == code]
    full = rebuild_village_status(ws, DAY)
    pd.testing.assert_frame_equal(
        rows, full[full["village_code"].astype(str) == code].reset_index(drop=True)
    )
    fresh = read_problems(ws)
    pd.testing.assert_frame_equal(
        probs.reset_index(drop=True),
        fresh[fresh["village_code"].astype(str) == code].reset_index(drop=True),
    )
    return rows, probs


def _counts() -> dict[str, int]:
    return dict(village_updates.COUNTS)


def _prepared(tmp_path: Path) -> tuple[Workspace, str]:
    ws = workspace(tmp_path, ROWS)
    update_problem(ws, "P-1", "in_progress", "t")  # the workflow columns are in place
    code = _code(ws, "P-1")
    _own_part(ws, code)
    return ws, code


def test_a_change_elsewhere_leaves_the_kept_status_as_it_is(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    before = _counts()
    update_problem(ws, "P-2", "in_progress", "t")
    _own_part(ws, code)
    assert village_updates.COUNTS["untouched"] == before["untouched"] + 1
    assert village_updates.COUNTS["updates"] == before["updates"]


def test_the_other_villages_rows_show_the_change_once_asked_for(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    update_problem(ws, "P-2", "in_progress", "t")
    _own_part(ws, code)
    other = _code(ws, "P-2")
    before = _counts()
    rows, probs = _own_part(ws, other)  # brought up to date now
    assert village_updates.COUNTS["updates"] == before["updates"] + 1
    assert "in_progress" in set(probs["status"])
    assert int(rows["open"].iloc[0]) == 2


def test_a_change_in_the_village_brings_the_kept_status_up_to_date(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    before = _counts()
    update_problem(ws, "P-1", "reported", "t")
    rows, _ = _own_part(ws, code)
    assert village_updates.COUNTS["updates"] == before["updates"] + 1
    assert village_updates.COUNTS["untouched"] == before["untouched"]
    assert int(rows["awaiting_verification"].iloc[0]) == 1


@pytest.mark.slow
def test_a_change_in_the_village_by_another_process_is_seen(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    update_problem(ws, "P-2", "in_progress", "t")
    _own_part(ws, code)  # untouched: P-2 is elsewhere
    update_in_another_process(ws.path, "P-1", "reported", "other")
    rows, probs = _own_part(ws, code)
    assert list(probs["status"]) == ["reported"]
    assert int(rows["awaiting_verification"].iloc[0]) == 1


def test_a_problem_moved_into_the_village_is_seen(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    with contextlib.closing(connect_file(ws.path)) as con:  # as an edit with a history row
        con.execute(
            "UPDATE problems SET village_code = ?, village_name = NULL, version = version + 1 "
            "WHERE problem_id = 'P-3'",
            (code,),
        )
        con.execute(
            'INSERT INTO problem_history (problem_id, at, "by", from_state, to_state, '
            "version) VALUES ('P-3', '2026-12-06T08:00:00+00:00', 't', 'assigned', "
            "'assigned', 2)"
        )
        con.commit()
    rows, probs = _own_part(ws, code)
    assert sorted(probs["problem_id"]) == ["P-1", "P-3"]
    assert int(rows["problems"].iloc[0]) == 2


def test_a_change_elsewhere_without_history_row_brings_an_update(tmp_path: Path) -> None:
    ws, code = _prepared(tmp_path)
    update_problem(ws, "P-2", "in_progress", "t")
    with contextlib.closing(connect_file(ws.path)) as con:  # P-1 changed, no history row
        con.execute(
            "UPDATE problems SET status = 'reported', version = version + 1 "
            "WHERE problem_id = 'P-1'"
        )
        con.commit()
    before = _counts()
    _, probs = _own_part(ws, code)
    assert village_updates.COUNTS["untouched"] == before["untouched"]
    assert list(probs["status"]) == ["reported"]


def test_no_village_asked_for_always_brings_the_update(tmp_path: Path) -> None:
    ws, _ = _prepared(tmp_path)
    update_problem(ws, "P-2", "in_progress", "t")
    before = _counts()
    view = kept_view(ws, DAY)
    pd.testing.assert_frame_equal(view.status, rebuild_village_status(ws, DAY))
    assert village_updates.COUNTS["updates"] == before["updates"] + 1


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_give_each_village_its_current_part(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    names = ["丰阳村", "沙坪村", "丰阳村", "沙坪村", "无名村"]  # one village outside the layer
    ws = workspace(tmp_path, [{"问题编号": f"P-{i}", "村名": n} for i, n in enumerate(names)])
    update_problem(ws, "P-0", "in_progress", "t")
    codes = sorted({_code(ws, f"P-{i}") for i in range(len(names))})
    for _ in range(12):
        move_problem(ws, movable_problems(ws), rng)
        _own_part(ws, rng.choice(codes))
    assert village_updates.COUNTS["untouched"] > 0
