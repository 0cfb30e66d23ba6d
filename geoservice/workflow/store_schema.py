"""The workflow's tables and columns in the workspace, created and migrated in place.

:func:`ensure_workflow` is the schema step of every workflow write transaction: it creates
``campaigns`` and ``problem_history`` (listed in ``gpkg_contents``), adds the workflow
columns to the ``problems`` layer and reconciles problems a plain import rewrote
(:func:`_reconcile`). Steps only a schema change can undo are skipped while the file's
schema version is the one they ran at (:mod:`geoservice.base.schema_memo`).
:func:`workflow_view` gives a read connection the same tables as temporary copies, so a
read sees what the next change will store without writing.
"""

from __future__ import annotations

import sqlite3

from geoservice.base.schema_memo import known_step, ran_step
from geoservice.base.workspace import now_iso
from geoservice.base.workspace_write import create_listed, ensure_tables, has_table
from geoservice.workflow.problem_values import PROBLEM_COLUMNS

__all__ = ["WORKFLOW_COLUMNS", "ensure_workflow", "workflow_ready", "workflow_view"]

WORKFLOW_COLUMNS = (("version", "INTEGER"), ("updated_at", "TEXT"), ("updated_by", "TEXT"))

_CAMPAIGNS_SQL = """
CREATE TABLE IF NOT EXISTS campaigns (
  campaign_id TEXT PRIMARY KEY, name TEXT NOT NULL, started_on TEXT, ended_on TEXT,
  departments TEXT, note TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL)
"""
_HISTORY_SQL = """
CREATE TABLE IF NOT EXISTS problem_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, problem_id TEXT NOT NULL, at TEXT NOT NULL,
  "by" TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, note TEXT,
  evidence TEXT NOT NULL DEFAULT '[]', version INTEGER NOT NULL)
"""
_HISTORY_INDEX = (
    "CREATE INDEX IF NOT EXISTS problem_history_problem ON problem_history (problem_id, id)"
)


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')]


# one statement for both checks (each statement is a turn at the interpreter lock): the
# workflow columns are there (bare names: SQLite reads a quoted name it does not find as a
# string), and every problem has a version
_READY_SQL = (
    f"SELECT {', '.join(c for c, _ in WORKFLOW_COLUMNS)} FROM problems "
    "WHERE version IS NULL LIMIT 1"
)


def workflow_ready(con: sqlite3.Connection) -> bool:
    """Whether the file behind ``con`` holds the workflow tables as
    :func:`ensure_workflow` stores them, so a read needs no :func:`workflow_view`."""
    if not (has_table(con, "problem_history") and has_table(con, "campaigns")):
        return False
    if not has_table(con, "problems"):
        return True
    try:
        row = con.execute(_READY_SQL).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such column" in str(exc):
            return False  # a layer rewritten by a plain import
        raise
    return row is None


def ensure_workflow(con: sqlite3.Connection, actor: str = "system") -> None:
    """Create the workflow tables and columns; reconcile a rewritten problems layer.

    Runs inside a write transaction. Problems without a version (the layer was rewritten
    by a plain import) take state, version and last editor from their last history row;
    problems with no history get version 1 and an ``imported`` history row
    (:func:`_reconcile`).
    """
    ensure_tables(con)
    create_listed(
        con,
        (
            ("campaigns", _CAMPAIGNS_SQL, "督查批次 inspection campaigns"),
            ("problem_history", _HISTORY_SQL, "问题整改记录 problem history"),
        ),
    )
    if not known_step("workflow.history_index"):
        con.execute(_HISTORY_INDEX)
        ran_step("workflow.history_index")
    if known_step("workflow.problem_columns"):
        _reconcile(con, actor)
        return
    if not has_table(con, "problems"):
        return
    _add_workflow_columns(con, "main")
    ran_step("workflow.problem_columns")
    _reconcile(con, actor)


def _add_workflow_columns(con: sqlite3.Connection, schema: str) -> None:
    present = {str(r[1]) for r in con.execute(f'PRAGMA {schema}.table_info("problems")')}
    for col, sqltype in WORKFLOW_COLUMNS:
        if col not in present:
            con.execute(f'ALTER TABLE {schema}.problems ADD COLUMN "{col}" {sqltype}')


def workflow_view(con: sqlite3.Connection) -> None:
    """Give a read connection the workflow tables :func:`ensure_workflow` would store.

    Copies of ``problems`` (without geometry), ``problem_history`` and ``campaigns`` are
    made as temporary tables of this connection, which shadow the file's tables of the
    same name, and reconciled there with the migration's own statements (as actor
    ``system``); the workspace file is only read.
    """
    for name, sql in (("campaigns", _CAMPAIGNS_SQL), ("problem_history", _HISTORY_SQL)):
        con.execute(sql.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE"))
        if has_table(con, name):
            con.execute(f"INSERT INTO temp.{name} SELECT * FROM main.{name}")
    if not has_table(con, "problems"):
        return
    present = _columns(con, "problems")
    keep = ", ".join(f'"{c}"' for c in PROBLEM_COLUMNS if c in present)
    con.execute(f"CREATE TEMP TABLE problems AS SELECT {keep} FROM main.problems")
    _add_workflow_columns(con, "temp")
    _reconcile(con, "system")


def _reconcile(con: sqlite3.Connection, actor: str) -> None:
    """Version, state and last editor for the problems without a version (unqualified
    table names: the file's tables, or a read's temporary copies).

    Every statement touches only problems without a version, so when there are none
    (the usual case: every change runs this) nothing is read beyond that check.
    """
    if con.execute("SELECT 1 FROM problems WHERE version IS NULL LIMIT 1").fetchone() is None:
        return
    con.execute(
        """
        UPDATE problems SET
          status = h.to_state, version = h.version, updated_at = h.at, updated_by = h."by"
        FROM (
          SELECT problem_id, to_state, version, at, "by" FROM problem_history
          WHERE id IN (SELECT max(id) FROM problem_history GROUP BY problem_id)
        ) AS h
        WHERE problems.problem_id = h.problem_id AND problems.version IS NULL
          AND h.to_state != 'removed'
        """
    )
    at = now_iso()
    con.execute(
        """
        INSERT INTO problem_history (problem_id, at, "by", from_state, to_state, note,
                                     evidence, version)
        SELECT p.problem_id, ?, ?, NULL, p.status, '[import]', '[]',
               coalesce((SELECT max(version) FROM problem_history h
                         WHERE h.problem_id = p.problem_id), 0) + 1
        FROM problems p WHERE p.version IS NULL
        """,
        (at, actor),
    )
    con.execute(
        """
        UPDATE problems SET updated_at = ?, updated_by = ?,
          version = (SELECT max(version) FROM problem_history h
                     WHERE h.problem_id = problems.problem_id)
        WHERE version IS NULL
        """,
        (at, actor),
    )
