"""SQL transactions skip the table definitions this process already made at the file's
schema version, and only those."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

import geoservice.base.workspace as workspace_module
from geoservice.base.connection_pool import close_idle
from geoservice.base.workspace_write import create_listed
from geoservice.workflow.store import update_problem
from tests.support.sql_trace import traced_connects
from tests.support.workflow import workspace


def _tables(path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}


def _listed(name: str) -> tuple[str, str, str]:
    return (name, f'CREATE TABLE IF NOT EXISTS "{name}" (x)', name)


@pytest.fixture
def statements(monkeypatch):
    """The SQL statements the workspace's write connections run."""
    return traced_connects(monkeypatch, workspace_module, "connect_file")


def test_a_second_update_skips_the_table_definitions(tmp_path, statements):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    assert any("CREATE TABLE IF NOT EXISTS" in s for s in statements)
    statements.clear()
    update_problem(ws, "P-1", "reported", "clerk")
    assert not any("CREATE TABLE" in s for s in statements)
    assert any(s.startswith("UPDATE problems") for s in statements)


def test_a_table_dropped_by_another_connection_is_made_again(tmp_path):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        con.execute("DROP TABLE campaigns")
    update_problem(ws, "P-1", "reported", "clerk")
    assert "campaigns" in _tables(ws.path)


def test_tables_listed_in_a_rolled_back_transaction_are_not_taken_as_made(tmp_path):
    ws = workspace(tmp_path)
    with pytest.raises(RuntimeError, match="given up"), ws.sql_transaction() as con:
        create_listed(con, [_listed("scratch")])
        raise RuntimeError("given up")
    assert "scratch" not in _tables(ws.path)
    with ws.sql_transaction() as con:
        create_listed(con, [_listed("scratch")])
    assert "scratch" in _tables(ws.path)


def test_tables_of_another_transaction_at_the_same_version_are_still_made(tmp_path):
    ws = workspace(tmp_path)
    with ws.sql_transaction() as con:
        create_listed(con, [_listed("first")])
    with ws.sql_transaction() as con:
        create_listed(con, [_listed("first"), _listed("second")])
    assert {"first", "second"} <= _tables(ws.path)


def test_a_write_back_makes_every_table_definition_run_again(tmp_path, statements):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    with ws.transaction() as work, contextlib.closing(sqlite3.connect(work)) as con, con:
        con.execute("DROP TABLE campaigns")
    statements.clear()
    update_problem(ws, "P-1", "reported", "clerk")
    assert any("campaigns" in s and "CREATE TABLE" in s for s in statements)
    assert "campaigns" in _tables(ws.path)


def test_a_second_update_skips_the_index_and_column_checks_but_not_the_reconcile_check(
    tmp_path, statements
):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    assert any("CREATE INDEX IF NOT EXISTS" in s for s in statements)
    assert any("table_info" in s for s in statements)
    statements.clear()
    update_problem(ws, "P-1", "reported", "clerk")
    assert not any("CREATE INDEX" in s or "table_info" in s for s in statements)
    assert any("version IS NULL" in s for s in statements)


def test_problems_rewritten_by_a_plain_import_get_their_columns_again(tmp_path):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    with ws.transaction() as work, contextlib.closing(sqlite3.connect(work)) as con, con:
        con.execute("ALTER TABLE problems DROP COLUMN updated_by")
    change = update_problem(ws, "P-1", "reported", "clerk")
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        row = con.execute("SELECT updated_by, version FROM problems").fetchone()
    assert row == ("clerk", change["version"])


def test_a_second_update_reads_the_schema_version_once_and_not_the_journal_mode(
    tmp_path, statements
):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    statements.clear()
    update_problem(ws, "P-1", "reported", "clerk")
    assert statements.count("PRAGMA schema_version") == 1
    assert not [s for s in statements if "journal_mode" in s or "busy_timeout = 0" in s]
    assert not [s for s in statements if "sqlite_master" in s]


def test_a_transaction_that_lists_a_table_reads_the_schema_version_again_at_its_end(
    tmp_path, statements
):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    statements.clear()
    with ws.sql_transaction() as con:
        create_listed(con, [_listed("scratch")])
    assert statements.count("PRAGMA schema_version") == 2
    statements.clear()
    with ws.sql_transaction() as con:
        create_listed(con, [_listed("scratch")])
    assert not [s for s in statements if "CREATE TABLE" in s]


def test_a_file_taken_out_of_wal_mode_by_another_program_is_still_written(tmp_path):
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "clerk")
    close_idle(ws.path)
    with contextlib.closing(sqlite3.connect(ws.path, isolation_level=None)) as con:
        assert con.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    change = update_problem(ws, "P-1", "reported", "clerk")
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        assert con.execute("SELECT version FROM problems").fetchone()[0] == change["version"]
