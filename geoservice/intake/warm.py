"""What the live intake keeps in memory of a workspace, and how it notices changes.

One :class:`WarmLayers` per intake (so per worker process) holds, in the workspace CRS
(metres):

- the parcels: geometries, the attributes the scoring reads, an ``rtree`` index bulk
  loaded (STR, from numpy arrays);
- the villages: polygons (prepared), codes and names;
- the complaints: an ``rtree`` index of their points (id = GeoPackage ``fid``), grown by
  one ``insert`` per complaint, and the largest number used by complaint ids of each day
  (``TS-<yyyymmdd>-<nnn>``);
- the ``parcel_risk`` rows: the ``fid`` of the stored row of each (parcel, kind), its
  columns and geometry column, so that a re-scored parcel's row is read and written by
  ``fid`` (the table has no index on ``parcel_id``).

A complaint is therefore located and its parcels re-scored without reading a layer: the
request reads only the rows it needs, by ``fid``, in its SQL transaction.

:meth:`WarmLayers.refresh` runs under the workspace lock before every submission and
compares a small version of what it holds, from the signals every writer leaves (the same
ones :func:`geoservice.base.data_version.data_version` uses for maps and tiles, without
its full-table counts):

- the file's identity (:func:`~geoservice.base.data_version.file_identity`): imports and
  analyses write a copy and write it back, which raises the file's generation, so any
  of them (in this process or another) rebuilds everything once;
- ``gpkg_contents.last_change`` of ``parcels`` and ``villages``: a layer rewritten in
  place rebuilds everything;
- the largest ``fid`` of ``complaints`` and of ``parcel_risk`` (an ``O(log n)`` look-up):
  rows another process (another worker's intake) appended are read by ``fid`` and added;
  a largest row that is no longer the one known (rows removed in place) rebuilds that
  part.

Nothing is compared by size or mtime: every audited request changes both.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from rtree import index as rtree_index

from geoservice.analysis.run import empty_layer
from geoservice.base.data_version import file_identity
from geoservice.base.errors import NotFoundError, message
from geoservice.base.long_lived import keep_out_of_collections
from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from geoservice.intake.store import geometry_column, table_columns

__all__ = ["PARCEL_ATTRS", "RiskRows", "WarmLayers", "bulk_index", "day_number"]

PARCEL_ATTRS: tuple[str, ...] = ("parcel_id", "kind", "village_code", "village_name")
PARCEL_ATTRS += ("public_welfare", "nature_reserve", "area_ha", "volume_per_ha", "land_class")
_LAYERS = ("parcels", "villages", "complaints", "parcel_risk")


def bulk_index(geoms: NDArray[np.object_], ids: NDArray[Any] | None = None) -> Any:
    """An rtree index of ``geoms`` bulk loaded (STR) from numpy arrays; ids default to
    positions; missing and empty geometries are left out."""
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    ok = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if not len(ok):  # rtree refuses an empty bulk load
        return rtree_index.Index()
    keys = (np.arange(len(geoms)) if ids is None else np.asarray(ids))[ok].astype(np.int64)
    return rtree_index.Index((keys, bounds[ok, :2].copy(), bounds[ok, 2:].copy()))


def day_number(complaint_id: object, prefix: str) -> int | None:
    """The number of a complaint id of the day ``prefix`` (``TS-<yyyymmdd>-``), else None.

    Matches as SQLite's ``LIKE 'prefix%'`` does (ASCII case ignored); the rest must be
    decimal digits."""
    text = str(complaint_id or "")
    if text[: len(prefix)].lower() != prefix.lower():
        return None
    tail = text[len(prefix) :]
    return int(tail) if tail.isdigit() else None


@dataclass
class RiskRows:
    """The ``parcel_risk`` table as one request writes it.

    Attributes
    ----------
    fids : dict
        (parcel_id, kind) -> ``fid`` of its stored row (the first, when several).
    columns : list of str
        The table's columns.
    geometry : (str, int)
        Its geometry column and ``srs_id``.
    inserted : list of (int, parcel_id, kind)
        Rows the request inserted, recorded once its transaction is committed.
    """

    fids: dict[tuple[Any, Any], int]
    columns: list[str]
    geometry: tuple[str, int]
    inserted: list[tuple[int, Any, Any]] = field(default_factory=list)


class WarmLayers:
    """The intake's in-memory copy of a workspace's parcels, villages, complaint index
    and ``parcel_risk`` row index (see the module docstring).

    Attributes
    ----------
    builds : int
        Times the indexes were built from the file: 1 after first use, more only when the
        file was replaced, its parcels or villages changed, or complaints were removed.
    caught_up : int
        Complaints stored by other processes and inserted into the index one by one.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.builds = self.caught_up = 0
        self.version: tuple[Any, ...] | None = None
        self.crs: pyproj.CRS | None = None
        self.to_ws: Any = None
        self.empty: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
        self.parcels = self.complaints = rtree_index.Index()
        self.geoms: NDArray[np.object_] = np.empty(0, dtype=object)
        self.attrs = pd.DataFrame()
        self.villages: tuple[NDArray[Any], ...] = (np.empty(0, object),) * 3
        self.village_table: pd.DataFrame | None = None
        self.complaint_top: tuple[int, str | None] | None = None  # None: no layer
        self.day_numbers: dict[str, int] = {}
        self.risk_fids: dict[tuple[Any, Any], int] = {}
        self.risk_top: int | None = None  # None: no layer
        self.risk_columns: list[str] = []
        self.risk_geometry: tuple[str, int] | None = None
        self._pending: RiskRows | None = None

    # --- the version of what is held --------------------------------------------------

    def _version(self, con: sqlite3.Connection) -> tuple[Any, ...]:
        """(device, inode, generation, layers present, last change of parcels and
        villages)."""
        identity = file_identity(con, os.stat(self.ws.path))
        marks = ",".join("?" * len(_LAYERS))
        sql = f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})"
        present = frozenset(str(r[0]) for r in con.execute(sql, _LAYERS))
        sql = "SELECT table_name, last_change FROM gpkg_contents WHERE table_name IN (?, ?)"
        changes = sorted(con.execute(sql, ("parcels", "villages")).fetchall())
        return (*identity, present, tuple(changes))

    def refresh(self) -> None:
        """Bring what is held in line with the file (the caller holds the workspace lock,
        so nothing but audit rows changes meanwhile).

        Layers are read with GDAL between two read connections, never inside one (see
        :class:`~geoservice.base.workspace_gate.Gate`)."""
        with self.ws.read_connection() as con:
            version = self._version(con)
            todo = self._todo(con, version)
            if todo is None:
                self._catch_up(con, version)
                return
        layers = self._read(todo, version[3])
        with self.ws.read_connection() as con:
            self._take(con, todo, layers, version)

    def _todo(self, con: sqlite3.Connection, version: tuple[Any, ...]) -> str | None:
        """What must be read again: ``all``, ``complaints``, or None (rows appended at
        most)."""
        old = self.version
        if old is None or version[:3] != old[:3] or version[4] != old[4]:
            return "all"
        if "parcels" not in version[3]:  # removed in place: say so as a first read does
            return "all"
        if version[3] != old[3]:
            return "complaints" if version[3] ^ old[3] == {"complaints"} else "all"
        if self.complaint_top is not None and self._complaints_removed(con):
            return "complaints"
        return None

    def _catch_up(self, con: sqlite3.Connection, version: tuple[Any, ...]) -> None:
        if self.complaint_top is not None:
            self._catch_up_complaints(con)
        if self.risk_top is not None:
            self._catch_up_risk(con)
        self.version = version

    def _read(self, todo: str, present: frozenset[str]) -> dict[str, Any]:
        """The layers ``todo`` needs, read with GDAL (no connection open)."""
        layers: dict[str, Any] = {"complaints": None, "villages": None}
        if todo == "all":
            if "parcels" not in present:
                path = self.ws.path
                raise NotFoundError(
                    message(
                        "intake.no_parcels",
                        f"工作空间 {path} 中还没有森林湿地小班（parcels）图层，无法定位举报；"
                        "请先导入小班数据：geoservice import parcels 小班.shp。",
                        f"Workspace {path} has no parcels layer, so complaints cannot be "
                        "located; import the sub-compartments first: "
                        "geoservice import parcels FILE.",
                    )
                )
            fields = set(self.ws.info("parcels")["fields"])
            columns = [c for c in PARCEL_ATTRS if c in fields]
            layers["parcels"] = parcels = self.ws.read("parcels", columns=columns)
            layers["crs"] = self.ws.crs() or parcels.crs
            if "villages" in present:
                columns = ["village_code", "village_name"]
                layers["villages"] = self.ws.read("villages", columns=columns)
        if "complaints" in present:
            layers["complaints"] = self.ws.read(
                "complaints", use_arrow=False, columns=[], fid_as_index=True
            )
        return layers

    def _take(
        self, con: sqlite3.Connection, todo: str, layers: dict[str, Any], version: tuple[Any, ...]
    ) -> None:
        """Hold the layers read, with what ``con`` gives of the rows (complaint numbers,
        ``parcel_risk`` rows)."""
        if todo == "all":
            parcels = layers["parcels"]
            self.crs = layers["crs"]
            self.to_ws = pyproj.Transformer.from_crs(4490, self.crs, always_xy=True)
            self.empty = (empty_layer("patches", self.crs), empty_layer("problems", self.crs))
            self.geoms = np.asarray(parcels.geometry.array, dtype=object)
            self.attrs = pd.DataFrame(parcels.drop(columns=parcels.geometry.name))
            self.parcels = bulk_index(self.geoms)
            self._take_villages(layers["villages"])
            self._build_risk(con, "parcel_risk" in version[3])
            keep_out_of_collections()  # kept until the next import: see base.long_lived
        elif self.risk_top is not None:
            self._catch_up_risk(con)
        self._take_complaints(con, layers["complaints"])
        self.version = version
        self.builds += 1

    def _take_villages(self, v: gpd.GeoDataFrame | None) -> None:
        self.villages, self.village_table = (np.empty(0, object),) * 3, None
        if v is None:
            return
        geoms = np.asarray(v.geometry.array, dtype=object)
        shapely.prepare(geoms)
        codes, names = (v[c].astype(object).to_numpy() for c in ("village_code", "village_name"))
        self.villages = (geoms, codes, names)
        table = pd.DataFrame(v[["village_code", "village_name"]])
        self.village_table = table.astype({"village_code": "string", "village_name": "string"})

    def _take_complaints(self, con: sqlite3.Connection, frame: gpd.GeoDataFrame | None) -> None:
        self.complaints, self.complaint_top, self.day_numbers = rtree_index.Index(), None, {}
        if frame is None:
            return
        geoms = np.asarray(frame.geometry.array, dtype=object)
        self.complaints = bulk_index(geoms, frame.index.to_numpy())
        self.complaint_top = self._complaint_head(con)

    def _build_risk(self, con: sqlite3.Connection, present: bool) -> None:
        self.risk_fids, self.risk_top, self.risk_columns = {}, None, []
        self.risk_geometry = None
        if not present:
            return
        self.risk_columns = table_columns(con, "parcel_risk")
        self.risk_geometry = geometry_column(con, "parcel_risk")
        self.risk_top = 0
        self._catch_up_risk(con)

    # --- rows other processes appended -------------------------------------------------

    @staticmethod
    def _complaint_head(con: sqlite3.Connection) -> tuple[int, str | None]:
        top = int(con.execute("SELECT coalesce(max(fid), 0) FROM complaints").fetchone()[0])
        row = con.execute("SELECT complaint_id FROM complaints WHERE fid = ?", (top,)).fetchone()
        return top, (row[0] if row else None)

    def _complaints_removed(self, con: sqlite3.Connection) -> bool:
        """Whether rows were removed in place: the largest ``fid`` is below the one known,
        or holds another complaint."""
        assert self.complaint_top is not None
        top, known_id = self.complaint_top
        head = self._complaint_head(con)
        row = con.execute("SELECT complaint_id FROM complaints WHERE fid = ?", (top,)).fetchone()
        return head[0] < top or (row[0] if row else None) != known_id

    def _catch_up_complaints(self, con: sqlite3.Connection) -> None:
        assert self.complaint_top is not None
        head = self._complaint_head(con)
        if head == self.complaint_top:
            return
        top = self.complaint_top[0]
        geom, _ = geometry_column(con, "complaints")
        new = con.execute(
            f'SELECT fid, complaint_id, ST_MinX("{geom}"), ST_MinY("{geom}") FROM complaints '
            "WHERE fid > ? ORDER BY fid",
            (top,),
        ).fetchall()
        for fid, cid, x, y in new:  # appended in place by another process
            self.note_complaint(int(fid), cid, x, y)
        self.caught_up += len(new)
        self.complaint_top = head

    def note_complaint(self, fid: int, cid: str | None, x: float | None, y: float | None) -> None:
        """Add a stored complaint to the index and to the day numbers known."""
        if x is not None and y is not None:
            self.complaints.insert(fid, (x, y, x, y))
        for prefix, top in self.day_numbers.items():
            number = day_number(cid, prefix)
            if number is not None and number > top:
                self.day_numbers[prefix] = number
        self.complaint_top = (max(fid, self.complaint_top[0] if self.complaint_top else 0), cid)

    def _catch_up_risk(self, con: sqlite3.Connection) -> None:
        assert self.risk_top is not None
        top = int(con.execute("SELECT coalesce(max(fid), 0) FROM parcel_risk").fetchone()[0])
        if top < self.risk_top:  # rows were removed in place
            self.risk_fids, self.risk_top = {}, 0
        if top == self.risk_top:
            return
        rows = con.execute(
            "SELECT fid, parcel_id, kind FROM parcel_risk WHERE fid > ? ORDER BY fid",
            (self.risk_top,),
        ).fetchall()
        for fid, pid, kind in rows:
            self.risk_fids.setdefault((pid, kind), int(fid))  # the first row counts
        self.risk_top = top

    def risk_rows(self) -> RiskRows | None:
        """The ``parcel_risk`` table for one request's write; None without the layer."""
        self._pending = None
        if self.risk_top is None or self.risk_geometry is None:
            return None
        self._pending = RiskRows(self.risk_fids, self.risk_columns, self.risk_geometry)
        return self._pending

    def note_risk_rows(self) -> None:
        """Record the ``parcel_risk`` rows the last (committed) request inserted."""
        pending, self._pending = self._pending, None
        for fid, pid, kind in pending.inserted if pending else ():
            self.risk_fids.setdefault((pid, kind), fid)
            self.risk_top = max(self.risk_top or 0, fid)

    def layer_created(self, con: sqlite3.Connection) -> None:
        """Take in the empty complaints layer this process has just created."""
        self.complaints, self.day_numbers = rtree_index.Index(), {}
        self.complaint_top = self._complaint_head(con)
        self.version = self._version(con)

    # --- what requests use -------------------------------------------------------------

    def next_number(self, con: sqlite3.Connection, prefix: str) -> int:
        """The next complaint number of the day ``prefix``; the stored ids of the day are
        read once per day, then followed from the inserts."""
        if prefix not in self.day_numbers:
            sql = "SELECT complaint_id FROM complaints WHERE complaint_id LIKE ?"
            found = (day_number(r[0], prefix) for r in con.execute(sql, (prefix + "%",)))
            self.day_numbers[prefix] = max((n for n in found if n is not None), default=0)
        return self.day_numbers[prefix] + 1

    def villages_frame(self) -> pd.DataFrame:
        """``village_code`` and ``village_name`` of the villages layer, as
        :func:`~geoservice.base.villages.read_villages` gives them (NotFoundError
        without the layer)."""
        if self.village_table is None:
            return read_villages(self.ws)
        return self.village_table

    def parcel_id(self, pos: int) -> str:
        return str(self.attrs["parcel_id"].iloc[int(pos)])
