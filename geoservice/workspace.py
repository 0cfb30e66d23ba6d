"""The workspace: one GeoPackage holding every shared layer and its register.

Layers are stored under their canonical kind name (``villages``, ``parcels``,
``complaints``, ``patches``, ``problems``), all in the workspace CRS (one projected CRS in
metres). Beside them:

- ``layer_catalog``: the Article 5 sharing register, a row per contribution to a layer
  (owner department, classification, source file, sha256, encoding, CRS, rows, who
  imported it and when);
- ``audit_log``: every import, append-only;
- ``workspace_meta``: the workspace CRS;
- ``rejects_<kind>``: the rows the imports of that kind rejected, with reasons (a
  replacing import starts the table again, an appending one adds to it).

Every change is made on a copy of the file that replaces the original only when complete
(``os.replace`` is atomic), so an import killed half-way leaves the workspace exactly as
it was. One writer at a time holds ``<workspace>.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

from geoservice.errors import ConflictError, NotFoundError, WorkspaceError, message
from geoservice.workspace_file import check_workspace_file
from layers.schema import KINDS, Kind

Mode = Literal["replace", "append"]
CLASSIFICATIONS = ("public", "internal", "restricted")
DEFAULT_OWNER: dict[str, str] = {
    "villages": "natural_resources",
    "parcels": "agriculture",
    "complaints": "agriculture",
    "patches": "agriculture",
    "problems": "agriculture",
}
DEFAULT_CLASSIFICATION: dict[str, str] = {
    "villages": "public",
    "parcels": "internal",
    "complaints": "restricted",
    "patches": "internal",
    "problems": "internal",
}

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


@dataclass(frozen=True)
class CatalogEntry:
    """One row of the sharing register (``layer_catalog``)."""

    layer: str
    part: str
    owner_department: str
    classification: str
    source_file: str
    sha256: str | None
    encoding: str | None
    crs: str | None
    rows: int
    rows_rejected: int
    imported_by: str
    imported_at: str
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Gate:
    """One process's readers-writer gate on one workspace file.

    GDAL (through pyogrio) links its own copy of SQLite, and POSIX file locks are per
    process, so a GDAL read in one thread does not see a write transaction that Python's
    ``sqlite3`` holds in another thread of the same process: it takes the live journal for
    a crashed writer's and fails ("attempt to write a readonly database"), and closing its
    file handle would drop the writer's locks. Within a process, GDAL reads therefore wait
    for writes and writes for GDAL reads; between processes SQLite's own locks suffice. A
    thread that holds the write side may also read.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._writer == me:
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None and self._readers == 0)
            self._writer = me
        try:
            yield
        finally:
            with self._cond:
                self._writer = None
                self._cond.notify_all()


_GATES: dict[str, _Gate] = {}
_GATES_LOCK = threading.Lock()


def gate(path: Path) -> _Gate:
    """The process-wide readers-writer gate of a workspace file."""
    key = os.path.realpath(path)
    with _GATES_LOCK:
        return _GATES.setdefault(key, _Gate())


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Workspace:
    """A workspace GeoPackage.

    Parameters
    ----------
    path : Path
        The ``.gpkg`` file; created by the first import.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # --- reading ---------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def require(self) -> None:
        """Refuse a workspace that does not exist or is not a GeoPackage."""
        check_workspace_file(self.path)
        if not self.exists():
            raise WorkspaceError(
                message(
                    "workspace.missing",
                    f"工作空间 {self.path} 不存在；请先用 geoservice import 导入数据，"
                    "或用 --workspace 指定已有的工作空间。",
                    f"Workspace {self.path} does not exist; import data into it first with "
                    "'geoservice import', or pass --workspace with an existing one.",
                )
            )

    def _connect(self, path: Path | None = None) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(path or self.path)
            con.execute("SELECT name FROM sqlite_master LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(
                message(
                    "workspace.unreadable",
                    f"{self.path} 不是可读的 GeoPackage 工作空间（{exc}）。",
                    f"{self.path} is not a readable GeoPackage workspace ({exc}).",
                )
            ) from exc
        return con

    def crs(self) -> pyproj.CRS | None:
        """The workspace CRS, or None for a workspace with no layer yet."""
        check_workspace_file(self.path)
        if not self.exists():
            return None
        with contextlib.closing(self._connect()) as con:
            if not _has_table(con, "workspace_meta"):
                return None
            row = con.execute("SELECT value FROM workspace_meta WHERE key = 'crs'").fetchone()
        return pyproj.CRS.from_user_input(row[0]) if row else None

    def catalog(self) -> list[CatalogEntry]:
        """The sharing register, oldest first."""
        self.require()
        with contextlib.closing(self._connect()) as con:
            if not _has_table(con, "layer_catalog"):
                return []
            cur = con.execute(
                "SELECT layer, part, owner_department, classification, source_file, sha256, "
                "encoding, crs, rows, rows_rejected, imported_by, imported_at, mode "
                "FROM layer_catalog ORDER BY id"
            )
            return [CatalogEntry(*row) for row in cur.fetchall()]

    def audit(self) -> pd.DataFrame:
        """The audit log as a table (``at``, ``actor``, ``action``, ``target``, ``detail``)."""
        self.require()
        with contextlib.closing(self._connect()) as con:
            if not _has_table(con, "audit_log"):
                return pd.DataFrame(columns=["at", "actor", "action", "target", "detail"])
            return pd.read_sql_query(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id", con
            )

    def layer_names(self) -> list[str]:
        check_workspace_file(self.path)
        if not self.exists():
            return []
        with gate(self.path).reading():
            return [str(name) for name, _ in pyogrio.list_layers(self.path)]

    def count(self, layer: str) -> int:
        """Number of rows of ``layer`` (from the file's metadata, without reading it)."""
        return int(self.info(layer)["features"])

    def village_coverage(self) -> dict[str, dict[str, int]]:
        """Rows of each stored layer per way they got their village (``village_by``).

        Layers stored before attribution existed (no ``village_by`` column) count their
        rows with a village code as ``code`` and the others as ``none``.
        """
        out: dict[str, dict[str, int]] = {}
        present = set(self.layer_names())
        with gate(self.path).reading(), contextlib.closing(self._connect()) as con:
            for layer in ("parcels", "complaints", "patches", "problems"):
                if layer not in present:
                    continue
                columns = {r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')}
                if "village_by" in columns:
                    sql = (
                        f"SELECT coalesce(village_by, 'none'), count(*) FROM \"{layer}\" GROUP BY 1"
                    )
                elif "village_code" in columns:
                    sql = (
                        "SELECT CASE WHEN village_code IS NULL THEN 'none' ELSE 'code' END, "
                        f'count(*) FROM "{layer}" GROUP BY 1'
                    )
                else:
                    sql = f"SELECT 'none', count(*) FROM \"{layer}\""
                counts = dict.fromkeys(("code", "name", "location", "none"), 0)
                for by, n in con.execute(sql):
                    counts[str(by)] = counts.get(str(by), 0) + int(n)
                out[layer] = counts
        return out

    def info(self, layer: str, **kwargs: Any) -> dict[str, Any]:
        """``pyogrio.read_info`` of one layer (fields, features, bounds with ``kwargs``)."""
        self._require_layer(layer)
        with gate(self.path).reading():
            return dict(pyogrio.read_info(self.path, layer=layer, **kwargs))

    def read(self, layer: str, **kwargs: Any) -> gpd.GeoDataFrame:
        """Read one layer (a canonical kind or a ``rejects_<kind>`` table).

        ``kwargs`` go to ``pyogrio.read_dataframe`` (``columns``, ``read_geometry``,
        ``bbox``, ``where``, ``fids``, ``skip_features``, ``max_features``, ...). Every GDAL
        read of the workspace goes through here or :meth:`info`, so it never overlaps a
        write of this process (see :class:`_Gate`).
        """
        self._require_layer(layer)
        kwargs.setdefault("use_arrow", True)
        with gate(self.path).reading():
            return pyogrio.read_dataframe(self.path, layer=layer, **kwargs)

    def _require_layer(self, layer: str) -> None:
        self.require()
        if layer not in self.layer_names():
            raise NotFoundError(
                message(
                    "workspace.no_layer",
                    f"工作空间 {self.path} 中没有图层“{layer}”；现有图层："
                    f"{', '.join(self.layer_names()) or '无'}。",
                    f"Workspace {self.path} has no layer {layer!r}; it has: "
                    f"{', '.join(self.layer_names()) or 'none'}.",
                )
            )

    # --- writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold ``<workspace>.lock``, waiting up to ``wait_seconds`` for another writer.

        Within this process the holder also waits for GDAL reads to finish and keeps new
        ones out until it is done (:class:`_Gate`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        deadline = time.monotonic() + wait_seconds
        with open(lock_path, "a+b") as lock:
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise ConflictError(
                            message(
                                "workspace.locked",
                                f"工作空间 {self.path} 正在被另一个操作（导入、研判或整改更新）写入；"
                                "请等它结束后再试。",
                                f"Workspace {self.path} is being written by another process (an "
                                "import, an analysis or a problem update); try again when it has "
                                "finished.",
                            )
                        ) from exc
                    time.sleep(0.05)
            with gate(self.path).writing():
                yield

    def log(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        """Append one row to the audit log (waits up to 60 s for a running import)."""
        self.require()
        with self.lock(wait_seconds=60.0), contextlib.closing(self._connect()) as con, con:
            ensure_tables(con)
            con.execute(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                (now_iso(), actor, action, target, json.dumps(detail, ensure_ascii=False)),
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Path]:
        """Yield a working copy of the workspace that replaces it on success.

        Holds ``<workspace>.lock`` for the duration; removes copies left behind by a
        writer that was killed. Refuses a path that exists and is not a GeoPackage.
        """
        check_workspace_file(self.path)
        with self.lock():
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp.gpkg"):
                stale.unlink(missing_ok=True)
            work = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp.gpkg")
            if self.exists():
                # Opening the file lets SQLite roll back a hot journal left by a workflow
                # update that was killed, so the copy is never of a half-written file.
                with contextlib.closing(self._connect()) as con:
                    con.execute("PRAGMA schema_version").fetchone()
                shutil.copy2(self.path, work)
            try:
                yield work
                with open(work, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(work, self.path)
                _fsync_dir(self.path.parent)
            finally:
                work.unlink(missing_ok=True)

    def write_layer(
        self,
        kind: Kind,
        frame: gpd.GeoDataFrame,
        rejects: pd.DataFrame,
        entry: CatalogEntry,
        *,
        replace_parts: list[str] | None = None,
        audit_detail: dict[str, Any] | None = None,
        also: dict[str, gpd.GeoDataFrame] | None = None,
    ) -> CatalogEntry:
        """Store an imported layer, its rejects, its register row and an audit row.

        Parameters
        ----------
        kind : str
            Canonical layer name.
        frame : geopandas.GeoDataFrame
            The complete new content of the layer, in the workspace CRS.
        rejects : pandas.DataFrame
            Rows rejected by this import (replace ``rejects_<kind>``, or are added to it
            when appending).
        entry : CatalogEntry
            The register row for this import.
        replace_parts : list of str, optional
            Register rows of this layer with these parts are superseded (``replace`` mode);
            None keeps them (``append`` mode).
        audit_detail : dict, optional
            Extra JSON detail for the audit row.
        also : dict of str to GeoDataFrame, optional
            Other layers rewritten in the same transaction (layers re-attributed to new
            village boundaries).
        """
        if kind not in KINDS:
            raise NotFoundError(
                message("workspace.bad_kind", f"未知图层 {kind}", f"unknown layer {kind}")
            )
        if frame.crs is None:
            raise WorkspaceError(
                message(
                    "workspace.no_crs",
                    f"图层 {kind} 没有坐标系，不能写入工作空间。",
                    f"Layer {kind} has no CRS and cannot be stored in the workspace.",
                )
            )
        with self.transaction() as work:
            write_frame(_gpkg_safe(frame), work, kind)
            if replace_parts is None:  # appending: the rejects of earlier imports stay
                rejects = self._with_earlier_rejects(work, kind, rejects)
            write_frame(_gpkg_safe(rejects), work, f"rejects_{kind}")
            for name, other in (also or {}).items():
                write_frame(_gpkg_safe(other), work, name)
            with contextlib.closing(self._connect(work)) as con, con:
                ensure_tables(con)
                if frame.crs.is_projected and frame.geometry.notna().any():
                    con.execute(
                        "INSERT OR IGNORE INTO workspace_meta VALUES ('crs', ?)",
                        (frame.crs.to_wkt(),),
                    )
                if replace_parts is not None:
                    marks = ",".join("?" * len(replace_parts))
                    con.execute(
                        f"DELETE FROM layer_catalog WHERE layer = ? AND part IN ({marks})",
                        (kind, *replace_parts),
                    )
                values = entry.to_dict()
                con.execute(
                    f"INSERT INTO layer_catalog ({', '.join(values)}) "
                    f"VALUES ({', '.join('?' * len(values))})",
                    tuple(values.values()),
                )
                con.execute(
                    "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                    (
                        entry.imported_at,
                        entry.imported_by,
                        f"import.{entry.mode}",
                        kind,
                        json.dumps({**entry.to_dict(), **(audit_detail or {})}, ensure_ascii=False),
                    ),
                )
        return entry

    @staticmethod
    def _with_earlier_rejects(work: Path, kind: str, rejects: pd.DataFrame) -> pd.DataFrame:
        table = f"rejects_{kind}"
        if not work.exists() or table not in [str(name) for name, _ in pyogrio.list_layers(work)]:
            return rejects
        earlier = pd.DataFrame(pyogrio.read_dataframe(work, layer=table, read_geometry=False))
        if not len(earlier):
            return rejects
        if not len(rejects):
            return earlier
        return pd.concat([earlier, rejects], ignore_index=True)

    def write_results(
        self, frames: dict[str, pd.DataFrame], run: dict[str, Any], actor: str
    ) -> None:
        """Store analysis results, their run record and an audit row, atomically.

        Parameters
        ----------
        frames : dict
            Layer name → frame; each replaces the layer of that name.
        run : dict
            ``as_of``, ``rules_hash``, ``inputs`` (dict), ``counts`` (dict), ``duration_s``.
        actor : str
            Who ran the analysis.
        """
        self.require()
        at = now_iso()
        with self.transaction() as work:
            for name, frame in frames.items():
                write_frame(_gpkg_safe(frame), work, name)
            with contextlib.closing(self._connect(work)) as con, con:
                ensure_tables(con)
                con.execute(
                    "INSERT INTO analysis_runs (run_at, actor, as_of, rules_hash, inputs, counts, "
                    "duration_s) VALUES (?,?,?,?,?,?,?)",
                    (
                        at,
                        actor,
                        str(run["as_of"]),
                        run["rules_hash"],
                        json.dumps(run["inputs"], ensure_ascii=False),
                        json.dumps(run["counts"], ensure_ascii=False),
                        float(run["duration_s"]),
                    ),
                )
                con.execute(
                    "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                    (
                        at,
                        actor,
                        "analyze",
                        ",".join(frames),
                        json.dumps(run, ensure_ascii=False, default=str),
                    ),
                )

    def runs(self) -> pd.DataFrame:
        """The analysis runs, oldest first."""
        self.require()
        with contextlib.closing(self._connect()) as con:
            if not _has_table(con, "analysis_runs"):
                return pd.DataFrame(
                    columns=[
                        "run_at",
                        "actor",
                        "as_of",
                        "rules_hash",
                        "inputs",
                        "counts",
                        "duration_s",
                    ]
                )
            return pd.read_sql_query(
                "SELECT run_at, actor, as_of, rules_hash, inputs, counts, duration_s "
                "FROM analysis_runs ORDER BY id",
                con,
            )

    def input_hash(self, layer: str) -> str | None:
        """A hash of the source files that make up ``layer`` (from the register)."""
        shas = sorted(e.sha256 or "" for e in self.catalog() if e.layer == layer)
        if not shas:
            return None
        return hashlib.sha256("\n".join(shas).encode()).hexdigest()


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def ensure_tables(con: sqlite3.Connection) -> None:
    """Create the register tables and list them in gpkg_contents (so QGIS shows them)."""
    for name, sql, title in (
        ("layer_catalog", _CATALOG_SQL, "数据共享目录 layer catalog"),
        ("audit_log", _AUDIT_SQL, "操作日志 audit log"),
        ("workspace_meta", _META_SQL, "工作空间设置 workspace settings"),
        ("analysis_runs", _RUNS_SQL, "分析运行记录 analysis runs"),
    ):
        con.execute(sql)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES (?, 'attributes', ?, ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (name, name, title),
        )


def _gpkg_safe(frame: pd.DataFrame) -> pd.DataFrame:
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


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
