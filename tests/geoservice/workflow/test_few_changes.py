"""Changed problems written into the kept frames value by value give the frames computed
with pandas (typed, their items computed, written by position)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from geoservice.workflow.few_changes import Columns, written_in
from geoservice.workflow.kept_rows import replaced_at
from geoservice.workflow.problem_values import plain_row, typed_frame
from geoservice.workflow.village_parts import problem_items
from geoservice.workflow.village_scope import index_entries

DAY = date(2026, 12, 7)
HISTORY = ["problem_id", "at", "from_state", "to_state", "note"]
VILLAGES = pd.DataFrame(
    {
        "village_code": pd.array(["V1", "V2"], dtype="string"),
        "village_name": pd.array(["东村", "西村"], dtype="string"),
    }
)
_places = st.sampled_from(
    [("V1", "东村"), ("V2", None), (None, "西村"), (None, "北村"), (None, None)]
)
_states = st.sampled_from(["assigned", "in_progress", "reported", "rejected", "verified"])
_days = st.one_of(st.none(), st.dates(date(2026, 9, 1), date(2027, 1, 31)).map(str))
_problem = st.tuples(_places, _states, _days, _days, st.integers(1, 9))
_report = st.tuples(
    st.sampled_from(["2026-10-02T09:00:00", "2026-11-20T10:00:00", "2026-12-07T08:00:00"]),
    st.sampled_from([None, "in_progress", "assigned"]),
    st.sampled_from(["reported", "rejected"]),
    st.sampled_from([None, "[import] 导入", "整改完成"]),
)


def _record(pid: str, problem: tuple) -> tuple:
    (code, name), status, found, deadline, version = problem
    return (pid, "c", found, code, name, "k", "d", deadline, status, None, version, "t", "u")


def _history(pid: str, reports: list[tuple]) -> list[tuple]:
    return [(pid, at, was, to, note) for at, was, to, note in reports]


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(_problem, st.lists(_report, max_size=2)), min_size=1, max_size=7),
    st.data(),
)
def test_written_values_equal_the_frames_computed_with_pandas(kept, data):
    ids = [f"P{i}" for i in range(len(kept))]  # unique and sorted
    history = [
        h for pid, (_, reports) in zip(ids, kept, strict=True) for h in _history(pid, reports)
    ]
    rows = typed_frame([_record(pid, p) for pid, (p, _) in zip(ids, kept, strict=True)])
    frame_history = pd.DataFrame.from_records(history, columns=HISTORY)
    items = problem_items(rows, frame_history, VILLAGES, DAY)
    picked = data.draw(st.lists(st.integers(0, len(ids) - 1), min_size=1, unique=True))
    at = np.asarray(picked, dtype="intp")
    changed = []
    for i in picked:
        keep = data.draw(st.integers(0, 3)) > 0  # most keep their village
        place = kept[i][0][0] if keep else data.draw(_places)
        changed.append(_record(ids[i], (place, *data.draw(_problem)[1:])))
    reports = [
        h for i in picked for h in _history(ids[i], data.draw(st.lists(_report, max_size=2)))
    ]
    mine = [h for h in history if h[0] in {ids[i] for i in picked}] + reports

    got = written_in(
        rows, items, at, [plain_row(r) for r in changed], mine, DAY, (Columns(), Columns())
    )

    typed = typed_frame(changed)
    prior = items.take(at)
    fresh = problem_items(
        typed, pd.DataFrame.from_records(mine, columns=HISTORY), VILLAGES, DAY, prior=prior
    )
    moved = any(r[3:5] != kept[i][0][0] for r, i in zip(changed, picked, strict=True))
    if moved:  # matched again: left to problem_items
        event("a changed problem names another village")
        assert got is None
        return
    event("written value by value")
    assert got is not None
    pd.testing.assert_frame_equal(got.rows, replaced_at(rows, at, typed))
    pd.testing.assert_frame_equal(got.items, replaced_at(items, at, fresh))
    assert got.villages == list(prior["vcode"].to_numpy(dtype=object, na_value=None))
    assert got.villages == list(fresh["vcode"].to_numpy(dtype=object, na_value=None))
    assert got.entries == index_entries(fresh)


def _kept(n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = [_record(f"P{i}", (("V1", "东村"), "assigned", "2026-10-01", "2026-11-01", 1))
               for i in range(n)]  # fmt: skip
    rows = typed_frame(records)
    return rows, problem_items(rows, None, VILLAGES, DAY)


def test_unchanged_columns_are_shared_and_the_kept_frames_left_as_they_were():
    rows, items = _kept()
    before = rows.copy()
    change = _record("P1", (("V1", "东村"), "in_progress", "2026-10-01", "2026-11-01", 2))
    columns = (Columns(), Columns())
    got = written_in(rows, items, np.array([1]), [plain_row(change)], [], DAY, columns)
    assert got is not None
    pd.testing.assert_frame_equal(rows, before)
    assert got.rows["status"].tolist() == ["assigned", "in_progress", "assigned"]
    assert got.rows["version"].tolist() == [1, 2, 1]
    assert np.shares_memory(got.items["found_on"].to_numpy(), items["found_on"].to_numpy())


def test_a_problem_that_names_another_village_is_left_to_matching():
    rows, items = _kept()
    change = _record("P1", (("V2", None), "in_progress", "2026-10-01", "2026-11-01", 2))
    got = written_in(
        rows, items, np.array([1]), [plain_row(change)], [], DAY, (Columns(), Columns())
    )
    assert got is None


def test_history_with_a_time_that_is_not_a_day_is_left_to_pandas():
    rows, items = _kept()
    change = _record("P1", (("V1", "东村"), "reported", "2026-10-01", "2026-11-01", 2))
    history = [("P1", "yesterday", "in_progress", "reported", None)]
    got = written_in(
        rows, items, np.array([1]), [plain_row(change)], history, DAY, (Columns(), Columns())
    )
    assert got is None


@pytest.mark.parametrize("at", [np.array([], dtype="intp"), np.array([0, 1])])
def test_positions_and_rows_of_another_length_are_refused(at):
    rows, items = _kept()
    change = _record("P0", (("V1", "东村"), "in_progress", "2026-10-01", "2026-11-01", 2))
    assert written_in(rows, items, at, [plain_row(change)], [], DAY, (Columns(), Columns())) is None


def test_kept_text_of_another_storage_is_left_to_pandas():
    rows, items = _kept()
    items["village_code"] = items["village_code"].astype(pd.StringDtype("python"))
    change = _record("P1", (("V1", "东村"), "in_progress", "2026-10-01", "2026-11-01", 2))
    caches = (Columns(), Columns())
    assert written_in(rows, items, np.array([1]), [plain_row(change)], [], DAY, caches) is None
