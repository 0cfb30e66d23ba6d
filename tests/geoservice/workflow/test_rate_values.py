"""The on-time flags and rates computed with numpy equal the pandas definitions they
replaced."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import numpy as np
import pandas as pd
import pytest

from geoservice.workflow.rates import on_time_flags, rate

LAST = date(2026, 11, 20)


def _flags_by_pandas(deadline, status, reported_on, found_on, first, last):
    end = pd.Timestamp(last)
    due = deadline.notna() & (deadline <= end) & (found_on.isna() | (found_on <= end))
    if first is not None:
        due &= deadline >= pd.Timestamp(first)
    done = status.astype(str).isin(["reported", "verified"])
    in_time = reported_on.isna() | (reported_on <= deadline)
    return due.to_numpy(dtype=bool), (due & done & in_time).to_numpy(dtype=bool)


def _dates(offsets, unit):
    values = [None if d is None else LAST + timedelta(days=d) for d in offsets]
    return pd.Series(pd.to_datetime(values)).astype(f"datetime64[{unit}]")


@pytest.mark.parametrize("first", [None, LAST - timedelta(days=5)])
@pytest.mark.parametrize(("deadline_unit", "other_unit"), [("us", "us"), ("s", "ns"), ("ns", "s")])
def test_on_time_flags_equal_the_pandas_definition(first, deadline_unit, other_unit):
    days = [None, -8, -5, -4, -1, 0, 1, 3]
    states = ["assigned", "reported", "verified", "rejected", None]
    grid = list(product(states, days, days, days))
    status = pd.Series([g[0] for g in grid], dtype="string")
    deadline = _dates([g[1] for g in grid], deadline_unit)
    reported = _dates([g[2] for g in grid], other_unit)
    found = _dates([g[3] for g in grid], other_unit)
    got = on_time_flags(deadline, status, reported, found, first, LAST)
    want = _flags_by_pandas(deadline, status, reported, found, first, LAST)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[1].any() and (got[0] & ~got[1]).any()  # the grid has both kinds


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [
        (pd.Series([0, 1, 3], dtype="int64"), pd.Series([0, 2, 3], dtype="int64")),
        (pd.Series([1, None], dtype="Int64"), pd.Series([None, 4], dtype="Int64")),
        (pd.Series([], dtype="int64"), pd.Series([], dtype="int64")),
    ],
)
def test_rate_equals_the_pandas_definition(numerator, denominator):
    den = denominator.astype("float64")
    values = np.where(den > 0, numerator.astype("float64") / den.clip(lower=1), np.nan)
    want = pd.Series(values, index=denominator.index, dtype="float64")
    pd.testing.assert_series_equal(rate(numerator, denominator), want)
