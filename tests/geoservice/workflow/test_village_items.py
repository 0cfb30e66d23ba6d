"""Each problem's report day, as the village status reads it from the history, equals
the pandas definition it replaced; the items of changed problems are what matching them
afresh gives."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow import report_days, village_parts
from geoservice.workflow.problem_values import typed_frame
from geoservice.workflow.report_days import reported_from
from geoservice.workflow.village_parts import problem_items

COLUMNS = ["problem_id", "at", "from_state", "to_state", "note"]


def _by_pandas(h: pd.DataFrame) -> pd.Series:
    """The definition: filters, then the latest ``at`` per problem by a grouped maximum."""
    real = h[(h["to_state"] == "reported") & h["from_state"].notna()]
    real = real[~real["note"].fillna("").astype(str).str.startswith("[import")]
    last = real.groupby("problem_id")["at"].max()
    return pd.to_datetime(last.str.slice(0, 10)).rename("reported_on")


entries = st.tuples(
    st.one_of(st.sampled_from(["P1", "P2", "P10"]), st.none()),
    st.one_of(
        st.datetimes().map(lambda d: d.isoformat()).filter(lambda t: t[:4] > "1900"),
        st.sampled_from(["2026-10-01T08:00:00+08:00", "2026-10-01T00:00:00+00:00"]),
        st.none(),
    ),
    st.one_of(st.sampled_from(["assigned", "in_progress", "rejected"]), st.none()),
    st.sampled_from(["reported", "verified", "rejected"]),
    st.one_of(st.none(), st.text(max_size=4), st.just("[import 2026-10-01]"), st.integers(0, 9)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(entries, max_size=12), st.booleans())
def test_report_days_equal_the_grouped_definition(rows, as_text):
    h = pd.DataFrame(rows, columns=COLUMNS, dtype=object)  # as SQLite gives them
    if as_text:  # as a frame typed by pandas rather than read from SQLite
        h = h.astype({c: "string" for c in ["problem_id", "at", "from_state", "to_state"]})
    got, want = reported_from(h), _by_pandas(h)
    # the ids as values (the one use of the index: a mapping by id), whatever their dtype
    pd.testing.assert_series_equal(got, want, check_index_type=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(entries, max_size=12), st.booleans())
def test_report_days_read_row_by_row_equal_the_columnwise_ones(rows, as_text):
    h = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
    if as_text:
        h = h.astype({c: "string" for c in ["problem_id", "at", "from_state", "to_state"]})
    with mock.patch.object(report_days, "FEW_HISTORY", -1):
        columnwise = reported_from(h)
    pd.testing.assert_series_equal(reported_from(h), columnwise)


def test_the_latest_real_report_counts_and_imports_do_not():
    h = pd.DataFrame.from_records(
        [
            ("P1", "2026-10-03T00:00:00", "assigned", "reported", None),
            ("P1", "2026-10-01T00:00:00", "rejected", "reported", None),  # earlier, written later
            ("P2", "2026-10-05T00:00:00", "assigned", "reported", "[import 2026-10-05]"),
            ("P3", "2026-10-06T00:00:00", None, "reported", None),  # created as reported
        ],
        columns=COLUMNS,
    )
    assert reported_from(h).to_dict() == {"P1": pd.Timestamp("2026-10-03")}


# --- items of changed problems, their villages taken from the items before ------------------

VILLAGES = pd.DataFrame(
    {
        "village_code": pd.array(["V1", "V2"], dtype="string"),
        "village_name": pd.array(["东村", "西村"], dtype="string"),
    }
)
_places = st.sampled_from(
    [("V1", "东村"), ("V2", None), (None, "西村"), (None, "北村"), (None, None), ("V9", "东村")]
)
problem_rows = st.tuples(st.sampled_from(["P1", "P2", "P3", "P10"]), _places, st.booleans())


def _problems(rows) -> pd.DataFrame:
    records = [
        (pid, "c", "2026-09-01", code, name, "k", "d", "2026-10-01",
         "reported" if late else "assigned", None, 1, "2026-10-01", "t")
        for pid, (code, name), late in rows
    ]  # fmt: skip
    return typed_frame(records)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(problem_rows, min_size=1, max_size=8),
    st.lists(st.integers(0, 7), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 7), _places), max_size=2),
    st.lists(entries, max_size=6),
    st.booleans(),
)
def test_changed_problems_items_equal_matching_them_afresh(rows, picked, moved, history, few):
    day = date(2026, 12, 7)
    hist = pd.DataFrame(history, columns=COLUMNS, dtype=object)
    before = problem_items(_problems(rows), hist, VILLAGES, day)
    changed = [list(rows[i % len(rows)]) for i in picked]
    for i, place in moved:  # a changed problem now names another village
        changed[i % len(changed)][1] = place
    fresh = _problems(changed)
    prior = before[before["problem_id"].isin(list(fresh["problem_id"])).to_numpy()]
    # read value by value (few rows), or column-wise as for many
    with (
        mock.patch.object(village_parts, "FEW_PRIOR", 64 if few else 0),
        mock.patch.object(report_days, "FEW_ROWS", 64 if few else 0),
    ):
        got = problem_items(fresh, hist, VILLAGES, day, prior=prior)
    pd.testing.assert_frame_equal(got, problem_items(fresh, hist, VILLAGES, day))


def test_a_problem_reported_after_its_deadline_is_not_on_time():
    # both reported; deadline 2026-10-01 (see _problems); P1 reported late, P2 in time
    probs = _problems([("P1", ("V1", "东村"), True), ("P2", ("V1", "东村"), True)])
    hist = pd.DataFrame.from_records(
        [
            ("P1", "2026-10-20T09:00:00", "in_progress", "reported", None),
            ("P2", "2026-09-28T09:00:00", "in_progress", "reported", None),
        ],
        columns=COLUMNS,
    )
    items = problem_items(probs, hist, VILLAGES, date(2026, 12, 7)).set_index("problem_id")
    assert items["on_time"].to_dict() == {"P1": 0, "P2": 1}
    assert items.loc["P1", "level"] > items.loc["P2", "level"] == 0
