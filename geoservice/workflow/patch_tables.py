"""The change-patch tables of the workspace and the registration of new patches.

Two plain tables of the workspace GeoPackage, listed in ``gpkg_contents`` and kept apart
from the ``patches`` layer so that importing a patch list again (which rewrites the layer)
keeps every patch's state:

- ``patch_state``: one row per 图斑号 (``patch_id``): state, legality, verifier,
  verified_on, note, version (starts at 1, +1 on every change), stage_started_on (the day
  the patch entered its state), problem_id and target_id (the problem the patch opened and
  the enforcement target that holds it), updated_at, updated_by;
- ``patch_history``: append-only (patch_id, at, by, event, from_state, to_state, legality,
  note, version): ``import`` when a patch is registered, ``state`` for a change, ``link``
  when a problem or target is attached, and the events other records add
  (:func:`geoservice.workflow.patch_store.record_patch_event`).

Registration (:func:`ensure_patches`) runs as the schema step of every write: patches of
the layer without a state row are registered, as problems of a rewritten layer are
reconciled in :mod:`geoservice.workflow.store`. The state a new patch starts in follows
the data contract's ``illegal`` column (docs/design.md#data-contract), which the importer
fills only from a field check (是否违法违规 ``SHIFOU_WF``, or the change cause ``BHYY``
found on site, never the interpreter's guess ``PAN_BHYY``):

- ``illegal == 'true'``: the field check already established the violation, so the patch
  starts ``verified`` with legality ``illegal`` (and then opens its problem,
  :mod:`geoservice.workflow.patch_links`);
- ``illegal == 'false'`` with an approval number (``permit_no``) or a change cause that is
  not one of the unapproved causes (:data:`layers.codes.ILLEGAL_CAUSES`): verified legal,
  so the patch starts ``closed`` (legal patches close at verification);
- ``illegal == 'false'`` with an unapproved cause and no approval number contradicts
  itself: it starts ``verified`` with legality ``other``, left open for the office to
  settle;
- anything else (``unknown``: 待现地核实) starts ``dispatched`` when the layer gives the
  day it was handed down (``dispatched_on``, 下发日期), else ``interpreted``.

The day the first stage starts (``stage_started_on``, from which its deadline runs) comes
from the layer's dates (the data contract's ``imaged_on`` 后期影像时间, ``dispatched_on``
下发日期 and ``checked_on`` 检查日期): ``dispatched_on`` for a dispatched patch,
``imaged_on`` for an interpreted one, ``checked_on`` for one verified or closed; a patch
whose legality is established and that has ``checked_on`` records it as ``verified_on``.
Without the date, the stage starts on the registration day (the ``day`` given, e.g. the
analysis's as-of day, default today); no date is ever after it (a later date is taken as
the registration day), so a patch list dated after an as-of day in the past never makes a
stage start in that day's future. A patch still 待现地核实 that was dispatched in an
earlier year is therefore overdue from its dispatch, not from its import.

Reads never write: until the next write a read registers the new patches in temporary
tables of its own connection (:func:`reading`), so it sees what the write will store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import date

from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import create_listed, ensure_tables, has_table
from layers.codes import ILLEGAL_CAUSES

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_COLUMNS",
    "append_history",
    "ensure_patches",
    "reading",
    "transaction",
]

STATE_COLUMNS = [
    "patch_id",
    "state",
    "legality",
    "verifier",
    "verified_on",
    "note",
    "version",
    "stage_started_on",
    "problem_id",
    "target_id",
    "updated_at",
    "updated_by",
]
HISTORY_COLUMNS = [
    "patch_id",
    "at",
    "by",
    "event",
    "from_state",
    "to_state",
    "legality",
    "note",
    "version",
]
_STATE_SQL = """
CREATE TABLE IF NOT EXISTS patch_state (
  patch_id TEXT PRIMARY KEY, state TEXT NOT NULL, legality TEXT, verifier TEXT,
  verified_on TEXT, note TEXT, version INTEGER NOT NULL, stage_started_on TEXT NOT NULL,
  problem_id TEXT, target_id TEXT, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)
"""
_HISTORY_SQL = """
CREATE TABLE IF NOT EXISTS patch_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, patch_id TEXT NOT NULL, at TEXT NOT NULL,
  "by" TEXT NOT NULL, event TEXT NOT NULL, from_state TEXT, to_state TEXT, legality TEXT,
  note TEXT, version INTEGER NOT NULL)
"""
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS patch_history_patch ON patch_history (patch_id, id)",
    "CREATE INDEX IF NOT EXISTS patch_state_problem ON patch_state (problem_id)",
)
_CAUSES = ", ".join(f"'{c}'" for c in sorted(ILLEGAL_CAUSES))
_LAWFUL = f"(trim(coalesce(permit_no, '')) != '' OR coalesce(change_cause, '') NOT IN ({_CAUSES}))"
# The layer's dates (data contract, ``layers.normalize.PATCH_DATES``) as read here.
_DATES = {"imaged_on": "imaged", "dispatched_on": "dispatched", "checked_on": "checked"}
# The patches of the layer not registered yet, with their state and legality, as the layer
# gives them (see the module docstring); {dates} reads the layer's date columns.
_LAYER = f"""
SELECT patch_id,
  CASE WHEN illegal = 'true' THEN 'illegal'
       WHEN illegal = 'false' AND {_LAWFUL} THEN 'legal'
       WHEN illegal = 'false' THEN 'other' END AS legality,
  {{dates}}
FROM patches p
WHERE patch_id IS NOT NULL AND patch_id != ''
  AND NOT EXISTS (SELECT 1 FROM patch_state s WHERE s.patch_id = p.patch_id)
GROUP BY patch_id
"""
# ... and the state they start in, the day it starts and the day of their verification,
# none after the registration day :day.
_STARTS = """
SELECT patch_id, state, legality,
  min(coalesce(CASE state WHEN 'dispatched' THEN dispatched WHEN 'interpreted' THEN imaged
                          ELSE checked END, :day), :day) AS started,
  CASE WHEN legality IS NOT NULL AND checked IS NOT NULL THEN min(checked, :day) END
    AS verified_on
FROM (SELECT *,
  CASE WHEN legality = 'legal' THEN 'closed'
       WHEN legality IS NOT NULL THEN 'verified'
       WHEN dispatched IS NOT NULL THEN 'dispatched'
       ELSE 'interpreted' END AS state
  FROM ({layer}))
"""


def _new_sql(con: sqlite3.Connection) -> str:
    """:data:`_STARTS` over the layer's patches not registered yet; a date column the
    layer lacks (a layer imported before the dates were read) counts as empty."""
    present = {str(r[1]) for r in con.execute('PRAGMA table_info("patches")')}
    dates = ", ".join(
        f'date(min("{c}")) AS {alias}' if c in present else f"NULL AS {alias}"
        for c, alias in _DATES.items()
    )
    return _STARTS.format(layer=_LAYER.format(dates=dates))


# --- schema and registration --------------------------------------------------------------


def ensure_patches(con: sqlite3.Connection, actor: str = "system", day: date | None = None) -> None:
    """Create the patch tables and register the layer's new patches (inside a write
    transaction; ``day`` is the registration day, default today: a first stage starts on
    the layer's date for it, never after ``day``, or on ``day`` without one)."""
    ensure_tables(con)
    create_listed(
        con,
        (
            ("patch_state", _STATE_SQL, "变化图斑核查状态 change-patch states"),
            ("patch_history", _HISTORY_SQL, "变化图斑核查记录 change-patch history"),
        ),
    )
    for sql in _INDEXES:
        con.execute(sql)
    _register(con, actor, day)


def _patches_ready(con: sqlite3.Connection) -> bool:
    if not (has_table(con, "patch_state") and has_table(con, "patch_history")):
        return False
    if not has_table(con, "patches"):
        return True
    row = con.execute(
        "SELECT 1 FROM patches p WHERE patch_id IS NOT NULL AND patch_id != '' AND NOT EXISTS "
        "(SELECT 1 FROM patch_state s WHERE s.patch_id = p.patch_id) LIMIT 1"
    ).fetchone()
    return row is None


def _register(con: sqlite3.Connection, actor: str, day: date | None) -> None:
    """Register the layer's patches without a state row (unqualified table names: the
    file's tables, or a read's temporary copies)."""
    if not has_table(con, "patches"):
        return
    at = now_iso()
    params = {"at": at, "by": actor, "day": (day or date.fromisoformat(at[:10])).isoformat()}
    new = _new_sql(con)
    con.execute(
        'INSERT INTO patch_history (patch_id, at, "by", event, from_state, to_state, '
        "legality, note, version) SELECT patch_id, :at, :by, 'import', NULL, state, legality, "
        f"'[import]', 1 FROM ({new})",
        params,
    )
    con.execute(
        "INSERT INTO patch_state (patch_id, state, legality, verified_on, version, "
        "stage_started_on, updated_at, updated_by) SELECT patch_id, state, legality, "
        f"verified_on, 1, started, :at, :by FROM ({new})",
        params,
    )


def _schema(con: sqlite3.Connection, actor: str) -> None:
    ensure_patches(con, actor)


@contextlib.contextmanager
def transaction(ws: Workspace, actor: str = "system") -> Iterator[sqlite3.Connection]:
    """One write transaction on the workspace file with the patch tables in place and the
    layer's new patches registered."""
    with ws.sql_transaction(actor, schema=_schema) as con:
        yield con


@contextlib.contextmanager
def reading(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A read connection that sees the patch tables as the next write will store them (one
    read transaction; new patches registered in temporary copies, the file only read)."""
    with ws.read_connection() as con:
        con.execute("BEGIN")
        try:
            if not _patches_ready(con):
                for name, sql in (("patch_state", _STATE_SQL), ("patch_history", _HISTORY_SQL)):
                    con.execute(sql.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"))
                    if has_table(con, name):
                        con.execute(f"INSERT INTO temp.{name} SELECT * FROM main.{name}")
                _register(con, "system", None)
            yield con
        finally:
            con.execute("ROLLBACK")


def append_history(
    con: sqlite3.Connection,
    patch_id: str,
    at: str,
    by: str,
    event: str,
    from_state: str | None,
    to_state: str | None,
    legality: str | None,
    note: str | None,
    version: int,
) -> None:
    """Append one history row (inside the caller's transaction)."""
    con.execute(
        'INSERT INTO patch_history (patch_id, at, "by", event, from_state, to_state, '
        "legality, note, version) VALUES (?,?,?,?,?,?,?,?,?)",
        (patch_id, at, by, event, from_state, to_state, legality, note, version),
    )
