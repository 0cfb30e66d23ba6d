"""The exact point-to-polygon test of :func:`geoservice.analysis.spatial.points_within`.

Distance from each point to the nearest edge of its polygon and the crossing-number
parity, in float32 on the edge arrays of a
:class:`~geoservice.analysis.spatial.PolygonIndex` (points and edges relative to the
polygon's lower-left corner, metres), with numpy (which releases the GIL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from geoservice.analysis.spatial import PolygonIndex

__all__ = ["within_exact"]

IntArray = NDArray[np.int64]
# the edge loop handles polygons with up to this many edges; more go one row per edge
_LOOP_EDGES = 32
# rows (pair x edge) per batch of the one-row-per-edge test
_EDGE_ROWS = 1 << 17


def within_exact(
    index: PolygonIndex, qx: NDArray[np.float32], qy: NDArray[np.float32], poly: IntArray, r2: float
) -> NDArray[np.bool_]:
    """Whether each point (relative to its polygon's lower-left corner) is within r of it.

    Distance to the nearest edge and crossing-number parity, in float32. Pairs of
    polygons with up to :data:`_LOOP_EDGES` edges go through :func:`_edge_loop`, the few
    with more through :func:`_edge_rows`; both compute the same numbers.
    """
    count = index.count[poly]
    out = np.empty(len(poly), dtype=bool)
    short = count <= _LOOP_EDGES
    out[short] = _edge_loop(index, qx[short], qy[short], poly[short], r2)
    long = ~short
    if long.any():
        out[long] = _edge_rows(index, qx[long], qy[long], poly[long], r2)
    return out


def _edge_step(
    index: PolygonIndex, e: IntArray, qx: NDArray[np.float32], qy: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Squared distance from each point to edge ``e`` and whether the edge crosses the ray
    going right from the point (points relative to the polygon's lower-left corner)."""
    ax = index.ex[e] - qx
    ay = index.ey[e] - qy
    dx = index.edx[e]
    dy = index.edy[e]
    t = -(ax * dx + ay * dy) * index.einv[e]
    np.clip(t, 0.0, 1.0, out=t)
    cx = ax + t * dx
    cy = ay + t * dy
    straddle = (ay > 0) != ((ay + dy) > 0)
    return cx * cx + cy * cy, straddle & (ax - ay * index.eslope[e] > 0)


def _edge_loop(
    index: PolygonIndex, qx: NDArray[np.float32], qy: NDArray[np.float32], poly: IntArray, r2: float
) -> NDArray[np.bool_]:
    """:func:`within_exact` looping over edge position k, not over pairs.

    Pairs are sorted by edge count, so the pairs that still have a k-th edge are a prefix
    and every step is a numpy operation on views. Within one edge count the pairs are
    sorted by polygon, so that the edges read at each step lie close together in memory.
    """
    count = index.count[poly]
    top = int(count.max()) if len(count) else 0
    order = np.argsort((top - count) * len(index.count) + poly)
    count, qx, qy = count[order], qx[order], qy[order]
    start = index.start[poly][order]
    m = len(order)
    best = np.full(m, np.inf, dtype=np.float32)
    cross = np.zeros(m, dtype=np.int32)
    # number of pairs with count > k, for every k
    ascending = count[::-1]
    active = m - np.searchsorted(ascending, np.arange(top), side="right")
    for k, n_active in enumerate(active.tolist()):
        if n_active <= 0:
            break
        d2, crossing = _edge_step(index, start[:n_active] + k, qx[:n_active], qy[:n_active])
        np.minimum(best[:n_active], d2, out=best[:n_active])
        cross[:n_active] += crossing
    hit = (best <= r2) | ((cross & 1) == 1)
    out = np.empty(m, dtype=bool)
    out[order] = hit
    return out


def _edge_rows(
    index: PolygonIndex, qx: NDArray[np.float32], qy: NDArray[np.float32], poly: IntArray, r2: float
) -> NDArray[np.bool_]:
    """:func:`within_exact` with one row per (pair, edge), reduced per pair.

    For polygons with many edges, where looping over the edge position would take many
    nearly empty steps. Pairs are taken in batches of about :data:`_EDGE_ROWS` rows.
    """
    count = index.count[poly]
    out = np.empty(len(poly), dtype=bool)
    ends = np.cumsum(count)
    lo = 0
    while lo < len(poly):
        base = ends[lo] - count[lo]
        hi = max(int(np.searchsorted(ends, base + _EDGE_ROWS, side="right")), lo + 1)
        cnt = count[lo:hi]
        first = np.cumsum(cnt) - cnt
        pair = np.repeat(np.arange(hi - lo), cnt)
        e = np.arange(int(cnt.sum())) + np.repeat(index.start[poly[lo:hi]] - first, cnt)
        d2, crossing = _edge_step(index, e, qx[lo:hi][pair], qy[lo:hi][pair])
        best = np.minimum.reduceat(d2, first)
        odd = np.add.reduceat(crossing.astype(np.int32), first) & 1
        out[lo:hi] = (best <= r2) | (odd == 1)
        lo = hi
    return out
