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

There are three ways to write, all through :class:`Workspace`:

- :meth:`Workspace.transaction`: layers are written into a copy of the file that is
  written back into the original in one SQLite transaction only when complete, so an
  import killed half-way leaves the workspace exactly as it was;
- :meth:`Workspace.sql_transaction`: a small SQLite transaction on the file itself
  (workflow changes, live complaints, users), all or nothing through SQLite's
  write-ahead log; it ensures the register tables, and the caller's tables, first;
- :meth:`Workspace.log`: one audit row on its own, for reads that are audited.

The first two hold ``<workspace>.lock``, so one of them writes at a time; an audit row
takes only SQLite's lock (and ``<workspace>.audit.lock``, which an import's write-back
takes too), and an import carries the rows appended meanwhile.
Reads never write (:meth:`Workspace.read_connection` for SQL). Within a process GDAL
reads and writes of the file pass :mod:`geoservice.base.workspace_gate`. The file-level
writes (register tables, frames, the write-back) are in
:mod:`geoservice.base.workspace_write`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

from geoservice.base.audit_batch import log_row
from geoservice.base.catalog import (
    CLASSIFICATIONS,
    DEFAULT_CLASSIFICATION,
    DEFAULT_OWNER,
    CatalogEntry,
    now_iso,
)
from geoservice.base.connection_pool import connection
from geoservice.base.errors import NotFoundError, WorkspaceError, message
from geoservice.base.gpkg_sql import LOCK_WAIT_SECONDS, audit_row, connect_file
from geoservice.base.schema_memo import SchemaMemo, file_key, remember_wal, wal_known
from geoservice.base.workspace_coverage import village_counts
from geoservice.base.workspace_file import check_workspace_file
from geoservice.base.workspace_gate import audit_lock, file_lock, gate, held_file_lock
from geoservice.base.workspace_write import (
    begin_immediate,
    copy_database,
    ensure_tables,
    gpkg_safe,
    has_table,
    install_new,
    remove_copy,
    use_wal,
    with_earlier_rejects,
    write_back,
    write_frame,
)
from layers.schema import KINDS, Kind

__all__ = [  # the register's row and defaults are re-exported from geoservice.base.catalog
    "CLASSIFICATIONS",
    "DEFAULT_CLASSIFICATION",
    "DEFAULT_OWNER",
    "CatalogEntry",
    "Mode",
    "Schema",
    "Workspace",
    "now_iso",
]

Mode = Literal["replace", "append"]
Schema = Callable[[sqlite3.Connection, str], None]  # creates/migrates tables: (con, actor)
_RUN_COLUMNS = ("run_at", "actor", "as_of", "rules_hash", "inputs", "counts", "duration_s")


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

    @contextlib.contextmanager
    def read_connection(self) -> Iterator[sqlite3.Connection]:
        """An SQL connection for reading (autocommit, with the GeoPackage geometry
        functions, kept open for the next use: :mod:`~geoservice.base.connection_pool`);
        nothing is written through it, so it takes no workspace lock. It holds
        the Python side of the process's :class:`~geoservice.base.workspace_gate.Gate`
        while open: read with GDAL (:meth:`read`) before opening it, not inside."""
        self.require()
        with connection(self.path, LOCK_WAIT_SECONDS) as con:
            yield con

    def crs(self) -> pyproj.CRS | None:
        """The workspace CRS, or None for a workspace with no layer yet."""
        check_workspace_file(self.path)
        if not self.exists():
            return None
        with gate(self.path).sql(), contextlib.closing(self._connect()) as con:
            if not has_table(con, "workspace_meta"):
                return None
            row = con.execute("SELECT value FROM workspace_meta WHERE key = 'crs'").fetchone()
        return pyproj.CRS.from_user_input(row[0]) if row else None

    def catalog(self) -> list[CatalogEntry]:
        """The sharing register, oldest first."""
        self.require()
        with gate(self.path).sql(), contextlib.closing(self._connect()) as con:
            if not has_table(con, "layer_catalog"):
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
        with gate(self.path).sql(), contextlib.closing(self._connect()) as con:
            if not has_table(con, "audit_log"):
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
        present = set(self.layer_names())
        with gate(self.path).sql(), contextlib.closing(self._connect()) as con:
            return village_counts(con, present)

    def info(self, layer: str, **kwargs: Any) -> dict[str, Any]:
        """``pyogrio.read_info`` of one layer (fields, features, bounds with ``kwargs``)."""
        self.require()
        try:
            with gate(self.path).reading():
                return dict(pyogrio.read_info(self.path, layer=layer, **kwargs))
        except pyogrio.errors.DataLayerError:
            self._require_layer(layer)  # NotFoundError naming the layers there
            raise

    def read(self, layer: str, **kwargs: Any) -> gpd.GeoDataFrame:
        """Read one layer (a canonical kind or a ``rejects_<kind>`` table).

        ``kwargs`` go to ``pyogrio.read_dataframe`` (``columns``, ``read_geometry``,
        ``bbox``, ``where``, ``fids``, ``skip_features``, ``max_features``, ...). Every GDAL
        read of the workspace goes through here or :meth:`info`, so it never overlaps a
        write of this process (see :class:`~geoservice.base.workspace_gate.Gate`).
        """
        self.require()
        kwargs.setdefault("use_arrow", True)
        try:
            with gate(self.path).reading():
                return pyogrio.read_dataframe(self.path, layer=layer, **kwargs)
        except pyogrio.errors.DataLayerError:
            self._require_layer(layer)  # NotFoundError naming the layers there
            raise

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

        It keeps other writers out, not readers: the holder passes the gate
        (:class:`~geoservice.base.workspace_gate.Gate`) for each connection or GDAL use of
        its own, so it may read layers with GDAL between its SQL steps (the complaint
        intake does). A thread that holds it may take it again (a nested
        :meth:`sql_transaction`)."""
        with held_file_lock(self.path, wait_seconds):
            yield

    @contextlib.contextmanager
    def sql_transaction(
        self,
        actor: str = "system",
        schema: Schema | None = None,
        wait_seconds: float = LOCK_WAIT_SECONDS,
    ) -> Iterator[sqlite3.Connection]:
        """One SQL write transaction on the workspace file itself.

        Holds ``<workspace>.lock`` (waiting up to ``wait_seconds``, then
        :class:`~geoservice.base.errors.ConflictError`) and ``BEGIN IMMEDIATE``; creates
        the register tables and runs ``schema(con, actor)`` (the caller's tables and
        migrations) as its first steps. Everything done on the yielded connection is
        committed together, or rolled back when an exception leaves the block.
        """
        self.require()
        with (
            self.lock(wait_seconds),
            gate(self.path).writing(),
            # a connection of its own, not a kept one: see geoservice.base.connection_pool
            # no busy timeout until BEGIN IMMEDIATE, which polls for the lock itself
            contextlib.closing(connect_file(self.path, isolation_level=None, timeout=0)) as con,
        ):
            key = file_key(self.path)
            wal = wal_known(key)
            if not wal:  # once per file and process: the mode is stored in the file
                con.execute(f"PRAGMA busy_timeout = {round(LOCK_WAIT_SECONDS * 1000)}")
                if use_wal(con):
                    remember_wal(key)
            begin_immediate(con, LOCK_WAIT_SECONDS, busy_timeout_set=not wal)
            memo = SchemaMemo(con, key)
            try:
                with memo.active():
                    ensure_tables(con)
                    if schema is not None:
                        schema(con, actor)
                    yield con
                after = memo.end_version(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            memo.remember(after)

    def log(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        """Append one row to the audit log, committed before this returns.

        Rows the threads of this process append at the same time share one transaction
        (:mod:`geoservice.base.audit_batch`), under SQLite's write lock (waiting up to 60
        s), not ``<workspace>.lock``; a running import carries the row into the copy it
        writes back.
        """
        self.require()
        log_row(self.path, audit_row(now_iso(), actor, action, target, detail))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Path]:
        """Yield a working copy of the workspace that is written back on success.

        Holds ``<workspace>.lock`` throughout (removing copies a killed writer left) and the
        gate while the original is copied and written back. The write-back is one SQLite
        transaction on the file itself (:func:`~geoservice.base.workspace_write.write_back`,
        under :func:`~geoservice.base.workspace_gate.audit_lock` so that the audit rows
        appended meanwhile are carried over and none is lost), so readers in other
        processes are never left on a replaced file. A first workspace is renamed into
        place. Refuses a path that is not a GeoPackage.
        """
        check_workspace_file(self.path)
        with file_lock(self.path):
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp.gpkg"):
                remove_copy(stale)
            work = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp.gpkg")
            since = 0
            if self.exists():
                with gate(self.path).writing(), contextlib.closing(self._connect()) as con:
                    since = copy_database(con, work)
            try:
                yield work
                if not self.exists():
                    install_new(work, self.path)
                    return
                with (
                    gate(self.path).writing(),
                    audit_lock(self.path),
                    contextlib.closing(connect_file(self.path, isolation_level=None)) as con,
                ):
                    write_back(work, con, since)
            finally:
                remove_copy(work)

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
            write_frame(gpkg_safe(frame), work, kind)
            if replace_parts is None:  # appending: the rejects of earlier imports stay
                rejects = with_earlier_rejects(work, kind, rejects)
            write_frame(gpkg_safe(rejects), work, f"rejects_{kind}")
            for name, other in (also or {}).items():
                write_frame(gpkg_safe(other), work, name)
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
                write_frame(gpkg_safe(frame), work, name)
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
        with gate(self.path).sql(), contextlib.closing(self._connect()) as con:
            if not has_table(con, "analysis_runs"):
                return pd.DataFrame(columns=list(_RUN_COLUMNS))
            return pd.read_sql_query(
                f"SELECT {', '.join(_RUN_COLUMNS)} FROM analysis_runs ORDER BY id",
                con,
            )

    def input_hash(self, layer: str) -> str | None:
        """A hash of the source files that make up ``layer`` (from the register)."""
        shas = sorted(e.sha256 or "" for e in self.catalog() if e.layer == layer)
        if not shas:
            return None
        return hashlib.sha256("\n".join(shas).encode()).hexdigest()
