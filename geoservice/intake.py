"""Live complaint intake: store one complaint, locate it and re-score its parcels at once.

:class:`ComplaintIntake` is created once per workspace (the web service keeps one per app)
and holds two ``rtree`` indexes in the workspace CRS (metres): the parcels, bulk loaded
(STR, from numpy arrays) on first use, and the complaints (id = GeoPackage ``fid``), which
grows by one ``insert`` per submitted complaint and is never rebuilt for it.

:meth:`ComplaintIntake.submit` classifies the text with the analysis's keyword table,
locates the point (the parcel containing it, the parcels within the complaint buffer, the
village), stores it as a new ``complaints`` row and updates the affected ``parcel_risk``
rows, in one SQLite transaction on the workspace file under ``<workspace>.lock``. The
complaint part of each affected parcel comes from the analysis's own scoring
(:func:`~geoservice.analysis.scoring.score_parcels` on those parcels and the complaints
the index finds around them), so it equals what ``analyze`` at the same ``as_of`` gives.

The indexes follow the file. A replaced file (imports and analyses swap in a new file: a
new inode) or changed ``parcels`` / ``villages`` layers rebuild them once; complaints
another process appended in place are inserted one by one. The file's mtime is not used:
every audited request changes it without touching what the indexes hold.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from numpy.typing import NDArray
from rtree import index as rtree_index

from geoservice.analysis.rules import Rules, classify_text, load_rules
from geoservice.analysis.run import empty_layer
from geoservice.analysis.scoring import score_parcels
from geoservice.analysis.spatial import PolygonIndex, points_within
from geoservice.errors import NotFoundError, OptionError, message
from geoservice.workflow.store import LOCK_WAIT_SECONDS, audit, connect_file, point_blob
from geoservice.workflow.villages import read_villages, resolve_village
from geoservice.workspace import (
    DEFAULT_CLASSIFICATION,
    DEFAULT_OWNER,
    CatalogEntry,
    Workspace,
    ensure_tables,
    now_iso,
)
from layers.codes import CATEGORIES, category_from_text

__all__ = ["DEFAULT_SOURCE", "ComplaintIntake", "complaints_classification", "read_complaint"]

DEFAULT_SOURCE = "网上受理"
LON_RANGE, LAT_RANGE = (73.0, 136.0), (3.0, 54.0)  # China, degrees (CGCS2000 ≈ WGS 84)
MAX_OUTSIDE_M = 20_000.0  # a point farther than this from every parcel is refused
MAX_TEXT = 2000
PARCEL_ATTRS: tuple[str, ...] = ("parcel_id", "kind", "village_code", "village_name")
PARCEL_ATTRS += ("public_welfare", "nature_reserve", "area_ha", "volume_per_ha")
EXTRA_COLUMNS = ("village_code", "village_name", "submitted_by", "reporter_phone_masked")
_OLD: tuple[str, ...] = ("fid", "parcel_id", "kind", "score", "patch_score", "problem_score")
_OLD += ("flagged",)
_OLD += ("criminal_threshold_met", "patch_count", "open_problem_count", "categories")
_OLD += ("dominant_category",)
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def _err(code: str, zh: str, en: str) -> OptionError:
    return OptionError(message(f"intake.{code}", zh, en))


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return con.execute(sql, (name,)).fetchone() is not None


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')]


def _geometry_column(con: sqlite3.Connection, table: str) -> tuple[str, int]:
    sql = "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?"
    row = con.execute(sql, (table,)).fetchone()
    return str(row[0]), int(row[1])


def _gpkg_blob(geom: shapely.Geometry, srs_id: int) -> bytes:
    """A GeoPackage geometry blob (little endian, xy envelope) of any geometry."""
    minx, miny, maxx, maxy = shapely.bounds(geom)
    header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i", srs_id)
    return header + struct.pack("<4d", minx, maxx, miny, maxy) + shapely.to_wkb(geom, byte_order=1)


def _plain(value: Any) -> Any:
    """A frame value as plain Python (numpy scalars unwrapped, NaN / NA as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _bulk_index(geoms: NDArray[np.object_], ids: NDArray[Any] | None = None) -> Any:
    """An rtree index of ``geoms`` bulk loaded (STR) from numpy arrays; ids default to
    positions; missing and empty geometries are left out."""
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    ok = np.flatnonzero(np.isfinite(bounds).all(axis=1))
    if not len(ok):  # rtree refuses an empty bulk load
        return rtree_index.Index()
    keys = (np.arange(len(geoms)) if ids is None else np.asarray(ids))[ok].astype(np.int64)
    return rtree_index.Index((keys, bounds[ok, :2].copy(), bounds[ok, 2:].copy()))


class ComplaintIntake:
    """Complaint intake for one workspace, with its parcel and complaint indexes.

    Parameters
    ----------
    ws : Workspace
    rules_path : Path or callable, optional
        The rules override (``Settings.rules_path()``), or a callable returning it, looked
        up at every submission (an override added later is used).

    Attributes
    ----------
    builds : int
        Times the indexes were built from the file: 1 after first use, more only when the
        file was replaced or its parcels or villages changed.
    caught_up : int
        Complaints stored by other processes and inserted into the index one by one.
    """

    def __init__(
        self, ws: Workspace, rules_path: Path | Callable[[], Path | None] | None = None
    ) -> None:
        self.ws = ws
        self._rules_source = rules_path if callable(rules_path) else (lambda: rules_path)
        self._rules_cache: tuple[Any, Rules] | None = None
        self._mutex = threading.Lock()
        self.builds = self.caught_up = 0
        self._ident: tuple[int, int] | None = None
        self._layers: tuple[Any, ...] = ()
        self._known: tuple[int, int, str | None] = (0, 0, None)  # max fid, count, its id
        self._parcels = self._complaints = rtree_index.Index()
        self._geoms: NDArray[np.object_] = np.empty(0, dtype=object)
        self._attrs = pd.DataFrame()
        self._villages: tuple[NDArray[Any], ...] = (np.empty(0, object),) * 3
        self._crs: pyproj.CRS | None = None
        self._to_ws: Any = None
        self._empty: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None

    @property
    def complaint_count(self) -> int:
        """Complaints in the complaint index."""
        return len(self._complaints)

    @property
    def parcel_count(self) -> int:
        """Parcels in the parcel index."""
        return len(self._parcels)

    def rules(self) -> Rules:
        """The effective rules (defaults deep-merged with the override), cached by mtime."""
        path = self._rules_source()
        key = (path, path.stat().st_mtime_ns if path is not None and path.is_file() else None)
        if self._rules_cache is None or self._rules_cache[0] != key:
            self._rules_cache = (key, load_rules(path))
        return self._rules_cache[1]

    # --- keeping the indexes in line with the file -------------------------------------

    def _layer_signature(self, con: sqlite3.Connection) -> tuple[Any, ...]:
        """(last change, max fid, rows) of the parcels and villages layers."""
        out: list[Any] = []
        for name in ("parcels", "villages"):
            if _has_table(con, name):
                sql = "SELECT last_change FROM gpkg_contents WHERE table_name = ?"
                change = con.execute(sql, (name,)).fetchone()
                top = con.execute(f'SELECT max(fid), count(*) FROM "{name}"').fetchone()
                out.append((change[0] if change else None, *top))
            else:
                out.append(None)
        return tuple(out)

    def _complaint_head(self, con: sqlite3.Connection) -> tuple[int, int, str | None]:
        if not _has_table(con, "complaints"):
            return (0, 0, None)
        sql = "SELECT coalesce(max(fid), 0), count(*) FROM complaints"
        top, count = con.execute(sql).fetchone()
        row = con.execute("SELECT complaint_id FROM complaints WHERE fid = ?", (top,)).fetchone()
        return (int(top), int(count), row[0] if row else None)

    def _refresh(self) -> None:
        """Bring the indexes in line with the file (the caller holds the workspace lock)."""
        st = os.stat(self.ws.path)
        ident = (st.st_dev, st.st_ino)
        with contextlib.closing(connect_file(self.ws.path)) as con:
            layers = self._layer_signature(con)
            if self.builds == 0 or ident != self._ident or layers != self._layers:
                self._build_all(con)
                self._ident, self._layers = ident, layers
                return
            head = self._complaint_head(con)
            if head == self._known:
                return
            top, count, last_id = self._known
            geom, _ = _geometry_column(con, "complaints")
            base = con.execute("SELECT complaint_id FROM complaints WHERE fid = ?", (top,))
            new = con.execute(
                f'SELECT fid, ST_MinX("{geom}"), ST_MinY("{geom}") FROM complaints '
                "WHERE fid > ? ORDER BY fid",
                (top,),
            ).fetchall()
            if ((base.fetchone() or [None])[0], head[1] - count) == (last_id, len(new)):
                for fid, x, y in new:  # appended in place by another process
                    if x is not None and y is not None:
                        self._complaints.insert(int(fid), (x, y, x, y))
                self.caught_up += len(new)
            else:
                self._build_complaints(con)
                self.builds += 1
            self._known = head

    def _build_all(self, con: sqlite3.Connection) -> None:
        path = self.ws.path
        if not _has_table(con, "parcels"):
            raise NotFoundError(
                message(
                    "intake.no_parcels",
                    f"工作空间 {path} 中还没有森林湿地小班（parcels）图层，无法定位举报；"
                    "请先导入小班数据：geoservice import parcels 小班.shp。",
                    f"Workspace {path} has no parcels layer, so complaints cannot be located; "
                    "import the sub-compartments first: geoservice import parcels FILE.",
                )
            )
        fields = set(self.ws.info("parcels")["fields"])
        columns = [c for c in PARCEL_ATTRS if c in fields]
        parcels = self.ws.read("parcels", columns=columns)
        self._crs = self.ws.crs() or parcels.crs
        self._to_ws = pyproj.Transformer.from_crs(4490, self._crs, always_xy=True)
        self._empty = (empty_layer("patches", self._crs), empty_layer("problems", self._crs))
        self._geoms = np.asarray(parcels.geometry.array, dtype=object)
        self._attrs = pd.DataFrame(parcels.drop(columns=parcels.geometry.name))
        self._parcels = _bulk_index(self._geoms)
        self._villages = (np.empty(0, object),) * 3
        if _has_table(con, "villages"):
            v = self.ws.read("villages", columns=["village_code", "village_name"], use_arrow=True)
            geoms = np.asarray(v.geometry.array, dtype=object)
            shapely.prepare(geoms)
            codes, names = (
                v[c].astype(object).to_numpy() for c in ("village_code", "village_name")
            )
            self._villages = (geoms, codes, names)
        self._build_complaints(con)
        self.builds += 1

    def _build_complaints(self, con: sqlite3.Connection) -> None:
        self._complaints = rtree_index.Index()
        if _has_table(con, "complaints"):
            frame = self.ws.read("complaints", use_arrow=False, columns=[], fid_as_index=True)
            geoms = np.asarray(frame.geometry.array, dtype=object)
            self._complaints = _bulk_index(geoms, frame.index.to_numpy())
        self._known = self._complaint_head(con)

    # --- submission -------------------------------------------------------------------

    def submit(
        self,
        ws: Workspace,
        *,
        text: str,
        by: str,
        lon: float | None = None,
        lat: float | None = None,
        village: str | None = None,
        category: str | None = None,
        reported_at: date | None = None,
        source: str = DEFAULT_SOURCE,
        reporter_phone: str | None = None,
        own_village: str | None = None,
        as_of: date | None = None,
    ) -> dict[str, Any]:
        """Store one complaint, locate it and re-score the parcels around it.

        Parameters
        ----------
        ws : Workspace
            This intake's workspace (another path is refused).
        text : str
            What is reported (举报内容), Chinese free text.
        by : str
            Who files it (audit log, ``submitted_by``).
        lon, lat : float, optional
            Degrees, CGCS2000 (EPSG:4490; WGS 84 is the same to a metre).
        village : str, optional
            Village code or name; with no point the complaint is placed on the village's
            representative point (inside its polygon) and the answer says so.
        category : str, optional
            Category code or Chinese name; default: classified from ``text`` with the
            rules' keyword table (as ``analyze`` does).
        reported_at : datetime.date, optional
            Received on (受理时间); default and latest ``as_of``.
        source : str
            Channel (来源).
        reporter_phone : str, optional
            Stored only masked (``138****5678``).
        own_village : str, optional
            Village code the point must lie in (a village user files in its own village).
        as_of : datetime.date, optional
            Date the scores decay to; default today.

        Returns
        -------
        dict
            ``complaint_id`` (``TS-<yyyymmdd>-<nnn>``), ``received_at``, ``status``,
            ``as_of``; ``category`` {``code``, ``zh``, ``en``, ``source``: given/text};
            ``location`` {``lon``, ``lat``, ``x``, ``y`` (workspace CRS ``crs``, metres),
            ``source`` (point/village), ``parcel_id`` containing it or None, ``matched``
            (a parcel within ``buffer_m``), ``nearest_parcel_id`` and ``distance_m`` when
            unmatched}; ``village`` {``code``, ``name``} or None; ``affected``: per parcel
            within the buffer, highest score first, {``parcel_id``, ``kind``,
            ``village_name``, ``old_score`` (None without a row), ``new_score``,
            ``complaint_score``, ``was_flagged``, ``flagged``, ``crossed``, ``row``:
            updated/inserted/not_stored}; ``flag_score``; ``crossed_threshold``; ``notes``
            and ``summary``: {``zh``, ``en``} texts.

        Raises
        ------
        OptionError
            Bad text, date, category, phone or point, a point outside China, farther
            than :data:`MAX_OUTSIDE_M` from every parcel, or outside ``own_village``.
        NotFoundError
            Unknown village; a workspace without parcels.
        """
        if Path(ws.path).resolve() != Path(self.ws.path).resolve():
            raise ValueError(f"this intake serves {self.ws.path}, not {ws.path}")
        day = as_of or date.today()
        text, received = _check_text(text), _check_received(reported_at, day)
        phone = _mask_phone(reporter_phone)
        rules = self.rules()
        cat = _category(text, category, rules)
        given = _check_point(lon, lat)
        if village is None and given is None and own_village is not None:
            village = own_village  # a village user without a point files for its village
        named = resolve_village(village, read_villages(self.ws)) if village else None
        self.ws.require()
        notes: list[dict[str, str]] = []
        with self._mutex, self.ws.lock(wait_seconds=LOCK_WAIT_SECONDS):
            self._refresh()
            if given is not None:
                x, y = (float(v) for v in self._to_ws.transform(*given))
                lonlat = given
            else:
                x, y = self._village_point(named)
                back = self._to_ws.transform(x, y, direction="INVERSE")
                lonlat = (round(float(back[0]), 6), round(float(back[1]), 6))
                notes.append(_note("village_point", named[1] if named else ""))
            where = self._locate(x, y, rules.complaints.buffer_m)
            where["village"] = self._village_at(x, y, where["parcel"])
            _check_place(where, own_village, named, notes)
            self._ensure_layer(by)
            vill = where["village"] or (None, None)
            record = {
                "received_at": f"{received.isoformat()}T00:00:00",
                "category": cat[0],
                "description": text,
                "channel": source,
                "status": "new",
                "village_code": vill[0],
                "village_name": vill[1],
                "submitted_by": by,
                "reporter_phone_masked": phone,
            }
            with _writing(self.ws.path) as con:
                fid, cid = _insert(con, record, x, y, day)
                affected = self._rescore(con, fid, where["affected"], rules, day)
                scores = [
                    {k: a[k] for k in ("parcel_id", "old_score", "new_score")} for a in affected
                ]
                detail = {"complaint_id": cid, **record, "affected": scores}
                audit(con, now_iso(), by, "complaint.add", cid, detail)
                self._known = self._complaint_head(con)
            self._complaints.insert(fid, (x, y, x, y))
        if any(a["row"] == "not_stored" for a in affected):
            notes.append(_note("no_risk_layer", ""))
        where.update(lonlat=lonlat, x=x, y=y, source="point" if given else "village")
        return _answer(cid, received, day, cat, where, affected, rules, self._crs, notes)

    def _village_point(self, named: tuple[str, str] | None) -> tuple[float, float]:
        geoms, codes, _names = self._villages
        hit = np.flatnonzero(codes == (named[0] if named else None))
        if named is None or not len(hit) or geoms[hit[0]] is None:
            raise _err(
                "no_location",
                "举报需要位置：请给出经纬度 lon/lat（CGCS2000，度），或村界图层中的村名/村代码 village。",
                "A complaint needs a location: give lon/lat (degrees, CGCS2000) or a village "
                "name or code of the villages layer.",
            )
        p = shapely.point_on_surface(geoms[hit[0]])
        return float(p.x), float(p.y)

    def _locate(self, x: float, y: float, buffer_m: float) -> dict[str, Any]:
        """Parcels within ``buffer_m`` of (x, y) (rtree candidates, then the analysis's
        exact test), the one containing it, and the nearest when none is within."""
        point = shapely.Point(x, y)
        lo, hi = np.array([[x - buffer_m, y - buffer_m]]), np.array([[x + buffer_m, y + buffer_m]])
        cand = np.asarray(self._parcels.intersection_v(lo, hi)[0], dtype=np.int64)
        near = cand
        if len(cand):
            _, poly = points_within(
                np.array([point]), PolygonIndex.build(self._geoms[cand]), buffer_m
            )
            near = np.sort(cand[poly])
        inside = near[shapely.intersects(self._geoms[near], point)] if len(near) else near
        parcel = int(inside[0]) if len(inside) else None
        out: dict[str, Any] = {
            "affected": near,
            "parcel": parcel,
            "parcel_id": None if parcel is None else self._pid(parcel),
            "matched": bool(len(near)),
            "buffer_m": buffer_m,
            "nearest_parcel_id": None,
            "distance_m": None,
        }
        if not len(near) and self.parcel_count:
            first = self._parcels.nearest_v(np.array([[x, y]]), np.array([[x, y]]))[0]
            d = float(shapely.distance(self._geoms[int(first[0])], point))
            lo, hi = np.array([[x - d, y - d]]), np.array([[x + d, y + d]])
            ring = np.asarray(self._parcels.intersection_v(lo, hi)[0], dtype=np.int64)
            dist = shapely.distance(self._geoms[ring], point)
            best = int(np.argmin(dist))
            out.update(nearest_parcel_id=self._pid(ring[best]), distance_m=round(dist[best], 1))
        return out

    def _pid(self, pos: int) -> str:
        return str(self._attrs["parcel_id"].iloc[int(pos)])

    def _village_at(self, x: float, y: float, parcel: int | None) -> tuple[str, str] | None:
        """The village whose polygon holds the point, else the containing parcel's village."""
        geoms, codes, names = self._villages
        hit = np.flatnonzero(shapely.contains_xy(geoms, x, y)) if len(geoms) else np.empty(0, int)
        if len(hit):
            return str(codes[hit[0]]), str(names[hit[0]])
        if parcel is not None and "village_code" in self._attrs:
            row = self._attrs.iloc[parcel]
            if pd.notna(row["village_code"]):
                return str(row["village_code"]), str(_plain(row.get("village_name")) or "")
        return None

    def _ensure_layer(self, by: str) -> None:
        """Create an empty complaints layer, with its register row, when there is none."""
        with contextlib.closing(sqlite3.connect(self.ws.path)) as con:
            if _has_table(con, "complaints"):
                return
        frame = empty_layer("complaints", self._crs)
        frame["received_at"] = pd.Series(dtype="datetime64[ms]")
        pyogrio.write_dataframe(
            frame, self.ws.path, layer="complaints", driver="GPKG", geometry_type="Point"
        )
        entry = CatalogEntry(
            "complaints", "", DEFAULT_OWNER["complaints"], DEFAULT_CLASSIFICATION["complaints"],
            "在线受理 web intake", None, None, None, 0, 0, by, now_iso(), "append",
        )  # fmt: skip
        values = entry.to_dict()
        with contextlib.closing(connect_file(self.ws.path)) as con, con:
            ensure_tables(con)
            con.execute(
                f"INSERT INTO layer_catalog ({', '.join(values)}) "
                f"VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
            self._build_complaints(con)

    def _rescore(
        self, con: sqlite3.Connection, fid: int, pos: NDArray[np.int64], rules: Rules, day: date
    ) -> list[dict[str, Any]]:
        """Score the complaint part of the parcels at ``pos`` as ``analyze`` would (the
        complaints around them come from the index) and store their scores."""
        if not len(pos):
            return []
        bounds, b = shapely.bounds(self._geoms[pos]), rules.complaints.buffer_m
        lo, hi = bounds[:, :2].min(axis=0) - b, bounds[:, 2:].max(axis=0) + b
        ids = self._complaints.intersection_v(lo[None, :], hi[None, :])[0]
        complaints = _read_complaints(con, sorted({int(i) for i in ids} | {fid}), self._crs)
        attrs = self._attrs.iloc[pos].reset_index(drop=True)
        parcels = gpd.GeoDataFrame(attrs, geometry=list(self._geoms[pos]), crs=self._crs)
        # every parcel counts as flagged here so that its complaint facts are filled
        facts = rules.model_copy(update={"flag": rules.flag.model_copy(update={"score": -1.0})})
        assert self._empty is not None  # set by the build
        patches, problems = self._empty
        fresh = score_parcels(parcels, complaints, patches, problems, facts, day).parcel_risk
        return _store_risk(con, fresh, rules)


# --- storing ----------------------------------------------------------------------------


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction on the file itself (the caller holds the workspace lock)."""
    with contextlib.closing(connect_file(path, isolation_level=None)) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            ensure_tables(con)
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def _insert(
    con: sqlite3.Connection, record: dict[str, Any], x: float, y: float, day: date
) -> tuple[int, str]:
    """Insert the complaint row; its fid and its new id ``TS-<yyyymmdd>-<nnn>``."""
    types = {str(r[1]): str(r[2]).upper() for r in con.execute("PRAGMA table_info(complaints)")}
    for col in EXTRA_COLUMNS:
        if col not in types:
            con.execute(f'ALTER TABLE complaints ADD COLUMN "{col}" TEXT')
    if types.get("received_at") == "DATE":  # a layer written with a date column
        record = {**record, "received_at": record["received_at"][:10]}
    prefix = f"TS-{day:%Y%m%d}-"
    sql = "SELECT complaint_id FROM complaints WHERE complaint_id LIKE ?"
    tails = [r[0][len(prefix) :] for r in con.execute(sql, (prefix + "%",))]
    cid = f"{prefix}{max((int(t) for t in tails if t.isdigit()), default=0) + 1:03d}"
    geom, srs = _geometry_column(con, "complaints")
    values = {"complaint_id": cid, **record, geom: point_blob(x, y, srs)}
    names = ", ".join(f'"{c}"' for c in values)
    cur = con.execute(
        f"INSERT INTO complaints ({names}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    con.execute(
        f"UPDATE gpkg_contents SET last_change = {_NOW}, "
        "min_x = min(coalesce(min_x, ?1), ?1), max_x = max(coalesce(max_x, ?1), ?1), "
        "min_y = min(coalesce(min_y, ?2), ?2), max_y = max(coalesce(max_y, ?2), ?2) "
        "WHERE table_name = 'complaints'",
        (x, y),
    )
    return int(cur.lastrowid or 0), cid


def _read_complaints(con: sqlite3.Connection, fids: list[int], crs: Any) -> gpd.GeoDataFrame:
    """The complaints with these fids in fid order (the order ``analyze`` reads them)."""
    geom, _ = _geometry_column(con, "complaints")
    frame = pd.read_sql_query(
        "SELECT complaint_id, received_at, category, description, status, "
        f'ST_MinX("{geom}") AS x, ST_MinY("{geom}") AS y FROM complaints '
        "WHERE fid IN (SELECT value FROM json_each(?)) ORDER BY fid",
        con,
        params=(json.dumps(fids),),
    )
    # GeoPackage DATETIME text; 'Z' and offsets read as UTC
    received = pd.to_datetime(frame["received_at"], errors="coerce", format="ISO8601", utc=True)
    frame["received_at"] = received.dt.tz_convert(None)
    x, y = (pd.to_numeric(frame.pop(c)).to_numpy(float, na_value=np.nan) for c in "xy")
    points = np.where(np.isfinite(x) & np.isfinite(y), shapely.points(x, y), None)
    return gpd.GeoDataFrame(frame, geometry=list(points), crs=crs)


def _store_risk(
    con: sqlite3.Connection, fresh: gpd.GeoDataFrame, rules: Rules
) -> list[dict[str, Any]]:
    """Update, or insert, the ``parcel_risk`` rows of the freshly scored parcels.

    score = (fresh complaint score + stored patch and problem scores) x multiplier. The
    categories are exact for parcels whose only evidence is complaints; for the others the
    complaint categories are added to the stored list (the next ``analyze`` reorders it).
    Without a ``parcel_risk`` layer (no analysis yet) the scores are only reported.
    """
    stored = _has_table(con, "parcel_risk")
    old = pd.DataFrame({c: pd.Series(dtype=object) for c in _OLD})
    if stored:
        old = pd.read_sql_query(
            f"SELECT {', '.join(_OLD)} FROM parcel_risk WHERE parcel_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY fid",
            con,
            params=(json.dumps([str(p) for p in fresh["parcel_id"]]),),
        ).drop_duplicates(["parcel_id", "kind"])
    m = pd.DataFrame(fresh.drop(columns=fresh.geometry.name)).merge(
        old, on=["parcel_id", "kind"], how="left", suffixes=("", "_old")
    )
    has_row = m["fid"].notna().to_numpy()
    other = m[["patch_score_old", "problem_score_old"]].astype(float).fillna(0.0).sum(axis=1)
    score = ((m["complaint_score"] + other) * m["protection_multiplier"]).to_numpy(float)
    was = m["flagged_old"].fillna(0).astype(bool).to_numpy()
    criminal = m["criminal_threshold_met_old"].fillna(0).astype(bool).to_numpy()
    flagged = (score >= rules.flag.score) | criminal
    evidence = m[["patch_count_old", "open_problem_count_old"]].astype(float).fillna(0)
    exact = ~has_row | (evidence.sum(axis=1) == 0).to_numpy()
    old_cats = m["categories_old"].fillna("").astype(str)
    # the stored categories followed by the new ones not yet listed
    merged = [
        ";".join(c for c in dict.fromkeys([*o.split(";"), *n.split(";")]) if c)
        for o, n in zip(old_cats, m["categories"].astype(str), strict=True)
    ]
    old_dominant = m["dominant_category_old"].fillna("").astype(str)
    update = {
        "complaint_score": m["complaint_score"],
        "score": score,
        "protection_multiplier": m["protection_multiplier"],
        "complaint_count": m["complaint_count"],
        "complaint_ids": m["complaint_ids"],
        "flagged": flagged,
        "categories": np.where(exact, m["categories"], merged),
        "dominant_category": np.where(
            exact | (old_dominant == ""), m["dominant_category"], old_dominant
        ),
        "complaint_facts": np.where(flagged, m["complaint_facts"], ""),
    }
    present = set(_columns(con, "parcel_risk")) if stored else set()
    table = pd.DataFrame(
        {k: np.asarray(v, dtype=object) for k, v in update.items() if k in present}
    )
    if stored and has_row.any():
        sets = ", ".join(f'"{c}" = ?' for c in table.columns)
        rows = table[has_row].map(_plain).assign(fid=m["fid"][has_row].astype(int).to_numpy())
        con.executemany(
            f"UPDATE parcel_risk SET {sets} WHERE fid = ?", rows.itertuples(index=False)
        )
    if stored and (~has_row).any():
        _insert_risk(con, fresh[~has_row], table[~has_row], present)
    if stored:
        con.execute(
            f"UPDATE gpkg_contents SET last_change = {_NOW} WHERE table_name = 'parcel_risk'"
        )
    out = pd.DataFrame(
        {
            "parcel_id": m["parcel_id"].astype(str),
            "kind": m["kind"],
            "village_name": m["village_name"],
            "old_score": m["score_old"].astype(float),
            "new_score": score,
            "complaint_score": m["complaint_score"].astype(float),
            "was_flagged": was,
            "flagged": flagged,
            "crossed": flagged & ~was,
            "row": np.where(has_row, "updated", "inserted" if stored else "not_stored"),
        }
    ).sort_values("new_score", ascending=False, kind="stable")
    return [{k: _plain(v) for k, v in r.items()} for r in out.to_dict("records")]


def _insert_risk(
    con: sqlite3.Connection, fresh: gpd.GeoDataFrame, table: pd.DataFrame, present: set[str]
) -> None:
    """Insert ``parcel_risk`` rows for parcels that had none: their only evidence is
    complaints, so the freshly scored rows are what ``analyze`` would write."""
    geom, srs = _geometry_column(con, "parcel_risk")
    frame = pd.DataFrame(fresh.drop(columns=fresh.geometry.name)).reset_index(drop=True)
    frame[list(table.columns)] = table.to_numpy()
    cols = [c for c in frame.columns if c in present]
    rows = frame[cols].astype(object).map(_plain)
    rows[geom] = [_gpkg_blob(g, srs) for g in fresh.geometry.array]
    names = ", ".join(f'"{c}"' for c in rows.columns)
    sql = f"INSERT INTO parcel_risk ({names}) VALUES ({', '.join('?' * len(rows.columns))})"
    con.executemany(sql, rows.itertuples(index=False))


# --- checks and answers -----------------------------------------------------------------


def _check_text(text: str) -> str:
    body = (text or "").strip()
    if not body or len(body) > MAX_TEXT:
        raise _err(
            "bad_text",
            f"举报内容 text 为 {len(body)} 个字，应为 1 到 {MAX_TEXT} 个字；请写明发生了什么、在哪里。",
            f"`text` had {len(body)} characters but is expected to have 1 to {MAX_TEXT}; "
            "say what happened and where.",
        )
    return body


def _check_received(reported_at: date | None, day: date) -> date:
    received = reported_at or day
    received = received.date() if isinstance(received, datetime) else received
    if received > day:
        raise _err(
            "future_date",
            f"受理时间 reported_at 为 {received}，晚于今天（{day}）；请给出不晚于今天的日期。",
            f"`reported_at` was {received}, after today ({day}); give a date no later than today.",
        )
    return received


def _mask_phone(phone: str | None) -> str | None:
    """The reporter's phone, masked (``138****5678``); it is never stored in clear."""
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s\-+()]", "", phone)
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise _err(
            "bad_phone",
            f"reporter_phone 为“{phone}”，应为 5 到 20 位数字的电话号码（可含空格、-、+）。",
            f"`reporter_phone` was {phone!r} but is expected to be a phone number of 5 to 20 "
            "digits (spaces, -, + allowed).",
        )
    keep = 3 if len(digits) >= 9 else 1
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def _category(text: str, given: str | None, rules: Rules) -> tuple[str, str]:
    """The category code and where it came from (``given`` or ``text``)."""
    if given is None or not given.strip():
        return str(classify_text(pd.Series([text]), rules).iloc[0]), "text"
    cat = category_from_text(pd.Series([given.strip()], dtype="string")).iloc[0]
    if pd.isna(cat) or (cat == "other" and given.strip() not in ("other", "其他")):
        raise _err(
            "bad_category",
            f"category 为“{given}”，应为类别代码或中文名之一："
            f"{'、'.join(zh for zh, _ in CATEGORIES.values())}；或不填，由举报内容自动分类。",
            f"`category` was {given!r} but is expected to be a category code or Chinese name: "
            f"{', '.join(CATEGORIES)}; or leave it out to classify the text.",
        )
    return str(cat), "given"


def _check_point(lon: float | None, lat: float | None) -> tuple[float, float] | None:
    if lon is None and lat is None:
        return None
    if (
        lon is None
        or lat is None
        or not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1])
    ):
        (a, b), (c, d) = LON_RANGE, LAT_RANGE
        raise _err(
            "bad_point",
            f"位置为 lon={lon}、lat={lat}，应同时给出中国境内的经度 {a:g}–{b:g}、纬度 {c:g}–{d:g}"
            "（CGCS2000，度）；请检查是否填反。",
            f"The location was lon={lon}, lat={lat}; give both, in China: longitude {a:g} to "
            f"{b:g}, latitude {c:g} to {d:g} (degrees, CGCS2000); check they are not swapped.",
        )
    return float(lon), float(lat)


def _note(kind: str, name: str, other: str = "") -> dict[str, str]:
    return {
        "village_point": {
            "zh": f"举报只给出了村（{name}），已按该村的代表点定位；核实时请补充准确位置。",
            "en": f"Only a village ({name}) was given: the complaint is placed on the "
            "village's representative point; add the exact place when it is verified.",
        },
        "no_risk_layer": {
            "zh": "工作空间还没有研判结果（parcel_risk），分数未写入；请运行一次 geoservice analyze。",
            "en": "The workspace has no analysis results (parcel_risk) yet, so no score was "
            "stored; run 'geoservice analyze' once.",
        },
        "other_village": {
            "zh": f"给出的村为{name}，但坐标位于{other}；已按坐标所在村登记。",
            "en": f"The village given was {name} but the point lies in {other}; the "
            "complaint is filed under the village of the point.",
        },
    }[kind]


def _check_place(
    where: dict[str, Any],
    own_village: str | None,
    named: tuple[str, str] | None,
    notes: list[dict[str, str]],
) -> None:
    """Refuse a point far from every parcel or outside the filer's own village."""
    far, located = where["distance_m"], where["village"]
    if far is not None and far > MAX_OUTSIDE_M:
        raise _err(
            "too_far",
            f"该位置距工作空间最近的小班 {far / 1000:.1f} 千米，不在本镇范围内；"
            "请检查经纬度是否正确、是否填反。",
            f"The point is {far / 1000:.1f} km from the nearest parcel of the workspace, "
            "outside the town; check lon/lat (are they swapped?).",
        )
    if own_village is not None and (located is None or located[0] != own_village):
        got = f"{located[1]}（{located[0]}）" if located else "任何村界之外"
        got_en = f"in {located[1]} ({located[0]})" if located else "in no village"
        raise _err(
            "outside_own_village",
            f"村用户只能提交本村（{own_village}）的举报，但该位置在{got}；"
            "请核对位置，或请镇林长办代为登记。",
            f"A village user may only file complaints in its own village ({own_village}), "
            f"but the point lies {got_en}; check the location, or ask the forest-chief "
            "office to file it.",
        )
    if named is not None and located is not None and named[0] != located[0]:
        notes.append(_note("other_village", named[1], located[1]))


def _answer(
    cid: str,
    received: date,
    day: date,
    cat: tuple[str, str],
    where: dict[str, Any],
    affected: list[dict[str, Any]],
    rules: Rules,
    crs: pyproj.CRS | None,
    notes: list[dict[str, str]],
) -> dict[str, Any]:
    zh, en = CATEGORIES.get(cat[0], (cat[0], cat[0]))
    epsg = crs.to_epsg() if crs is not None else None
    keys = ("source", "parcel_id", "matched", "buffer_m", "nearest_parcel_id", "distance_m")
    location = {
        "lon": where["lonlat"][0],
        "lat": where["lonlat"][1],
        "x": round(where["x"], 2),
        "y": round(where["y"], 2),
        "crs": f"EPSG:{epsg}" if epsg else (crs.name if crs is not None else None),
        **{k: where[k] for k in keys},
    }
    village = where["village"]
    return {
        "complaint_id": cid,
        "received_at": received.isoformat(),
        "status": "new",
        "as_of": day.isoformat(),
        "category": {"code": cat[0], "zh": zh, "en": en, "source": cat[1]},
        "location": location,
        "village": {"code": village[0], "name": village[1]} if village else None,
        "affected": affected,
        "flag_score": rules.flag.score,
        "crossed_threshold": any(a["crossed"] for a in affected),
        "notes": notes,
        "summary": _summary(cid, (zh, en), location, village, affected, rules.flag.score),
    }


def _summary(
    cid: str,
    names: tuple[str, str],
    loc: dict[str, Any],
    village: tuple[str, str] | None,
    affected: list[dict[str, Any]],
    threshold: float,
) -> dict[str, str]:
    """Where the complaint landed and what changed, in Chinese and in English."""
    vz, ve = (f"（{village[1]}）", f" ({village[1]})") if village else ("", "")
    buf, n = f"{loc['buffer_m']:g}", len(affected)
    if loc["parcel_id"]:
        zh, en = f"位于小班 {loc['parcel_id']}{vz}", f"lies in parcel {loc['parcel_id']}{ve}"
    elif loc["matched"]:
        zh, en = (
            f"不在小班内{vz}，{buf} 米内有 {n} 个小班",
            f"lies in no parcel{ve}; {n} within {buf} m",
        )
    else:
        near, d = loc["nearest_parcel_id"], f"{loc['distance_m']:g}"
        zh = f"{vz}{buf} 米内没有小班（最近的小班 {near}，距 {d} 米），列为未匹配举报，不计入风险分"
        en = f"has no parcel within {buf} m{ve} (nearest: {near}, {d} m away): unmatched, it counts for no score"
    text_zh, text_en = (
        f"举报 {cid}（{names[0]}）已受理，{zh}。",
        f"Complaint {cid} ({names[1]}) {en}.",
    )
    crossed = [a for a in affected if a["crossed"]]
    if crossed:
        ids = [f"{a['parcel_id']} ({a['new_score']:.2f})" for a in crossed]
        text_zh += (
            f"小班 {'、'.join(ids)} 的风险分达到预警阈值 {threshold:g}，列为有严重破坏风险；"
            "下次运行研判（geoservice analyze）时将重新划定联合执法目标。"
        )
        text_en += (
            f" Parcel(s) {', '.join(ids)} now reach the flag threshold {threshold:g} and are "
            "at risk of serious damage; the next 'geoservice analyze' run regroups the targets."
        )
    elif affected:
        top, score = affected[0]["parcel_id"], f"{affected[0]['new_score']:.2f}"
        text_zh += (
            f"已更新 {n} 个小班的风险分（最高为小班 {top}：{score}，预警阈值 {threshold:g}），"
            "没有小班新达到预警阈值；下次运行研判时目标随之更新。"
        )
        text_en += (
            f" The scores of {n} parcel(s) were updated (highest: {top} at {score}, flag "
            f"threshold {threshold:g}); none newly reaches it, and the next analysis run "
            "updates the targets."
        )
    return {"zh": text_zh, "en": text_en}


# --- reading ----------------------------------------------------------------------------


def complaints_classification(ws: Workspace) -> str:
    """The classification of the complaints layer: the strictest of its register rows,
    else the default (``restricted``)."""
    levels = ("public", "internal", "restricted")
    found = [e.classification for e in ws.catalog() if e.layer == "complaints"]
    rank = {c: levels.index(c) if c in levels else len(levels) for c in found}
    return max(found, key=rank.__getitem__) if found else DEFAULT_CLASSIFICATION["complaints"]


def read_complaint(ws: Workspace, complaint_id: str) -> dict[str, Any]:
    """One stored complaint as a plain dict; NotFoundError naming the id.

    Keys: the row's columns (``received_at`` as ``YYYY-MM-DD``), ``category_zh``,
    ``category_en``, ``x``, ``y`` (workspace CRS, metres) and ``lon``, ``lat`` (degrees,
    CGCS2000), None without a location.
    """
    ws.require()
    with contextlib.closing(connect_file(ws.path)) as con:
        row = cols = None
        if _has_table(con, "complaints"):
            geom, _ = _geometry_column(con, "complaints")
            cols = [c for c in _columns(con, "complaints") if c not in ("fid", geom)]
            row = con.execute(
                f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)}, "
                f'ST_MinX("{geom}"), ST_MinY("{geom}") FROM complaints WHERE complaint_id = ?',
                (complaint_id,),
            ).fetchone()
    if row is None or cols is None:
        raise NotFoundError(
            message(
                "intake.no_complaint",
                f"工作空间中没有编号为“{complaint_id}”的举报；请核对编号。",
                f"The workspace has no complaint {complaint_id!r}; check the id.",
            )
        )
    out = dict(zip(cols, row[:-2], strict=True))
    out["received_at"] = str(out.get("received_at") or "")[:10] or None
    zh, en = CATEGORIES.get(str(out.get("category")), (out.get("category"),) * 2)
    out.update(category_zh=zh, category_en=en, x=row[-2], y=row[-1], lon=None, lat=None)
    crs = ws.crs()
    if row[-2] is not None and crs is not None:
        to_geo = pyproj.Transformer.from_crs(crs, 4490, always_xy=True)
        lon, lat = to_geo.transform(row[-2], row[-1])
        out.update(lon=round(float(lon), 6), lat=round(float(lat), 6))
    return out
