"""The workflow store: problems, campaigns and history inside the workspace GeoPackage.

The problems stay in the ``problems`` feature layer (so QGIS and maps see them), with three
workflow columns added in place: ``version`` (starts at 1, +1 on every change),
``updated_at`` (UTC, ISO 8601) and ``updated_by``. Beside them two plain tables, listed in
``gpkg_contents``:

- ``campaigns``: campaign_id, name, started_on, ended_on, departments, note, created_at,
  created_by;
- ``problem_history``: append-only, one row per change (problem_id, at, by, from_state,
  to_state, note, evidence (JSON list of file names), version after the change).

Status changes are small SQLite transactions on the workspace file itself, not a copy
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`): each holds
``<workspace>.lock`` (the lock imports hold; waits up to :data:`LOCK_WAIT_SECONDS`), opens
``BEGIN IMMEDIATE``, ensures the workflow tables (:func:`ensure_workflow`), checks the version
(``UPDATE ... WHERE problem_id = ? AND version = ?``) and writes the problem row, a history
row and an audit row before one ``COMMIT``; concurrent changes in one process share that
transaction, each undone alone when it fails (:mod:`geoservice.base.write_batch`). SQLite's
log makes the change all or nothing, also when the process is killed half-way.

A layer rewritten by a plain ``geoservice import problems`` loses the three columns; the
next workflow change adds them back and takes the state, version and last editor of every
problem with history from its last history row, so no workflow state is lost that way.
Reads never write: until that change, a read computes the same reconciliation in
temporary tables of its own connection, so it sees what the migration will store
(:mod:`geoservice.workflow.store_schema`).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from geoservice.base.errors import NotFoundError, StaleVersionError, message
from geoservice.base.gpkg_sql import LOCK_WAIT_SECONDS, audit
from geoservice.base.schema_memo import known_step
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table, table_snapshot
from geoservice.base.write_batch import write_batched
from geoservice.workflow.patch_store import patch_links
from geoservice.workflow.problem_values import PROBLEM_COLUMNS, typed_frame
from geoservice.workflow.states import check_transition, state_label
from geoservice.workflow.store_schema import (
    ensure_workflow,
    workflow_ready,
    workflow_view,
)

__all__ = [
    "HISTORY_COLUMNS",
    "LOCK_WAIT_SECONDS",
    "PROBLEM_COLUMNS",
    "ProblemValues",
    "campaigns",
    "ensure_workflow",
    "history",
    "history_not_found",
    "read_problem",
    "read_problem_values",
    "read_problems",
    "transaction",
    "update_problem",
]

HISTORY_COLUMNS = [
    "problem_id",
    "at",
    "by",
    "from_state",
    "to_state",
    "note",
    "evidence",
    "version",
]


# --- connections ------------------------------------------------------------------------


@contextlib.contextmanager
def transaction(ws: Workspace, actor: str = "system") -> Iterator[sqlite3.Connection]:
    """One write transaction on the workspace file with the workflow tables in place.

    :meth:`~geoservice.base.workspace.Workspace.sql_transaction` with
    :func:`ensure_workflow` as its schema step: waits up to :data:`LOCK_WAIT_SECONDS` for
    another writer, then raises :class:`~geoservice.base.errors.ConflictError`;
    everything done on the yielded connection is committed together, or rolled back when
    an exception leaves the block.
    """
    with ws.sql_transaction(actor, schema=ensure_workflow) as con:
        yield con


@contextlib.contextmanager
def _reading(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A read connection that sees the workflow tables as the next change will store them.

    One read transaction, so the tables read together are of one committed state.
    """
    with ws.read_connection() as con:
        con.execute("BEGIN")
        try:
            with table_snapshot(con):
                if not workflow_ready(con):
                    workflow_view(con)
                yield con
        finally:
            con.execute("ROLLBACK")


# --- reading ----------------------------------------------------------------------------


def read_problems(ws: Workspace) -> pd.DataFrame:
    """The problems with their workflow columns (no geometry), sorted by id.

    ``found_on`` and ``deadline`` are ``datetime64`` (midnight; the day each value starts
    with, :func:`~geoservice.workflow.problem_values.days`); ``version`` is int.
    """
    with _reading(ws) as con:
        return typed_frame(_problem_values(con))


def read_problem(ws: Workspace, problem_id: str) -> pd.DataFrame:
    """The rows of :func:`read_problems` with this id (normally one, none when there is
    no such problem), read by key instead of reading the whole table."""
    with _reading(ws) as con:
        return typed_frame(_problem_values(con, problem_id))


class ProblemValues(NamedTuple):
    """What :func:`read_problem_values` read of one problem.

    Attributes
    ----------
    rows : list of tuple
        The :data:`PROBLEM_COLUMNS` of the rows with this id (normally one; none when there
        is no such problem), for :func:`~geoservice.workflow.problem_values.plain_row` or
        :func:`~geoservice.workflow.problem_values.typed_frame`.
    history : list of dict
        The rows of :func:`history` as plain dicts, oldest first (``evidence`` a list).
    patch_id : str or None
        The change patch the problem was opened for
        (:func:`~geoservice.workflow.patch_store.patches_of_problems`), when asked for.
    """

    rows: list[tuple[Any, ...]]
    history: list[dict[str, Any]]
    patch_id: str | None = None


def read_problem_values(
    ws: Workspace, problem_id: str, *, with_history: bool = True, with_patch: bool = False
) -> ProblemValues:
    """One problem read by key, as SQLite gives it, its history (unless ``with_history``
    is False) and the patch it was opened for (with ``with_patch``), from one read
    transaction (so they agree on the version) on one connection."""
    with _reading(ws) as con:
        rows = _problem_values(con, problem_id)
        if not rows:
            return ProblemValues(rows, [])
        patch = patch_links(con, [problem_id]).get(problem_id) if with_patch else None
        if not with_history:
            return ProblemValues(rows, [], patch)
        cur = con.execute(f"{_HISTORY_SELECT} WHERE problem_id = ? ORDER BY id", (problem_id,))
        past = [dict(zip(HISTORY_COLUMNS, r, strict=True)) for r in cur.fetchall()]
    for entry in past:
        entry["evidence"] = _evidence(entry["evidence"])
    return ProblemValues(rows, past, patch)


def _problem_values(
    con: sqlite3.Connection, problem_id: str | None = None
) -> list[tuple[Any, ...]]:
    """All problems, or those with ``problem_id``, by id; ties of id in file order."""
    if not has_table(con, "problems"):
        return []
    cols = ", ".join(f'"{c}"' for c in PROBLEM_COLUMNS)
    where, args = ("WHERE problem_id = ?", (problem_id,)) if problem_id is not None else ("", ())
    sql = f"SELECT {cols} FROM problems {where} ORDER BY problem_id, rowid"
    return [tuple(r) for r in con.execute(sql, args).fetchall()]


_HISTORY_SELECT = (
    'SELECT problem_id, at, "by", from_state, to_state, note, evidence, version '
    "FROM problem_history"
)


def _evidence(text: str | None) -> list[str]:
    return json.loads(text) if text else []


def history(ws: Workspace, problem_id: str | None = None) -> pd.DataFrame:
    """The history of one problem (or of all), oldest first; ``evidence`` is a list."""
    with _reading(ws) as con:
        frame = _history_rows(con, problem_id)
        if problem_id and frame.empty:
            raise _not_found(problem_id, _problem_ids(con))
    return frame


def history_not_found(ws: Workspace, problem_id: str) -> NotFoundError:
    """The error :func:`history` raises for a problem without history."""
    with _reading(ws) as con:
        return _not_found(problem_id, _problem_ids(con))


def _history_rows(con: sqlite3.Connection, problem_id: str | None) -> pd.DataFrame:
    where, args = ("WHERE problem_id = ?", (problem_id,)) if problem_id else ("", ())
    frame = pd.read_sql_query(f"{_HISTORY_SELECT} {where} ORDER BY id", con, params=args)
    frame["evidence"] = frame["evidence"].map(_evidence)
    return frame


def _problem_ids(con: sqlite3.Connection) -> list[str]:
    if not has_table(con, "problems"):
        return []
    return [r[0] for r in con.execute("SELECT problem_id FROM problems")]


def campaigns(ws: Workspace) -> pd.DataFrame:
    """The campaigns, by start date."""
    with _reading(ws) as con:
        return pd.read_sql_query(
            "SELECT campaign_id, name, started_on, ended_on, departments, note, created_at, "
            "created_by FROM campaigns ORDER BY started_on, campaign_id",
            con,
        )


def _not_found(problem_id: str, known: Sequence[str]) -> NotFoundError:
    close = difflib.get_close_matches(problem_id, [str(k) for k in known], n=3, cutoff=0.6)
    hint_zh = (
        f"相近的编号：{'、'.join(close)}。" if close else "请用 geoservice problems list 查看。"
    )
    hint_en = f" Close ids: {', '.join(close)}." if close else " See 'geoservice problems list'."
    return NotFoundError(
        message(
            "workflow.no_problem",
            f"工作空间中没有编号为“{problem_id}”的问题；{hint_zh}",
            f"The workspace has no problem {problem_id!r}.{hint_en}",
        )
    )


# --- writing ----------------------------------------------------------------------------


def append_history(
    con: sqlite3.Connection,
    problem_id: str,
    at: str,
    by: str,
    from_state: str | None,
    to_state: str,
    note: str | None,
    evidence: Sequence[str],
    version: int,
) -> None:
    """Append one history row (inside the caller's transaction)."""
    con.execute(
        'INSERT INTO problem_history (problem_id, at, "by", from_state, to_state, note, '
        "evidence, version) VALUES (?,?,?,?,?,?,?,?)",
        (
            problem_id,
            at,
            by,
            from_state,
            to_state,
            note,
            json.dumps(list(evidence), ensure_ascii=False),
            version,
        ),
    )


def _stale(problem_id: str, expected: int, row: tuple[Any, ...]) -> StaleVersionError:
    _status, version, by, at = row
    return StaleVersionError(
        message(
            "workflow.stale_version",
            f"问题 {problem_id} 已被修改：你基于第 {expected} 版，当前为第 {version} 版"
            f"（最后由 {by or '未知'} 于 {at or '未知时间'} 修改，状态 {state_label(_status)}）；"
            "未做任何修改。请用 geoservice problems history 查看后基于最新版本重试。",
            f"Problem {problem_id} has changed: you expected version {expected} but it is at "
            f"version {version} (last changed by {by or 'unknown'} at {at or 'unknown time'}, "
            f"status {_status!r}); nothing was changed. Check 'geoservice problems history' "
            "and retry from the current version.",
        )
    )


def update_problem(
    ws: Workspace,
    problem_id: str,
    to: str,
    by: str,
    *,
    note: str | None = None,
    evidence: Sequence[str | Path] = (),
    expected_version: int | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move a problem to state ``to``, in place and all or nothing.

    Parameters
    ----------
    problem_id : str
    to : str
        The new state; only the transitions of :mod:`~geoservice.workflow.states`.
    by : str
        Who makes the change (stored in the history and the audit log).
    note : str, optional
    evidence : sequence of str or Path
        Evidence files; only their names are stored.
    expected_version : int, optional
        The version the caller saw; a different current version raises
        :class:`~geoservice.base.errors.ConflictError` and changes nothing. Without it the
        change applies to whatever version is current.

    Returns
    -------
    dict
        ``problem_id``, ``from_state``, ``to_state``, ``version`` (after), ``at``, ``by``.
    """
    names = [Path(e).name for e in evidence]

    def write(con: sqlite3.Connection) -> dict[str, Any]:
        row = _current(con, problem_id)
        expected = row[1] if expected_version is None else expected_version
        if expected != row[1]:
            raise _stale(problem_id, expected, row)
        check_transition(problem_id, row[0], to)
        at = now_iso()
        cur = con.execute(
            "UPDATE problems SET status = ?, version = version + 1, updated_at = ?, "
            "updated_by = ? WHERE problem_id = ? AND version = ?",
            (to, at, by, problem_id, expected),
        )
        if cur.rowcount != 1:
            raise _stale(problem_id, expected, _current(con, problem_id))
        version = int(expected) + 1
        append_history(con, problem_id, at, by, row[0], to, note, names, version)
        change = {
            "problem_id": problem_id,
            "from_state": row[0],
            "to_state": to,
            "version": version,
            "at": at,
            "by": by,
        }
        detail = {**(context or {}), **change, "note": note, "evidence": names}
        audit(con, at, by, "problem.update", problem_id, detail)
        return change

    # updates of concurrent requests share a transaction (geoservice.base.write_batch)
    return write_batched(ws, write, by, schema=ensure_workflow)


def _current(con: sqlite3.Connection, problem_id: str) -> tuple[Any, ...]:
    # the workflow columns were added at this schema version: the table is there
    if not known_step("workflow.problem_columns") and not has_table(con, "problems"):
        raise _not_found(problem_id, [])
    row = con.execute(
        "SELECT status, version, updated_by, updated_at FROM problems WHERE problem_id = ?",
        (problem_id,),
    ).fetchone()
    if row is None:
        raise _not_found(problem_id, _problem_ids(con))
    return tuple(row)
