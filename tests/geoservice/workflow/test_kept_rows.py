"""Rows of a kept frame replaced by position equal the frame dropped, stacked and sorted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow.kept_rows import Positions, id_positions, replaced_at, restacked, rows_of

_TEXT = st.one_of(st.none(), st.text(alphabet='ab村"\\', max_size=3))
_DAY = st.one_of(st.none(), st.dates().map(lambda d: np.datetime64(d, "us")))


def _frame(
    ids: list[str], rows: list[tuple[str | None, int, np.datetime64 | None]]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "problem_id": pd.array(ids, dtype="string"),
            "status": pd.array([r[0] for r in rows], dtype="string"),
            "version": np.array([r[1] for r in rows], dtype="int64"),
            "found_on": np.array(
                [np.datetime64("NaT", "us") if r[2] is None else r[2] for r in rows],
                dtype="datetime64[us]",
            ),
            "suggestions": pd.Series([[r[0]] for r in rows], dtype=object),
        }
    )


_ROW = st.tuples(_TEXT, st.integers(-5, 5), _DAY)


@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.text(alphabet="P-019", min_size=1, max_size=4), unique=True, max_size=12),
    data=st.data(),
)
def test_replaced_at_equals_drop_stack_and_sort(ids: list[str], data: st.DataObject) -> None:
    ids = sorted(ids)
    frame = _frame(ids, data.draw(st.lists(_ROW, min_size=len(ids), max_size=len(ids))))
    changed = data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    fresh = _frame(changed, data.draw(st.lists(_ROW, min_size=len(changed), max_size=len(changed))))
    positions = id_positions(frame["problem_id"])
    assert positions is not None
    at = rows_of(positions, changed)
    assert at is not None
    got = replaced_at(frame, at, fresh)
    assert got is not None
    kept = frame[~frame["problem_id"].isin(changed).to_numpy()]
    pd.testing.assert_frame_equal(got, restacked(kept, fresh, "problem_id"))


def test_replaced_at_leaves_the_kept_frame_as_it_was() -> None:
    frame = _frame(["a", "b"], [("x", 1, None), ("y", 2, None)])
    before = frame.copy(deep=True)
    got = replaced_at(frame, np.array([1]), _frame(["b"], [("z", 3, None)]))
    assert got is not None and list(got["status"]) == ["x", "z"]
    pd.testing.assert_frame_equal(frame, before)


def test_unchanged_columns_are_shared() -> None:
    frame = _frame(["a", "b"], [("x", 1, None), ("y", 2, None)])
    got = replaced_at(frame, np.array([1]), _frame(["b"], [("y", 3, None)]))
    assert got is not None
    assert np.shares_memory(got["found_on"].to_numpy(), frame["found_on"].to_numpy())
    assert list(got["version"]) == [1, 3]


def test_another_column_type_is_refused() -> None:
    frame = _frame(["a"], [("x", 1, None)])
    fresh = _frame(["a"], [("x", 1, None)]).astype({"version": "float64"})
    assert replaced_at(frame, np.array([0]), fresh) is None


@pytest.mark.parametrize(
    "ids",
    [["b", "a"], ["a", "a"], ["a", None], [1, 2]],
    ids=["unsorted", "twice", "missing", "not text"],
)
def test_no_positions_unless_unique_sorted_text(ids: list[object]) -> None:
    assert id_positions(pd.Series(ids, dtype=object)) is None


def test_no_rows_for_an_unknown_or_repeated_id() -> None:
    positions = {"a": 0, "b": 1}
    assert rows_of(positions, ["c"]) is None
    assert rows_of(positions, ["a", "a"]) is None
    at = rows_of(positions, ["b", "a"])
    assert at is not None and list(at) == [1, 0]


def test_positions_need_aligned_frames() -> None:
    rows = _frame(["a", "b"], [("x", 1, None), ("y", 2, None)])
    other = _frame(["a", "c"], [("x", 1, None), ("y", 2, None)])
    assert Positions().rows(rows, other, ["a"]) is None
    at = Positions().rows(rows, rows, ["b"])
    assert at is not None and list(at) == [1]
