"""Vectorised spatial kernels of the analysis (workspace CRS, metres).

Point-in-buffer joins are the hot path at county scale (100,000 complaints against 200,000
parcels, about a million pairs). GEOS answers them one pair at a time behind the GIL;
here the candidate pairs come from one STRtree box query and the exact point-to-polygon
distance is computed in numpy over the polygons' edges (distance to the nearest edge,
zero inside by the crossing-number rule), in chunks, on two threads when the caller asks
for them (numpy releases the GIL). Most candidates never reach that test: a pair is
certainly within reach when the point is near a whole side of the polygon's bounding box
or near one of a few of the polygon's own vertices. Polygon against polygon (overlaps,
pairs within a distance) is in :mod:`geoservice.analysis.polygon_pairs`.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geoservice.analysis import lanes
from geoservice.analysis.edges import within_exact

__all__ = [
    "PolygonIndex",
    "PolygonTree",
    "nearest",
    "points_within",
    "strtree",
]

_MAX_LOOP_EDGES = 256
# vertices per polygon kept for the quick "certainly within" test
_ANCHORS = 6
# a vertex must be this much (metres) inside the distance to settle a pair without the
# edge test, so that no pair the float32 edge test would decide differently is settled
_ANCHOR_MARGIN = 0.01
# points_within spreads this many points or more over two threads
_SPLIT_POINTS = 20_000
# points per block of candidate pairs: every temporary array of a block stays small
# (well under the 4 MiB from which numpy asks the kernel for huge pages), so the blocks
# reuse the same memory instead of touching new pages
_BLOCK_POINTS = 8192
# polygons per block when their edges are computed (same reason)
_BLOCK_POLYGONS = 16384
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
    anchor_x, anchor_y : ndarray of float32, shape (6, n)
        Six boundary vertices of each polygon, spread along its edges, relative to the
        centre of its bounding box (metres; float32 is within a few millimetres even for a
        polygon 100 km across, well inside :data:`_ANCHOR_MARGIN`): a point within the
        distance of one of them is within the distance of the polygon.
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
    anchor_x: NDArray[np.float32]
    anchor_y: NDArray[np.float32]

    @classmethod
    def build(cls, geoms: NDArray[np.object_], tree: shapely.STRtree | None = None) -> PolygonIndex:
        """Index ``geoms``: their edges block by block, and ``tree`` (an STRtree over the
        same ``geoms``, see :class:`PolygonTree`) or a new STRtree.

        Both steps hold the GIL for most of their time (shapely reads coordinates and
        builds trees with it), so they run one after the other in the calling thread;
        the blocks keep every temporary small.
        """
        geoms = np.asarray(geoms, dtype=object)
        built = tree if tree is not None else strtree(geoms)
        spans = itertools.pairwise([*range(0, len(geoms), _BLOCK_POLYGONS), len(geoms)])
        blocks = [_edges(geoms[a:b]) for a, b in spans]
        if blocks:
            bounds = np.concatenate([b.bounds for b in blocks])
        else:
            bounds = np.zeros((0, 4), dtype=np.float64)
        cx = (bounds[:, 0] + bounds[:, 2]) / 2
        cy = (bounds[:, 1] + bounds[:, 3]) / 2
        count = np.concatenate([b.count for b in blocks]) if blocks else np.zeros(0, np.int64)
        start = (np.cumsum(count) - count).astype(np.int64)

        def joined(name: str) -> NDArray[np.float32]:
            parts = [getattr(b, name) for b in blocks]
            return np.concatenate(parts) if parts else np.zeros(0, np.float32)

        if blocks:
            anchor = np.concatenate([b.anchor for b in blocks], axis=2)
        else:
            anchor = np.zeros((2, _ANCHORS, 0), dtype=np.float32)
        shapely.prepare(geoms[count > _MAX_LOOP_EDGES])
        return cls(
            geoms=geoms,
            tree=built,
            bounds=bounds,
            cx=cx,
            cy=cy,
            hx=((bounds[:, 2] - bounds[:, 0]) / 2).astype(np.float32),
            hy=((bounds[:, 3] - bounds[:, 1]) / 2).astype(np.float32),
            ex=joined("ex"),
            ey=joined("ey"),
            edx=joined("edx"),
            edy=joined("edy"),
            einv=joined("einv"),
            eslope=joined("eslope"),
            start=start,
            count=count,
            anchor_x=anchor[0],
            anchor_y=anchor[1],
        )


@dataclass(frozen=True)
class PolygonTree:
    """An STRtree over polygons, without the edge arrays of :class:`PolygonIndex`: what
    :func:`overlaps` needs, ready before the edges are computed.

    Attributes
    ----------
    geoms : ndarray of shapely geometries
    tree : shapely.STRtree
    """

    geoms: NDArray[np.object_]
    tree: shapely.STRtree

    @classmethod
    def build(cls, geoms: NDArray[np.object_]) -> PolygonTree:
        geoms = np.asarray(geoms, dtype=object)
        return cls(geoms, strtree(geoms))


def strtree(geoms: NDArray[np.object_]) -> shapely.STRtree:
    """An STRtree over ``geoms``, built now (GEOS builds it at the first query otherwise,
    which two threads querying at once must not both do)."""
    tree = shapely.STRtree(geoms)
    tree.query(shapely.box(0.0, 0.0, 0.0, 0.0))
    return tree


@dataclass
class _Edges:
    """The edges of a block of polygons (see :class:`PolygonIndex`); ``anchor`` holds the
    x and y of the anchor vertices relative to the box centre, shape (2, 6, n);
    ``bounds`` the polygons' bounding boxes."""

    bounds: FloatArray
    count: IntArray
    ex: NDArray[np.float32]
    ey: NDArray[np.float32]
    edx: NDArray[np.float32]
    edy: NDArray[np.float32]
    einv: NDArray[np.float32]
    eslope: NDArray[np.float32]
    anchor: NDArray[np.float32]


def _edges(geoms: NDArray[np.object_]) -> _Edges:
    """Edge arrays of a block of polygons: an edge starts at every coordinate but the last
    of its ring; values relative to the polygon's lower-left corner."""
    bounds = shapely.bounds(geoms)
    coords, coord_geom = shapely.get_coordinates(geoms, return_index=True)
    sizes = _ring_sizes(geoms)
    is_start = np.ones(len(coords), dtype=bool)
    is_start[np.cumsum(sizes[sizes > 0]) - 1] = False
    first = np.flatnonzero(is_start)
    owner = coord_geom[first]
    count = np.bincount(owner, minlength=len(geoms)).astype(np.int64)
    start = np.cumsum(count) - count
    xs, ys = coords[first, 0], coords[first, 1]
    dx = coords[first + 1, 0] - xs
    dy = coords[first + 1, 1] - ys
    len2 = dx * dx + dy * dy
    inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)
    slope = np.divide(dx, dy, out=np.zeros_like(dx), where=dy != 0)
    # anchors: vertices at 0, 1/6, ... 5/6 of each polygon's edge list; polygons without
    # edges get their box centre instead (never used: they match nothing)
    anchor = np.zeros((2, _ANCHORS, len(geoms)), dtype=np.float32)
    if len(first):
        pick = np.minimum(
            start + (count * np.arange(_ANCHORS)[:, None]) // _ANCHORS, len(first) - 1
        )
        has = count > 0
        cx = (bounds[:, 0] + bounds[:, 2]) / 2
        cy = (bounds[:, 1] + bounds[:, 3]) / 2
        anchor[0] = np.where(has, xs[pick] - cx, 0.0)
        anchor[1] = np.where(has, ys[pick] - cy, 0.0)
    f32 = np.float32
    return _Edges(
        bounds=bounds,
        count=count,
        ex=(xs - bounds[owner, 0]).astype(f32),
        ey=(ys - bounds[owner, 1]).astype(f32),
        edx=dx.astype(f32),
        edy=dy.astype(f32),
        einv=inv.astype(f32),
        eslope=slope.astype(f32),
        anchor=anchor,
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


def _near_anchor(
    index: PolygonIndex, rx: FloatArray, ry: FloatArray, poly: IntArray, distance: float
) -> NDArray[np.bool_]:
    """Whether each point (relative to its polygon's box centre) is certainly within reach.

    True when some anchor vertex of the polygon is within ``distance`` less
    :data:`_ANCHOR_MARGIN`; pairs closer to the limit than that are left to the edge test.
    """
    reach = distance - _ANCHOR_MARGIN
    if reach <= 0 or len(poly) == 0:
        return np.zeros(len(poly), dtype=bool)
    best = np.full(len(poly), np.inf)
    for k in range(_ANCHORS):
        ax = index.anchor_x[k][poly] - rx
        ay = index.anchor_y[k][poly] - ry
        np.minimum(best, ax * ax + ay * ay, out=best)
    return best <= reach * reach


@dataclass
class _Candidates:
    """The candidate pairs of one block of points: settled ones and ones left to test.

    ``keep`` says which (point, polygon) pairs are within reach so far; ``check`` lists
    the pairs still to test exactly, with the point relative to the polygon's lower-left
    corner (``qx``, ``qy``, float32).
    """

    pt: IntArray
    poly: IntArray
    keep: NDArray[np.bool_]
    check: IntArray
    qx: NDArray[np.float32]
    qy: NDArray[np.float32]


def points_within(
    points: NDArray[np.object_], index: PolygonIndex, distance: float, parallel: bool = False
) -> tuple[IntArray, IntArray]:
    """Every (point, polygon) pair with the point inside or within ``distance`` metres.

    Candidate pairs come from an STRtree box query. A polygon touches every side of its
    bounding box, so a pair is certainly within when the point is within ``distance`` of
    some whole bounding-box side or of one of the polygon's anchor vertices, and certainly
    not when it is farther than ``distance`` from the box; only the pairs in between get
    the exact edge test. Points are taken in blocks (small arrays, reused memory), on
    two threads when ``parallel`` (and there are many).

    Parameters
    ----------
    points : ndarray of shapely Points
        Missing or empty points match nothing.
    index : PolygonIndex
    distance : float
        Metres, inclusive.
    parallel : bool
        Spread the blocks over :data:`~geoservice.analysis.lanes.WORKERS` threads
        (same result; default: the calling thread only).

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
    blocks = np.array_split(ok, -(-len(ok) // _BLOCK_POINTS))
    with lanes.pool(parallel and len(ok) >= _SPLIT_POINTS) as pool:
        found = list(pool.map(lambda part: _candidates(x, y, part, index, distance), blocks))
        _settle(points, index, distance, found, pool)
    pt = np.concatenate([c.pt[c.keep] for c in found])
    poly = np.concatenate([c.poly[c.keep] for c in found])
    return pt, poly


def _candidates(
    x: FloatArray, y: FloatArray, ok: IntArray, index: PolygonIndex, distance: float
) -> _Candidates:
    """Candidate pairs of the points at positions ``ok``, settled where the boxes allow."""
    boxes = shapely.box(x[ok] - distance, y[ok] - distance, x[ok] + distance, y[ok] + distance)
    src, poly = index.tree.query(boxes)
    del boxes
    pt = ok[src].astype(np.int64, copy=False)
    poly = poly.astype(np.int64, copy=False)
    # point relative to the box centre (metres)
    rx64 = x[pt] - index.cx[poly]
    ry64 = y[pt] - index.cy[poly]
    # folded into the first quadrant (float32 is exact to a fraction of a millimetre at
    # these offsets)
    ux = np.abs(rx64.astype(np.float32))
    uy = np.abs(ry64.astype(np.float32))
    hx = index.hx[poly]
    hy = index.hy[poly]
    r2 = np.float32(distance * distance)
    # beyond the box on each axis (negative inside)
    out_x = ux - hx
    out_y = uy - hy
    gap_x = np.maximum(out_x, 0)
    gap_y = np.maximum(out_y, 0)
    near = gap_x * gap_x + gap_y * gap_y <= r2
    # the polygon touches every side of its box: within reach of a whole side is sure
    far_x = ux + hx
    far_y = uy + hy
    sure = np.minimum(out_x * out_x + far_y * far_y, far_x * far_x + out_y * out_y) <= r2
    check = np.flatnonzero(near & ~sure)
    keep = near & sure
    if len(check):
        anchored = _near_anchor(index, rx64[check], ry64[check], poly[check], distance)
        keep[check[anchored]] = True
        check = check[~anchored]
    qx = rx64[check].astype(np.float32) + hx[check]
    qy = ry64[check].astype(np.float32) + hy[check]
    return _Candidates(pt, poly, keep, check, qx, qy)


def _settle(
    points: NDArray[np.object_],
    index: PolygonIndex,
    distance: float,
    found: list[_Candidates],
    pool: Executor,
) -> None:
    """Test the pairs the boxes and anchors left open, exactly, and mark those within.

    Polygons with very many edges go to GEOS (prepared, float64), the rest to the float32
    edge test, all blocks at once, in two halves on ``pool``.
    """
    sizes = [len(c.check) for c in found]
    if sum(sizes) == 0:
        return
    pt = np.concatenate([c.pt[c.check] for c in found])
    poly = np.concatenate([c.poly[c.check] for c in found])
    qx = np.concatenate([c.qx for c in found])
    qy = np.concatenate([c.qy for c in found])
    hit = np.empty(len(poly), dtype=bool)
    many = index.count[poly] > _MAX_LOOP_EDGES
    if many.any():
        # prepared (indexed) distance; build() prepared these polygons
        hit[many] = shapely.dwithin(index.geoms[poly[many]], points[pt[many]], distance)
    loop = np.flatnonzero(~many)
    r2 = float(np.float32(distance * distance))
    halves = np.array_split(loop, 2) if len(loop) >= _SPLIT_POINTS else [loop]
    for part, result in zip(
        halves,
        pool.map(lambda part: within_exact(index, qx[part], qy[part], poly[part], r2), halves),
        strict=True,
    ):
        hit[part] = result
    offsets = np.cumsum([0, *sizes])
    for c, lo, hi in zip(found, offsets[:-1], offsets[1:], strict=True):
        c.keep[c.check[hit[lo:hi]]] = True


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
