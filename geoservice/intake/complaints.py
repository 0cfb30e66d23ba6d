"""Live complaint intake: store one complaint, locate it and re-score its parcels at once.

:class:`ComplaintIntake` is created once per workspace (the web service keeps one per app,
so one per worker process, and warms it when the worker starts). It keeps the workspace's
parcels, villages, complaint index and ``parcel_risk`` row index in memory
(:class:`~geoservice.intake.warm.WarmLayers`, in the workspace CRS, metres): a complaint is
located and its parcels re-scored without reading a layer; the request reads only the
complaint and ``parcel_risk`` rows it needs, by ``fid``.

:meth:`ComplaintIntake.submit` classifies the text with the analysis's keyword table,
locates the point (the parcel containing it, the parcels within the complaint buffer, the
village), stores it as a new ``complaints`` row and updates the affected ``parcel_risk``
rows, in one SQLite transaction on the workspace file under ``<workspace>.lock``
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`). The complaint part of each
affected parcel comes from the analysis's own scoring
(:func:`~geoservice.analysis.scoring.score_parcels` on those parcels and the complaints
the index finds around them), so it equals what ``analyze`` at the same ``as_of`` gives.
The batch runtime switch of the analysis (:mod:`geoservice.analysis.pause`) is never taken
here: a request runs with the process as it is.

What is held follows the file (see :mod:`geoservice.intake.warm`): a replaced file
(imports and analyses), or changed ``parcels`` / ``villages`` layers, rebuild it once;
complaints and ``parcel_risk`` rows another process appended in place are added one by one.

The checks of what is filed are in :mod:`geoservice.intake.checks`, the answer texts in
:mod:`geoservice.intake.text`, the SQLite side (complaint rows, :func:`read_complaint`,
:func:`complaints_classification`) in :mod:`geoservice.intake.store` and the ``parcel_risk``
update in :mod:`geoservice.intake.score`.
"""

from __future__ import annotations

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
import shapely
from numpy.typing import NDArray

from geoservice.analysis.rules import Rules
from geoservice.analysis.rules_cache import cached_rules
from geoservice.analysis.run import empty_layer
from geoservice.analysis.scoring import score_parcels
from geoservice.analysis.spatial import PolygonIndex, points_within
from geoservice.base.gpkg_sql import LOCK_WAIT_SECONDS, audit
from geoservice.base.villages import resolve_village
from geoservice.base.workspace import (
    DEFAULT_CLASSIFICATION,
    DEFAULT_OWNER,
    CatalogEntry,
    Workspace,
    now_iso,
)
from geoservice.base.workspace_gate import gate
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
    insert_complaint,
    plain,
    read_complaint,
    read_complaints,
)
from geoservice.intake.text import answer, converted_note, note
from geoservice.intake.warm import PARCEL_ATTRS, WarmLayers

__all__ = [
    "DEFAULT_SOURCE",
    "PARCEL_ATTRS",
    "ComplaintIntake",
    "complaints_classification",
    "read_complaint",
]

DEFAULT_SOURCE = "网上受理"


class ComplaintIntake:
    """Complaint intake for one workspace, with what it keeps of it in memory.

    Parameters
    ----------
    ws : Workspace
    rules_path : Path or callable, optional
        The rules override (``Settings.rules_path()``), or a callable returning it, looked
        up at every submission (an override added later is used).

    Attributes
    ----------
    warm : WarmLayers
        The parcels, villages, complaint index and ``parcel_risk`` row index held.
    """

    def __init__(
        self, ws: Workspace, rules_path: Path | Callable[[], Path | None] | None = None
    ) -> None:
        self.ws = ws
        self._rules_source = rules_path if callable(rules_path) else (lambda: rules_path)
        self._mutex = threading.Lock()
        self.warm = WarmLayers(ws)

    @property
    def builds(self) -> int:
        """Times the indexes were built from the file (see :class:`WarmLayers`)."""
        return self.warm.builds

    @property
    def caught_up(self) -> int:
        """Complaints stored by other processes and inserted into the index one by one."""
        return self.warm.caught_up

    @property
    def complaint_count(self) -> int:
        """Complaints in the complaint index."""
        return len(self.warm.complaints)

    @property
    def parcel_count(self) -> int:
        """Parcels in the parcel index."""
        return len(self.warm.parcels)

    def rules(self) -> Rules:
        """The effective rules (defaults deep-merged with the override), parsed again only
        when the override file changes."""
        return cached_rules(self._rules_source())

    def warm_up(self) -> None:
        """Read what the intake holds now (a worker does so when it starts), today's
        complaint numbers and the rules, so that the first complaint is as fast as the next
        ones."""
        self.rules()
        self.ws.require()
        with self._mutex, self.ws.lock(wait_seconds=LOCK_WAIT_SECONDS):
            self.warm.refresh()
            if self.warm.complaint_top is not None:
                with self.ws.read_connection() as con:
                    self.warm.next_number(con, f"TS-{date.today():%Y%m%d}-")

    def _refresh(self) -> None:
        """Bring what is held in line with the file (the caller holds the workspace lock)."""
        self.warm.refresh()

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
        request: dict[str, Any] | None = None,
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
        request : dict, optional
            Who asked and from where (the web service's request context): the
            ``complaint.submit`` audit row (where the complaint landed, with this context)
            is then written in the complaint's own transaction, after ``complaint.add``.

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
        self.ws.require()
        notes: list[dict[str, str]] = []
        if converted is not None and given is not None:
            notes.append(converted_note(converted, given))
        warm = self.warm
        with self._mutex, self.ws.lock(wait_seconds=LOCK_WAIT_SECONDS):
            self._refresh()
            named = resolve_village(village, warm.villages_frame()) if village else None
            if given is not None:
                x, y = (float(v) for v in warm.to_ws.transform(*given))
                lonlat = given
            else:
                x, y = self._village_point(named)
                back = warm.to_ws.transform(x, y, direction="INVERSE")
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
                prefix = f"TS-{day:%Y%m%d}-"
                cid = f"{prefix}{warm.next_number(con, prefix):03d}"
                fid = insert_complaint(con, record, x, y, cid)
                affected = self._rescore(con, fid, where["affected"], rules, day)
                scores = [
                    {k: a[k] for k in ("parcel_id", "old_score", "new_score")} for a in affected
                ]
                detail = {"complaint_id": cid, **record, "affected": scores}
                detail["converted_from"] = converted
                audit(con, now_iso(), by, "complaint.add", cid, detail)
                if request is not None:
                    landed = {
                        "parcel_id": where["parcel_id"],
                        "category": cat[0],
                        "affected": [a["parcel_id"] for a in affected],
                        "crossed_threshold": any(a["crossed"] for a in affected),
                    }
                    audit(con, now_iso(), by, "complaint.submit", cid, {**landed, **request})
            warm.note_complaint(fid, cid, x, y)  # only once it is committed
            warm.note_risk_rows()
        if any(a["row"] == "not_stored" for a in affected):
            notes.append(note("no_risk_layer", ""))
        where.update(lonlat=lonlat, x=x, y=y, source="point" if given else "village")
        where["converted_from"] = converted
        return answer(cid, received, day, cat, where, affected, rules, warm.crs, notes)

    def _village_point(self, named: tuple[str, str] | None) -> tuple[float, float]:
        geoms, codes, _names = self.warm.villages
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
        point, warm = shapely.Point(x, y), self.warm
        lo, hi = np.array([[x - buffer_m, y - buffer_m]]), np.array([[x + buffer_m, y + buffer_m]])
        cand = np.asarray(warm.parcels.intersection_v(lo, hi)[0], dtype=np.int64)
        near = cand
        if len(cand):
            _, poly = points_within(
                np.array([point]), PolygonIndex.build(warm.geoms[cand]), buffer_m
            )
            near = np.sort(cand[poly])
        inside = near[shapely.intersects(warm.geoms[near], point)] if len(near) else near
        parcel = int(inside[0]) if len(inside) else None
        out: dict[str, Any] = {
            "affected": near,
            "parcel": parcel,
            "parcel_id": None if parcel is None else warm.parcel_id(parcel),
            "matched": bool(len(near)),
            "buffer_m": buffer_m,
            "nearest_parcel_id": None,
            "distance_m": None,
        }
        if not len(near) and self.parcel_count:
            first = warm.parcels.nearest_v(np.array([[x, y]]), np.array([[x, y]]))[0]
            d = float(shapely.distance(warm.geoms[int(first[0])], point))
            lo, hi = np.array([[x - d, y - d]]), np.array([[x + d, y + d]])
            ring = np.asarray(warm.parcels.intersection_v(lo, hi)[0], dtype=np.int64)
            dist = shapely.distance(warm.geoms[ring], point)
            best = int(np.argmin(dist))
            out.update(
                nearest_parcel_id=warm.parcel_id(ring[best]), distance_m=round(dist[best], 1)
            )
        return out

    def _village_at(self, x: float, y: float, parcel: int | None) -> tuple[str, str] | None:
        """The village whose polygon holds the point, else the containing parcel's village."""
        geoms, codes, names = self.warm.villages
        hit = np.flatnonzero(shapely.contains_xy(geoms, x, y)) if len(geoms) else np.empty(0, int)
        if len(hit):
            return str(codes[hit[0]]), str(names[hit[0]])
        if parcel is not None and "village_code" in self.warm.attrs:
            row = self.warm.attrs.iloc[parcel]
            if pd.notna(row["village_code"]):
                return str(row["village_code"]), str(plain(row.get("village_name")) or "")
        return None

    def _ensure_layer(self, by: str) -> None:
        """Create an empty complaints layer, with its register row, when there is none."""
        if self.warm.complaint_top is not None:  # the layer is there (as of the refresh)
            return
        frame = empty_layer("complaints", self.warm.crs)
        frame["received_at"] = pd.Series(dtype="datetime64[ms]")
        with gate(self.ws.path).reading():  # GDAL writes the live file: no connection open
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
            self.warm.layer_created(con)

    def _rescore(
        self, con: sqlite3.Connection, fid: int, pos: NDArray[np.int64], rules: Rules, day: date
    ) -> list[dict[str, Any]]:
        """Score the complaint part of the parcels at ``pos`` as ``analyze`` would (the
        complaints around them come from the index) and store their scores."""
        if not len(pos):
            return []
        warm = self.warm
        bounds, b = shapely.bounds(warm.geoms[pos]), rules.complaints.buffer_m
        lo, hi = bounds[:, :2].min(axis=0) - b, bounds[:, 2:].max(axis=0) + b
        ids = warm.complaints.intersection_v(lo[None, :], hi[None, :])[0]
        complaints = read_complaints(con, sorted({int(i) for i in ids} | {fid}), warm.crs)
        # a complaint counts in full for the parcel it lies in and for others only when it
        # lies in none (or names them): every parcel those complaints may lie in is scored
        # beside the parcels at pos, and only the latter are stored
        around = warm.parcels.intersection_v(lo[None, :], hi[None, :])[0]
        every = np.union1d(pos, np.asarray(around, dtype=np.int64))
        attrs = warm.attrs.iloc[every].reset_index(drop=True)
        parcels = gpd.GeoDataFrame(attrs, geometry=list(warm.geoms[every]), crs=warm.crs)
        wanted = np.isin(every, pos)
        # every parcel counts as flagged here so that its complaint facts are filled
        facts = rules.model_copy(update={"flag": rules.flag.model_copy(update={"score": -1.0})})
        assert warm.empty is not None  # set by the build
        patches, problems = warm.empty
        fresh = score_parcels(parcels, complaints, patches, problems, facts, day).parcel_risk
        fresh = fresh[fresh["parcel_id"].isin(attrs.loc[wanted, "parcel_id"])]
        return store_risk(con, fresh.reset_index(drop=True), rules, warm.risk_rows())
