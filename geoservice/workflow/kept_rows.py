"""Kept frames with a few rows replaced by position.

The kept village status (:mod:`geoservice.workflow.village_updates`) holds every problem
and its item as frames sorted by problem id. After a change of a few problems, a frame
was brought up to date by finding their rows (``isin`` over every id), filtering every
column without them, stacking the fresh rows and sorting again (:func:`restacked`); for
one changed problem the lookups and filters alone cost about 3 ms of fixed pandas cost
over the two frames. When every
changed problem is already in the frames once, and the ids are unique and sorted, the
same frames come from writing the fresh rows at the old rows' positions:
:func:`id_positions` finds those once per frame, :func:`replaced_at` writes them into new
arrays (unchanged columns shared; the kept frame, shared with readers, is never changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["column_array", "frame_of", "id_positions", "replaced_at", "written_at"]


def id_positions(ids: pd.Series) -> dict[str, int] | None:
    """The row position of each id; None unless every id is text and each is greater
    than the one before (unique and sorted, as :meth:`pandas.Series.sort_values`
    orders text: by code point)."""
    values = ids.to_numpy(dtype=object, na_value=None)
    if not all(type(v) is str for v in values):
        return None
    if len(values) > 1 and not bool(np.all(values[:-1] < values[1:])):
        return None
    return {v: i for i, v in enumerate(values)}


def rows_of(positions: dict[str, int], ids: Sequence[str]) -> np.ndarray | None:
    """The positions of ``ids``; None when one is not there or one is given twice."""
    at = [positions.get(i, -1) for i in ids]
    if -1 in at or len(set(at)) != len(at):
        return None
    return np.asarray(at, dtype="intp")


def replaced_at(frame: pd.DataFrame, at: np.ndarray, fresh: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` with its rows at positions ``at`` replaced by the rows of ``fresh``, in
    order (its index is ignored); ``frame`` itself is left as it is.

    Columns whose values at those rows do not change are shared with ``frame``. None
    when the two do not have the same columns with the same types, or a column's type
    cannot be written by position (then concat and sort).
    """
    if list(frame.columns) != list(fresh.columns) or len(at) != len(fresh):
        return None
    columns = {}
    for (name, old), (_, new) in zip(frame.items(), fresh.items(), strict=True):
        if old.dtype != new.dtype:
            return None
        written = written_at(column_array(old), at, column_array(new))
        if written is None:
            return None
        columns[name] = written
    return frame_of(columns, frame.index)


def frame_of(columns: dict[str, object], index: pd.Index) -> pd.DataFrame:
    """A frame of ``columns`` on ``index``, without copies where pandas allows; object
    columns stay object (pandas would infer text from an object array of strings)."""
    held = {
        name: pd.Series(v, index=index, dtype=object, copy=False)
        if isinstance(v, np.ndarray) and v.dtype == object
        else v
        for name, v in columns.items()
    }
    return pd.DataFrame(held, index=index, copy=False)


def column_array(column: pd.Series) -> Any:
    """The values of ``column``: a numpy array for a numpy type, the pandas array
    otherwise (no copy)."""
    return column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array


def written_at(old: Any, at: np.ndarray, new: Any) -> Any | None:
    """``old`` (a column's values, as :func:`column_array` gives them) with the values
    ``new`` at positions ``at``, in order: ``old`` itself when none changes there, a new
    array otherwise (``old`` is left as it is).

    ``new`` is an array of the same type, or a sequence of Python values (text or None
    for text). None when ``old`` is neither a numpy array nor arrow-backed text, or
    ``new`` does not fit its type.
    """
    if isinstance(old, np.ndarray):
        values = _numpy_values(new, old.dtype)
        if values is None:
            return None
        if _same(old[at], values):
            return old
        out = old.copy()
        out[at] = values
        return out
    if isinstance(old, pd.arrays.ArrowStringArray):
        arrow = _arrow(old)
        replacement = _arrow_text(new, arrow.type)
        if replacement is None:
            return None
        if arrow.take(pa.array(at)).equals(replacement):
            return old
        mask = np.zeros(len(old), dtype=bool)
        mask[at] = True
        order = np.argsort(at, kind="stable")  # the mask takes replacements in row order
        written = pc.replace_with_mask(arrow, pa.array(mask), replacement.take(pa.array(order)))
        return pd.arrays.ArrowStringArray(written, dtype=old.dtype)
    return None


def _numpy_values(new: Any, dtype: np.dtype) -> np.ndarray | None:
    """``new`` as a numpy array of ``dtype``, None when it is of another type."""
    if isinstance(new, np.ndarray):
        values = new
    elif dtype.kind == "O":
        values = np.empty(len(new), dtype=object)
        for i, value in enumerate(new):
            values[i] = value  # one by one: a value may be a list
    else:
        values = np.asarray(new)
    return values if values.dtype == dtype else None


def _same(before: np.ndarray, values: np.ndarray) -> bool:
    """Whether writing ``values`` over ``before`` changes nothing (numbers, booleans and
    dates compared by value, objects by identity; other types always written)."""
    kind = before.dtype.kind
    if kind in "Mm":
        return bool(np.array_equal(before.view("int64"), values.view("int64")))
    if kind in "iub":
        return bool(np.array_equal(before, values))
    if kind == "O":
        return all(a is b for a, b in zip(before, values, strict=True))
    return False


def _arrow(values: pd.arrays.ArrowStringArray) -> pa.Array:
    data = pa.array(values)
    return data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data


def _arrow_text(new: Any, kind: pa.DataType) -> pa.Array | None:
    """``new`` as an arrow array of ``kind``, None when a value is not text or None."""
    if isinstance(new, pd.arrays.ArrowStringArray):
        return _arrow(new).cast(kind)
    if not all(v is None or type(v) is str for v in new):
        return None
    return pa.array(list(new), type=kind)


def restacked(kept: pd.DataFrame, fresh: pd.DataFrame, key: str) -> pd.DataFrame:
    """``kept`` and ``fresh`` stacked and sorted by ``key`` (stable), with a new range
    index: what :func:`replaced_at` gives when it can."""
    if fresh.empty:
        out = kept
    elif kept.empty:
        out = fresh
    else:
        out = pd.concat([kept, fresh], ignore_index=True)
    return out.sort_values(key, kind="stable").reset_index(drop=True)


class Positions:
    """The row positions of the problem ids of a pair of aligned frames (the kept
    problems and their items), valid for as long as their rows keep their ids and order.
    """

    def __init__(self) -> None:
        self._of: pd.DataFrame | None = None
        self._at: dict[str, int] | None = None

    def rows(
        self, frame: pd.DataFrame, aligned: pd.DataFrame, ids: Sequence[str]
    ) -> np.ndarray | None:
        """The positions of ``ids`` in ``frame`` (rows ``aligned`` has in the same order
        with the same ``problem_id``); None when :func:`id_positions` or
        :func:`rows_of` gives none."""
        if self._of is not frame:
            same = len(frame) == len(aligned) and frame["problem_id"].equals(aligned["problem_id"])
            self._at = id_positions(frame["problem_id"]) if same else None
            self._of = frame
        return None if self._at is None else rows_of(self._at, ids)

    def moved_to(self, frame: pd.DataFrame) -> None:
        """``frame`` replaced the frame with rows written by position: same ids, order."""
        self._of = frame
