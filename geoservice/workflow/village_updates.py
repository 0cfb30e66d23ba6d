"""The village status kept in memory and updated for the problems and patches that changed.

:func:`kept_village_status` keeps, per workspace file, evaluation day and calendar day,
each problem's and patch's contribution (:mod:`geoservice.workflow.village_parts`), their
sums per village and the finished table. Each call reads a small snapshot of the file in
one read transaction (:mod:`geoservice.workflow.village_snapshot`):

- what a rewrite changes: the file (device, inode and the import generation of
  :func:`~geoservice.base.data_version.data_version`) and ``gpkg_contents`` (every table
  but the complaint ones live intake stamps); any change there rebuilds everything;
- problems: count and sum of ``version``, and the last ``problem_history`` id;
- patches: the count of ``patch_state`` and the last ``patch_history`` id (the sum of
  ``version`` is read when the patches are updated);
- patrols: count and latest ``created_at``.

Every problem or patch change appends a history row in the same transaction, so the ids
written since the last snapshot name the changed problems and patches: those are read
again by key (in the same read transaction) and only their villages are summed again.
The counts and version sums must then equal the snapshot's; when they do not (a change
that wrote no history, such as patches registered by a first patch update), or when more
than :data:`UPDATE_LIMIT` items changed, everything is read again. As the snapshot comes
from the file, a change made by another process is seen the same way.

Callers queue for the state one at a time. A caller that finds it brought up to date from
a read that began after the caller came (by the caller before it in the queue) takes it as
it is: it holds every change committed before the caller came, as its own read would.
Under load, status requests that arrive while an update runs then share the next one
instead of each running its own.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from geoservice.base.data_version import data_version
from geoservice.base.real_paths import real_path
from geoservice.base.villages import FILE_PARTS_ONLY, read_villages
from geoservice.base.workspace import Workspace
from geoservice.workflow.few_changes import Columns
from geoservice.workflow.generations import derive, new_generation
from geoservice.workflow.kept_rows import Positions, restacked
from geoservice.workflow.patch_progress import (
    patch_items,
    patch_progress,
    read_village_patch_states,
)
from geoservice.workflow.patch_store import patch_states_of
from geoservice.workflow.patrols import patrols_in_month
from geoservice.workflow.problem_changes import as_frames, by_values
from geoservice.workflow.store import PROBLEM_COLUMNS, history, read_problems
from geoservice.workflow.village_parts import (
    assemble,
    outside_layer,
    problem_aggregates,
    problem_items,
    replace_rows,
    unmatched_problems,
    village_rows,
)
from geoservice.workflow.village_scope import (
    ItemIndex,
    item_index,
    leaves_village,
    updated_index,
)
from geoservice.workflow.village_snapshot import Snapshot as _Snapshot
from geoservice.workflow.village_snapshot import snapshot as _snapshot

__all__ = [
    "COUNTS",
    "UPDATE_LIMIT",
    "KeptView",
    "clear_kept",
    "kept_problems",
    "kept_view",
    "kept_village_status",
]

UPDATE_LIMIT = 500  # changed problems or patches beyond which everything is read again
_KEPT = 8  # (workspace, day) entries kept
_T = TypeVar("_T")


@dataclass
class _State:
    base: tuple[Any, ...]
    snap: _Snapshot
    villages: pd.DataFrame
    problem_rows: pd.DataFrame
    problems: pd.DataFrame
    inside: pd.DataFrame
    outside: pd.DataFrame
    patches: pd.DataFrame
    patch_versions: pd.Series
    patch_inside: pd.DataFrame
    patch_outside: pd.DataFrame
    targets: pd.Series
    patrols: pd.Series
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    result: pd.DataFrame = field(default_factory=pd.DataFrame)
    # numbers of ``result`` and ``problem_rows``: new whenever either is replaced
    result_generation: int = 0
    problems_generation: int = 0
    index: ItemIndex | None = None  # the items by id, for village_scope (built on use)
    positions: Positions = field(default_factory=Positions)  # of problem_rows and problems
    # the columns of problem_rows and problems (few_changes)
    row_columns: Columns = field(default_factory=Columns)
    item_columns: Columns = field(default_factory=Columns)
    # when the file was last read for this state (time.monotonic() before the read
    # transaction began): the state holds every change committed before then
    read_at: float = float("-inf")

    def refresh_rows(self) -> None:
        """The table's rows again (after the villages outside the layer, the patch
        figures or the patrols changed)."""
        patches = (self.patch_inside, self.patch_outside)
        self.rows = village_rows(self.villages, self.outside, patches, self.targets, self.patrols)


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: _State | None = None


# how often the kept status was rebuilt from everything, and updated for what changed
# (of which: with the problems' rows written in place, and of those: value by value), and
# how often a village's part was found untouched by the changes (not brought up to date)
COUNTS: Counter[str] = Counter(rebuilds=0, updates=0, untouched=0, shared=0, in_place=0, values=0)
_ENTRIES: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
_ENTRIES_LOCK = threading.Lock()


def clear_kept() -> None:
    """Forget every kept village status."""
    with _ENTRIES_LOCK:
        _ENTRIES.clear()


def _entry(key: tuple[Any, ...]) -> _Entry:
    with _ENTRIES_LOCK:
        entry = _ENTRIES.get(key)
        if entry is None:
            entry = _ENTRIES[key] = _Entry()
            while len(_ENTRIES) > _KEPT:
                _ENTRIES.popitem(last=False)
        _ENTRIES.move_to_end(key)
        return entry


def kept_village_status(ws: Workspace, as_of: date) -> pd.DataFrame:
    """:func:`~geoservice.workflow.villages.village_status` with the default thresholds,
    kept and updated for what changed since the last call (see the module notes); equal
    to :func:`~geoservice.workflow.villages.rebuild_village_status`."""
    from geoservice.workflow.villages import rebuild_village_status

    return _kept(ws, as_of, _answer, lambda: rebuild_village_status(ws, as_of))


def kept_problems(ws: Workspace, as_of: date) -> pd.DataFrame:
    """:func:`~geoservice.workflow.store.read_problems`, from the state
    :func:`kept_village_status` keeps for ``as_of`` (brought up to date the same way).

    Read again while the problems have no workflow columns or some are not reconciled
    (after a plain import): a read then computes them anew (``updated_at`` is the time of
    the read).
    """

    def answer(state: _State) -> pd.DataFrame:
        if _problems_ready(state.snap):
            return state.problem_rows.copy()
        return read_problems(ws)

    return _kept(ws, as_of, answer, lambda: read_problems(ws))


@dataclass(frozen=True)
class KeptView:
    """The kept village status and problems, shared (read them, never change them), each
    with a number that is new whenever it is replaced (None: read afresh, not kept)."""

    status: pd.DataFrame
    status_generation: int | None
    problems: pd.DataFrame
    problems_generation: int | None


def kept_view(ws: Workspace, as_of: date, village: str | None = None) -> KeptView:
    """:func:`kept_village_status` and :func:`kept_problems` from one snapshot, without
    copies, with their generations (what a caller keeps derived from them is current
    while the generation is the same).

    With ``village`` (a village code), only that village's rows of the status and the
    problems whose ``village_code`` it is are current: when the changes since the kept
    status provably leave them as they were
    (:func:`~geoservice.workflow.village_scope.leaves_village`), the kept status is
    given without being brought up to date, and the other rows may be behind."""
    from geoservice.workflow.villages import rebuild_village_status

    def answer(state: _State) -> KeptView:
        if _problems_ready(state.snap):
            probs, number = state.problem_rows, state.problems_generation
        else:
            probs, number = read_problems(ws), None
        return KeptView(state.result, state.result_generation, probs, number)

    def uncached() -> KeptView:
        return KeptView(rebuild_village_status(ws, as_of), None, read_problems(ws), None)

    return _kept(ws, as_of, answer, uncached, village)


def _problems_ready(snap: _Snapshot) -> bool:
    """Whether every problem has its workflow columns stored (see the store's notes)."""
    return snap.problems[0] not in ("absent", "plain") and snap.problems[0] == snap.problems[2]


def _kept(
    ws: Workspace,
    as_of: date,
    answer: Callable[[_State], _T],
    uncached: Callable[[], _T],
    village: str | None = None,
) -> _T:
    """``answer`` of the kept state of ``ws`` and ``as_of``, brought up to date first
    (unless the part of ``village`` is untouched: see :func:`kept_view`); ``uncached()``
    when the file cannot be told apart now."""
    arrived = time.monotonic()
    identity = data_version(ws.path, without=FILE_PARTS_ONLY)
    if identity is None:  # no file yet, or busy past the timeout: nothing is kept
        return uncached()
    entry = _entry((real_path(ws.path), as_of, date.today()))
    with entry.lock:
        state = entry.state
        if state is not None and state.read_at >= arrived:
            # brought up to date by a caller that read the file after this one came:
            # every change committed before this call is in it
            COUNTS["shared"] += 1
            return answer(state)
        with ws.read_connection() as con:
            read_at = time.monotonic()
            con.execute("BEGIN")
            try:
                snap = _snapshot(con)
                base = (identity, snap.contents)
                if state is not None and _untouched(con, state, base, snap, village):
                    return answer(state)  # not brought up to date: read_at stays
                if state is not None and _current(ws, con, state, base, snap, as_of):
                    state.read_at = read_at
                    return answer(state)
            finally:
                con.execute("ROLLBACK")
        entry.state = _rebuild(ws, as_of, base, snap)
        entry.state.read_at = read_at
        return answer(entry.state)


def _current(
    ws: Workspace,
    con: sqlite3.Connection,
    state: _State,
    base: tuple[Any, ...],
    snap: _Snapshot,
    as_of: date,
) -> bool:
    """Whether ``state`` is (brought) up to date with ``base`` and ``snap``."""
    if state.base != base:
        return False
    return snap == state.snap or _update(ws, con, state, snap, as_of)


def _untouched(
    con: sqlite3.Connection,
    state: _State,
    base: tuple[Any, ...],
    snap: _Snapshot,
    village: str | None,
) -> bool:
    """Whether ``state``, as it is, still gives the part of ``village`` (None: none asked
    for) at ``base`` and ``snap``."""
    if village is None or state.base != base or snap == state.snap:
        return False
    if state.index is None or state.index.items is not state.problems:
        state.index = item_index(state.problems, state.villages)
    ids = _changed(con, "problem_history", "problem_id", state.snap.problem_mark)
    if not leaves_village(con, state.index, state.snap, snap, village, ids):
        return False
    COUNTS["untouched"] += 1
    return True


def _answer(state: _State) -> pd.DataFrame:
    out = state.result.copy()
    out.attrs["unmatched"] = unmatched_problems(state.problems)
    return out


# --- everything again -------------------------------------------------------------------


def _patch_items(states: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    ids = states["patch_id"] if "patch_id" in states else pd.Series(dtype=object)
    items = patch_items(states, villages)
    return items.assign(patch_id=ids.astype("string").to_numpy())


def _patch_versions(ws: Workspace) -> pd.Series:
    with ws.read_connection() as con:
        tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}
        if "patch_state" not in tables:
            return pd.Series(dtype="int64")
        rows = con.execute("SELECT patch_id, version FROM patch_state").fetchall()
    return pd.Series({str(k): int(v) for k, v in rows}, dtype="int64")


def _rebuild(ws: Workspace, as_of: date, base: tuple[Any, ...], snap: _Snapshot) -> _State:
    """Everything read again (after ``snap`` was taken: what changed since is read again
    by the next update)."""
    villages = read_villages(ws)
    probs = read_problems(ws)
    items = problem_items(probs, history(ws) if len(probs) else None, villages, as_of)
    patches = _patch_items(read_village_patch_states(ws, as_of), villages)
    patch_inside, patch_outside = patch_progress(patches)
    state = _State(
        base=base,
        snap=snap,
        villages=villages,
        problem_rows=probs,
        problems=items,
        inside=problem_aggregates(items),
        outside=outside_layer(items),
        patches=patches,
        patch_versions=_patch_versions(ws),
        patch_inside=patch_inside,
        patch_outside=patch_outside,
        targets=_targets(ws),
        patrols=patrols_in_month(ws, as_of),
    )
    state.refresh_rows()
    state.result = _assemble(state, as_of)
    state.result_generation = new_generation()
    state.problems_generation = new_generation()
    COUNTS["rebuilds"] += 1
    return state


def _targets(ws: Workspace) -> pd.Series:
    from geoservice.workflow.villages import targets_per_village

    return targets_per_village(ws)


def _assemble(state: _State, as_of: date) -> pd.DataFrame:
    return assemble(state.rows, state.villages, state.inside, state.outside, as_of)


# --- only what changed ------------------------------------------------------------------


def _update(
    ws: Workspace, con: sqlite3.Connection, state: _State, snap: _Snapshot, as_of: date
) -> bool:
    """Bring ``state`` to ``snap``, reading on ``con`` only what changed; False (``state``
    unusable) when the changes cannot be told from the history."""
    old, outside = state.snap, state.outside
    touched: set[str] = set()
    problems = (snap.problems, snap.problem_mark) != (old.problems, old.problem_mark)
    if problems:
        found = _update_problems(con, state, snap, as_of)
        if found is None:
            return False
        touched = found
    patches = (snap.patches, snap.patch_mark) != (old.patches, old.patch_mark)
    if patches and not _update_patches(con, state, snap, as_of):
        return False
    if snap.patrols != old.patrols:
        state.patrols = patrols_in_month(ws, as_of)
    keys = ["village_code", "village_name"]
    outside_rows = state.outside is not outside and not outside[keys].equals(state.outside[keys])
    if patches or outside_rows or snap.patrols != old.patrols:
        state.refresh_rows()
    state.result = _assemble(state, as_of)
    if patches or snap.patrols != old.patrols or state.outside is not outside:
        state.result_generation = new_generation()
    else:  # only the rows of the villages the changed problems were and are in
        state.result_generation = derive(state.result_generation, touched)
    state.snap = snap
    COUNTS["updates"] += 1
    return True


def _changed(con: sqlite3.Connection, table: str, key: str, since: int | None) -> list[str] | None:
    """Keys with history rows after id ``since``; None when they cannot be known."""
    if since is None:
        return None
    rows = con.execute(f"SELECT DISTINCT {key} FROM {table} WHERE id > ?", (since,)).fetchall()
    return None if len(rows) > UPDATE_LIMIT else [str(r[0]) for r in rows]


def _update_problems(
    con: sqlite3.Connection, state: _State, snap: _Snapshot, as_of: date
) -> set[str] | None:
    """Bring the problems of ``state`` to ``snap``; the codes (as text) of the villages
    of the layer the changed problems were or are in, None when the changes cannot be
    told from the history (``state`` unusable)."""
    if not _problems_ready(snap):
        return None  # no workflow columns yet, or problems not reconciled: read all
    count, total = snap.problems[0], snap.problems[1] or 0
    ids = _changed(con, "problem_history", "problem_id", state.snap.problem_mark)
    if ids is None:
        return None
    marks = ", ".join("?" * len(ids))
    cols = ", ".join(f'"{c}"' for c in PROBLEM_COLUMNS)
    sql = f"SELECT {cols} FROM problems WHERE problem_id IN ({marks}) ORDER BY problem_id, rowid"
    found = con.execute(sql, ids).fetchall()
    hist_rows = con.execute(
        "SELECT problem_id, at, from_state, to_state, note FROM problem_history "
        f"WHERE problem_id IN ({marks}) ORDER BY id",
        ids,
    ).fetchall()
    kept = (state.problem_rows, state.problems)
    caches = (state.row_columns, state.item_columns)
    change = by_values(kept, state.positions, caches, ids, found, hist_rows, as_of)
    if change is not None:
        COUNTS["values"] += 1
    else:
        change = as_frames(kept, state.positions, state.villages, ids, found, hist_rows, as_of)
    if len(change.items) != count or int(change.items["version"].sum()) != total:
        return None
    if change.in_place:
        state.positions.moved_to(change.rows)
        COUNTS["in_place"] += 1
    state.problem_rows = change.rows
    state.problems_generation = derive(state.problems_generation, ids)
    touched = {c for c in (*change.before, *change.after) if c is not None}
    state.inside = replace_rows(state.inside, touched, problem_aggregates(change.items, touched))
    if None in change.before or None in change.after:
        state.outside = outside_layer(change.items)
    if state.index is not None and state.index.items is state.problems:
        state.index = updated_index(state.index, change.items, ids, change.entries)
    state.problems = change.items
    return {str(code) for code in touched}


def _update_patches(con: sqlite3.Connection, state: _State, snap: _Snapshot, as_of: date) -> bool:
    if snap.patches[0] == "absent":
        return False
    ids = _changed(con, "patch_history", "patch_id", state.snap.patch_mark)
    if ids is None:
        return False
    marks = ", ".join("?" * len(ids))
    versions = con.execute(
        f"SELECT patch_id, version FROM patch_state WHERE patch_id IN ({marks})", ids
    ).fetchall()
    kept = state.patch_versions[~state.patch_versions.index.isin(ids)]
    fresh_versions = pd.Series({str(k): int(v) for k, v in versions}, dtype="int64")
    all_versions = pd.concat([kept, fresh_versions]) if len(fresh_versions) else kept
    total = con.execute("SELECT sum(version) FROM patch_state").fetchone()[0] or 0
    if (len(all_versions), int(all_versions.sum())) != (snap.patches[0], total):
        return False
    fresh = _patch_items(patch_states_of(con, ids, as_of), state.villages)
    gone = state.patches["patch_id"].isin(ids).to_numpy()
    touched = {*state.patches["vcode"][gone].dropna(), *fresh["vcode"].dropna()}
    items = restacked(state.patches[~gone], fresh, "patch_id")
    lost = state.patches["vcode"][gone].isna().any() or fresh["vcode"].isna().any()
    inside, outside = patch_progress(items, touched)
    state.patch_inside = replace_rows(state.patch_inside, touched, inside)
    if lost:
        state.patch_outside = outside
    state.patches = items
    state.patch_versions = all_versions
    return True
