"""A workflow read asks the file for its tables once, and sees the workflow tables as the
next change will store them."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from geoservice.base.connection_pool import close_idle, connection
from geoservice.base.workspace_write import has_table, table_snapshot
from geoservice.workflow.store import read_problem_values, update_problem
from geoservice.workflow.store_schema import workflow_ready
from tests.support.sql_trace import traced_connects
from tests.support.workflow import workspace


@pytest.fixture
def traced(monkeypatch):
    """The SQL statements of the connections opened from now on."""
    return traced_connects(monkeypatch)


def test_a_problem_read_asks_for_the_tables_in_one_statement(tmp_path, traced):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    close_idle(ws.path)
    traced.clear()
    values = read_problem_values(ws, "P-1", with_patch=True)
    assert values.rows and values.history
    assert traced.count("SELECT name FROM sqlite_master WHERE type = 'table'") == 1
    assert not [s for s in traced if "sqlite_master WHERE type = 'table' AND name = " in s]
    assert not [s for s in traced if "table_info" in s]


def test_has_table_answers_from_the_snapshot_inside_it_and_from_the_file_after(tmp_path):
    path = tmp_path / "t.gpkg"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA journal_mode=WAL")  # a reader does not keep the writer out
        con.execute("CREATE TABLE a (x)")
    with connection(path, 5.0) as con:
        con.execute("BEGIN")
        with table_snapshot(con):
            with contextlib.closing(sqlite3.connect(path)) as other, other:
                other.execute("CREATE TABLE b (x)")  # committed after the snapshot began
            assert has_table(con, "a")
            assert not has_table(con, "b")
        con.execute("ROLLBACK")
        assert has_table(con, "b")
    close_idle(path)


def test_a_plain_connection_asks_the_file_inside_a_snapshot_too(tmp_path):
    con = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    with contextlib.closing(con), table_snapshot(con):
        con.execute("CREATE TABLE a (x)")
        assert has_table(con, "a")


def _register(con: sqlite3.Connection, problems: str | None) -> sqlite3.Connection:
    con.execute("CREATE TABLE problem_history (x)")
    con.execute("CREATE TABLE campaigns (x)")
    if problems is not None:
        con.execute(f"CREATE TABLE problems ({problems})")
    return con


@pytest.mark.parametrize(
    ("problems", "rows", "ready"),
    [
        (None, [], True),
        ("problem_id, version, updated_at, updated_by", [("P-1", 1, "t", "u")], True),
        ("problem_id, version, updated_at, updated_by", [("P-1", None, "t", "u")], False),
        ("problem_id, version, updated_at", [("P-1", 1, "t")], False),
        ("problem_id, updated_at, updated_by", [("P-1", "t", "u")], False),
    ],
    ids=["no problems", "ready", "a problem without version", "no updated_by", "no version"],
)
def test_workflow_ready_needs_every_workflow_column_and_every_version(problems, rows, ready):
    with contextlib.closing(_register(sqlite3.connect(":memory:"), problems)) as con:
        for row in rows:
            con.execute(f"INSERT INTO problems VALUES ({', '.join('?' * len(row))})", row)
        assert workflow_ready(con) is ready


def test_workflow_ready_needs_the_history_and_campaign_tables():
    with contextlib.closing(sqlite3.connect(":memory:")) as con:
        con.execute("CREATE TABLE campaigns (x)")
        assert workflow_ready(con) is False
