"""Geometry validation and repair, vectorised with shapely 2.

Each function takes a GeoDataFrame and returns one aligned to (a subset of) its index
plus the rows it rejected, with a reason code per row (see
:data:`layers.report.REJECT_REASONS`). Nothing is dropped without a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

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
    """Flag geometries whose coordinates fall outside a lon/lat box.

    The bounds of each geometry are transformed from ``crs`` to lon/lat (EPSG:4326
    traditional order); a geometry is outside when any corner is outside ``box`` or does
    not transform (typical of swapped latitude/longitude or swapped easting/northing).

    Parameters
    ----------
    geometry : geopandas.GeoSeries
        Geometries in ``crs``; missing geometries are never flagged.
    crs : pyproj.CRS
        Their CRS.
    box : tuple of float
        (min lon, min lat, max lon, max lat) in degrees.

    Returns
    -------
    numpy.ndarray of bool
        Aligned to ``geometry``.
    """
    geoms = np.asarray(geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(
        np.where(shapely.is_missing(geoms), shapely.Point(), geoms)
    )
    flags = np.zeros(len(geoms), dtype=bool)
    if not present.any():
        return flags
    b = shapely.bounds(geoms[present])
    if crs.is_geographic:
        # Geographic CRSs are read in traditional lon/lat order by GDAL.
        lon = np.concatenate([b[:, 0], b[:, 2]])
        lat = np.concatenate([b[:, 1], b[:, 3]])
    else:
        to_ll = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        xs = np.concatenate([b[:, 0], b[:, 2], b[:, 0], b[:, 2]])
        ys = np.concatenate([b[:, 1], b[:, 3], b[:, 3], b[:, 1]])
        with np.errstate(invalid="ignore"):
            lon, lat = to_ll.transform(xs, ys, errcheck=False)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    with np.errstate(invalid="ignore"):
        out_pt = ~(
            np.isfinite(lon)
            & np.isfinite(lat)
            & (lon >= box[0])
            & (lon <= box[2])
            & (lat >= box[1])
            & (lat <= box[3])
        )
    n = int(present.sum())
    flags[present] = out_pt.reshape(-1, n).any(axis=0)
    return flags
