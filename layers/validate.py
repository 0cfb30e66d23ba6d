"""Geometry validation and repair, vectorised with shapely 2.

Each function takes a GeoDataFrame and returns one aligned to (a subset of) its index
plus the rows it rejected, with a reason code per row (see
:data:`layers.report.REJECT_REASONS`). Nothing is dropped without a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.messages import Message
from layers.schema import GeometryRule

_NONE = np.array(None, dtype=object)


@dataclass
class GeometryCheck:
    """Outcome of :func:`check_geometries`.

    Attributes
    ----------
    geometry : geopandas.GeoSeries
        Cleaned geometries of the kept rows (2-D, valid, of the expected type), same CRS
        as the input, indexed like the kept rows.
    reasons : pandas.Series
        Reject reason code per rejected row, indexed by the input index.
    repaired : int
        How many kept rows had their geometry repaired.
    """

    geometry: gpd.GeoSeries
    reasons: pd.Series
    repaired: int


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (collections after make_valid).

    Vectorised: the parts of every collection are taken apart at once and the polygons
    rebuilt into one multipolygon per collection (parts of a valid collection do not
    overlap, so no union is needed); a collection without polygons becomes empty.
    """
    out = geoms.copy()
    is_collection = shapely.get_type_id(out) == shapely.GeometryType.GEOMETRYCOLLECTION
    if not is_collection.any():
        return out
    idx = np.flatnonzero(is_collection)
    parts, owner = shapely.get_parts(out[idx], return_index=True)
    # A part may itself be a MultiPolygon: take those apart too.
    parts, sub = shapely.get_parts(parts, return_index=True)
    owner = owner[sub]
    poly = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    merged = np.full(len(idx), shapely.Polygon(), dtype=object)
    if poly.any():
        built = shapely.multipolygons(parts[poly], indices=owner[poly])
        present = np.unique(owner[poly])
        built = np.asarray(built)[present]
        single = shapely.get_num_geometries(built) == 1
        built[single] = shapely.get_geometry(built[single], 0)
        merged[present] = built
    out[idx] = merged
    return out


def check_geometries(gdf: gpd.GeoDataFrame, rule: GeometryRule) -> GeometryCheck:
    """Validate, repair and type-check the geometries of a layer.

    Null and empty geometries, geometries of the wrong type and polygons that cannot be
    repaired are rejected; Z and M are dropped; invalid polygons are repaired with
    ``make_valid`` keeping their polygonal part; single-part multipoints become points.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer in its source CRS.
    rule : {"polygon", "point", "point_optional"}
        Expected geometry; with ``point_optional`` a missing geometry is allowed.

    Returns
    -------
    GeometryCheck
    """
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    reasons = pd.Series(pd.NA, index=gdf.index, dtype="string")
    missing = shapely.is_missing(geoms)
    if rule != "point_optional":
        reasons[missing] = "null_geometry"
    present = ~missing
    geoms = np.where(present, shapely.force_2d(np.where(present, geoms, _NONE)), _NONE)
    empty = present & shapely.is_empty(np.where(present, geoms, shapely.Point()))
    reasons[empty & reasons.isna().to_numpy()] = "empty_geometry"
    ok = present & ~empty
    types = np.where(ok, shapely.get_type_id(np.where(ok, geoms, _NONE)), -1)
    repaired = np.zeros(len(geoms), dtype=bool)
    if rule == "polygon":
        wrong = ok & ~np.isin(
            types,
            [
                shapely.GeometryType.POLYGON,
                shapely.GeometryType.MULTIPOLYGON,
                shapely.GeometryType.GEOMETRYCOLLECTION,
            ],
        )
        reasons[wrong] = "wrong_geometry_type"
        todo = ok & ~wrong
        invalid = todo & ~shapely.is_valid(np.where(todo, geoms, _NONE))
        is_gc = todo & (types == shapely.GeometryType.GEOMETRYCOLLECTION)
        fix = invalid | is_gc
        if fix.any():
            fixed = _polygonal_part(shapely.make_valid(geoms[fix]))
            geoms[fix] = fixed
            bad = shapely.is_empty(fixed) | (shapely.area(fixed) <= 0)
            fix_idx = np.flatnonzero(fix)
            reasons.iloc[fix_idx[bad]] = np.where(
                is_gc[fix_idx[bad]] & ~invalid[fix_idx[bad]],
                "wrong_geometry_type",
                "invalid_geometry",
            )
            repaired[fix_idx[~bad]] = True
        flat = todo & reasons.isna().to_numpy()
        flat[flat] = shapely.area(geoms[flat]) <= 0
        reasons[flat] = "invalid_geometry"
    else:
        single_mp = ok & (types == shapely.GeometryType.MULTIPOINT)
        if single_mp.any():
            n = shapely.get_num_geometries(geoms[single_mp])
            idx = np.flatnonzero(single_mp)
            one = n == 1
            geoms[idx[one]] = shapely.get_geometry(geoms[idx[one]], 0)
            types[idx[one]] = shapely.GeometryType.POINT
        wrong = ok & (types != shapely.GeometryType.POINT)
        reasons[wrong] = "wrong_geometry_type"
    keep = reasons.isna().to_numpy()
    geometry = gpd.GeoSeries(geoms[keep], index=gdf.index[keep], crs=gdf.crs)
    return GeometryCheck(geometry, reasons[~keep], int(repaired[keep].sum()))


def outside_area(
    geometry: gpd.GeoSeries, crs: pyproj.CRS, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Flag geometries that lie wholly outside a lon/lat box.

    The ``outside`` column of :func:`check_area_of_use`: a geometry is flagged only when
    none of its parts reaches the box.

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Geometries in ``crs``; missing and empty geometries are never flagged.
    crs : pyproj.CRS
        Their CRS.
    box : tuple of float
        (min lon, min lat, max lon, max lat) in degrees.

    Returns
    -------
    numpy.ndarray of bool
        Aligned to ``geometry``.
    """
    return check_area_of_use(geometry, crs, box)["outside"].to_numpy()


def check_area_of_use(
    geometry: gpd.GeoSeries, crs: pyproj.CRS, box: tuple[float, float, float, float]
) -> pd.DataFrame:
    """Where each geometry lies with respect to a lon/lat box (a CRS's area of use).

    A part (a polygon of a multipolygon, a point) reaches the box when one of its vertices,
    converted from ``crs`` to lon/lat, lies in it, or its lon/lat outline crosses it. A
    geometry is *outside* when none of its parts reaches the box (typical of swapped
    coordinates or a wrong CRS); the parts that do not reach it in a geometry that is not
    outside are *outlying* (islands, exclaves). Geometries whose bounding-box corners all
    lie in the box are settled from those four points alone; only the others are looked
    at part by part and vertex by vertex.

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Geometries in ``crs`` (x = easting or longitude, as GDAL reads them); missing and
        empty geometries are never outside.
    crs : pyproj.CRS
        Their CRS.
    box : tuple of float
        (min lon, min lat, max lon, max lat) in degrees, e.g. from
        :func:`layers.crs.valid_lonlat_box`.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``geometry``: ``outside`` (bool), ``outlying_parts`` (int, 0 for
        geometries that are outside), and for outside geometries a vertex of their first
        part: ``x``, ``y`` in ``crs`` units, ``lon``, ``lat`` in degrees (NaN when it does
        not convert) and ``swap_inside`` (bool: with x and y swapped it lies in the box).
    """
    geoms = np.asarray(geometry.array, dtype=object)
    n = len(geoms)
    nan = np.full(n, np.nan)
    out = pd.DataFrame(
        {
            "outside": np.zeros(n, dtype=bool),
            "outlying_parts": np.zeros(n, dtype="int64"),
            "x": nan,
            "y": nan.copy(),
            "lon": nan.copy(),
            "lat": nan.copy(),
            "swap_inside": np.zeros(n, dtype=bool),
        },
        index=geometry.index,
    )
    missing = shapely.is_missing(geoms)
    present = ~missing & ~shapely.is_empty(np.where(missing, shapely.Point(), geoms))
    if not present.any():
        return out
    b = shapely.bounds(geoms[present])
    lon, lat = _to_lonlat(
        crs,
        np.concatenate([b[:, 0], b[:, 2], b[:, 0], b[:, 2]]),
        np.concatenate([b[:, 1], b[:, 3], b[:, 3], b[:, 1]]),
    )
    corners_in = _in_box(lon, lat, box).reshape(4, -1).all(axis=0)
    todo = np.flatnonzero(present)[~corners_in]
    if not len(todo):
        return out
    parts, owner = shapely.get_parts(geoms[todo], return_index=True)
    reach, first = _parts_reach(parts, crs, box)
    n_parts = np.bincount(owner, minlength=len(todo))
    n_out = np.bincount(owner, weights=~reach, minlength=len(todo)).astype("int64")
    wholly = n_out == n_parts
    out.iloc[todo, out.columns.get_loc("outside")] = wholly
    out.iloc[todo, out.columns.get_loc("outlying_parts")] = np.where(wholly, 0, n_out)
    if wholly.any():
        # get_parts keeps the input order, so each geometry's first part is where its
        # run of ``owner`` starts.
        first_part = np.searchsorted(owner, np.flatnonzero(wholly))
        quoted = first[first_part]
        rows = todo[wholly]
        for j, name in enumerate(("x", "y", "lon", "lat")):
            out.iloc[rows, out.columns.get_loc(name)] = quoted[:, j]
        swap_lon, swap_lat = _to_lonlat(crs, quoted[:, 1], quoted[:, 0])
        out.iloc[rows, out.columns.get_loc("swap_inside")] = _in_box(swap_lon, swap_lat, box)
    return out


def _to_lonlat(crs: pyproj.CRS, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``crs`` (traditional x/y order) as lon/lat degrees; inf where they
    do not convert. Geographic CRSs are read in lon/lat order, as GDAL returns them."""
    if crs.is_geographic:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    to_ll = _lonlat_transformer(crs)
    with np.errstate(invalid="ignore"):
        lon, lat = to_ll.transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


@lru_cache(maxsize=16)
def _lonlat_transformer(crs: pyproj.CRS) -> pyproj.Transformer:
    # Building a transformer takes about 0.1 s; pyproj transformers are thread-safe.
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _in_box(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (lon >= box[0])
            & (lon <= box[2])
            & (lat >= box[1])
            & (lat <= box[3])
        )


def _parts_reach(
    parts: np.ndarray, crs: pyproj.CRS, box: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Which single parts reach the box, and each part's first vertex.

    Returns
    -------
    (numpy.ndarray of bool, numpy.ndarray of float, shape (n, 4))
        Per part: whether it reaches the box; its first vertex as x, y, lon, lat (NaN for
        a part without coordinates).
    """
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    lon, lat = _to_lonlat(crs, coords[:, 0], coords[:, 1])
    n = len(parts)
    reach = np.bincount(owner, weights=_in_box(lon, lat, box), minlength=n) > 0
    counts = np.bincount(owner, minlength=n)
    has = counts > 0
    start = np.searchsorted(owner, np.arange(n))
    first = np.full((n, 4), np.nan)
    first[has] = np.column_stack([coords[start[has]], lon[start[has]], lat[start[has]]])
    # A part may cross the box with no vertex in it (a long edge over a narrow box): its
    # lon/lat outline is tested against the box when its lon/lat extent overlaps it.
    finite = np.isfinite(lon) & np.isfinite(lat)
    all_finite = np.bincount(owner, weights=~finite, minlength=n) == 0
    maybe = ~reach & has & all_finite
    if maybe.any():
        starts = start[has]
        ext = np.full((n, 4), np.nan)
        ext[has] = np.column_stack(
            [
                np.minimum.reduceat(lon, starts),
                np.minimum.reduceat(lat, starts),
                np.maximum.reduceat(lon, starts),
                np.maximum.reduceat(lat, starts),
            ]
        )
        with np.errstate(invalid="ignore"):
            maybe &= (
                (ext[:, 0] <= box[2])
                & (ext[:, 2] >= box[0])
                & (ext[:, 1] <= box[3])
                & (ext[:, 3] >= box[1])
            )
        if maybe.any():
            lonlat = shapely.transform(
                parts[maybe], lambda xy: np.column_stack(_to_lonlat(crs, xy[:, 0], xy[:, 1]))
            )
            reach[maybe] = shapely.intersects(lonlat, shapely.box(*box))
    return reach, first


def outside_detail(
    area: pd.DataFrame, crs: pyproj.CRS, label: str, box: tuple[float, float, float, float]
) -> pd.Series:
    """Reject details for geometries outside the area of use.

    Parameters
    ----------
    area : pandas.DataFrame
        Rows of :func:`check_area_of_use` (the outside ones).
    crs : pyproj.CRS
        The CRS the coordinates are in.
    label : str
        How to name that CRS (``"EPSG:4546"``).
    box : tuple of float
        The lon/lat box the check used (degrees).

    Returns
    -------
    pandas.Series of str
        Aligned to ``area``: the quoted vertex (in ``crs``, and in lon/lat when projected),
        the valid range and, only where swapping x and y puts the vertex inside, that they
        are likely swapped.
    """
    digits = 6 if crs.is_geographic else 2
    text = (
        f"{label} x="
        + area["x"].round(digits).astype("string")
        + ", y="
        + area["y"].round(digits).astype("string")
    )
    if not crs.is_geographic:
        converts = np.isfinite(area["lon"]) & np.isfinite(area["lat"])
        lonlat = (
            " (lon "
            + area["lon"].round(6).astype("string")
            + ", lat "
            + area["lat"].round(6).astype("string")
            + ")"
        )
        text = text + lonlat.where(converts, " (does not convert to lon/lat)")
    text = text + (
        f" lies outside the CRS's area of use (valid lon {box[0]:g}..{box[2]:g}, "
        f"lat {box[1]:g}..{box[3]:g})"
    )
    pair = "longitude and latitude" if crs.is_geographic else "easting and northing"
    swap = f"; with x and y swapped it lies inside: {pair} are likely swapped"
    return text.where(~area["swap_inside"].to_numpy(), text + swap)


def outlying_message(
    features: int, parts: int, sample: list[str], label: str, box: tuple[float, float, float, float]
) -> Message:
    """Warning for features kept with parts outside the area of use (islands, exclaves)."""
    lon = f"{box[0]:g}..{box[2]:g}"
    lat = f"{box[1]:g}..{box[3]:g}"
    return Message(
        "area.outlying_parts",
        f"{features} 个要素共有 {parts} 个部分（海岛、飞地等）位于 {label} 的有效范围"
        f"（经度 {lon}，纬度 {lat}）之外，如 {'、'.join(sample)}；这些部分已保留，要素照常导入。"
        "如这些部分不应在此处，请核对坐标系（--crs）。",
        f"{features} features have {parts} parts (islands, exclaves) outside the area of use "
        f"of {label} (lon {lon}, lat {lat}), e.g. {', '.join(sample)}; those parts were kept "
        "and the features imported. If they do not belong there, check the CRS (--crs).",
    )
