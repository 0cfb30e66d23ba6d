"""Change-patch workflow state in the workspace: version-checked changes and history.

The tables (``patch_state``, ``patch_history``) and how a patch of the layer is
registered with its first state are in :mod:`geoservice.workflow.patch_tables`; they are
kept by 图斑号 apart from the ``patches`` layer, so importing a patch list again keeps every
patch's state. Every write here is one SQLite transaction on the workspace file itself
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`, the patch tables as its
schema step) with its audit row; reads never write.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from geoservice.base.errors import NotFoundError, OptionError, StaleVersionError, message
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table
from geoservice.workflow.patch_states import (
    check_legality,
    check_patch_transition,
    legality_label,
    patch_state_label,
    stored_state,
)
from geoservice.workflow.patch_tables import (
    HISTORY_COLUMNS,
    STATE_COLUMNS,
    append_history,
    ensure_patches,
    reading,
    transaction,
)

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_COLUMNS",
    "PatchChange",
    "append_history",
    "ensure_patches",
    "patch_history",
    "patch_links",
    "patch_not_found",
    "patch_row",
    "patch_states_of",
    "patches_of_problems",
    "read_patch_states",
    "record_patch_event",
    "transaction",
    "update_patch",
]

LAYER_COLUMNS = [
    "patch_id",
    "village_code",
    "village_name",
    "category",
    "area_ha",
    "illegal",
    "illegal_area_ha",
    "change_cause",
    "permit_no",
    "year",
]

# --- reading ------------------------------------------------------------------------------


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _layer_frame(con: sqlite3.Connection, patch_ids: Sequence[str] | None = None) -> pd.DataFrame:
    present = {str(r[1]) for r in con.execute('PRAGMA table_info("patches")')}
    cols = ", ".join(f'p."{c}"' if c in present else f'NULL AS "{c}"' for c in LAYER_COLUMNS)
    state = ", ".join(f's."{c}"' for c in STATE_COLUMNS if c != "patch_id")
    chosen, first = "", "SELECT min(rowid) FROM patches GROUP BY patch_id"
    if patch_ids is not None:
        marks = ", ".join("?" * len(patch_ids))
        chosen = f"AND p.patch_id IN ({marks}) "
        first = f"SELECT min(rowid) FROM patches WHERE patch_id IN ({marks}) GROUP BY patch_id"
    sql = (
        f"SELECT {cols}, {state} FROM patches p JOIN patch_state s ON s.patch_id = p.patch_id "
        f"WHERE p.rowid IN ({first}) {chosen}ORDER BY p.patch_id"
    )
    args = () if patch_ids is None else (*patch_ids, *patch_ids)
    return pd.read_sql_query(sql, con, params=args)


def _with_deadlines(frame: pd.DataFrame, as_of: date | None, rules_path: Any) -> pd.DataFrame:
    from geoservice.workflow.patch_deadlines import stage_deadlines

    frame = frame.astype(object).where(frame.notna(), None)
    frame["version"] = pd.to_numeric(frame["version"]).fillna(1).astype("int64")
    due = stage_deadlines(frame, as_of or date.today(), rules_path=rules_path)
    return pd.concat([frame, due], axis=1)


def read_patch_states(
    ws: Workspace, as_of: date | None = None, *, rules_path: Any = None
) -> pd.DataFrame:
    """Every patch of the ``patches`` layer with its workflow state at ``as_of``.

    Parameters
    ----------
    ws : Workspace
    as_of : datetime.date, optional
        The evaluation date of the stage deadlines (default today).
    rules_path : path, optional
        A rules file overriding ``patch_workflow`` (stage days).

    Returns
    -------
    pandas.DataFrame
        One row per patch, by patch_id: the layer's :data:`LAYER_COLUMNS` (``area_ha``,
        ``illegal_area_ha`` in hectares), :data:`STATE_COLUMNS`, and ``stage_due`` (the day
        the current stage is due, ``YYYY-MM-DD``; None when closed), ``days_overdue`` (int)
        and ``level`` (escalation level, as for problems). Empty (those columns) when the
        workspace has no patches layer.
    """
    columns = [*LAYER_COLUMNS, *STATE_COLUMNS[1:]]
    with reading(ws) as con:
        frame = _layer_frame(con) if has_table(con, "patches") else _empty(columns)
    return _with_deadlines(frame, as_of, rules_path)


def patch_states_of(con: sqlite3.Connection, patch_ids: Sequence[str], as_of: date) -> pd.DataFrame:
    """The rows of :func:`read_patch_states` of ``patch_ids`` (those in the layer), read
    on ``con`` inside the caller's read transaction.

    Only for a workspace whose patch tables exist and hold every patch of the layer (a
    read of the whole layer registers new patches first, which this does not).
    """
    return _with_deadlines(_layer_frame(con, patch_ids), as_of, None)


def patch_row(ws: Workspace, patch_id: str, as_of: date | None = None) -> dict[str, Any]:
    """One patch of :func:`read_patch_states` as a dict; NotFoundError naming the id."""
    frame = read_patch_states(ws, as_of)
    hit = frame.loc[frame["patch_id"].astype(str) == patch_id]
    if not len(hit):
        raise patch_not_found(patch_id, frame["patch_id"].astype(str).tolist())
    return dict(hit.iloc[0].to_dict())


def patch_history(ws: Workspace, patch_id: str) -> pd.DataFrame:
    """The history of one patch, oldest first (:data:`HISTORY_COLUMNS`).

    Raises :class:`NotFoundError` when the workspace holds no such patch.
    """
    cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
    with reading(ws) as con:  # the tables, or temporary copies, are there
        frame = pd.read_sql_query(
            f"SELECT {cols} FROM patch_history WHERE patch_id = ? ORDER BY id",
            con,
            params=(patch_id,),
        )
        if frame.empty:
            known = [str(r[0]) for r in con.execute("SELECT patch_id FROM patch_state")]
            raise patch_not_found(patch_id, known)
    frame["version"] = frame["version"].astype("int64")
    return frame.astype(object).where(frame.notna(), None)


def patches_of_problems(ws: Workspace, problem_ids: Sequence[str]) -> dict[str, str]:
    """The patch each of ``problem_ids`` was opened for (problems opened for no patch are
    left out): the link back from a problem to its patch."""
    if not problem_ids:
        return {}
    with ws.read_connection() as con:
        return patch_links(con, problem_ids)


def patch_links(con: sqlite3.Connection, problem_ids: Sequence[str]) -> dict[str, str]:
    """:func:`patches_of_problems` read on ``con`` (in the caller's read transaction)."""
    if not problem_ids or not has_table(con, "patch_state"):
        return {}
    marks = ", ".join("?" * len(problem_ids))
    rows = con.execute(
        f"SELECT problem_id, patch_id FROM patch_state WHERE problem_id IN ({marks}) "
        "ORDER BY patch_id",
        tuple(problem_ids),
    ).fetchall()
    out: dict[str, str] = {}
    for problem_id, patch_id in rows:
        out.setdefault(str(problem_id), str(patch_id))
    return out


def patch_not_found(patch_id: str, known: Sequence[str]) -> NotFoundError:
    close = difflib.get_close_matches(patch_id, [str(k) for k in known], n=3, cutoff=0.6)
    hint_zh = (
        f"相近的图斑号：{'、'.join(close)}。" if close else "请用 geoservice patches list 查看。"
    )
    hint_en = f" Close ids: {', '.join(close)}." if close else " See 'geoservice patches list'."
    return NotFoundError(
        message(
            "patches.not_found",
            f"工作空间中没有图斑号为“{patch_id}”的变化图斑，或它不在您的查看范围内；{hint_zh}",
            f"The workspace has no change patch {patch_id!r}, or it is outside what you may "
            f"see.{hint_en}",
        )
    )


# --- writing ------------------------------------------------------------------------------

PatchChange = dict[str, Any]


def record_patch_event(
    con: sqlite3.Connection, patch_id: str, event: str, note: str | None, actor: str
) -> None:
    """Append one history row for ``patch_id`` inside the caller's open transaction.

    The row carries the patch's current state, legality and version (an event changes
    neither). Other records (escalation documents, department ledger) use it so a patch's
    history shows what was done about it. Creates the patch tables when missing; raises
    :class:`NotFoundError` for a patch the workspace does not hold.
    """
    ensure_patches(con, actor)
    row = con.execute(
        "SELECT state, legality, version FROM patch_state WHERE patch_id = ?", (patch_id,)
    ).fetchone()
    if row is None:
        raise patch_not_found(patch_id, [])
    append_history(con, patch_id, now_iso(), actor, event, None, row[0], row[1], note, int(row[2]))


def _current(con: sqlite3.Connection, patch_id: str) -> dict[str, Any]:
    cols = ", ".join(f'"{c}"' for c in STATE_COLUMNS)
    row = con.execute(f"SELECT {cols} FROM patch_state WHERE patch_id = ?", (patch_id,)).fetchone()
    if row is None:
        known = [str(r[0]) for r in con.execute("SELECT patch_id FROM patch_state")]
        raise patch_not_found(patch_id, known)
    return dict(zip(STATE_COLUMNS, row, strict=True))


def _stale(patch_id: str, expected: int, cur: Mapping[str, Any]) -> StaleVersionError:
    by, at = cur["updated_by"] or "未知", cur["updated_at"] or "未知时间"
    return StaleVersionError(
        message(
            "patches.stale_version",
            f"图斑 {patch_id} 已被修改：你基于第 {expected} 版，当前为第 {cur['version']} 版"
            f"（最后由 {by} 于 {at} 修改，状态 {patch_state_label(cur['state'])}）；未做任何"
            "修改。请用 geoservice patches history 查看后基于最新版本重试。",
            f"Patch {patch_id} has changed: you expected version {expected} but it is at "
            f"version {cur['version']} (last changed by {cur['updated_by'] or 'unknown'} at "
            f"{cur['updated_at'] or 'unknown time'}, state {cur['state']!r}); nothing was "
            "changed. Check 'geoservice patches history' and retry from the current version.",
        )
    )


def _nothing_to_change(patch_id: str) -> OptionError:
    return OptionError(
        message(
            "patches.nothing_to_change",
            f"没有给出图斑 {patch_id} 的新状态（--state）或备注（--note）；核实结论"
            "（--legality）与核实人随改为已核实（verified）一并填写。",
            f"No new state (--state) or note (--note) was given for patch {patch_id}; the "
            "legality and verifier are given with the move to verified.",
        )
    )


def update_patch(
    ws: Workspace,
    patch_id: str,
    expected_version: int | None,
    *,
    actor: str,
    state: str | None = None,
    legality: str | None = None,
    note: str | None = None,
    verifier: str | None = None,
    verified_on: date | None = None,
    context: Mapping[str, Any] | None = None,
) -> PatchChange:
    """Move a patch to ``state`` (or add a note), in place and all or nothing.

    Parameters
    ----------
    patch_id : str
        The 图斑号.
    expected_version : int or None
        The version the caller saw; another current version raises
        :class:`~geoservice.base.errors.StaleVersionError` and changes nothing (None: the
        current version).
    actor : str
        Who makes the change (history and audit log).
    state : str, optional
        The new state (:mod:`~geoservice.workflow.patch_states`); ``verified`` needs
        ``legality`` and ``verifier``, and a patch verified ``legal`` is stored ``closed``.
        Without it, ``note`` is recorded as a note (the version still goes up).
    verified_on : datetime.date, optional
        The day of the field check (default today), with ``verified``.

    Returns
    -------
    dict
        ``patch_id``, ``from_state``, ``to_state``, ``legality``, ``version`` (after),
        ``at``, ``by``, and ``problem_id`` / ``target_id`` when a patch verified illegal
        opened a problem or joined a target (:mod:`geoservice.workflow.patch_links`).
    """
    from geoservice.workflow.patch_links import link_patch, prepare_links

    if state is None and not (note or "").strip():
        raise _nothing_to_change(patch_id)
    if legality is not None:
        check_legality(legality)
        if state != "verified":
            raise OptionError(
                message(
                    "patches.legality_with_verified",
                    f"核实结论（legality={legality}）只能在图斑 {patch_id} 改为已核实"
                    "（--state verified）时填写。",
                    f"The legality ({legality}) is given only with the move of patch "
                    f"{patch_id} to verified (--state verified).",
                )
            )
    links = prepare_links(ws, [patch_id], as_of=verified_on) if legality == "illegal" else None
    with transaction(ws, actor) as con:
        change = _apply(con, patch_id, expected_version, actor, state, legality, note, verifier)
        if verified_on is not None and state == "verified":
            con.execute(
                "UPDATE patch_state SET verified_on = ? WHERE patch_id = ?",
                (verified_on.isoformat(), patch_id),
            )
        if links is not None and change["to_state"] == "verified":
            change.update(link_patch(con, ws, links, patch_id, actor))
        audit(con, change["at"], actor, "patch.update", patch_id, {**(context or {}), **change})
    return change


def _apply(
    con: sqlite3.Connection,
    patch_id: str,
    expected_version: int | None,
    actor: str,
    state: str | None,
    legality: str | None,
    note: str | None,
    verifier: str | None,
) -> PatchChange:
    cur = _current(con, patch_id)
    expected = int(cur["version"]) if expected_version is None else int(expected_version)
    if expected != int(cur["version"]):
        raise _stale(patch_id, expected, cur)
    at = now_iso()
    new_legality = legality or cur["legality"]
    to = cur["state"]
    if state is not None:
        check_patch_transition(
            patch_id,
            cur["state"],
            state,
            legality=new_legality,
            verifier=verifier or cur["verifier"],
            note=note,
        )
        to = stored_state(state, new_legality)
    verifying = state == "verified"
    row = con.execute(
        "UPDATE patch_state SET state = ?, legality = ?, version = version + 1, "
        "updated_at = ?, updated_by = ?, note = coalesce(?, note), "
        "verifier = CASE WHEN ? THEN ? ELSE verifier END, "
        "verified_on = CASE WHEN ? THEN ? ELSE verified_on END, "
        "stage_started_on = CASE WHEN ? THEN ? ELSE stage_started_on END "
        "WHERE patch_id = ? AND version = ?",
        (
            to,
            new_legality,
            at,
            actor,
            note,
            verifying,
            (verifier or "").strip() or None,
            verifying,
            at[:10],
            to != cur["state"],
            at[:10],
            patch_id,
            expected,
        ),
    )
    if row.rowcount != 1:
        raise _stale(patch_id, expected, _current(con, patch_id))
    version = expected + 1
    event = "state" if state is not None else "note"
    append_history(con, patch_id, at, actor, event, cur["state"], to, new_legality, note, version)
    return {
        "patch_id": patch_id,
        "from_state": cur["state"],
        "to_state": to,
        "legality": new_legality,
        "legality_label": legality_label(new_legality),
        "version": version,
        "at": at,
        "by": actor,
        "note": note,
    }
