"""Values of the ``problems`` table as the workflow reads them, for a table or one row.

The columns :data:`PROBLEM_COLUMNS` come out of SQLite as text, numbers or NULL;
:func:`typed_frame` gives them the types every reader uses (text as pandas ``string``,
``found_on`` and ``deadline`` as ``datetime64`` midnight, ``version`` as int).
:func:`plain_row` gives one row the same values as plain Python objects, without a frame,
for the reads of one problem by key; a row holding anything it does not read exactly like
the frame (a number in a text column, say) is left to :func:`typed_frame`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FEW_ROWS",
    "PROBLEM_COLUMNS",
    "day_of",
    "day_values",
    "days",
    "plain_row",
    "typed",
    "typed_frame",
]

FEW_ROWS = 64  # rows up to which typed_frame types plain values one by one
_NAT = np.datetime64("NaT", "us")

PROBLEM_COLUMNS = [
    "problem_id",
    "campaign",
    "found_on",
    "village_code",
    "village_name",
    "category",
    "description",
    "deadline",
    "status",
    "cc_departments",
    "version",
    "updated_at",
    "updated_by",
]
_DATES = ("found_on", "deadline")
_TEXT = tuple(c for c in PROBLEM_COLUMNS if c not in (*_DATES, "version"))

# The day a value starts with: ASCII digits and blanks only, so Python's and pyarrow's
# regular expressions (pandas may use either) read it alike.
_DAY = r"^[ \t\r\n]*([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
_DAY_RE = re.compile(_DAY)


def typed_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of the :data:`PROBLEM_COLUMNS` as fetched from SQLite, :func:`typed`.

    Up to :data:`FEW_ROWS` rows that :func:`plain_row` reads are typed one by one (the same
    values, without the column-wide string operations that cost about 2 ms however few
    the rows: the kept village status reads the problems that changed this way).
    """
    rows = list(rows)
    if 0 < len(rows) <= FEW_ROWS:
        plain = [plain_row(values) for values in rows]
        if all(row is not None for row in plain):
            return _plain_frame([row for row in plain if row is not None])
    return typed(pd.DataFrame.from_records(rows, columns=PROBLEM_COLUMNS, coerce_float=True))


def _plain_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame :func:`typed` gives for rows :func:`plain_row` read."""
    columns: dict[str, Any] = {}
    for col in PROBLEM_COLUMNS:
        values = [row[col] for row in rows]
        if col in _DATES:
            columns[col] = np.array(
                [_NAT if v is None else np.datetime64(v, "us") for v in values], "datetime64[us]"
            )
        elif col == "version":
            columns[col] = np.array(values, dtype="int64")
        else:
            columns[col] = pd.array(values, dtype="string")
    return pd.DataFrame(columns)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns typed in place: dates by :func:`days`, ``version`` int (1 when
    missing), the rest pandas ``string``."""
    for col in _DATES:
        frame[col] = days(frame[col])
    frame["version"] = pd.to_numeric(frame["version"]).fillna(1).astype("int64")
    for col in _TEXT:
        frame[col] = frame[col].astype("string")
    return frame


def days(values: pd.Series) -> pd.Series:
    """The calendar day each value starts with (``YYYY-MM-DD``, or ``YYYY/MM/DD``), as
    ``datetime64`` midnight; NaT for anything else (and for year 0).

    Each value is read on its own, whatever the other rows hold: the layer's importer
    writes ``YYYY-MM-DDT00:00:00``, but a row edited in QGIS may carry a time and a UTC
    offset (``...T00:00:00Z``) and a layer with a ``DATE`` column plain ``YYYY-MM-DD``;
    parsing the column as a whole would guess one format from its first value and drop
    the days written otherwise. The day is kept as written (no time zone shift).
    """
    text = values.astype("string").str.replace("/", "-", regex=False)
    day = text.str.extract(_DAY, expand=False)
    day = day.where(~day.str.startswith("0000").fillna(False))
    return pd.Series(
        pd.to_datetime(day, format="%Y-%m-%d", errors="coerce"),
        index=values.index,
        dtype="datetime64[us]",
    )


def day_values(values: pd.Series) -> np.ndarray:
    """``values`` (dates, as :func:`days` gives them or as ``pandas.to_datetime`` reads
    them) as numpy ``datetime64[us]``, NaT where missing, whatever unit pandas inferred.

    For date arithmetic in numpy: a pandas date operation costs tens of microseconds
    however few the rows, and the kept village status redoes them after every change."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return values.to_numpy().astype("datetime64[us]")
    return np.asarray(pd.to_datetime(values).astype("datetime64[us]"))


def day_of(value: str | None) -> date | None:
    """:func:`days` for one text value: the day, or None where :func:`days` gives NaT."""
    if value is None:
        return None
    found = _DAY_RE.match(value.replace("/", "-"))
    if found is None:
        return None
    year, month, day = (int(part) for part in found.group(1).split("-"))
    try:
        return date(year, month, day)
    except ValueError:  # year 0, or no such day
        return None


def plain_row(values: Sequence[Any]) -> dict[str, Any] | None:
    """One row of the :data:`PROBLEM_COLUMNS` as :func:`typed_frame` would give it, in
    plain Python: text as ``str`` or None, dates as :class:`datetime.date` or None,
    ``version`` as int.

    None when the row holds a value read differently by the frame (a number or bytes in
    a text column, text in ``version``, no ``status``): the caller then uses
    :func:`typed_frame`.
    """
    row = dict(zip(PROBLEM_COLUMNS, values, strict=True))
    if row["status"] is None or any(not isinstance(row[c], str | None) for c in _TEXT):
        return None
    version = row["version"]
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return None
    if any(not isinstance(row[c], str | None) for c in _DATES):
        return None
    parsed = {c: day_of(row[c]) for c in _DATES}
    return {**row, **parsed, "version": 1 if version is None else version}
