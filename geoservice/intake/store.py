"""Complaint storage for the live intake: the SQLite side of :mod:`geoservice.intake.complaints`.

Small GeoPackage helpers (tables, columns), inserting one complaint row with its new id
(inside a :meth:`~geoservice.base.workspace.Workspace.sql_transaction`; the intake
numbers it, see :meth:`~geoservice.intake.warm.WarmLayers.next_number`), reading complaints back in
the order the analysis reads them, and the two public reads of stored complaints
(:func:`read_complaint`, :func:`complaints_classification`). Coordinates are in the
workspace CRS (metres) unless named lon/lat (degrees, CGCS2000).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoservice.base.errors import NotFoundError, message
from geoservice.base.gpkg_sql import gpkg_blob
from geoservice.base.workspace import DEFAULT_CLASSIFICATION, Workspace
from layers.codes import CATEGORIES

__all__ = [
    "EXTRA_COLUMNS",
    "NOW_SQL",
    "complaints_classification",
    "geometry_column",
    "gpkg_blob",
    "has_table",
    "insert_complaint",
    "plain",
    "read_complaint",
    "read_complaints",
    "table_columns",
]

EXTRA_COLUMNS = (
    "village_code",
    "village_name",
    "village_by",
    "submitted_by",
    "reporter_phone_masked",
)
NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"


def has_table(con: sqlite3.Connection, name: str) -> bool:
    """Whether the file holds a table ``name``."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return con.execute(sql, (name,)).fetchone() is not None


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """The column names of ``table`` in table order."""
    return [str(r[1]) for r in con.execute(f'PRAGMA table_info("{table}")')]


def geometry_column(con: sqlite3.Connection, table: str) -> tuple[str, int]:
    """The geometry column of a GeoPackage layer and its ``srs_id``."""
    sql = "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?"
    row = con.execute(sql, (table,)).fetchone()
    return str(row[0]), int(row[1])


def plain(value: Any) -> Any:
    """A frame value as plain Python (numpy scalars unwrapped, NaN / NA as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def insert_complaint(
    con: sqlite3.Connection, record: dict[str, Any], x: float, y: float, cid: str
) -> int:
    """Insert the complaint row with id ``cid`` at (x, y) (workspace CRS); its fid."""
    types = {str(r[1]): str(r[2]).upper() for r in con.execute("PRAGMA table_info(complaints)")}
    for col in EXTRA_COLUMNS:
        if col not in types:
            con.execute(f'ALTER TABLE complaints ADD COLUMN "{col}" TEXT')
    if types.get("received_at") == "DATE":  # a layer written with a date column
        record = {**record, "received_at": record["received_at"][:10]}
    geom, srs = geometry_column(con, "complaints")
    values = {"complaint_id": cid, **record, geom: gpkg_blob(shapely.Point(x, y), srs)}
    names = ", ".join(f'"{c}"' for c in values)
    cur = con.execute(
        f"INSERT INTO complaints ({names}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    con.execute(
        f"UPDATE gpkg_contents SET last_change = {NOW_SQL}, "
        "min_x = min(coalesce(min_x, ?1), ?1), max_x = max(coalesce(max_x, ?1), ?1), "
        "min_y = min(coalesce(min_y, ?2), ?2), max_y = max(coalesce(max_y, ?2), ?2) "
        "WHERE table_name = 'complaints'",
        (x, y),
    )
    return int(cur.lastrowid or 0)


def read_complaints(con: sqlite3.Connection, fids: list[int], crs: Any) -> gpd.GeoDataFrame:
    """The complaints with these fids in fid order (the order ``analyze`` reads them)."""
    geom, _ = geometry_column(con, "complaints")
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
    with ws.read_connection() as con:
        row = cols = None
        if has_table(con, "complaints"):
            geom, _ = geometry_column(con, "complaints")
            cols = [c for c in table_columns(con, "complaints") if c not in ("fid", geom)]
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
