"""The target register: every target ever issued, its state, history and lineage.

The ``targets`` layer is rewritten by every analysis run; what happens to a target
(dispatch, case, penalty) must outlive it. Four plain tables of the workspace, listed in
``gpkg_contents``, hold it apart from the layer and are joined to it by ``target_id``:

- ``target_state``: one row per target ever issued: ``state`` (see
  :data:`TARGET_STATES`), ``version`` (+1 on every state change), ``updated_at``,
  ``updated_by``, ``case_number``, ``in_layer`` (1 while the target is in the current
  layer), ``merged_into`` (the target that took it over) and a snapshot of the layer
  row (parcels, villages, departments, priority, categories), so a target that left the
  layer is still listed and in its departments' scope;
- ``target_history``: append-only, one row per change (state changes, and the analysis'
  own: created, split off, merged, resolved);
- ``target_actions``: what each department did (:mod:`geoservice.workflow.target_store`);
- ``target_lineage``: ``old_id``, ``new_id``, ``how`` (kept, split, merged, resolved),
  ``shared_parcels``, ``at``, ``run`` (the ``analysis_runs`` id).

:func:`record_identity` runs after the layer is written, in one SQL transaction
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`) with its audit row. A
target split off a worked-on target inherits its state and case number (its actions and
history are reached through the lineage); a target whose evidence is gone becomes
``resolved_by_analysis`` (unless its case is closed or dismissed) and is never deleted.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd

from geoservice.analysis.identity import IdentityResult, match_targets
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import create_listed, ensure_tables, has_table

__all__ = [
    "FINAL_STATES",
    "SNAPSHOT_COLUMNS",
    "STATE_COLUMNS",
    "TARGET_STATES",
    "TARGET_STATE_LABELS",
    "append_history",
    "ensure_register",
    "identify",
    "read_register",
    "read_register_empty",
    "record_identity",
    "resolved_targets",
    "with_states",
]

TARGET_STATE_LABELS: dict[str, tuple[str, str]] = {
    "new": ("待派发", "new"),
    "dispatched": ("已派发", "dispatched"),
    "in_action": ("处置中", "in action"),
    "case_opened": ("已立案", "case opened"),
    "penalised": ("已行政处罚", "penalised"),
    "transferred": ("已移送司法", "transferred to judiciary"),
    "closed": ("已结案", "closed"),
    "dismissed": ("不予立案", "dismissed"),
    "resolved_by_analysis": ("研判已消除", "resolved by analysis"),
}
TARGET_STATES = tuple(TARGET_STATE_LABELS)
# Cases that end here keep their state when their evidence goes.
FINAL_STATES = ("closed", "dismissed")
SNAPSHOT_COLUMNS = (
    "parcel_ids",
    "village_codes",
    "village_names",
    "lead_department",
    "cooperating_departments",
    "priority",
    "categories",
)
STATE_COLUMNS = [
    "target_id",
    "state",
    "version",
    "updated_at",
    "updated_by",
    "case_number",
    "in_layer",
    "merged_into",
    *SNAPSHOT_COLUMNS,
]

_TABLES = (
    (
        "target_state",
        "CREATE TABLE IF NOT EXISTS target_state (target_id TEXT PRIMARY KEY, "
        "state TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT, updated_by TEXT, "
        "case_number TEXT, in_layer INTEGER NOT NULL DEFAULT 1, merged_into TEXT, "
        + ", ".join(f"{c} TEXT" for c in SNAPSHOT_COLUMNS)
        + ")",
        "执法目标状态 target states",
    ),
    (
        "target_history",
        "CREATE TABLE IF NOT EXISTS target_history (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        'target_id TEXT NOT NULL, at TEXT NOT NULL, "by" TEXT NOT NULL, from_state TEXT, '
        "to_state TEXT NOT NULL, note TEXT, case_number TEXT, version INTEGER NOT NULL)",
        "执法目标处置记录 target history",
    ),
    (
        "target_actions",
        "CREATE TABLE IF NOT EXISTS target_actions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "target_id TEXT NOT NULL, department TEXT NOT NULL, acted_on TEXT NOT NULL, "
        "action TEXT NOT NULL, people INTEGER, seizures TEXT, note TEXT, "
        "photos TEXT NOT NULL DEFAULT '[]', at TEXT NOT NULL, \"by\" TEXT NOT NULL)",
        "部门处置行动 department actions",
    ),
    (
        "target_lineage",
        "CREATE TABLE IF NOT EXISTS target_lineage (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "old_id TEXT NOT NULL, new_id TEXT, how TEXT NOT NULL, shared_parcels INTEGER, "
        "at TEXT NOT NULL, run INTEGER)",
        "执法目标沿革 target lineage",
    ),
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS target_history_target ON target_history (target_id, id)",
    "CREATE INDEX IF NOT EXISTS target_actions_target ON target_actions (target_id, id)",
    "CREATE INDEX IF NOT EXISTS target_lineage_new ON target_lineage (new_id)",
)


def ensure_register(con: sqlite3.Connection, _actor: str = "system") -> None:
    """Create the register tables (inside a write transaction); a ``schema`` step of
    :meth:`~geoservice.base.workspace.Workspace.sql_transaction`."""
    ensure_tables(con)
    create_listed(con, _TABLES)
    for sql in _INDEXES:
        con.execute(sql)


def append_history(
    con: sqlite3.Connection,
    target_id: str,
    at: str,
    by: str,
    from_state: str | None,
    to_state: str,
    note: str | None,
    version: int,
    case_number: str | None = None,
) -> None:
    """Append one ``target_history`` row (inside the caller's transaction)."""
    con.execute(
        'INSERT INTO target_history (target_id, at, "by", from_state, to_state, note, '
        "case_number, version) VALUES (?,?,?,?,?,?,?,?)",
        (target_id, at, by, from_state, to_state, note, case_number, version),
    )


# --- reading ----------------------------------------------------------------------------


def read_register(ws: Workspace) -> pd.DataFrame:
    """The ``target_state`` rows (:data:`STATE_COLUMNS`; empty before the first run)."""
    with ws.read_connection() as con:
        if not has_table(con, "target_state"):
            return read_register_empty()
        cols = ", ".join(STATE_COLUMNS)
        frame = pd.read_sql_query(f"SELECT {cols} FROM target_state ORDER BY target_id", con)
    frame["version"] = frame["version"].astype("int64")
    return frame


def read_register_empty() -> pd.DataFrame:
    """An empty register frame (:data:`STATE_COLUMNS`)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in STATE_COLUMNS})


def resolved_targets(register: pd.DataFrame) -> pd.DataFrame:
    """Register rows of targets no longer in the layer and not merged into another."""
    gone = (register["in_layer"].astype("int64") == 0) & register["merged_into"].isna()
    return register[gone.to_numpy()].reset_index(drop=True)


def with_states(targets: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """``targets`` with ``state``, ``version`` and ``case_number`` from the register
    (``new``, version 1 for a target it does not hold yet), aligned to ``targets``."""
    by_id = register.set_index("target_id").astype(object)
    ids = targets["target_id"].astype(str)
    state = ids.map(by_id["state"]).astype(object)
    version = ids.map(by_id["version"]).astype(object)
    return targets.assign(
        state=state.where(state.notna(), "new").astype(str),
        version=version.where(version.notna(), 1).astype("int64"),
        case_number=ids.map(by_id["case_number"]).astype(object),
    )


# --- an analysis run ------------------------------------------------------------------


def identify(
    ws: Workspace, targets: pd.DataFrame, reasons: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, IdentityResult]:
    """``targets`` and ``reasons`` (hash ids, just built) with the ids of the targets they
    continue (:func:`~geoservice.analysis.identity.match_targets` against the current
    ``targets`` layer, then the register's targets that left it: resolved or merged into
    another), and the match itself."""
    earlier = pd.DataFrame({"target_id": [], "parcel_ids": []}, dtype=object)
    if ws.exists() and "targets" in ws.layer_names():
        layer = ws.read("targets", columns=["target_id", "parcel_ids"], read_geometry=False)
        earlier = pd.DataFrame(layer[["target_id", "parcel_ids"]])
    register = read_register(ws) if ws.exists() else read_register_empty()
    # targets that left the layer (resolved, or merged into another) may come back
    gone = register[register["in_layer"].astype("int64").to_numpy() == 0]
    resolved = gone[["target_id", "parcel_ids"]]
    hashed = targets["target_id"].astype(str)
    result = match_targets(earlier, targets, resolved, register["target_id"])
    return result.rename(targets, hashed), result.rename(reasons, hashed), result


# --- after an analysis run --------------------------------------------------------------


def _snapshot(targets: pd.DataFrame) -> list[tuple[Any, ...]]:
    cols = [c for c in SNAPSHOT_COLUMNS]
    frame = targets.reindex(columns=["target_id", *cols]).astype(object)
    frame = frame.where(frame.notna(), None)
    return [tuple(r) for r in frame.itertuples(index=False, name=None)]


def _inherit(lineage: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """For new ids absent from the register: the worked-on predecessor sharing most
    parcels (``new_id``, ``old_id``, ``state``, ``case_number``, ``how``)."""
    worked = states[~states["state"].isin(["new", "resolved_by_analysis"])]
    rows = lineage[lineage["how"].isin(["split", "merged"])].merge(
        worked, left_on="old_id", right_on="target_id"
    )
    rows = rows.sort_values(["shared_parcels", "old_id"], ascending=[False, True])
    return rows.drop_duplicates("new_id")


def record_identity(
    ws: Workspace, targets: pd.DataFrame, identity: IdentityResult, as_of: str, actor: str
) -> dict[str, int]:
    """Store the lineage and the register rows of the run just written.

    ``targets``: the layer as written (matched ids). Returns counts by ``how`` and of
    targets created.
    """
    by = f"analysis:{actor}"
    with ws.sql_transaction(actor, schema=ensure_register) as con:
        at = now_iso()
        run_row = con.execute("SELECT max(id) FROM analysis_runs").fetchone()
        run = run_row[0] if run_row else None
        lineage = identity.lineage
        con.executemany(
            "INSERT INTO target_lineage (old_id, new_id, how, shared_parcels, at, run) "
            "VALUES (?,?,?,?,?,?)",
            [(o, n, h, int(s), at, run) for o, n, h, s in lineage.itertuples(index=False)],
        )
        states = pd.read_sql_query(
            "SELECT target_id, state, version, case_number, in_layer FROM target_state", con
        )
        ids = set(targets["target_id"].astype(str))
        created = _create(con, targets, lineage, states, at, by, as_of)
        _revive(con, states, ids, at, by)
        _leave(con, lineage, states, ids, at, by, as_of)
        cols = ", ".join(f"{c} = ?" for c in SNAPSHOT_COLUMNS)
        con.executemany(
            f"UPDATE target_state SET in_layer = 1, merged_into = NULL, {cols} WHERE target_id = ?",
            [(*row[1:], row[0]) for row in _snapshot(targets)],
        )
        counts = {str(k): int(v) for k, v in lineage["how"].value_counts().items()}
        counts["created"] = created
        audit(con, at, actor, "targets.identity", "targets", {"as_of": as_of, **counts})
    return counts


def _create(
    con: sqlite3.Connection,
    targets: pd.DataFrame,
    lineage: pd.DataFrame,
    states: pd.DataFrame,
    at: str,
    by: str,
    as_of: str,
) -> int:
    """Register rows and first history rows for new ids; split-off targets inherit."""
    new = targets[~targets["target_id"].astype(str).isin(states["target_id"])]
    heirs = _inherit(lineage, states).set_index("new_id")
    rows: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    for tid in new["target_id"].astype(str):
        if tid in heirs.index:
            h = heirs.loc[tid]
            state, case = str(h["state"]), h["case_number"]
            note = f"[{h['how']}] {h['old_id']} ({as_of})"
            history.append((tid, at, by, None, "new", f"[created] ({as_of})", None, 1))
            history.append((tid, at, by, "new", state, note, case, 2))
            rows.append((tid, state, 2, at, by, case))
        else:
            history.append((tid, at, by, None, "new", f"[created] ({as_of})", None, 1))
            rows.append((tid, "new", 1, at, by, None))
    con.executemany(
        "INSERT INTO target_state (target_id, state, version, updated_at, updated_by, "
        "case_number, in_layer) VALUES (?,?,?,?,?,?,1)",
        rows,
    )
    con.executemany(
        'INSERT INTO target_history (target_id, at, "by", from_state, to_state, note, '
        "case_number, version) VALUES (?,?,?,?,?,?,?,?)",
        history,
    )
    return len(rows)


def _revive(con: sqlite3.Connection, states: pd.DataFrame, ids: set[str], at: str, by: str) -> None:
    """Targets back in the layer: a resolved one whose evidence came back is ``new`` again;
    one that had been merged into another keeps its state (both get a history row)."""
    back = states[states["target_id"].isin(ids) & (states["in_layer"].astype("int64") == 0)]
    for row in back.itertuples(index=False):
        resolved = row.state == "resolved_by_analysis"
        to = "new" if resolved else str(row.state)
        version = int(row.version) + 1
        con.execute(
            "UPDATE target_state SET state = ?, version = ?, updated_at = ?, "
            "updated_by = ? WHERE target_id = ?",
            (to, version, at, by, row.target_id),
        )
        note = "[evidence back]" if resolved else "[split again]"
        append_history(con, row.target_id, at, by, row.state, to, note, version)


def _leave(
    con: sqlite3.Connection,
    lineage: pd.DataFrame,
    states: pd.DataFrame,
    ids: set[str],
    at: str,
    by: str,
    as_of: str,
) -> None:
    """Earlier targets whose id went to no new target: merged into the successor sharing
    most parcels, or resolved by analysis (closed and dismissed cases keep their state)."""
    ended = lineage[~lineage["old_id"].isin(ids)]
    ended = ended.sort_values(["shared_parcels", "new_id"], ascending=[False, True])
    ended = ended.drop_duplicates("old_id").merge(
        states, left_on="old_id", right_on="target_id", how="left"
    )
    for row in ended.itertuples(index=False):
        old = str(row.old_id)
        current = "new" if pd.isna(row.state) else str(row.state)
        version = 1 if pd.isna(row.version) else int(row.version)
        if pd.isna(row.state):  # a target of a run before the register existed
            con.execute(
                "INSERT INTO target_state (target_id, state, version, updated_at, "
                "updated_by, in_layer) VALUES (?, 'new', 1, ?, ?, 0)",
                (old, at, by),
            )
        if row.how == "resolved":
            to = current if current in (*FINAL_STATES, "resolved_by_analysis") else None
            to = to or "resolved_by_analysis"
            merged_into, note = None, f"[resolved] ({as_of})"
        else:
            to, merged_into, note = current, str(row.new_id), f"[merged] {row.new_id} ({as_of})"
        version += 1
        con.execute(
            "UPDATE target_state SET state = ?, version = ?, updated_at = ?, updated_by = ?, "
            "in_layer = 0, merged_into = ? WHERE target_id = ?",
            (to, version, at, by, merged_into, old),
        )
        append_history(con, old, at, by, current, to, note, version)
