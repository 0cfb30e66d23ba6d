"""Vectorised spatial kernels of the analysis (workspace CRS, metres).

Point-in-buffer joins are the hot path at county scale (100,000 complaints against 200,000
parcels, about a million pairs). GEOS answers them one pair at a time behind the GIL;
here the candidate pairs come from one STRtree box query and the exact point-to-polygon
distance is computed in numpy over the polygons' edges (distance to the nearest edge,
zero inside by the crossing-number rule), in chunks on a few threads (numpy releases the
GIL). Polygon overlaps go through ``shapely.intersection`` on candidate pairs only.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["PolygonIndex", "nearest", "overlaps", "points_within", "polygon_pairs_within"]

_MAX_LOOP_EDGES = 256
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class PolygonIndex:
    """An STRtree over polygons plus their ring edges as flat arrays.

    Edges are stored in float32 relative to their polygon's lower-left bounding-box corner
    (exact to well under a millimetre for polygons of a few kilometres).

    Attributes
    ----------
    geoms : ndarray of shapely geometries
        The polygons (Polygon or MultiPolygon; None and empty are never matched).
    tree : shapely.STRtree
    bounds : ndarray, shape (n, 4)
        xmin, ymin, xmax, ymax of each polygon (metres).
    cx, cy, hx, hy : ndarray
        Centre (float64) and half width and height (float32) of each bounding box.
    ex, ey, edx, edy, einv, eslope : ndarray of float32
        Per edge: start relative to the polygon's (xmin, ymin), direction, 1 / squared
        length (0 for degenerate edges) and dx / dy (0 for horizontal edges).
    start, count : ndarray of int64
        Per polygon: index of its first edge and its number of edges.
    """

    geoms: NDArray[np.object_]
    tree: shapely.STRtree
    bounds: FloatArray
    cx: FloatArray
    cy: FloatArray
    hx: NDArray[np.float32]
    hy: NDArray[np.float32]
    ex: NDArray[np.float32]
    ey: NDArray[np.float32]
    edx: NDArray[np.float32]
    edy: NDArray[np.float32]
    einv: NDArray[np.float32]
    eslope: NDArray[np.float32]
    start: IntArray
    count: IntArray

    @classmethod
    def build(cls, geoms: NDArray[np.object_]) -> PolygonIndex:
        geoms = np.asarray(geoms, dtype=object)
        bounds = shapely.bounds(geoms)
        coords, coord_geom = shapely.get_coordinates(geoms, return_index=True)
        sizes = _ring_sizes(geoms)
        ring_id = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        first = np.flatnonzero(ring_id[:-1] == ring_id[1:])
        owner = coord_geom[first].astype(np.int64)
        count = np.bincount(owner, minlength=len(geoms)).astype(np.int64)
        start = (np.cumsum(count) - count).astype(np.int64)
        x0 = coords[first, 0] - bounds[owner, 0]
        y0 = coords[first, 1] - bounds[owner, 1]
        dx = coords[first + 1, 0] - coords[first, 0]
        dy = coords[first + 1, 1] - coords[first, 1]
        len2 = dx * dx + dy * dy
        inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)
        slope = np.divide(dx, dy, out=np.zeros_like(dx), where=dy != 0)
        f32 = np.float32
        shapely.prepare(geoms[count > _MAX_LOOP_EDGES])
        return cls(
            geoms=geoms,
            tree=shapely.STRtree(geoms),
            bounds=bounds,
            cx=(bounds[:, 0] + bounds[:, 2]) / 2,
            cy=(bounds[:, 1] + bounds[:, 3]) / 2,
            hx=((bounds[:, 2] - bounds[:, 0]) / 2).astype(f32),
            hy=((bounds[:, 3] - bounds[:, 1]) / 2).astype(f32),
            ex=x0.astype(f32),
            ey=y0.astype(f32),
            edx=dx.astype(f32),
            edy=dy.astype(f32),
            einv=inv.astype(f32),
            eslope=slope.astype(f32),
            start=start,
            count=count,
        )


def _ring_sizes(geoms: NDArray[np.object_]) -> IntArray:
    """Coordinates per ring, in the order ``shapely.get_coordinates(geoms)`` lists them."""
    present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    polygons_only = np.all(shapely.get_type_id(present) == 3)
    parts = present if polygons_only else shapely.get_parts(present)
    n_int = shapely.get_num_interior_rings(parts).astype(np.int64)
    n_rings = 1 + n_int
    ring_start = np.cumsum(n_rings) - n_rings
    sizes = np.zeros(int(n_rings.sum()), dtype=np.int64)
    sizes[ring_start] = shapely.get_num_coordinates(parts)
    holed = np.flatnonzero(n_int > 0)
    if len(holed):
        rings, ring_part = shapely.get_rings(parts[holed], return_index=True)
        within = np.arange(len(ring_part)) - np.searchsorted(ring_part, ring_part)
        sizes[ring_start[holed][ring_part] + within] = shapely.get_num_coordinates(rings)
    return sizes


def _within_exact(
    index: PolygonIndex, qx: NDArray[np.float32], qy: NDArray[np.float32], poly: IntArray, r2: float
) -> NDArray[np.bool_]:
    """Whether each point (relative to its polygon's lower-left corner) is within r of it.

    Loops over edge position k, not over pairs: pairs are sorted by edge count, so the
    pairs that still have a k-th edge are a prefix and every step is a numpy operation on
    views.
    """
    count = index.count[poly]
    order = np.argsort(-count, kind="stable")
    count, qx, qy = count[order], qx[order], qy[order]
    start = index.start[poly][order]
    m = len(order)
    best = np.full(m, np.inf, dtype=np.float32)
    cross = np.zeros(m, dtype=np.int32)
    # number of pairs with count > k, for every k
    ascending = count[::-1]
    active = m - np.searchsorted(ascending, np.arange(int(count[0]) if m else 0), side="right")
    for k, n_active in enumerate(active.tolist()):
        if n_active <= 0:
            break
        e = start[:n_active] + k
        ax = index.ex[e] - qx[:n_active]
        ay = index.ey[e] - qy[:n_active]
        dx = index.edx[e]
        dy = index.edy[e]
        t = -(ax * dx + ay * dy) * index.einv[e]
        np.clip(t, 0.0, 1.0, out=t)
        cx = ax + t * dx
        cy = ay + t * dy
        np.minimum(best[:n_active], cx * cx + cy * cy, out=best[:n_active])
        straddle = (ay > 0) != ((ay + dy) > 0)
        cross[:n_active] += straddle & (ax - ay * index.eslope[e] > 0)
    hit = (best <= r2) | ((cross & 1) == 1)
    out = np.empty(m, dtype=bool)
    out[order] = hit
    return out


def points_within(
    points: NDArray[np.object_], index: PolygonIndex, distance: float
) -> tuple[IntArray, IntArray]:
    """Every (point, polygon) pair with the point inside or within ``distance`` metres.

    Candidate pairs come from an STRtree box query. A polygon touches every side of its
    bounding box, so a pair is certainly within when the point is within ``distance`` of
    some whole bounding-box side, and certainly not when it is farther than ``distance``
    from the box; only the pairs in between get the exact edge test.

    Parameters
    ----------
    points : ndarray of shapely Points
        Missing or empty points match nothing.
    index : PolygonIndex
    distance : float
        Metres, inclusive.

    Returns
    -------
    point_idx, poly_idx : ndarray of int64
        Positions into ``points`` and ``index.geoms``, sorted by point.
    """
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    points = np.asarray(points, dtype=object)
    if len(points) == 0 or len(index.geoms) == 0:
        return empty
    x = shapely.get_x(points)
    y = shapely.get_y(points)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) == 0:
        return empty
    boxes = shapely.box(x[ok] - distance, y[ok] - distance, x[ok] + distance, y[ok] + distance)
    src, poly = index.tree.query(boxes)
    pt = ok[src].astype(np.int64)
    poly = poly.astype(np.int64)
    # point relative to the box centre, folded into the first quadrant (float32 is exact
    # to a fraction of a millimetre at these offsets)
    rx = (x[pt] - index.cx[poly]).astype(np.float32)
    ry = (y[pt] - index.cy[poly]).astype(np.float32)
    hx = index.hx[poly]
    hy = index.hy[poly]
    ux = np.abs(rx)
    uy = np.abs(ry)
    r2 = np.float32(distance * distance)
    gap_x = np.maximum(ux - hx, 0)
    gap_y = np.maximum(uy - hy, 0)
    near = gap_x * gap_x + gap_y * gap_y <= r2
    # the polygon touches every side of its box: within reach of a whole side is sure
    far_x = ux + hx
    far_y = uy + hy
    side_v = (ux - hx) ** 2 + far_y * far_y
    side_h = far_x * far_x + (uy - hy) ** 2
    sure = np.minimum(side_v, side_h) <= r2
    check = np.flatnonzero(near & ~sure)
    keep = near & sure
    if len(check):
        # polygons with very many edges go to GEOS, the rest to the edge loop
        many = index.count[poly[check]] > _MAX_LOOP_EDGES
        geos = check[many]
        if len(geos):
            # prepared (indexed) distance; build() prepared these polygons
            keep[geos] = shapely.dwithin(index.geoms[poly[geos]], points[pt[geos]], distance)
        loop = check[~many]
        qx = rx[loop] + hx[loop]
        qy = ry[loop] + hy[loop]
        keep[loop] = _run_chunked(index, qx, qy, poly[loop], float(r2))
    return pt[keep], poly[keep]


def _run_chunked(
    index: PolygonIndex, qx: NDArray[np.float32], qy: NDArray[np.float32], poly: IntArray, r2: float
) -> NDArray[np.bool_]:
    workers = min(4, os.cpu_count() or 1)
    if len(poly) < 50_000 or workers == 1:
        return _within_exact(index, qx, qy, poly, r2)
    parts = np.array_split(np.arange(len(poly)), workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(
            lambda s: _within_exact(
                index, qx[s[0] : s[-1] + 1], qy[s[0] : s[-1] + 1], poly[s[0] : s[-1] + 1], r2
            ),
            parts,
        )
        return np.concatenate(list(results))


def nearest(points: NDArray[np.object_], index: PolygonIndex) -> tuple[IntArray, FloatArray]:
    """Nearest polygon and its distance (metres) for each point; -1 and NaN when none."""
    points = np.asarray(points, dtype=object)
    poly = np.full(len(points), -1, dtype=np.int64)
    dist = np.full(len(points), np.nan)
    valid = np.flatnonzero(~shapely.is_missing(points) & ~shapely.is_empty(points))
    if len(valid) == 0 or len(index.geoms) == 0:
        return poly, dist
    (src, dst), d = index.tree.query_nearest(points[valid], return_distance=True, all_matches=False)
    poly[valid[src]] = dst
    dist[valid[src]] = d
    return poly, dist


def overlaps(
    geoms: NDArray[np.object_], index: PolygonIndex
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


def polygon_pairs_within(geoms: NDArray[np.object_], distance: float) -> tuple[IntArray, IntArray]:
    """Pairs (i, j) of ``geoms`` whose polygons are within ``distance`` metres (inclusive).

    Intersecting pairs come from one STRtree query; only the remaining candidates whose
    boxes come within ``distance`` get the exact (GEOS) distance test.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    b = shapely.bounds(geoms)
    boxes = shapely.box(
        b[:, 0] - distance, b[:, 1] - distance, b[:, 2] + distance, b[:, 3] + distance
    )
    ci, cj = tree.query(boxes)
    n = len(geoms)
    touching = np.zeros(0, dtype=np.int64) if len(i) == 0 else i.astype(np.int64) * n + j
    key = ci.astype(np.int64) * n + cj
    rest = ~np.isin(key, touching) & (ci < cj)
    ci, cj = ci[rest], cj[rest]
    near = shapely.dwithin(geoms[ci], geoms[cj], distance)
    return (
        np.concatenate([i, ci[near]]).astype(np.int64),
        np.concatenate([j, cj[near]]).astype(np.int64),
    )
