"""A few problem rows typed one by one equal the same rows typed column by column."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow.problem_values import FEW_ROWS, PROBLEM_COLUMNS, typed, typed_frame


def _by_columns(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """The definition: the whole frame typed column by column."""
    return typed(pd.DataFrame.from_records(rows, columns=PROBLEM_COLUMNS, coerce_float=True))


def _row(**values: object) -> tuple[object, ...]:
    base: dict[str, object] = {c: None for c in PROBLEM_COLUMNS}
    base.update(problem_id="P1", status="assigned", version=1)
    base.update(values)
    return tuple(base[c] for c in PROBLEM_COLUMNS)


def _rows(day: st.SearchStrategy[object], text: st.SearchStrategy[object]) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {
            "problem_id": st.sampled_from(["P1", "P2", "P10"]),
            "campaign": text,
            "found_on": day,
            "village_code": st.one_of(text, st.just("441882101203")),
            "village_name": text,
            "category": text,
            "description": text,
            "deadline": day,
            "status": st.one_of(st.sampled_from(["assigned", "reported", "verified"]), st.none()),
            "cc_departments": text,
            "version": st.one_of(st.integers(1, 2**40), st.none(), st.just(2.0)),
            "updated_at": text,
            "updated_by": text,
        }
    ).map(lambda r: tuple(r[c] for c in PROBLEM_COLUMNS))


def _written(d: date) -> st.SearchStrategy[str]:
    """The ways a day is written in survey files and by QGIS."""
    forms = [d.isoformat(), f"{d.isoformat()}T00:00:00", d.strftime("%Y/%m/%d")]
    forms += [f" {d.isoformat()}T16:00:00Z", f"{d.year}-{d.month}-{d.day}"]
    return st.sampled_from(forms)


day_texts = st.one_of(
    st.none(),
    st.dates(date(1, 1, 1), date(9999, 12, 31)).flatmap(_written),
    st.sampled_from(["", "待定", "2025-02-29", "0000-01-01", "20250318", "2025-13-01"]),
)
texts = st.one_of(st.none(), st.text(max_size=5))
# rows as the workflow writes them (text or NULL), and rows edited elsewhere: a number or
# bytes where text was expected, a number where a date was
plain_rows = _rows(day_texts, texts)
odd_rows = _rows(
    st.one_of(day_texts, st.integers(20250101, 20261231)),
    st.one_of(texts, st.integers(0, 99), st.text(max_size=3).map(str.encode)),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(plain_rows, min_size=1, max_size=6))
def test_few_rows_are_typed_as_the_whole_frame_would_be(values):
    pd.testing.assert_frame_equal(typed_frame(values), _by_columns(values))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(plain_rows, odd_rows), min_size=1, max_size=6))
def test_few_rows_edited_elsewhere_are_typed_as_the_whole_frame_would_be(values):
    pd.testing.assert_frame_equal(typed_frame(values), _by_columns(values))


@pytest.mark.parametrize("n", [0, 1, FEW_ROWS, FEW_ROWS + 1])
def test_any_number_of_rows_is_typed_as_the_whole_frame_would_be(n):
    values = [_row(problem_id=f"P{i}", found_on=f"2026-01-0{1 + i % 9}") for i in range(n)]
    pd.testing.assert_frame_equal(typed_frame(values), _by_columns(values))


def test_a_day_is_kept_as_written_whatever_follows_it():
    frame = typed_frame([_row(found_on="2026-03-04T23:30:00-05:00", deadline="2026/3/5")])
    assert frame["found_on"].tolist() == [pd.Timestamp("2026-03-04")]
    assert frame["deadline"].tolist() == [pd.Timestamp("2026-03-05")]
    assert str(frame["found_on"].dtype) == "datetime64[us]"
