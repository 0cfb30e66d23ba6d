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

The checks of what is filed are in :mod:`geoservice.intake.checks`, the answer texts in
:mod:`geoservice.intake.text`, the SQLite side (complaint rows, :func:`read_complaint`,
:func:`complaints_classification`) in :mod:`geoservice.intake.store` and the ``parcel_risk``
update in :mod:`geoservice.intake.score`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import date
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

from geoservice.analysis.rules import Rules
from geoservice.analysis.rules_cache import cached_rules
from geoservice.analysis.run import empty_layer
from geoservice.analysis.scoring import score_parcels
from geoservice.analysis.spatial import PolygonIndex, points_within
from geoservice.base.errors import NotFoundError, message
from geoservice.base.gpkg_sql import LOCK_WAIT_SECONDS, audit
from geoservice.base.villages import read_villages, resolve_village
from geoservice.base.workspace import (
    DEFAULT_CLASSIFICATION,
    DEFAULT_OWNER,
    CatalogEntry,
    Workspace,
    now_iso,
)
from geoservice.intake.checks import (
    check_datum,
    check_place,
    check_point,
    check_received,
    check_text,
    choose_category,
    convert_point,
    intake_error,
    mask_phone,
)
from geoservice.intake.score import store_risk
from geoservice.intake.store import (
    complaints_classification,
    geometry_column,
    has_table,
    insert_complaint,
    plain,
    read_complaint,
    read_complaints,
)
from geoservice.intake.text import answer, converted_note, note

__all__ = ["DEFAULT_SOURCE", "ComplaintIntake", "complaints_classification", "read_complaint"]

DEFAULT_SOURCE = "网上受理"
PARCEL_ATTRS: tuple[str, ...] = ("parcel_id", "kind", "village_code", "village_name")
PARCEL_ATTRS += ("public_welfare", "nature_reserve", "area_ha", "volume_per_ha")


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
        """The effective rules (defaults deep-merged with the override), parsed again only
        when the override file changes."""
        return cached_rules(self._rules_source())

    # --- keeping the indexes in line with the file -------------------------------------

    def _layer_signature(self, con: sqlite3.Connection) -> tuple[Any, ...]:
        """(last change, max fid, rows) of the parcels and villages layers."""
        out: list[Any] = []
        for name in ("parcels", "villages"):
            if has_table(con, name):
                sql = "SELECT last_change FROM gpkg_contents WHERE table_name = ?"
                change = con.execute(sql, (name,)).fetchone()
                top = con.execute(f'SELECT max(fid), count(*) FROM "{name}"').fetchone()
                out.append((change[0] if change else None, *top))
            else:
                out.append(None)
        return tuple(out)

    def _complaint_head(self, con: sqlite3.Connection) -> tuple[int, int, str | None]:
        if not has_table(con, "complaints"):
            return (0, 0, None)
        sql = "SELECT coalesce(max(fid), 0), count(*) FROM complaints"
        top, count = con.execute(sql).fetchone()
        row = con.execute("SELECT complaint_id FROM complaints WHERE fid = ?", (top,)).fetchone()
        return (int(top), int(count), row[0] if row else None)

    def _refresh(self) -> None:
        """Bring the indexes in line with the file (the caller holds the workspace lock)."""
        st = os.stat(self.ws.path)
        ident = (st.st_dev, st.st_ino)
        with self.ws.read_connection() as con:
            layers = self._layer_signature(con)
            if self.builds == 0 or ident != self._ident or layers != self._layers:
                self._build_all(con)
                self._ident, self._layers = ident, layers
                return
            head = self._complaint_head(con)
            if head == self._known:
                return
            top, count, last_id = self._known
            geom, _ = geometry_column(con, "complaints")
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
        if not has_table(con, "parcels"):
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
        if has_table(con, "villages"):
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
        if has_table(con, "complaints"):
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
        crs: str | None = None,
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
            Degrees in ``crs``.
        crs : str, optional
            Datum of ``lon``/``lat``: CGCS2000 (EPSG:4490, the default), WGS84 (the same
            to decimetres), GCJ-02 (高德, 腾讯, WeChat) or BD-09 (百度), in any spelling
            :func:`layers.chinacoords.datum_name` knows; GCJ-02 and BD-09 are converted
            to CGCS2000 before the complaint is located.
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
            ``location`` {``lon``, ``lat`` (CGCS2000), ``x``, ``y`` (workspace CRS
            ``crs``, metres), ``converted_from`` ({``crs``, ``lon``, ``lat``, ``shift_m``}
            for a GCJ-02 / BD-09 point, else None),
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
            Bad text, date, category, phone, datum or point, a point outside China, farther
            than :data:`~geoservice.intake.checks.MAX_OUTSIDE_M` from every parcel, or
            outside ``own_village``.
        NotFoundError
            Unknown village; a workspace without parcels.
        """
        if Path(ws.path).resolve() != Path(self.ws.path).resolve():
            raise ValueError(f"this intake serves {self.ws.path}, not {ws.path}")
        day = as_of or date.today()
        text, received = check_text(text), check_received(reported_at, day)
        phone = mask_phone(reporter_phone)
        rules = self.rules()
        cat = choose_category(text, category, rules)
        datum, given, converted = check_datum(crs), check_point(lon, lat), None
        if given is not None:
            given, converted = convert_point(given, datum)
        if village is None and given is None and own_village is not None:
            village = own_village  # a village user without a point files for its village
        named = resolve_village(village, read_villages(self.ws)) if village else None
        self.ws.require()
        notes: list[dict[str, str]] = []
        if converted is not None and given is not None:
            notes.append(converted_note(converted, given))
        with self._mutex, self.ws.lock(wait_seconds=LOCK_WAIT_SECONDS):
            self._refresh()
            if given is not None:
                x, y = (float(v) for v in self._to_ws.transform(*given))
                lonlat = given
            else:
                x, y = self._village_point(named)
                back = self._to_ws.transform(x, y, direction="INVERSE")
                lonlat = (round(float(back[0]), 6), round(float(back[1]), 6))
                notes.append(note("village_point", named[1] if named else ""))
            where = self._locate(x, y, rules.complaints.buffer_m)
            where["village"] = self._village_at(x, y, where["parcel"])
            check_place(where, own_village, named, notes)
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
                "village_by": "none" if vill[0] is None else ("location" if given else "name"),
                "submitted_by": by,
                "reporter_phone_masked": phone,
            }
            with self.ws.sql_transaction(by) as con:
                fid, cid = insert_complaint(con, record, x, y, day)
                affected = self._rescore(con, fid, where["affected"], rules, day)
                scores = [
                    {k: a[k] for k in ("parcel_id", "old_score", "new_score")} for a in affected
                ]
                detail = {"complaint_id": cid, **record, "affected": scores}
                detail["converted_from"] = converted
                audit(con, now_iso(), by, "complaint.add", cid, detail)
                self._known = self._complaint_head(con)
            self._complaints.insert(fid, (x, y, x, y))
        if any(a["row"] == "not_stored" for a in affected):
            notes.append(note("no_risk_layer", ""))
        where.update(lonlat=lonlat, x=x, y=y, source="point" if given else "village")
        where["converted_from"] = converted
        return answer(cid, received, day, cat, where, affected, rules, self._crs, notes)

    def _village_point(self, named: tuple[str, str] | None) -> tuple[float, float]:
        geoms, codes, _names = self._villages
        hit = np.flatnonzero(codes == (named[0] if named else None))
        if named is None or not len(hit) or geoms[hit[0]] is None:
            raise intake_error(
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
                return str(row["village_code"]), str(plain(row.get("village_name")) or "")
        return None

    def _ensure_layer(self, by: str) -> None:
        """Create an empty complaints layer, with its register row, when there is none."""
        with self.ws.read_connection() as con:
            if has_table(con, "complaints"):
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
        with self.ws.sql_transaction(by) as con:
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
        complaints = read_complaints(con, sorted({int(i) for i in ids} | {fid}), self._crs)
        attrs = self._attrs.iloc[pos].reset_index(drop=True)
        parcels = gpd.GeoDataFrame(attrs, geometry=list(self._geoms[pos]), crs=self._crs)
        # every parcel counts as flagged here so that its complaint facts are filled
        facts = rules.model_copy(update={"flag": rules.flag.model_copy(update={"score": -1.0})})
        assert self._empty is not None  # set by the build
        patches, problems = self._empty
        fresh = score_parcels(parcels, complaints, patches, problems, facts, day).parcel_risk
        return store_risk(con, fresh, rules)
