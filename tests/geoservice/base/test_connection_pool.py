"""Connections to a workspace file are kept between uses, and only while that is safe."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from pathlib import Path

import pyogrio
import pytest

import geoservice.base.connection_pool as pool_module
from geoservice.base.connection_pool import close_idle, connection, pool_counts
from geoservice.base.workspace_gate import gate


def _db(path: Path, value: int = 1) -> Path:
    """A small SQLite file in WAL mode with one table ``t`` holding ``value``."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (?)", (value,))
    return path


def _value(path: Path) -> int:
    with connection(path, 5.0) as con:
        return int(con.execute("SELECT x FROM t").fetchone()[0])


def _idle(path: Path) -> int:
    found = pool_module._POOLS.get(str(path.resolve()))
    return 0 if found is None else len(found.idle)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = _db(tmp_path / "ws.gpkg")
    yield path
    close_idle(path)


def test_a_second_use_gets_the_same_connection(db):
    with connection(db, 5.0) as first:
        pass
    with connection(db, 5.0) as second:
        pass
    assert second is first


def test_a_connection_in_use_is_not_lent_twice(db):
    with connection(db, 5.0) as first, connection(db, 5.0) as second:
        assert second is not first


def test_an_open_transaction_is_rolled_back_when_given_back(db):
    with connection(db, 5.0) as con:
        con.execute("BEGIN")
        con.execute("INSERT INTO t VALUES (2)")
    with connection(db, 5.0) as again:
        assert again is con
        assert not again.in_transaction
        assert again.execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_a_connection_with_a_temporary_table_is_closed_not_kept(db):
    with connection(db, 5.0) as con:
        con.execute("CREATE TEMP TABLE t (shadow TEXT)")
    with connection(db, 5.0) as again:
        assert again is not con
        assert again.execute("SELECT x FROM t").fetchone()[0] == 1


def test_a_connection_that_raised_an_sqlite_error_is_closed_not_kept(db):
    with (
        pytest.raises(sqlite3.OperationalError, match="no such table"),
        connection(db, 5.0) as con,
    ):
        con.execute("SELECT * FROM missing")
    with connection(db, 5.0) as again:
        assert again is not con


def test_another_error_gives_the_connection_back(db):
    with pytest.raises(KeyError), connection(db, 5.0) as con:
        raise KeyError("not sqlite's")
    with connection(db, 5.0) as again:
        assert again is con


def test_a_missing_file_is_refused_and_not_created(tmp_path):
    path = tmp_path / "none.gpkg"
    with (
        pytest.raises(sqlite3.OperationalError, match="unable to open database file"),
        connection(path, 5.0),
    ):
        pass
    assert not path.exists()


def test_the_busy_timeout_is_the_one_asked_for(db):
    with connection(db, 5.0) as con:
        assert con.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    with connection(db, 0.25) as again:
        assert again is con
        assert again.execute("PRAGMA busy_timeout").fetchone()[0] == 250


def test_a_gdal_use_closes_the_idle_connections_first(db):
    with connection(db, 5.0) as con:
        con.execute("INSERT INTO t VALUES (2)")
    assert _idle(db) == 1
    with gate(db).reading():
        assert _idle(db) == 0
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        con.execute("SELECT 1")


def test_a_gdal_read_between_uses_leaves_the_log_whole(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    path = tmp_path / "layer.gpkg"
    gpd.GeoDataFrame({"x": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(path)
    with connection(path, 5.0) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (7)")
    with gate(path).reading():
        assert pyogrio.read_info(path, layer="layer")["features"] == 1
    assert _value(path) == 7


def test_a_replaced_file_is_read_anew_and_its_old_connection_not_closed(tmp_path, db):
    with connection(db, 5.0) as old:
        pass
    close_idle(db)
    with connection(db, 5.0) as old:
        pass  # idle again, on the file about to be replaced
    other = _db(tmp_path / "other.gpkg", value=2)
    close_idle(other)
    stranded = pool_counts()["stranded"]
    shutil.move(other, db)
    assert _value(db) == 2
    assert pool_counts()["stranded"] == stranded + 1
    old.execute("SELECT 1")  # never closed: its close would delete the new file's log


def test_unused_connections_are_closed_and_the_log_folded_back(db, monkeypatch):
    monkeypatch.setattr(pool_module, "IDLE_SECONDS", 0.05)
    with connection(db, 5.0) as con:
        con.execute("INSERT INTO t VALUES (2)")
    wal = db.with_name(db.name + "-wal")
    deadline = time.monotonic() + 10
    # the reaper takes the idle list before it closes them: wait for the close too
    while (_idle(db) or wal.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _idle(db) == 0
    assert not wal.exists()


def test_a_file_with_a_connection_in_use_is_not_reaped(db, monkeypatch):
    monkeypatch.setattr(pool_module, "IDLE_SECONDS", 0.05)
    with connection(db, 5.0):
        with connection(db, 5.0):
            pass
        time.sleep(0.5)
        assert _idle(db) == 1


def test_an_idle_connection_last_used_with_the_asked_timeout_is_lent_first(db):
    with connection(db, 5.0) as reads, connection(db, 60.0) as appends:
        pass
    with connection(db, 60.0) as again:
        assert again is appends
    with connection(db, 5.0) as again:
        assert again is reads


def test_with_no_idle_connection_of_that_timeout_another_is_lent_with_its_timeout_set(db):
    with connection(db, 5.0) as con:
        pass
    with connection(db, 60.0) as again:
        assert again is con
        assert again.execute("PRAGMA busy_timeout").fetchone()[0] == 60000
