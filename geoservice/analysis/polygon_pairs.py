"""Polygon against polygon (workspace CRS, metres): shared areas and pairs within a distance.

:func:`overlaps` gives the area each change patch shares with each parcel;
:func:`polygon_pairs_within` the flagged parcels close enough to form one target. Both
start from STRtree candidate pairs (:func:`~geoservice.analysis.spatial.strtree`); the
point-against-polygon joins are in :mod:`geoservice.analysis.spatial`.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geoservice.analysis import lanes
from geoservice.analysis.spatial import PolygonIndex, PolygonTree, strtree

__all__ = ["overlaps", "polygon_pairs_within"]

# vertices per polygon kept for the quick "certainly within" test
_ANCHORS = 6
# a vertex pair must be this much (metres) inside the distance to settle a pair without
# GEOS, so that no pair GEOS would decide differently is settled
_ANCHOR_MARGIN = 0.01
# polygon_pairs_within queries this many polygons or more in two halves (on two threads
# when parallel)
_SPLIT_POLYGONS = 2_000
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def overlaps(
    geoms: NDArray[np.object_], index: PolygonIndex | PolygonTree
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (polygon, indexed polygon) pair sharing area, with the shared area in m².

    Returns
    -------
    geom_idx, poly_idx : ndarray of int64
    area_m2 : ndarray of float64
        Area of the intersection, square metres (> 0).
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0 or len(index.geoms) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    src, dst = index.tree.query(geoms, predicate="intersects")
    area = shapely.area(shapely.intersection(geoms[src], index.geoms[dst]))
    keep = area > 1e-6
    return src[keep].astype(np.int64), dst[keep].astype(np.int64), area[keep]


def _vertex_sample(geoms: NDArray[np.object_]) -> tuple[FloatArray, FloatArray]:
    """x and y (metres) of :data:`_ANCHORS` vertices spread along each polygon's
    coordinates, shape (n, 6); NaN for missing and empty geometries."""
    n = len(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return np.full((n, _ANCHORS), np.nan), np.full((n, _ANCHORS), np.nan)
    count = np.bincount(owner, minlength=n)
    start = np.cumsum(count) - count
    has = (count > 0)[:, None]
    # polygons without coordinates point at coordinate 0 and are masked out below
    pick = np.where(has, start[:, None] + (count[:, None] * np.arange(_ANCHORS)) // _ANCHORS, 0)
    return np.where(has, coords[pick, 0], np.nan), np.where(has, coords[pick, 1], np.nan)


def polygon_pairs_within(
    geoms: NDArray[np.object_], distance: float, parallel: bool = False
) -> tuple[IntArray, IntArray]:
    """Pairs (i, j), i < j, of ``geoms`` whose polygons are within ``distance`` metres
    (inclusive; touching and overlapping pairs included).

    Candidates are the pairs whose bounding boxes come within ``distance``; a pair is
    settled without GEOS when a vertex of one polygon lies within the distance (less
    :data:`_ANCHOR_MARGIN`) of a vertex of the other (six vertices kept per polygon), and
    the rest get the exact GEOS distance test (the polygon with more vertices prepared).
    Many polygons are queried in two halves, on two threads when ``parallel``.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = strtree(geoms)
    b = shapely.bounds(geoms)
    boxes = shapely.box(
        b[:, 0] - distance, b[:, 1] - distance, b[:, 2] + distance, b[:, 3] + distance
    )
    ax, ay = _vertex_sample(geoms)
    reach = distance - _ANCHOR_MARGIN
    counts = shapely.get_num_coordinates(geoms)
    shapely.prepare(geoms[counts > _ANCHORS])

    def half(rows: IntArray) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
        ci, cj = tree.query(boxes[rows])
        ci = rows[ci]
        forward = ci < cj
        ci, cj = ci[forward].astype(np.int64), cj[forward].astype(np.int64)
        sure = np.zeros(len(ci), dtype=bool)
        if reach > 0:
            best = np.full(len(ci), np.inf)
            for p in range(_ANCHORS):
                xi, yi = ax[ci, p], ay[ci, p]
                for q in range(_ANCHORS):
                    dx, dy = xi - ax[cj, q], yi - ay[cj, q]
                    np.minimum(best, dx * dx + dy * dy, out=best)
            sure = best <= reach * reach
        return ci, cj, sure

    n = len(geoms)
    split = n >= _SPLIT_POLYGONS
    with lanes.pool(parallel and split) as pool:
        parts = list(pool.map(half, np.array_split(np.arange(n), 2 if split else 1)))
    ci = np.concatenate([p[0] for p in parts])
    cj = np.concatenate([p[1] for p in parts])
    sure = np.concatenate([p[2] for p in parts])
    # The exact test runs in this thread only: GEOS builds a prepared polygon's facet index
    # lazily on first use and that is not thread-safe (libgeos/geos#825), so prepared
    # geometries are never used from two threads at once.
    rest = np.flatnonzero(~sure)
    # the polygon with more vertices first: its prepared (indexed) facets are used
    a, c = ci[rest], cj[rest]
    swap = counts[a] < counts[c]
    a, c = np.where(swap, c, a), np.where(swap, a, c)
    near = shapely.dwithin(geoms[a], geoms[c], distance)
    return (
        np.concatenate([ci[sure], ci[rest][near]]).astype(np.int64),
        np.concatenate([cj[sure], cj[rest][near]]).astype(np.int64),
    )
