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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["frame_of", "id_positions", "replaced_at"]


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
        written = _written(old, at, new)
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


def _written(old: pd.Series, at: np.ndarray, new: pd.Series) -> object | None:
    """The values of ``old`` with ``new`` at positions ``at`` (``old``'s own array when
    nothing there changes)."""
    if isinstance(old.dtype, np.dtype):
        kept = old.to_numpy()
        values = new.to_numpy()
        if old.dtype.kind in "iuMmb" and np.array_equal(
            kept[at].view("int64") if old.dtype.kind in "Mm" else kept[at],
            values.view("int64") if old.dtype.kind in "Mm" else values,
        ):
            return old.array
        out = kept.copy()
        out[at] = values
        return out
    if isinstance(old.array, pd.arrays.ArrowStringArray):
        before = old.array.take(at)
        if before.equals(new.array):
            return old.array
        arrow = pa.array(old.array)
        mask = np.zeros(len(old), dtype=bool)
        mask[at] = True
        order = np.argsort(at, kind="stable")  # the mask takes replacements in row order
        replacement = pa.array(new.array.take(order)).cast(arrow.type)
        return pd.arrays.ArrowStringArray(
            pc.replace_with_mask(arrow, pa.array(mask), replacement), dtype=old.dtype
        )
    return None


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
