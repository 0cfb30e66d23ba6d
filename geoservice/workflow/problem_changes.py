"""A change of problems applied to the kept problems and their items.

The kept village status (:mod:`geoservice.workflow.village_updates`) reads the rows of the
problems that changed since it was last brought up to date, and their history; this
module gives the kept problems and items with those rows in: value by value when every
changed problem is there once and keeps its village (:func:`by_values`, see
:mod:`geoservice.workflow.few_changes`), as frames otherwise (:func:`as_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from geoservice.workflow.few_changes import Columns, written_in
from geoservice.workflow.kept_rows import Positions, replaced_at, restacked
from geoservice.workflow.problem_values import FEW_ROWS, plain_row, typed_frame
from geoservice.workflow.village_parts import problem_items
from geoservice.workflow.village_scope import index_entries

__all__ = ["Change", "as_frames", "by_values"]


@dataclass
class Change:
    """The kept problems and items after a change, each changed problem's village of the
    layer before and after (None: none), their item index entries and whether the rows
    were written where they were."""

    rows: pd.DataFrame
    items: pd.DataFrame
    before: list[Any]
    after: list[Any]
    entries: dict[str, tuple[Any, ...] | None]
    in_place: bool


def by_values(
    kept: tuple[pd.DataFrame, pd.DataFrame],
    positions: Positions,
    caches: tuple[Columns, Columns],
    ids: list[str],
    found: list[Any],
    hist_rows: list[Any],
    as_of: date,
) -> Change | None:
    """The change written value by value (:mod:`geoservice.workflow.few_changes`), None
    when it cannot be.

    Parameters
    ----------
    kept : tuple of pandas.DataFrame
        The kept problems and their items (aligned, sorted by id).
    positions : Positions
        Their row positions by id.
    caches : tuple of Columns
        Their columns.
    ids : list of str
        The changed problems' ids (from their history rows).
    found, hist_rows : list of tuple
        Their rows of ``problems`` (:data:`~geoservice.workflow.store.PROBLEM_COLUMNS`)
        and of ``problem_history``, as SQLite returns them.
    """
    if not 0 < len(found) <= FEW_ROWS:
        return None
    plain = [plain_row(values) for values in found]
    if any(row is None for row in plain):
        return None
    rows = [row for row in plain if row is not None]
    got = [row["problem_id"] for row in rows]
    if len(got) != len(ids) or set(got) != set(ids):  # one added, removed or repeated
        return None
    at = positions.rows(kept[0], kept[1], got)
    if at is None:
        return None
    w = written_in(kept[0], kept[1], at, rows, hist_rows, as_of, caches)
    if w is None:
        return None
    return Change(w.rows, w.items, w.villages, w.villages, w.entries, True)


def as_frames(
    kept: tuple[pd.DataFrame, pd.DataFrame],
    positions: Positions,
    villages: pd.DataFrame,
    ids: list[str],
    found: list[Any],
    hist_rows: list[Any],
    as_of: date,
) -> Change:
    """The change computed as frames: the changed problems typed and their items
    computed against ``villages`` (the layer), then written by position, or dropped and
    stacked again (the other parameters as for :func:`by_values`)."""
    problem_rows, problems = kept
    typed = typed_frame(found)
    hist = pd.DataFrame.from_records(
        hist_rows, columns=["problem_id", "at", "from_state", "to_state", "note"]
    )
    got = typed["problem_id"].to_numpy(dtype=object, na_value=None)
    at = None
    if len(got) == len(ids) and set(got) == set(ids):  # none added, none removed
        at = positions.rows(problem_rows, problems, list(got))
    gone = None if at is not None else problems["problem_id"].isin(ids).to_numpy()
    # each there once: written by position (kept_rows); otherwise dropped and stacked
    prior = problems.take(at) if at is not None else problems[gone]
    fresh = problem_items(typed, hist, villages, as_of, prior=prior)
    items = rows = None
    if at is not None:
        items = replaced_at(problems, at, fresh)
        rows = None if items is None else replaced_at(problem_rows, at, typed)
    in_place = items is not None and rows is not None
    if items is None or rows is None:
        if gone is None:
            gone = problems["problem_id"].isin(ids).to_numpy()
        items = restacked(problems[~gone], fresh, "problem_id")
        kept_rows = problem_rows[~problem_rows["problem_id"].isin(ids).to_numpy()]
        rows = restacked(kept_rows, typed, "problem_id")
    before = list(prior["vcode"].to_numpy(dtype=object, na_value=None))
    after = list(fresh["vcode"].to_numpy(dtype=object, na_value=None))
    return Change(rows, items, before, after, index_entries(fresh), in_place)
