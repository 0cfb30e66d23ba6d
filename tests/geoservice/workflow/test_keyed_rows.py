"""Replacing the rows of a few keys in a kept table sorted by key gives the frame the
definition (drop, concat, stable sort) gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow.keyed_rows import restacked, stacked

KEYS = ["P1", "P2", "P3", "P4", "P5"]


def _frame(rows: list[tuple[str | None, int, str | None, float]]) -> pd.DataFrame:
    """Rows of a kept table: a key, a whole number, a text that may be missing and a
    float that may be NaN (the kinds of column the kept problem tables hold)."""
    return pd.DataFrame(
        {
            "problem_id": pd.Series([r[0] for r in rows], dtype="string"),
            "version": pd.Series([r[1] for r in rows], dtype="int64"),
            "note": pd.Series([r[2] for r in rows], dtype="string"),
            "days": pd.Series([r[3] for r in rows], dtype="float64"),
        }
    )


def _definition(old: pd.DataFrame, fresh: pd.DataFrame, changed: list[str]) -> pd.DataFrame:
    hit = old["problem_id"].isin(changed).to_numpy(dtype=bool)
    return stacked(old[~hit], fresh, "problem_id")


_ROW = st.tuples(
    st.sampled_from([*KEYS, None]),
    st.integers(1, 9),
    st.sampled_from(["a", None]),
    st.sampled_from([1.5, float("nan")]),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(_ROW, max_size=8),
    fresh_rows=st.lists(_ROW, max_size=4),
    sort_first=st.booleans(),
    data=st.data(),
)
def test_replaced_rows_equal_the_definition(rows, fresh_rows, sort_first, data):
    changed = data.draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3))
    old = _frame(rows)
    if sort_first:  # as the kept tables are
        old = stacked(old, old.iloc[:0], "problem_id")
    fresh = _frame([r for r in fresh_rows if r[0] in changed])
    got = restacked(old, fresh, "problem_id", changed)
    pd.testing.assert_frame_equal(got, _definition(old, fresh, changed))


def test_a_changed_row_takes_the_place_of_the_old_one():
    old = _frame([("P1", 1, "a", 1.5), ("P2", 1, None, np.nan), ("P3", 4, "a", 1.5)])
    fresh = _frame([("P2", 2, "a", 1.5)])
    got = restacked(old, fresh, "problem_id", ["P2"])
    assert got["problem_id"].tolist() == ["P1", "P2", "P3"]
    assert got["version"].tolist() == [1, 2, 4]
    assert got.index.equals(pd.RangeIndex(3))


def test_a_removed_key_leaves_the_table():
    old = _frame([("P1", 1, "a", 1.5), ("P2", 1, None, np.nan)])
    got = restacked(old, _frame([]), "problem_id", ["P2"])
    assert got["problem_id"].tolist() == ["P1"]


@pytest.mark.parametrize("old_rows", [[], [("P1", 1, "a", 1.5)]])
def test_rows_of_a_new_key_are_added_in_key_order(old_rows):
    old = _frame(old_rows)
    got = restacked(old, _frame([("P0", 1, None, 1.5)]), "problem_id", ["P0"])
    assert got["problem_id"].tolist() == ["P0", *[r[0] for r in old_rows]]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_rows_changed_in_place_equal_the_definition(data):
    """The common case: each changed key had one row and gets one new row."""
    keys = sorted(data.draw(st.lists(st.sampled_from(KEYS), unique=True, min_size=2)))
    old = _frame([(k, 1, data.draw(st.sampled_from(["a", None])), 1.5) for k in keys])
    changed = data.draw(st.lists(st.sampled_from(keys), unique=True, min_size=1))
    fresh = _frame([(k, 2, "b", float("nan")) for k in data.draw(st.permutations(changed))])
    got = restacked(old, fresh, "problem_id", changed)
    pd.testing.assert_frame_equal(got, _definition(old, fresh, changed))
    assert got.loc[got["problem_id"].isin(changed), "version"].eq(2).all()
