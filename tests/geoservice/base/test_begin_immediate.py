"""A write transaction's BEGIN polls SQLite's write lock instead of SQLite's back-off."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from geoservice.base.workspace_write import begin_immediate


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "w.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
    return path


def _writer(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)


def test_begin_immediate_starts_a_write_transaction_and_restores_the_busy_timeout(tmp_path):
    with contextlib.closing(_writer(_file(tmp_path))) as con:
        begin_immediate(con, 2.5)
        assert con.in_transaction
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("COMMIT")


def test_begin_immediate_tries_again_every_half_millisecond_not_in_sqlites_back_off(tmp_path):
    path = _file(tmp_path)
    with contextlib.closing(_writer(path)) as holder, contextlib.closing(_writer(path)) as con:
        holder.execute("BEGIN IMMEDIATE")
        tries: list[str] = []
        con.set_trace_callback(lambda sql: tries.append(sql) if sql == "BEGIN IMMEDIATE" else None)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            begin_immediate(con, 0.3)
        # SQLite's busy handler would make one try of 300 ms (12 sleeps inside it)
        assert len(tries) >= 30
        holder.execute("ROLLBACK")


def test_begin_immediate_gets_the_lock_once_another_writer_commits(tmp_path):
    path = _file(tmp_path)
    with contextlib.closing(_writer(path)) as holder, contextlib.closing(_writer(path)) as con:
        holder.execute("BEGIN IMMEDIATE")
        thread = threading.Thread(target=lambda: (time.sleep(0.2), holder.execute("COMMIT")))
        thread.start()
        begin_immediate(con, 5.0)
        thread.join(5)
        assert con.in_transaction
        con.execute("ROLLBACK")


def test_begin_immediate_gives_up_after_the_wait_with_sqlites_error(tmp_path):
    path = _file(tmp_path)
    with contextlib.closing(_writer(path)) as holder, contextlib.closing(_writer(path)) as con:
        holder.execute("BEGIN IMMEDIATE")
        start = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            begin_immediate(con, 0.2)
        assert 0.2 <= time.monotonic() - start < 2
        assert not con.in_transaction
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 200
        holder.execute("ROLLBACK")
