"""Whether the problem changes since a kept village status leave one village's part as it was.

A village user's map status shows its own village's row of the village status and its own
problems (:meth:`~geoservice.base.access.Principal.problem_mask`). Under many field
clients almost every status request finds problems changed since the kept status
(:mod:`geoservice.workflow.village_updates`) was brought up to date, mostly in other
villages; updating the whole kept status for each costs far more than the request.
:func:`leaves_village` tells, from the history rows written since and the changed
problems read by key, that none of the changes can reach the village's part: then the
kept status, not brought up to date, still gives that part exactly.

It answers True only when every change since is a problem change with a history row
(no problem added or removed, no patch, patrol or layer change), each changed problem
keeps the village code and name it had (so it is matched to the same village of the
layer), that village is not the caller's, its ``village_code`` is not the caller's code
either (the scope rule), and the version sums agree (no change went unrecorded).
Anything else is left to the full update.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from geoservice.workflow.village_snapshot import Snapshot as _Snapshot

__all__ = ["ItemIndex", "index_entries", "item_index", "leaves_village", "updated_index"]

# item columns the check reads: matched village, the code and name it was matched from,
# and the version
_ITEM_COLUMNS = ["problem_id", "vcode", "village_code", "village_name", "version"]


@dataclass(frozen=True)
class ItemIndex:
    """The kept problem items by id, as plain values.

    Attributes
    ----------
    items : pandas.DataFrame
        The items indexed (the check is valid for these only).
    by_id : dict
        Problem id → (matched village code or None, village code, village name, version);
        an id held by several items maps to None.
    layer_codes : dict
        The village codes of the villages layer, as stored, by their text.
    """

    items: pd.DataFrame
    by_id: dict[str, tuple[Any, ...] | None]
    layer_codes: dict[str, set[Any]]


def _plain(values: pd.Series) -> list[Any]:
    """Values as Python objects, missing ones as None."""
    out = values.astype(object).to_numpy()
    return [
        None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in out
    ]


def item_index(items: pd.DataFrame, villages: pd.DataFrame) -> ItemIndex:
    """:class:`ItemIndex` of the problem ``items`` of :func:`problem_items` matched
    against ``villages`` (the villages layer)."""
    codes: dict[str, set[Any]] = {}
    for code in villages["village_code"].dropna():
        codes.setdefault(str(code), set()).add(code)
    return ItemIndex(items, _by_id(items), codes)


def _keys(values: pd.Series) -> list[str]:
    """The index's key of each problem id (a missing one is ``"None"``)."""
    return [str(v) for v in _plain(values)]


def _by_id(items: pd.DataFrame) -> dict[str, tuple[Any, ...] | None]:
    columns = [_plain(items[c]) for c in _ITEM_COLUMNS[1:]]
    by_id: dict[str, tuple[Any, ...] | None] = {}
    for key, *rest in zip(_keys(items[_ITEM_COLUMNS[0]]), *columns, strict=True):
        by_id[key] = None if key in by_id else tuple(rest)
    return by_id


def index_entries(items: pd.DataFrame) -> dict[str, tuple[Any, ...] | None]:
    """The :class:`ItemIndex` entries (``by_id``) of ``items``."""
    return _by_id(items)


def updated_index(
    index: ItemIndex,
    items: pd.DataFrame,
    changed: Sequence[str],
    written: Mapping[str, tuple[Any, ...] | None] | None = None,
) -> ItemIndex:
    """The :class:`ItemIndex` of ``items``, which are the items of ``index`` but for the
    rows of the problem ids ``changed`` (changed, added or removed): only those rows are
    read again (an update of a few problems, where :func:`item_index` reads every item).

    ``written``, when given, is the entries (:func:`index_entries`) of every row of
    ``items`` whose id is in ``changed`` (the rows an update wrote): those are taken
    instead of being looked for in ``items``.
    """
    keys = {str(key) for key in changed}
    by_id = dict(index.by_id)
    for key in keys:
        by_id.pop(key, None)
    if written is not None and "None" not in keys:  # a missing id is looked for in items
        by_id.update(written)
        return ItemIndex(items, by_id, index.layer_codes)
    ids = items["problem_id"].to_numpy(dtype=object, na_value=None)
    hit = pd.Index(ids, dtype=object).isin([*keys]) | ("None" in keys and pd.isna(ids))
    by_id.update(_by_id(items[hit]))
    return ItemIndex(items, by_id, index.layer_codes)


def _same_but_problems(old: _Snapshot, new: _Snapshot) -> bool:
    """Whether nothing but problem states changed between the snapshots (no problem added
    or removed, patches, patrols and layers as they were)."""
    if not len(old.problems) == len(new.problems) == 3:  # no workflow columns yet
        return False
    kept = (old.contents, old.patches, old.patch_mark, old.patrols)
    if kept != (new.contents, new.patches, new.patch_mark, new.patrols):
        return False
    if old.problem_mark is None or new.problem_mark is None:
        return False
    # (count, sum of version, count of version): the same rows, all with a version
    return new.problems[0] == old.problems[0] == old.problems[2] == new.problems[2]


def _own_codes(index: ItemIndex, code: str) -> set[Any]:
    """The layer's village codes, as stored, whose row is the village ``code``'s."""
    return index.layer_codes.get(code, set())


def leaves_village(
    con: sqlite3.Connection,
    index: ItemIndex,
    old: _Snapshot,
    new: _Snapshot,
    code: str,
    ids: list[str] | None,
) -> bool:
    """Whether the changes between the kept snapshot ``old`` and ``new`` (read on ``con``,
    in the read transaction ``new`` was taken in) leave the part of the village ``code``
    as it was: its rows of the village status and the problems whose ``village_code`` is
    ``code`` (see the module notes). ``ids`` are the problems with history rows since
    ``old`` (None when they cannot be known, or are too many). False whenever that cannot
    be shown."""
    if not ids or not _same_but_problems(old, new):
        return False
    marks = ", ".join("?" * len(ids))
    rows = con.execute(
        "SELECT problem_id, village_code, village_name, version FROM problems "
        f"WHERE problem_id IN ({marks})",
        ids,
    ).fetchall()
    if len(rows) != len(ids):  # an id gone, or held by several rows
        return False
    own = _own_codes(index, code)
    delta = 0
    for pid, village_code, village_name, version in rows:
        was = index.by_id.get(str(pid))
        plain = all(isinstance(v, str | None) for v in (village_code, village_name))
        if was is None or not plain or not isinstance(version, int):
            return False
        vcode, was_code, was_name, was_version = was
        if (village_code, village_name) != (was_code, was_name):
            return False  # matched again: possibly to another village
        if vcode is None or vcode in own or str(vcode) == code or (village_code or "") == code:
            return False
        delta += version - int(was_version)
    return (new.problems[1] or 0) - (old.problems[1] or 0) == delta
