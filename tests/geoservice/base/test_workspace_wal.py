"""The workspace in WAL mode: imports written back in place, readers keep their snapshot."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from pathlib import Path

import pyogrio

from geoservice.base.connection_pool import close_idle
from geoservice.base.data_version import data_version
from geoservice.base.workspace import Workspace
from geoservice.workflow.store import read_problems, update_problem
from tests.support.workflow import workspace


def _mode(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])


def _count(con: sqlite3.Connection, table: str) -> int:
    return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def _delete_in_copy(ws: Workspace, table: str) -> None:
    """An import's transaction whose copy lost every row of ``table``."""
    with ws.transaction() as work, contextlib.closing(sqlite3.connect(work)) as con, con:
        con.execute(f'DELETE FROM "{table}"')


def test_an_imported_workspace_is_in_wal_mode(tmp_path):
    ws = workspace(tmp_path)
    assert _mode(ws.path) == "wal"


def test_a_workspace_in_rollback_mode_moves_to_wal_at_its_next_change(tmp_path):
    ws = workspace(tmp_path)
    close_idle(ws.path)  # another program switches the mode while nothing else uses it
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        con.execute("PRAGMA journal_mode=DELETE")
    assert _mode(ws.path) == "delete"
    update_problem(ws, "P-1", "in_progress", "clerk")
    assert _mode(ws.path) == "wal"


def test_the_write_back_keeps_the_file_and_its_inode(tmp_path):
    ws = workspace(tmp_path)
    inode = ws.path.stat().st_ino
    _delete_in_copy(ws, "problems")
    assert ws.path.stat().st_ino == inode
    assert read_problems(ws).empty


def test_a_reader_keeps_its_snapshot_while_an_import_writes_back(tmp_path):
    ws = workspace(tmp_path)
    reader = sqlite3.connect(ws.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        before = _count(reader, "problems")
        _delete_in_copy(ws, "problems")  # not blocked by the open read transaction
        assert _count(reader, "problems") == before > 0
        reader.execute("COMMIT")
        assert _count(reader, "problems") == 0
    finally:
        reader.close()


def test_every_write_back_changes_the_data_version(tmp_path):
    ws = workspace(tmp_path)
    first = data_version(ws.path)
    with ws.transaction():
        pass  # the same content written back
    second = data_version(ws.path)
    assert first is not None and second is not None
    assert second[:2] == first[:2]  # the same file
    assert second[2] == first[2] + 1  # its next generation
    assert second[3:] == first[3:]


def test_audit_rows_appended_by_other_threads_during_the_write_back_are_all_kept(tmp_path):
    ws = workspace(tmp_path)
    stop, errors = threading.Event(), []

    def append(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                ws.log(f"reader{n}", "layer.read", f"row{i}", {})
            except Exception as exc:  # reported below
                errors.append(exc)
                return
            i += 1

    threads = [threading.Thread(target=append, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        _delete_in_copy(ws, "problems")
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    audit = ws.audit()
    reads = audit[audit["action"] == "layer.read"]
    # each thread's rows are all there, in order, without a gap
    for n in range(3):
        targets = reads.loc[reads["actor"] == f"reader{n}", "target"].tolist()
        assert targets == [f"row{i}" for i in range(len(targets))]
        assert targets


def test_a_stale_log_left_beside_a_new_workspace_is_not_replayed_into_it(tmp_path):
    # a log with committed frames of another database, as a deleted workspace leaves it
    # when its last connection was killed
    other = tmp_path / "other" / "ws.gpkg"
    other.parent.mkdir()
    keep = sqlite3.connect(other, isolation_level=None)
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("PRAGMA wal_autocheckpoint=0")
    keep.execute("CREATE TABLE stale (x)")
    keep.execute("INSERT INTO stale VALUES (1)")
    shutil.copy(other.with_name("ws.gpkg-wal"), tmp_path / "ws.gpkg-wal")
    keep.close()
    ws = workspace(tmp_path)
    assert "stale" not in [str(n) for n, _ in pyogrio.list_layers(ws.path)]
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        assert con.execute("PRAGMA quick_check").fetchone() == ("ok",)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    assert "stale" not in tables and "problems" in tables


def test_a_read_only_connection_opens_a_wal_workspace_without_its_log(tmp_path):
    ws = workspace(tmp_path)
    close_idle(ws.path)
    assert not ws.path.with_name("ws.gpkg-wal").exists()  # the last close checkpointed
    assert data_version(ws.path) is not None
    assert len(read_problems(ws)) > 0
