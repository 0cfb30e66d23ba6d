"""Escalation computed with numpy dates equals the pandas definition it replaced."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow.escalation import LEVELS, _level, _now, escalate, load_thresholds
from geoservice.workflow.states import OPEN_STATES

AS_OF = date(2026, 11, 20)


def _by_pandas(problems: pd.DataFrame, as_of: date, reported_on: pd.Series | None) -> pd.DataFrame:
    """The definition: date differences by pandas, aligned to ``problems``."""

    def days(later, earlier):
        delta = (pd.to_datetime(later) - pd.to_datetime(earlier)) / pd.Timedelta(days=1)
        return np.asarray(delta, dtype="float64")

    th = load_thresholds()
    day = pd.Timestamp(as_of)
    to_deadline = days(problems["deadline"], pd.Series(day, index=problems.index))
    is_open = problems["status"].isin(OPEN_STATES).to_numpy(dtype=bool)
    overdue, days_overdue, now = _now(to_deadline, is_open, th)
    reached = now.copy()
    if reported_on is not None:
        closed = problems["status"].isin(["reported", "verified"]).to_numpy(dtype=bool)
        when = pd.to_datetime(reported_on)
        at = when.where(when.isna() | (when <= day), day)
        late_then = np.nan_to_num(days(at, problems["deadline"]), nan=0.0)
        late_days = np.where(closed & (late_then > 0), late_then, 0).astype("int64")
        reached = np.where(closed, _level(late_days, np.zeros(len(problems), bool), th), now)
    levels = np.asarray(LEVELS, dtype=object)
    return pd.DataFrame(
        {
            "days_to_deadline": to_deadline,
            "overdue": overdue,
            "days_overdue": days_overdue,
            "escalation": levels[now],
            "escalation_reached": levels[reached],
        },
        index=problems.index,
    )


# days from as_of: near the thresholds (1, 7, 15 and 30 days) and anywhere
offsets = st.one_of(st.none(), st.integers(-35, 8), st.integers(-400, 400))
cases = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(["assigned", "in_progress", "rejected", "reported"]),
            st.sampled_from(["verified", "closed"]),
            st.none(),
        ),
        offsets,  # deadline
        offsets,  # reported
    ),
    max_size=12,
)


def _dates(offsets: list[int | None], unit: str) -> pd.Series:
    values = [None if d is None else AS_OF + timedelta(days=d) for d in offsets]
    return pd.Series(pd.to_datetime(values)).astype(f"datetime64[{unit}]")


@settings(max_examples=150, deadline=None)
@given(
    rows=cases,
    deadline_unit=st.sampled_from(["s", "ms", "us", "ns"]),
    reported_unit=st.sampled_from(["s", "us", "ns"]),
    with_reports=st.booleans(),
)
def test_escalation_equals_the_pandas_definition(rows, deadline_unit, reported_unit, with_reports):
    index = pd.RangeIndex(10, 10 + len(rows))
    problems = pd.DataFrame(
        {
            "status": pd.array([r[0] for r in rows], dtype="string"),
            "deadline": _dates([r[1] for r in rows], deadline_unit).to_numpy(),
        },
        index=index,
    )
    reported = None
    if with_reports:
        reported = pd.Series(_dates([r[2] for r in rows], reported_unit).to_numpy(), index=index)
    pd.testing.assert_frame_equal(
        escalate(problems, AS_OF, reported_on=reported), _by_pandas(problems, AS_OF, reported)
    )


STATES = ["assigned", "in_progress", "rejected", "reported", "verified", None]


def test_every_state_deadline_and_report_day_near_the_thresholds_escalates_as_defined():
    grid = [
        (state, deadline, reported)
        for state in STATES
        for deadline in [None, *range(-36, 10)]
        for reported in [None, -3, -2, -1, 0, 1, 5]
    ]
    problems = pd.DataFrame(
        {
            "status": pd.array([g[0] for g in grid], dtype="string"),
            "deadline": _dates([g[1] for g in grid], "us").to_numpy(),
        }
    )
    reported = _dates([g[2] for g in grid], "s")
    pd.testing.assert_frame_equal(
        escalate(problems, AS_OF, reported_on=reported), _by_pandas(problems, AS_OF, reported)
    )


@pytest.mark.parametrize(
    ("state", "deadline", "reported", "level"),
    [
        ("reported", -2, -2, "none"),  # reported on its deadline
        ("reported", -2, -1, "letter"),  # a day late
        ("verified", -20, 5, "supervision"),  # a report dated after as_of counts as of as_of
        ("verified", -40, -5, "listed"),
        ("reported", -16, None, "none"),  # unknown report day: in time
        ("assigned", -16, None, "supervision"),
        ("assigned", 3, None, "reminder"),
    ],
)
def test_level_reached_when_reported(state, deadline, reported, level):
    problems = pd.DataFrame({"status": [state], "deadline": _dates([deadline], "us").to_numpy()})
    out = escalate(problems, AS_OF, reported_on=_dates([reported], "us"))
    assert out["escalation_reached"].tolist() == [level]


@pytest.mark.parametrize(
    "deadline",
    [
        [date(2026, 10, 1), None],  # dates as Python objects
        ["2026-10-01", None],  # text
    ],
)
def test_deadlines_not_stored_as_dates_are_read_as_dates(deadline):
    problems = pd.DataFrame({"status": ["assigned", "assigned"], "deadline": deadline})
    out = escalate(problems, AS_OF)
    assert out["days_to_deadline"].iloc[0] == -50.0
    assert np.isnan(out["days_to_deadline"].iloc[1])
    assert out["days_overdue"].tolist() == [50, 0]
