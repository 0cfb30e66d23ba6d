"""Target outcomes in the workspace: version-checked state changes and action records.

The tables are those of :mod:`geoservice.analysis.target_register` (``target_state``,
``target_history``, ``target_actions``, ``target_lineage``), kept apart from the
``targets`` layer so a re-analysis rewrites the layer and leaves the outcomes alone.

Every write is one small SQLite transaction on the workspace file itself
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`, the register tables as its
schema step): a state change checks the version (``UPDATE ... WHERE target_id = ? AND
version = ?``) and writes the state row, a history row and an audit row before one
``COMMIT``; an action record is appended with its audit row. Action records do not change
the version: a cooperating department recording what it did never makes the lead
department's pending change stale.

A target's history and actions include those of the targets it continues (split off or
merged into it, :data:`target_lineage`), so outcomes follow a target whose parcels change.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from geoservice.analysis.target_register import SNAPSHOT_COLUMNS, append_history, ensure_register
from geoservice.base.errors import NotFoundError, StaleVersionError, message
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table
from geoservice.workflow.target_states import check_target_transition, target_state_label

__all__ = [
    "ACTION_COLUMNS",
    "HISTORY_COLUMNS",
    "add_action",
    "insert_action",
    "target_actions",
    "target_history",
    "update_target",
]

HISTORY_COLUMNS = [
    "target_id",
    "at",
    "by",
    "from_state",
    "to_state",
    "note",
    "case_number",
    "version",
]
ACTION_COLUMNS = [
    "target_id",
    "department",
    "acted_on",
    "action",
    "people",
    "seizures",
    "note",
    "photos",
    "at",
    "by",
]
# The target and every target it continues (split off or merged into it), recursively.
_LINE = (
    "WITH RECURSIVE line(id) AS (SELECT ? UNION SELECT l.old_id FROM target_lineage l "
    "JOIN line ON l.new_id = line.id WHERE l.how IN ('split', 'merged'))"
)


@contextlib.contextmanager
def transaction(ws: Workspace, actor: str) -> Iterator[sqlite3.Connection]:
    """One write transaction on the workspace file with the register tables in place."""
    with ws.sql_transaction(actor, schema=ensure_register) as con:
        yield con


def _frame(ws: Workspace, sql: str, target_id: str, columns: list[str]) -> pd.DataFrame:
    with ws.read_connection() as con:
        if not (has_table(con, "target_history") and has_table(con, "target_lineage")):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        frame = pd.read_sql_query(sql, con, params=(target_id,))
    return frame.astype(object).where(frame.notna(), None)


def target_history(ws: Workspace, target_id: str) -> pd.DataFrame:
    """State changes of the target and of the targets it continues, oldest first
    (:data:`HISTORY_COLUMNS`)."""
    cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
    sql = f"{_LINE} SELECT {cols} FROM target_history WHERE target_id IN line ORDER BY id"
    return _frame(ws, sql, target_id, HISTORY_COLUMNS)


def target_actions(ws: Workspace, target_id: str) -> pd.DataFrame:
    """Action records of the target and of the targets it continues, by date then entry
    (:data:`ACTION_COLUMNS`; ``photos`` a list of file names)."""
    cols = ", ".join(f'"{c}"' for c in ACTION_COLUMNS)
    sql = f"{_LINE} SELECT {cols} FROM target_actions WHERE target_id IN line ORDER BY acted_on, id"
    frame = _frame(ws, sql, target_id, ACTION_COLUMNS)
    frame["photos"] = frame["photos"].map(lambda s: json.loads(s) if s else [])
    return frame


def _not_registered(target_id: str) -> NotFoundError:
    return NotFoundError(
        message(
            "targets.not_found",
            f"没有编号为“{target_id}”的目标，或该目标不在您的查看范围内；请从目标清单中选择。",
            f"There is no target {target_id!r}, or it is outside what you may see; pick one "
            "from the target list.",
        )
    )


def _current(
    con: sqlite3.Connection, target_id: str, snapshot: Mapping[str, Any] | None, at: str, by: str
) -> tuple[str, int, str | None, str | None]:
    """State, version, last editor and time of the target; a target of the layer that the
    register does not hold yet (analysed before it existed) is registered as ``new``."""
    row = con.execute(
        "SELECT state, version, updated_by, updated_at FROM target_state WHERE target_id = ?",
        (target_id,),
    ).fetchone()
    if row is not None:
        return str(row[0]), int(row[1]), row[2], row[3]
    if snapshot is None:
        raise _not_registered(target_id)
    values = [snapshot.get(c) for c in SNAPSHOT_COLUMNS]
    con.execute(
        "INSERT INTO target_state (target_id, state, version, updated_at, updated_by, "
        f"in_layer, {', '.join(SNAPSHOT_COLUMNS)}) VALUES (?, 'new', 1, ?, ?, 1, "
        f"{', '.join('?' * len(SNAPSHOT_COLUMNS))})",
        (target_id, at, by, *values),
    )
    append_history(con, target_id, at, by, None, "new", "[created]", 1)
    return "new", 1, by, at


def _stale(target_id: str, expected: int, current: tuple[Any, ...]) -> StaleVersionError:
    state, version, by, at = current
    return StaleVersionError(
        message(
            "targets.stale_version",
            f"目标 {target_id} 已被修改：你基于第 {expected} 版，当前为第 {version} 版"
            f"（最后由 {by or '未知'} 于 {at or '未知时间'} 修改，状态 "
            f"{target_state_label(state)}）；未做任何修改。请用 geoservice targets history "
            "查看后基于最新版本重试。",
            f"Target {target_id} has changed: you expected version {expected} but it is at "
            f"version {version} (last changed by {by or 'unknown'} at {at or 'unknown time'}, "
            f"state {state!r}); nothing was changed. Check 'geoservice targets history' and "
            "retry from the current version.",
        )
    )


def update_target(
    ws: Workspace,
    target_id: str,
    to: str,
    by: str,
    *,
    note: str | None = None,
    case_number: str | None = None,
    expected_version: int | None = None,
    snapshot: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move a target to state ``to``, in place and all or nothing.

    Parameters
    ----------
    target_id : str
    to : str
        The new state (:mod:`~geoservice.workflow.target_states`); ``case_opened`` needs
        ``case_number``, ``dismissed`` a ``note`` (the reason).
    by : str
        Who makes the change (history and audit log).
    expected_version : int, optional
        The version the caller saw; another current version raises
        :class:`~geoservice.base.errors.StaleVersionError` and changes nothing.
    snapshot : mapping, optional
        The target's layer row, to register a target the register does not hold yet.

    Returns
    -------
    dict
        ``target_id``, ``from_state``, ``to_state``, ``version`` (after), ``at``, ``by``,
        ``case_number``.
    """
    with transaction(ws, by) as con:
        at = now_iso()
        current = _current(con, target_id, snapshot, at, by)
        expected = current[1] if expected_version is None else expected_version
        if expected != current[1]:
            raise _stale(target_id, expected, current)
        check_target_transition(target_id, current[0], to, case_number=case_number, note=note)
        case = case_number.strip() if case_number else None
        cur = con.execute(
            "UPDATE target_state SET state = ?, version = version + 1, updated_at = ?, "
            "updated_by = ?, case_number = coalesce(?, case_number) "
            "WHERE target_id = ? AND version = ?",
            (to, at, by, case, target_id, expected),
        )
        if cur.rowcount != 1:
            raise _stale(target_id, expected, _current(con, target_id, None, at, by))
        version = expected + 1
        append_history(con, target_id, at, by, current[0], to, note, version, case)
        change = {
            "target_id": target_id,
            "from_state": current[0],
            "to_state": to,
            "version": version,
            "at": at,
            "by": by,
            "case_number": case,
        }
        audit(con, at, by, "target.update", target_id, {**(context or {}), **change, "note": note})
    return change


def add_action(
    ws: Workspace,
    target_id: str,
    by: str,
    *,
    department: str,
    acted_on: date,
    action: str,
    people: int | None = None,
    seizures: str | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    snapshot: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append what ``department`` did on ``acted_on`` (people deployed, seizures, a note,
    photo file names) to the target's action records, with an audit row.

    Returns the stored record (:data:`ACTION_COLUMNS`, ``photos`` a list).
    """
    with transaction(ws, by) as con:
        return insert_action(
            con,
            target_id,
            by,
            department=department,
            acted_on=acted_on,
            action=action,
            people=people,
            seizures=seizures,
            note=note,
            photos=photos,
            snapshot=snapshot,
            context=context,
        )


def insert_action(
    con: sqlite3.Connection,
    target_id: str,
    by: str,
    *,
    department: str,
    acted_on: date,
    action: str,
    people: int | None = None,
    seizures: str | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    snapshot: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`add_action` inside the caller's open transaction (the register tables in
    place, :func:`~geoservice.analysis.target_register.ensure_register`), so another
    record can be written with the action in one commit."""
    at = now_iso()
    _current(con, target_id, snapshot, at, by)
    record = {
        "target_id": target_id,
        "department": department,
        "acted_on": acted_on.isoformat(),
        "action": action,
        "people": people,
        "seizures": seizures,
        "note": note,
        "photos": list(photos),
        "at": at,
        "by": by,
    }
    stored = {**record, "photos": json.dumps(list(photos), ensure_ascii=False)}
    cols = ", ".join(f'"{c}"' for c in ACTION_COLUMNS)
    con.execute(
        f"INSERT INTO target_actions ({cols}) VALUES ({', '.join('?' * len(ACTION_COLUMNS))})",
        tuple(stored[c] for c in ACTION_COLUMNS),
    )
    audit(con, at, by, "target.action", target_id, {**(context or {}), **record})
    return record
