"""SQLite connections to a workspace file, kept open between uses within a process.

Opening a connection costs microseconds; its first statement does not: SQLite reads and
parses the whole schema first. A county workspace has some 150 tables with their indexes
and R-tree triggers, and the parse took 0.8 ms, several times per request (the sign-in,
the file check, the data version, the read itself and the audit row each opened their
own connection). A connection kept open parses the schema again only when it changes.

Reads use kept connections (:meth:`~geoservice.base.workspace.Workspace.read_connection`,
the data version, the file check), and so do audit appends
(:func:`~geoservice.base.gpkg_sql.append_audit_rows`, one short ``INSERT`` transaction
for most requests, which checks after ``BEGIN IMMEDIATE`` that the path still names the
connection's file). Workflow write transactions open a connection of their own and close
it: a commit must never land in a log that a long-lived connection might still hold after
the file's log was replaced under it. In one of 21 load runs with those writes on kept
connections two acknowledged updates were lost; in the runs since the writes went back
to connections of their own, none was lost. A race found later may have been the cause:
a second GDAL user could start while the first was still closing the idle connections
(:class:`~geoservice.base.workspace_gate.Gate` now lets none in until they are closed).
Workflow writes stay on their own connections until load runs show the race was the cause.

:func:`connection` lends a kept connection (autocommit, with the GeoPackage functions of
:mod:`geoservice.base.gpkg_functions`) and takes it back; a connection comes back to the
pool only in the state a new one has: no transaction open, no temporary table, no SQLite
error seen. What keeps an idle connection safe:

- **GDAL**: the process's :class:`~geoservice.base.workspace_gate.Gate` closes the idle
  connections of a file before it lets a GDAL use of the file in (GDAL's own SQLite would
  otherwise take itself for the last user and delete the write-ahead log under them);
  a lent connection is always inside the gate's Python side.
- **A replaced file**: each connection remembers the file (device, inode) it opened, and
  the pool lends only connections of the file the path names now. A connection of a
  replaced file is never closed: SQLite's close deletes ``<path>-wal`` by name, which
  would now be the new file's log. Such connections are kept aside (``stranded``) until
  the process ends; a workspace is replaced only when it was deleted and made anew.
- **Other processes**: an idle connection of a file in WAL mode holds SQLite's shared
  lock, so another process's closing connection never takes itself for the last one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from geoservice.base.gpkg_functions import register_gpkg_functions
from geoservice.base.real_paths import real_path
from geoservice.base.workspace_gate import gate

__all__ = ["PooledConnection", "close_idle", "connection", "pool_counts"]

IDLE_PER_FILE = 16  # idle connections kept per file (a worker serves 40 threads)
FILES = 4  # files with kept connections; the least recently used one's are closed
IDLE_SECONDS = 1.0  # a file none of whose connections was lent for this long: closed

Inode = tuple[int, int]


class PooledConnection(sqlite3.Connection):
    """A connection the pool lends: it knows the file it opened, its busy timeout, whether
    it commits without an ``fsync`` of its own (``synchronous = NORMAL`` in a WAL file, for
    the audit rows: :func:`~geoservice.base.gpkg_sql.append_audit_rows`), and the names of
    the file's tables inside a :func:`~geoservice.base.workspace_write.table_snapshot`."""

    inode: Inode = (0, 0)
    timeout_seconds: float = 0.0
    unsynced_commits: bool = False
    tables: frozenset[str] | None = None


class _FilePool:
    """The idle connections of one file (by real path)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.idle: list[PooledConnection] = []
        self.retired = False  # evicted: connections given back are closed
        self.lent = 0
        self.last_use = time.monotonic()

    def take(self, path: Path, timeout: float) -> PooledConnection:
        now = _inode(path)
        found: PooledConnection | None = None
        stale: list[PooledConnection] = []
        with self.lock:
            self.lent += 1
            self.last_use = time.monotonic()
            while self.idle and found is None:
                con = self.idle.pop(_same_timeout_last(self.idle, timeout))
                if con.inode == now:
                    found = con
                else:
                    stale.append(con)
        for con in stale:
            _close(con, path)
        try:
            if found is None:
                found = _open(path, now, timeout)
                COUNTS["opened"] += 1
            else:
                COUNTS["reused"] += 1
            if found.timeout_seconds != timeout:
                found.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                found.timeout_seconds = timeout
        except BaseException:
            with self.lock:
                self.lent -= 1
            if found is not None:
                _close(found, path)
            raise
        _start_reaper()
        return found

    def give(self, con: PooledConnection, path: Path, reusable: bool) -> None:
        if reusable:
            reusable = _reset(con)
        with self.lock:
            self.lent -= 1
            self.last_use = time.monotonic()
            if reusable and not self.retired and len(self.idle) < IDLE_PER_FILE:
                self.idle.append(con)
                return
        _close(con, path)

    def close_idle(self, unused_for: float | None = None) -> None:
        """Close the idle connections (only when none was lent for ``unused_for``
        seconds, when given); the caller is in the gate's Python side or GDAL's."""
        with self.lock:
            if unused_for is not None and (
                self.lent or time.monotonic() - self.last_use < unused_for
            ):
                return
            idle, self.idle = self.idle, []
        for con in idle:
            _close(con, Path(self.key))

    def has_idle(self) -> bool:
        with self.lock:
            return bool(self.idle)


COUNTS: dict[str, int] = {"opened": 0, "reused": 0, "closed": 0, "stranded": 0}
_POOLS: OrderedDict[str, _FilePool] = OrderedDict()
_POOLS_LOCK = threading.Lock()
_STRANDED: list[PooledConnection] = []  # connections of replaced files, never closed


def _inode(path: Path) -> Inode:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise sqlite3.OperationalError(f"unable to open database file {path}: {exc}") from exc
    return (st.st_dev, st.st_ino)


def _open(path: Path, inode: Inode, timeout: float) -> PooledConnection:
    """A new connection to ``path`` (``mode=rw``: a file removed meanwhile is not made
    again), of the file whose inode is ``inode``."""
    uri = f"file:{quote(os.path.abspath(path))}?mode=rw"
    while True:
        con = sqlite3.connect(
            uri,
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=PooledConnection,
        )
        con.inode, con.timeout_seconds = inode, timeout
        try:
            after = _inode(path)
        except sqlite3.OperationalError:
            con.close()  # removed meanwhile: no other file's log to delete
            raise
        if after == inode:
            register_gpkg_functions(con)
            return con
        _strand(con)  # replaced between the stat and the open: which file is unknown
        inode = after


def _same_timeout_last(idle: list[PooledConnection], timeout: float) -> int:
    """The index of the last connection of ``idle`` whose busy timeout is ``timeout``,
    else of the last one. Reads wait 15 s and audit appends 60 s: lending each the kept
    connections last used alike spares the statements that set the timeout again (under
    load each statement is a turn at the interpreter lock)."""
    for i in range(len(idle) - 1, -1, -1):
        if idle[i].timeout_seconds == timeout:
            return i
    return -1


def _reset(con: PooledConnection) -> bool:
    """Whether ``con``, rolled back, is as a new connection would be."""
    try:
        if con.in_transaction:
            con.rollback()
        temp = con.execute("SELECT 1 FROM temp.sqlite_master LIMIT 1").fetchone()
    except sqlite3.Error:
        return False
    con.row_factory = None
    con.text_factory = str
    con.tables = None
    return temp is None


def _close(con: PooledConnection, path: Path) -> None:
    """Close ``con`` unless ``path`` names another file than the one it opened."""
    try:
        now: Inode | None = _inode(path)
    except sqlite3.OperationalError:
        now = None  # no file there: there is no other file's log to delete either
    if now is not None and now != con.inode:
        _strand(con)
        return
    con.close()
    COUNTS["closed"] += 1


def _strand(con: PooledConnection) -> None:
    with _POOLS_LOCK:
        _STRANDED.append(con)
    COUNTS["stranded"] += 1


def _pool(path: Path) -> _FilePool:
    key = real_path(path)
    evicted: list[_FilePool] = []
    with _POOLS_LOCK:
        found = _POOLS.get(key)
        if found is None:
            found = _POOLS[key] = _FilePool(key)
            gate(Path(key)).before_gdal = found.close_idle
            while len(_POOLS) > FILES:
                evicted.append(_POOLS.popitem(last=False)[1])
        _POOLS.move_to_end(key)
    for old in evicted:
        with old.lock:
            old.retired = True
        with gate(Path(old.key)).sql():
            old.close_idle()
    return found


@contextlib.contextmanager
def connection(path: Path, timeout: float) -> Iterator[PooledConnection]:
    """A kept connection to the workspace file at ``path``, for reading or an audit append,
    inside the Python side of its gate, waiting up to ``timeout`` seconds for SQLite's
    locks (workflow write transactions open a connection of their own: see the module
    notes).

    Autocommit: begin and end transactions explicitly; one left open is rolled back when
    the block ends. Raises :class:`sqlite3.OperationalError` when there is no file at
    ``path``. After an SQLite error in the block the connection is closed, not kept.
    """
    with gate(path).sql():
        pool = _pool(path)
        con = pool.take(Path(path), timeout)
        reusable = True
        try:
            yield con
        except sqlite3.Error:
            reusable = False
            raise
        finally:
            pool.give(con, Path(path), reusable)


def close_idle(path: Path) -> None:
    """Close the idle connections this process keeps to the file at ``path``."""
    with _POOLS_LOCK:
        found = _POOLS.get(real_path(path))
    if found is not None:
        with gate(Path(found.key)).sql():
            found.close_idle()


def _reap(stop: threading.Event) -> None:
    """Close the connections of files unused for :data:`IDLE_SECONDS`, so that a
    workspace nobody uses is left whole in its file (the last connection to close folds
    the write-ahead log back in), as the README promises for copies."""
    while not stop.wait(IDLE_SECONDS / 2):
        with _POOLS_LOCK:
            pools = list(_POOLS.values())
        for pool in pools:
            if pool.has_idle():
                with gate(Path(pool.key)).sql():
                    pool.close_idle(unused_for=IDLE_SECONDS)


_REAPER: list[threading.Thread] = []
_REAPER_STOP = threading.Event()


def _start_reaper() -> None:
    if _REAPER:
        return
    with _POOLS_LOCK:
        if _REAPER:
            return
        thread = threading.Thread(
            target=_reap, args=(_REAPER_STOP,), name="sqlite-pool-reaper", daemon=True
        )
        _REAPER.append(thread)
    thread.start()


@atexit.register
def _close_all() -> None:
    """At exit: every idle connection closed, so the file is left whole."""
    _REAPER_STOP.set()
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    for pool in pools:
        with gate(Path(pool.key)).sql():  # after GDAL reads still running in other threads
            pool.close_idle()


def pool_counts() -> dict[str, int]:
    """Connections opened, lent again, closed and stranded so far (for tests and
    benchmarks)."""
    return dict(COUNTS)
