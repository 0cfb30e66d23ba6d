"""SQLite connections to the workspace GeoPackage, its geometry functions and the audit log.

SQL writers (workflow, intake, access) reach the file through
:meth:`geoservice.base.workspace.Workspace.sql_transaction` and SQL readers through
:meth:`~geoservice.base.workspace.Workspace.read_connection`; both connect with
:func:`connect_file`.

A GeoPackage layer's R-tree triggers call ``ST_IsEmpty`` and ``ST_MinX``..``ST_MaxY``,
which plain SQLite lacks, and a row inserted with SQL needs its geometry as a GeoPackage
blob. SpatiaLite provides both (``mod_spatialite``), but the Python ``sqlite3`` module of
this service's interpreter is built without ``enable_load_extension``, so no extension can
be loaded into its connections; GDAL maintains the index itself but cannot join the SQL
transaction that also writes the history and audit rows. The service therefore holds the
small part of the GeoPackage encoding it needs (GeoPackage 1.3, clause 2.1.3,
"GeoPackageBinary"): reading the header to reach the WKB
(:mod:`geoservice.base.gpkg_functions`, the triggers' functions), and writing
little-endian blobs with an xy envelope (here). Every change a person makes is also written to the
``audit_log`` table (:func:`audit` inside a transaction, :func:`append_audit_rows` on their own).
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import shapely

from geoservice.base.connection_pool import PooledConnection, connection
from geoservice.base.gpkg_functions import register_gpkg_functions
from geoservice.base.workspace_write import ensure_tables

__all__ = [
    "LOCK_WAIT_SECONDS",
    "AuditRow",
    "append_audit_rows",
    "audit",
    "audit_row",
    "connect_file",
    "gpkg_blob",
]

LOCK_WAIT_SECONDS = 15.0
"""Seconds a writer waits for ``<workspace>.lock`` (and SQLite for its own lock)."""

AuditRow = tuple[str, str, str, str, str]
"""The values of one ``audit_log`` row: at, actor, action, target, detail (JSON)."""

_AUDIT_INSERT = "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)"


def connect_file(
    path: Path,
    isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = "DEFERRED",
    timeout: float = LOCK_WAIT_SECONDS,
) -> sqlite3.Connection:
    """A connection to a GeoPackage file with the geometry functions its triggers call."""
    con = sqlite3.connect(path, timeout=timeout, isolation_level=isolation_level)
    register_gpkg_functions(con)
    return con


# --- GeoPackageBinary: header flags byte -> envelope length --------------------------------

_LITTLE_ENDIAN_XY_ENVELOPE = (
    0b00000011  # byte order bit 1, envelope code 1 ([minx, maxx, miny, maxy])
)


def gpkg_blob(geom: shapely.Geometry, srs_id: int) -> bytes:
    """A GeoPackage geometry blob (little endian, xy envelope) of any geometry."""
    minx, miny, maxx, maxy = shapely.bounds(geom)
    header = b"GP" + bytes([0, _LITTLE_ENDIAN_XY_ENVELOPE]) + struct.pack("<i", srs_id)
    return header + struct.pack("<4d", minx, maxx, miny, maxy) + shapely.to_wkb(geom, byte_order=1)


# --- the audit log ------------------------------------------------------------------------


def audit(
    con: sqlite3.Connection, at: str, actor: str, action: str, target: str, detail: Any
) -> None:
    """Append one audit-log row (inside the caller's transaction)."""
    con.execute(_AUDIT_INSERT, (at, actor, action, target, _json(detail)))


def _json(detail: Any) -> str:
    return json.dumps(detail, ensure_ascii=False, default=str)


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def audit_row(at: str, actor: str, action: str, target: str, detail: Any) -> AuditRow:
    """The values of one ``audit_log`` row, ``detail`` as JSON."""
    return (at, actor, action, target, _json(detail))


def append_audit_rows(path: Path, rows: Sequence[AuditRow], timeout: float) -> None:
    """Append audit-log rows in one short transaction, under SQLite's lock only.

    An import writes a copy of the file and writes it back into the original, carrying over
    the audit rows appended meanwhile (see
    :meth:`geoservice.base.workspace.Workspace.transaction`); the caller holds
    :func:`~geoservice.base.workspace_gate.audit_lock` so that none lands in between. The
    rows are written only once the connection holds the write lock and the path still
    names the file it opened; when the file was replaced in between (by hand, or a first
    workspace renamed into place), they are written to the new file. Waits up to
    ``timeout`` seconds for SQLite's lock. Raises :class:`sqlite3.OperationalError` when
    there is no file at ``path``.

    The connection is one of those the process keeps open
    (:func:`~geoservice.base.connection_pool.connection`): a connection of its own
    parses the file's schema first, 0.7-1.3 ms of CPU at county scale against 0.05 ms
    for the whole append on a kept one, and a worker appends a batch for most requests.

    In a WAL file the rows are committed without an ``fsync`` of their own
    (``synchronous = NORMAL``, set once on each kept connection): they are in the file for
    every other connection and survive the process being killed, and reach the disk with
    the next transaction that syncs (every workflow change does) or checkpoint; a power
    cut in between can lose them, never corrupt the file. Under 50 field clients the read
    audits' own flushes held SQLite's write lock so often that problem updates waited a
    few milliseconds for it at every ``BEGIN``.
    """
    while True:
        with connection(path, timeout) as con:
            if not con.unsynced_commits:
                _unsync_commits(con)
            if _appended(con, path, rows):
                return
        # replaced while waiting: rolled back; the next connection is the new file's


def _unsync_commits(con: PooledConnection) -> None:
    """``synchronous = NORMAL`` on the kept connection ``con`` when its file is in WAL
    mode, for good: the kept connections write nothing but audit rows (workflow writes
    open connections of their own), and the mode is stored in the file."""
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        con.execute("PRAGMA synchronous = NORMAL")
        con.unsynced_commits = True


def _appended(con: PooledConnection, path: Path, rows: Sequence[AuditRow]) -> bool:
    """Insert ``rows`` in one transaction on the kept connection ``con``; False (nothing
    written) when ``path`` names another file than ``con``'s by the time it holds the
    write lock."""
    con.execute("BEGIN IMMEDIATE")
    if _identity(path) != con.inode:
        con.execute("ROLLBACK")
        return False
    try:
        con.executemany(_AUDIT_INSERT, rows)
    except sqlite3.OperationalError:  # no register tables yet (a first audited read)
        ensure_tables(con)
        con.executemany(_AUDIT_INSERT, rows)
    con.execute("COMMIT")
    return True
