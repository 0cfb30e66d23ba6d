"""File-level writes into a workspace GeoPackage: register tables, frames, durable renames.

:func:`ensure_tables` creates the register tables (``layer_catalog``, ``audit_log``,
``workspace_meta``, ``analysis_runs``) and lists them in ``gpkg_contents``, as
:func:`create_listed` does for any module's tables;
:func:`write_frame` writes a layer or a plain table (after :func:`gpkg_safe` renames a
reserved ``fid`` column); :func:`with_earlier_rejects` keeps the rejects of earlier
appending imports; :func:`fsync_dir` makes a rename into a folder durable;
:func:`copy_database` makes an import's working copy, :func:`write_back` writes it back
into the original in one transaction (with the audit rows the original gained meanwhile,
:func:`carry_audit`) and :func:`install_new` puts a first workspace file in place;
:func:`use_wal` puts a file in WAL mode. These work on a file path or an open
connection and take no locks: the caller (a :class:`geoservice.base.workspace.Workspace`
transaction) holds them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geoservice.base.data_version import generation
from geoservice.base.schema_memo import known_tables

__all__ = [
    "begin_immediate",
    "carry_audit",
    "copy_database",
    "create_listed",
    "ensure_tables",
    "fsync_dir",
    "gpkg_safe",
    "has_table",
    "install_new",
    "remove_copy",
    "table_snapshot",
    "use_wal",
    "with_earlier_rejects",
    "write_back",
    "write_frame",
]

_CATALOG_SQL = """
CREATE TABLE IF NOT EXISTS layer_catalog (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL, part TEXT NOT NULL DEFAULT '', owner_department TEXT NOT NULL,
  classification TEXT NOT NULL, source_file TEXT NOT NULL, sha256 TEXT,
  encoding TEXT, crs TEXT, rows INTEGER NOT NULL, rows_rejected INTEGER NOT NULL,
  imported_by TEXT NOT NULL, imported_at TEXT NOT NULL, mode TEXT NOT NULL)
"""
_AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)
"""
_META_SQL = "CREATE TABLE IF NOT EXISTS workspace_meta (key TEXT PRIMARY KEY, value TEXT)"
_RUNS_SQL = """
CREATE TABLE IF NOT EXISTS analysis_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_at TEXT NOT NULL, actor TEXT NOT NULL,
  as_of TEXT NOT NULL, rules_hash TEXT NOT NULL, inputs TEXT NOT NULL, counts TEXT NOT NULL,
  duration_s REAL NOT NULL)
"""


_BEGIN_POLL_SECONDS = 0.0005
_SQLITE_BUSY = 5


def begin_immediate(
    con: sqlite3.Connection, wait_seconds: float, *, busy_timeout_set: bool = True
) -> None:
    """``BEGIN IMMEDIATE`` on ``con``, tried again every half millisecond for up to
    ``wait_seconds`` while another connection holds SQLite's write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25... ms between tries, so a
    transaction that comes while an audit batch is committing waited tens of milliseconds
    after the lock was free (a problem update's ``BEGIN`` waited 41 ms at p95 under 50
    clients). The connection's busy timeout is 0 while this polls and ``wait_seconds``
    again afterwards, for the transaction's later statements (``busy_timeout_set=False``:
    the connection was opened with a timeout of 0, which is not set again). Raises
    SQLite's "database is locked" error once ``wait_seconds`` have passed.
    """
    deadline = time.monotonic() + wait_seconds
    if busy_timeout_set:
        con.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(_BEGIN_POLL_SECONDS)
    finally:
        con.execute(f"PRAGMA busy_timeout = {round(wait_seconds * 1000)}")


def has_table(con: sqlite3.Connection, name: str) -> bool:
    """Whether the database behind ``con`` has a table ``name`` (inside
    :func:`table_snapshot`, from the names it read)."""
    names: frozenset[str] | None = getattr(con, "tables", None)
    if names is not None:
        return name in names
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


@contextlib.contextmanager
def table_snapshot(con: sqlite3.Connection) -> Iterator[None]:
    """Inside a read transaction of the kept connection ``con`` (after ``BEGIN``, with no
    statement read yet), read the names of the file's tables once for :func:`has_table`.

    The transaction reads one committed state of the file, whose tables cannot change
    before it ends, so every :func:`has_table` of it is answered from this one statement
    instead of one statement each. Each statement lets other threads take the interpreter,
    and under load getting it back waited milliseconds. Only for transactions that write
    nothing: a table this connection created would not be in the names. A connection that
    cannot keep the names (not one of :mod:`~geoservice.base.connection_pool`'s) reads
    them per call as before.
    """
    if not hasattr(type(con), "tables"):
        yield
        return
    rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    con.tables = frozenset(str(r[0]) for r in rows)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        con.tables = None  # type: ignore[attr-defined]


def ensure_tables(con: sqlite3.Connection) -> None:
    """Create the register tables and list them in gpkg_contents (so QGIS shows them)."""
    create_listed(
        con,
        (
            ("layer_catalog", _CATALOG_SQL, "数据共享目录 layer catalog"),
            ("audit_log", _AUDIT_SQL, "操作日志 audit log"),
            ("workspace_meta", _META_SQL, "工作空间设置 workspace settings"),
            ("analysis_runs", _RUNS_SQL, "分析运行记录 analysis runs"),
        ),
    )


def create_listed(con: sqlite3.Connection, tables: Iterable[tuple[str, str, str]]) -> None:
    """Run each ``(name, create_sql, title)`` and list the table in gpkg_contents as an
    attributes table titled ``title`` (so QGIS shows it); an existing entry is kept.

    Inside an SQL write transaction, tables this process already listed at the file's
    current schema version are skipped (:mod:`geoservice.base.schema_memo`)."""
    memo = known_tables()
    for name, sql, title in tables:
        if memo is not None:
            if name in memo[0]:
                continue
            memo[1].add(name)
        con.execute(sql)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES (?, 'attributes', ?, ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (name, name, title),
        )


def gpkg_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename source columns GeoPackage reserves (``fid``) so writing cannot fail."""
    clash = {c: f"{c}_source" for c in frame.columns if str(c).lower() == "fid"}
    return frame.rename(columns=clash) if clash else frame


def write_frame(frame: pd.DataFrame, path: Path, layer: str) -> None:
    """Write a layer (GeoDataFrame, through Arrow) or a plain table into the GeoPackage."""
    if isinstance(frame, gpd.GeoDataFrame):
        # Arrow writes the same file as the row-by-row path, about twice as fast.
        pyogrio.write_dataframe(
            frame, path, layer=layer, driver="GPKG", promote_to_multi=None, use_arrow=True
        )
        return
    table = frame.copy()
    for col in table.columns:
        if not pd.api.types.is_numeric_dtype(table[col]) and not pd.api.types.is_bool_dtype(
            table[col]
        ):
            table[col] = table[col].astype("string")
    pyogrio.write_dataframe(table, path, layer=layer, driver="GPKG")


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries to disk, so a file renamed into it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def with_earlier_rejects(work: Path, kind: str, rejects: pd.DataFrame) -> pd.DataFrame:
    """``rejects`` after the ``rejects_<kind>`` rows already in the working copy ``work``."""
    table = f"rejects_{kind}"
    if not work.exists() or table not in [str(name) for name, _ in pyogrio.list_layers(work)]:
        return rejects
    earlier = pd.DataFrame(pyogrio.read_dataframe(work, layer=table, read_geometry=False))
    if not len(earlier):
        return rejects
    if not len(rejects):
        return earlier
    return pd.concat([earlier, rejects], ignore_index=True)


def copy_database(src: sqlite3.Connection, work: Path) -> int:
    """Copy the database behind ``src`` into a new file ``work``; its last audit-row id.

    SQLite's backup API reads the source under its own read lock, so the copy is of one
    committed state even while audit rows are being appended (and a journal left by a
    killed writer is rolled back first).
    """
    with contextlib.closing(sqlite3.connect(work)) as dst:
        src.backup(dst)
        if not has_table(dst, "audit_log"):
            return 0
        return int(dst.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])


def carry_audit(src: sqlite3.Connection, work: Path, since: int) -> int:
    """Append to ``work`` the audit rows ``src`` holds after id ``since``; how many."""
    if not has_table(src, "audit_log"):
        return 0
    rows = src.execute(
        "SELECT at, actor, action, target, detail FROM audit_log WHERE id > ? ORDER BY id",
        (since,),
    ).fetchall()
    if rows:
        with contextlib.closing(sqlite3.connect(work)) as dst, dst:
            ensure_tables(dst)
            dst.executemany(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                rows,
            )
    return len(rows)


def use_wal(con: sqlite3.Connection) -> bool:
    """Put the file behind ``con`` (outside a transaction) in WAL mode; whether it is.

    In WAL mode readers never wait for a writer nor a writer for readers, and a commit
    appends to the log instead of writing a rollback journal. The mode is stored in the
    file. Switching needs every other connection out of the file for a moment; when one
    stays (past the connection's busy timeout) the file keeps its mode and the next write
    tries again.
    """
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return True
    try:
        return str(con.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower() == "wal"
    except sqlite3.OperationalError:  # another connection is in the file
        return False


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + tail) for tail in ("-wal", "-shm", "-journal")]


def remove_copy(work: Path) -> None:
    """Delete a working copy and the log files SQLite may have left beside it."""
    for item in (work, *_sidecars(work)):
        item.unlink(missing_ok=True)


def install_new(work: Path, path: Path) -> None:
    """Make the finished working copy ``work`` the workspace ``path``, which does not
    exist yet: in WAL mode, flushed, renamed, the rename flushed. Log files a deleted
    workspace of the same name left beside it are removed first (SQLite would replay a
    stale ``-wal`` into the new file)."""
    with contextlib.closing(sqlite3.connect(work, isolation_level=None)) as con:
        use_wal(con)
    for stale in _sidecars(path):
        stale.unlink(missing_ok=True)
    with open(work, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(work, path)
    fsync_dir(path.parent)


def write_back(work: Path, live: sqlite3.Connection, since: int) -> int:
    """Write the working copy ``work`` back into the workspace behind ``live``, in one
    transaction; the number of audit rows carried over.

    The audit rows ``live`` gained after id ``since`` are appended to the copy first, then
    SQLite's backup API copies every page of the copy into the file in one step: readers
    in the file keep the state they began with and see the new one once it is committed,
    and a writer killed half-way leaves the file as it was (the transaction is rolled
    back). The caller excludes audit appends meanwhile
    (:func:`geoservice.base.workspace_gate.audit_lock`). The file is put in WAL mode
    first, and the copy's ``generation`` row of ``workspace_meta`` is the file's plus one,
    so that caches keyed on the file
    (:func:`~geoservice.base.data_version.file_identity`) see the change.
    """
    use_wal(live)
    carried = carry_audit(live, work, since)
    with contextlib.closing(sqlite3.connect(work)) as src:
        with src:
            ensure_tables(src)
            src.execute(
                "INSERT OR REPLACE INTO workspace_meta (key, value) VALUES ('generation', ?)",
                (str(generation(live) + 1),),
            )
        src.backup(live)
    return carried
