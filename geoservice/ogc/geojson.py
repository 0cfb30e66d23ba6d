"""GeoJSON for OGC API - Features: geometries reprojected to CRS84, values as client text.

A page of a layer (in its projected CRS, metres) becomes GeoJSON features in CRS84
(longitude, latitude, degrees); dates and times become ISO text, and property filters
compare values as that text. The features are built as one JSON text with vectorised
string operations and parsed once, with no Python loop per feature.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

__all__ = ["LONLAT", "matches_text", "plain_values", "reproject", "to_crs84", "to_features"]

LONLAT = "EPSG:4326"  # used with always_xy, so longitude/latitude as CRS84


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached transformer (building one takes tenths of a second; they are thread-safe).

    ``EPSG:4326`` with ``always_xy`` is CRS84: longitude first.
    """
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def reproject(geoms: Any, src: str, dst: str = LONLAT) -> Any:
    """Geometries (a shapely geometry or an array of them) from CRS ``src`` to ``dst``.

    ``dst`` defaults to CRS84 (longitude, latitude, degrees); the units of ``src`` are those
    of its CRS (metres for a workspace layer).
    """
    tr = _transformer(src, dst)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def to_crs84(bounds: Sequence[float], crs: str) -> list[float] | None:
    """Bounds (minx, miny, maxx, maxy in ``crs`` units) as CRS84 degrees to 7 decimals.

    The edges are densified so the result covers the curved outline; None when a bound is
    not finite (an empty layer).
    """
    if not np.all(np.isfinite(bounds)):
        return None
    tr = _transformer(crs, LONLAT)
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return [round(v, 7) for v in tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)]


def plain_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and times as ISO text (a date alone when at midnight), other columns as they are."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        day = s.dt.strftime("%Y-%m-%d")
        out[col] = day.where(s.dt.normalize() == s, s.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


def matches_text(values: pd.Series, wanted: str) -> np.ndarray:
    """Rows whose value, as the text the client sees, equals ``wanted`` (numbers also by value)."""
    flag = pd.api.types.is_bool_dtype(values)
    text = values.map({True: "true", False: "false"}) if flag else values
    hit = (text.astype("string").fillna("") == wanted).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values) and not flag:
        number = pd.to_numeric(pd.Series([wanted]), errors="coerce").iloc[0]
        hit |= (values == number).fillna(False).to_numpy(dtype=bool)
    return hit


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object text per row (text inside is escaped, so no row spans lines)."""
    text = frame.to_json(orient="records", lines=True, force_ascii=False, double_precision=15)
    return text.rstrip("\n").split("\n")


def to_features(page: gpd.GeoDataFrame, ids: pd.Series, crs: str) -> list[dict[str, Any]]:
    """GeoJSON features in CRS84 of a page in ``crs``, built as one JSON text, parsed once."""
    if not len(page):
        return []
    geoms = reproject(page.geometry.to_numpy(), crs)
    geoms[shapely.is_empty(geoms)] = None
    geo = pd.Series(shapely.to_geojson(geoms), dtype="string").fillna("null")
    props = plain_values(pd.DataFrame(page.drop(columns=page.geometry.name)))
    prop_lines = _json_lines(props)
    id_lines = _json_lines(pd.DataFrame({"id": ids.to_numpy()}))
    text = (
        '{"type":"Feature",'
        + pd.Series(id_lines, dtype="string").str[1:-1]
        + ',"geometry":'
        + geo.to_numpy()
        + ',"properties":'
        + pd.Series(prop_lines, dtype="string")
        + "}"
    )
    parsed: list[dict[str, Any]] = json.loads("[" + ",".join(text.tolist()) + "]")
    return parsed
