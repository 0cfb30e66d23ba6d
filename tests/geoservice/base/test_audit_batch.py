"""Audit rows of concurrent threads share transactions, and each is committed before return."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence

import geopandas as gpd
import pyogrio
import pytest
import shapely

import geoservice.base.gpkg_sql as gpkg_sql
from geoservice.base.audit_batch import AuditBatch, audit_batch
from geoservice.base.connection_pool import close_idle
from geoservice.base.workspace import Workspace
from tests.support.sql_trace import traced_connects
from tests.support.workflow import workspace


def _row(n: int) -> tuple[str, str, str, str, str]:
    return ("2026-12-06T00:00:00+00:00", f"u{n}", "layer.read", "problems", "{}")


def test_a_row_alone_is_written_at_once_in_its_own_transaction():
    batch, written = AuditBatch(), []
    batch.append(_row(1), written.append)
    assert written == [[_row(1)]] and batch.commits == 1


def test_rows_queued_while_a_batch_is_written_share_the_next_transaction():
    batch, written = AuditBatch(), []
    first_writing, release = threading.Event(), threading.Event()

    def slow(rows: Sequence[tuple[str, ...]]) -> None:
        written.append(list(rows))
        if len(written) == 1:
            first_writing.set()
            assert release.wait(10)

    first = threading.Thread(target=batch.append, args=(_row(0), slow))
    first.start()
    assert first_writing.wait(10)
    others = [threading.Thread(target=batch.append, args=(_row(n), slow)) for n in range(1, 6)]
    for t in others:
        t.start()
    while len(batch._pending) < 5:  # every other row queued behind the first transaction
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *others]:
        t.join(10)
    assert written[0] == [_row(0)]
    assert sorted(written[1]) == sorted(_row(n) for n in range(1, 6))
    assert batch.commits == 2


def test_every_thread_of_a_failed_batch_gets_its_error_and_later_rows_are_written():
    batch, errors, written = AuditBatch(), [], []
    gate, release = threading.Event(), threading.Event()

    def fail_second(rows: Sequence[tuple[str, ...]]) -> None:
        if not gate.is_set():
            gate.set()
            assert release.wait(10)
            written.append(list(rows))
            return
        raise OSError("disk full")

    def append(n: int) -> None:
        try:
            batch.append(_row(n), fail_second)
        except OSError as exc:
            errors.append((n, str(exc)))

    first = threading.Thread(target=append, args=(0,))
    first.start()
    assert gate.wait(10)
    failing = [threading.Thread(target=append, args=(n,)) for n in (1, 2, 3)]
    for t in failing:
        t.start()
    while len(batch._pending) < 3:
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *failing]:
        t.join(10)
    assert sorted(errors) == [(1, "disk full"), (2, "disk full"), (3, "disk full")]
    batch.append(_row(9), written.append)
    assert written == [[_row(0)], [_row(9)]]


def test_a_failure_is_raised_in_the_writing_thread_too():
    def fail(rows: Sequence[tuple[str, ...]]) -> None:
        raise OSError("read-only file system")

    with pytest.raises(OSError, match="read-only file system"):
        AuditBatch().append(_row(1), fail)


def test_rows_logged_by_many_threads_are_all_in_the_audit_log(tmp_path):
    ws = workspace(tmp_path)
    before = len(ws.audit())
    threads = [
        threading.Thread(target=ws.log, args=(f"reader{n}", "layer.read", "problems", {"n": n}))
        for n in range(40)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    log = ws.audit().iloc[before:]
    assert sorted(log["actor"]) == sorted(f"reader{n}" for n in range(40))


def test_each_workspace_file_has_its_own_batch(tmp_path):
    assert audit_batch(tmp_path / "a.gpkg") is audit_batch(tmp_path / "a.gpkg")
    assert audit_batch(tmp_path / "a.gpkg") is not audit_batch(tmp_path / "b.gpkg")


def test_a_row_logged_to_a_geopackage_without_register_tables_creates_them(tmp_path):
    path = tmp_path / "plain.gpkg"
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(0, 0)], crs=4547)
    pyogrio.write_dataframe(frame, path, layer="villages", driver="GPKG")
    ws = Workspace(path)
    ws.log("reader", "layer.read", "villages", {})
    assert ws.audit()["action"].tolist() == ["layer.read"]


@pytest.mark.parametrize(("mode", "normal"), [("wal", True), ("delete", False)])
def test_audit_rows_skip_their_own_fsync_only_in_a_wal_file(tmp_path, monkeypatch, mode, normal):
    ws = workspace(tmp_path)
    close_idle(ws.path)  # a journal mode changes only with no other connection in the file
    with contextlib.closing(sqlite3.connect(ws.path, isolation_level=None)) as con:
        assert con.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
    seen = traced_connects(monkeypatch)
    gpkg_sql.append_audit_rows(ws.path, [_row(1)], timeout=5)
    monkeypatch.undo()
    assert ("PRAGMA synchronous = NORMAL" in seen) is normal
    assert ws.audit()["actor"].iloc[-1] == "u1"


def test_a_kept_connection_sets_its_synchronous_mode_once_in_a_wal_file(tmp_path, monkeypatch):
    ws = workspace(tmp_path)
    close_idle(ws.path)
    seen = traced_connects(monkeypatch)
    gpkg_sql.append_audit_rows(ws.path, [_row(1)], timeout=5)
    assert "PRAGMA synchronous = NORMAL" in seen
    seen.clear()
    gpkg_sql.append_audit_rows(ws.path, [_row(2)], timeout=5)
    monkeypatch.undo()
    assert not [s for s in seen if s.startswith("PRAGMA")]
    assert ws.audit()["actor"].tolist()[-2:] == ["u1", "u2"]
