"""The kept problems and their items with a few changed problems written in, value by value.

After a change of a few problems, the kept village status
(:mod:`geoservice.workflow.village_updates`) needs the kept problems and their items
(:func:`~geoservice.workflow.village_parts.problem_items`) with those problems' rows
replaced. Typing the changed rows as a frame, computing their items as a frame and writing
both by position (:func:`~geoservice.workflow.kept_rows.replaced_at`) costs a few dozen
pandas calls of tens of microseconds each, whatever the number of rows.
:func:`written_in` gives the same two frames from the rows as SQLite returns them, in
plain Python and numpy: each changed problem's values
(:func:`~geoservice.workflow.problem_values.plain_row`), its report day from its history
rows, its escalation level and on-time flags from the same array rules the frames use
(:func:`~geoservice.workflow.escalation.escalation_values`,
:func:`~geoservice.workflow.rates.on_time_values`), written into copies of the kept
columns that change.

It applies only when every changed problem is in the kept frames once, keeps the village
code and name its item was matched from (its village is taken from there, as
``problem_items`` does with ``prior``), and every value is of the type the kept columns
hold; otherwise it gives None and the frames are computed as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from geoservice.workflow.escalation import escalation_values
from geoservice.workflow.kept_rows import column_array, frame_of, written_at
from geoservice.workflow.problem_values import PROBLEM_COLUMNS
from geoservice.workflow.rates import on_time_values
from geoservice.workflow.report_days import latest_reports
from geoservice.workflow.village_parts import item_flags

__all__ = ["Columns", "Written", "written_in"]

_NAT = np.datetime64("NaT", "us")
_VILLAGE = ("vcode", "unmatched_name", "suggestions")  # taken from the kept item
_DATES = ("found_on", "deadline")
_MATCHED_FROM = ("village_code", "village_name")  # what the kept item was matched from


class Columns:
    """The columns of the last frame asked for, as arrays (a frame's columns cost a
    pandas call each to get; the kept frames are read again after every change)."""

    def __init__(self) -> None:
        self._frame: pd.DataFrame | None = None
        self._arrays: dict[str, Any] = {}

    def of(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The columns of ``frame`` by name (numpy arrays for numpy types, the pandas
        array otherwise); to be read, never changed."""
        if self._frame is not frame:
            self.keep(frame, {name: column_array(column) for name, column in frame.items()})
        return self._arrays

    def keep(self, frame: pd.DataFrame, arrays: dict[str, Any]) -> None:
        """Remember ``arrays`` as the columns of ``frame`` (equal values)."""
        self._frame, self._arrays = frame, arrays


@dataclass
class Written:
    """The kept problems and items with the changed rows written in, and what the
    village status needs of the change: each changed problem's matched village (None:
    no village of the layer; the same before and after) and its entry in the item index
    (:func:`~geoservice.workflow.village_scope.index_entries`)."""

    rows: pd.DataFrame
    items: pd.DataFrame
    villages: list[Any]
    entries: dict[str, tuple[Any, ...] | None]


def written_in(
    rows: pd.DataFrame,
    items: pd.DataFrame,
    at: np.ndarray,
    plain: Sequence[dict[str, Any]],
    history: Sequence[Sequence[Any]],
    as_of: date,
    columns: tuple[Columns, Columns],
) -> Written | None:
    """``rows`` (the kept problems) and ``items`` (their items) with the problems
    ``plain`` (:func:`~geoservice.workflow.problem_values.plain_row` of each, in the
    order of ``at``) written at positions ``at``; None when that cannot give what
    computing them as frames gives (see the module notes).

    Parameters
    ----------
    history : sequence of tuple
        The changed problems' history rows (``problem_id``, ``at``, ``from_state``,
        ``to_state``, ``note``), oldest first.
    columns : tuple of Columns
        The column caches of the kept problems and of their items.
    """
    if len(at) != len(plain) or not len(plain):
        return None
    kept_rows, kept_items = columns[0].of(rows), columns[1].of(items)
    names = (*_VILLAGE, *_MATCHED_FROM)
    read = {name: _values_at(kept_items[name], at) for name in names}
    taken = {name: values for name, values in read.items() if values is not None}
    if len(taken) != len(names):
        return None  # a column of a type not read here
    for name in _MATCHED_FROM:
        if taken[name] != [row[name] for row in plain]:
            return None  # matched again: done by problem_items
    reports = latest_reports(history)
    if reports is None:
        return None
    fresh_rows: dict[str, Any] = {c: [row[c] for row in plain] for c in PROBLEM_COLUMNS}
    for name in _DATES:  # as the frames hold them
        fresh_rows[name] = _days(fresh_rows[name])
    fresh_rows["version"] = np.asarray(fresh_rows["version"], dtype="int64")
    fresh_items = _item_values(fresh_rows, reports, as_of)
    for name in _VILLAGE:  # the village each was matched to, as before
        fresh_items[name] = taken[name]
    new_rows = _written_columns(kept_rows, at, fresh_rows, list(rows.columns))
    new_items = _written_columns(kept_items, at, fresh_items, list(items.columns))
    if new_rows is None or new_items is None:
        return None
    out_rows = frame_of(new_rows, rows.index)
    out_items = frame_of(new_items, items.index)
    columns[0].keep(out_rows, new_rows)
    columns[1].keep(out_items, new_items)
    entries: dict[str, tuple[Any, ...] | None] = {
        str(pid): (vcode, code, name, version)
        for pid, vcode, code, name, version in zip(
            fresh_rows["problem_id"], fresh_items["vcode"], fresh_rows["village_code"],
            fresh_rows["village_name"], fresh_rows["version"].tolist(), strict=True,
        )
    }  # fmt: skip
    return Written(out_rows, out_items, list(fresh_items["vcode"]), entries)


def _item_values(
    fresh: dict[str, Any], reports: dict[str, str], as_of: date
) -> dict[str, list[Any] | np.ndarray]:
    """The item columns of the changed problems but their village (see
    :func:`~geoservice.workflow.village_parts.problem_items`)."""
    status = np.asarray(fresh["status"], dtype=object)
    deadline, found = fresh["deadline"], fresh["found_on"]
    reported = np.array(
        [_NAT if (at := reports.get(pid)) is None else np.datetime64(at[:10], "us")
         for pid in fresh["problem_id"]],
        dtype="datetime64[us]",
    )  # fmt: skip
    esc = escalation_values(deadline, status, as_of, None, reported)
    due, on_time = on_time_values(deadline, status, reported, found, None, as_of)
    return {
        **item_flags(status, esc, due, on_time),
        "found_on": found,
        "problem_id": fresh["problem_id"],
        "version": fresh["version"],
        "village_code": fresh["village_code"],
        "village_name": fresh["village_name"],
    }


def _days(values: list[date | None]) -> np.ndarray:
    return np.array(
        [_NAT if v is None else np.datetime64(v, "us") for v in values], dtype="datetime64[us]"
    )


def _values_at(column: Any, at: np.ndarray) -> list[Any] | None:
    """The values of a kept column at positions ``at`` as Python objects (None where
    missing); None for a column of a type not read here."""
    if isinstance(column, pd.arrays.ArrowStringArray):
        return list(pa.array(column).take(pa.array(at)).to_pylist())
    if isinstance(column, np.ndarray) and column.dtype == object:
        return list(column[at])
    return None


def _written_columns(
    kept: dict[str, Any], at: np.ndarray, fresh: dict[str, Any], names: list[str]
) -> dict[str, Any] | None:
    """Every column of ``names``: ``kept``'s with ``fresh``'s values at ``at`` (shared
    when none changes); None when a kept column's type is not one written here or a
    value does not fit it."""
    if sorted(names) != sorted(fresh) or len(set(names)) != len(names):
        return None
    out = {}
    for name in names:
        written = written_at(kept[name], at, fresh[name])
        if written is None:
            return None
        out[name] = written
    return out
