"""The landscape of the sample data: outline, land cells, rivers, villages, towns, counties.

All coordinates are planar metres in CGCS2000 / 3-degree Gauss-Kruger CM 111E
(EPSG:4546, x = easting, y = northing). The land is cut into small Voronoi cells (one per
generator point); villages are unions of whole cells, so they tile the area exactly and
forest sub-compartments cut from the cells never cross a village boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geoservice.sample.text import COUNTY_CODES, NAME_HEADS, NAME_TAILS, VILLAGE_NAMES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Town centre: about 112.4E 24.8N in EPSG:4546 (metres).
CENTER_X, CENTER_Y = 641_500.0, 2_744_600.0
#: Spacing (m) of the fine lattice the cell generators are thinned from.
LATTICE_M = 120.0
#: Distances to rivers are measured up to this many metres (farther counts as this far).
FAR_M = 3_000.0
#: Share of lattice points kept as cell generators (mean cell area = LATTICE_M**2 / KEEP).
KEEP = 0.6


class Field:
    """A smooth random field: a sum of plane cosine waves, standardised to unit variance.

    Parameters
    ----------
    rng : numpy.random.Generator
    wavelengths : tuple of float
        Shortest and longest wavelength in metres.
    waves : int
        Number of waves summed.
    """

    def __init__(self, rng: np.random.Generator, wavelengths: tuple[float, float], waves: int = 8):
        lam = np.exp(rng.uniform(np.log(wavelengths[0]), np.log(wavelengths[1]), waves))
        theta = rng.uniform(0.0, np.pi, waves)
        self._kx = 2 * np.pi * np.cos(theta) / lam
        self._ky = 2 * np.pi * np.sin(theta) / lam
        self._phase = rng.uniform(0.0, 2 * np.pi, waves)
        amp = lam / lam.max()
        self._amp = amp / np.sqrt((amp**2).sum() / 2)

    def __call__(self, x: FloatArray, y: FloatArray) -> FloatArray:
        out = np.zeros(np.shape(x))
        for kx, ky, ph, a in zip(self._kx, self._ky, self._phase, self._amp, strict=True):
            out += a * np.cos(kx * (x - CENTER_X) + ky * (y - CENTER_Y) + ph)
        return out


def outline(rng: np.random.Generator, area_m2: float) -> shapely.Polygon:
    """An irregular blob of ``area_m2`` square metres centred on the town centre."""
    theta = np.linspace(0.0, 2 * np.pi, 361)[:-1]
    r = np.ones_like(theta)
    for k in range(2, 6):
        r += rng.uniform(0.02, 0.14 / (k - 1)) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    ring = np.c_[r * np.cos(theta), r * np.sin(theta)]
    unit = shapely.Polygon(ring)
    scale = np.sqrt(area_m2 / unit.area)
    return shapely.Polygon(ring * scale + [CENTER_X, CENTER_Y])


def make_rivers(rng: np.random.Generator, radius: float, count: int) -> list[shapely.LineString]:
    """Sinuous rivers crossing the area; the first passes near the centre.

    Each is a polyline with a vertex every 20 m, long enough to leave the area at both ends.
    """
    rivers = []
    for i in range(count):
        angle = rng.uniform(0.35, 0.75) * np.pi if i == 0 else rng.uniform(0, np.pi)
        offset = rng.uniform(-0.12, 0.12) * radius if i == 0 else rng.uniform(-0.7, 0.7) * radius
        half = 1.6 * radius
        t = np.arange(-half, half, 20.0)
        n = np.full_like(t, offset)
        for lam, amp in ((3500.0, 380.0), (1400.0, 140.0), (9000.0, 700.0)):
            n += rng.uniform(0.5, 1.0) * amp * np.sin(2 * np.pi * t / lam + rng.uniform(0, 6.3))
        ux, uy = np.cos(angle), np.sin(angle)
        x = CENTER_X + t * ux - n * uy
        y = CENTER_Y + t * uy + n * ux
        rivers.append(shapely.LineString(np.c_[x, y]))
    return rivers


def river_segments(rivers: list[shapely.LineString]) -> NDArray[np.object_]:
    """Every river as its two-point segments (one river per call, not per segment)."""
    segs = []
    for line in rivers:
        c = shapely.get_coordinates(line)
        segs.append(shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1)))
    return np.concatenate(segs)


def river_distance(rivers: list[shapely.LineString], x: FloatArray, y: FloatArray) -> FloatArray:
    """Distance (m) from each point to the nearest river, capped at :data:`FAR_M`."""
    tree = shapely.STRtree(river_segments(rivers))
    (src, _), dist = tree.query_nearest(
        shapely.points(x, y), max_distance=FAR_M, return_distance=True, all_matches=False
    )
    out = np.full(len(x), FAR_M)
    out[src] = dist
    return out


def elevation(field: Field, river_d: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Raw relief: smooth hills plus a valley along every river (unitless)."""
    return field(x, y) + 1.6 * np.clip(river_d / 2500.0, 0.0, 1.0)


@dataclass
class Cells:
    """Land cells: Voronoi polygons of thinned lattice points inside the outline.

    Attributes
    ----------
    geoms : ndarray of shapely.Polygon
    x, y : ndarray
        Generator points (m, EPSG:4546); each lies in its cell.
    elev : ndarray
        Relief as a quantile in [0, 1).
    river_d : ndarray
        Distance to the nearest river (m).
    """

    geoms: NDArray[np.object_]
    x: FloatArray
    y: FloatArray
    elev: FloatArray
    river_d: FloatArray


def make_cells(
    rng: np.random.Generator, shape: shapely.Polygon, count: int, rivers: list[shapely.LineString]
) -> Cells:
    """Cut the area inside ``shape`` into exactly ``count`` Voronoi cells.

    Generators are lattice points jittered within their lattice square and thinned with a
    probability that is higher in valleys (small plantation parcels) than on ridges (large
    natural-forest parcels). Points just outside the shape bound the edge cells.
    """
    xmin, ymin, xmax, ymax = shapely.buffer(shape, 6 * LATTICE_M).bounds
    gx = np.arange(xmin, xmax, LATTICE_M)
    gy = np.arange(ymin, ymax, LATTICE_M)
    px, py = (a.ravel() for a in np.meshgrid(gx, gy))
    px = px + rng.random(px.size) * LATTICE_M
    py = py + rng.random(py.size) * LATTICE_M
    u = rng.random(px.size)
    near = shapely.contains_xy(shapely.buffer(shape, 4 * LATTICE_M), px, py)
    px, py, u = px[near], py[near], u[near]
    inside = shapely.contains_xy(shape, px, py)
    field = Field(rng, (1500.0, 9000.0))
    rd = river_distance(rivers, px, py)
    raw = elevation(field, rd, px, py)
    keep_p = 0.3 + 0.7 / (1.0 + np.exp(1.5 * (raw - np.median(raw[inside]))))
    key = u / keep_p
    threshold = np.partition(key[inside], count - 1)[count - 1]
    chosen_in = np.flatnonzero(inside & (key <= threshold))[:count]
    guard = np.flatnonzero(~inside & (key <= threshold))
    order = np.r_[chosen_in, guard]
    pts = shapely.multipoints(np.c_[px[order], py[order]])
    envelope = shapely.box(xmin, ymin, xmax, ymax)
    vor = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=envelope, ordered=True))
    raw_in = raw[chosen_in]
    rank = np.empty(count)
    rank[np.argsort(raw_in, kind="stable")] = np.arange(count) / count
    return Cells(vor[:count], px[chosen_in], py[chosen_in], rank, rd[chosen_in])


def nearest(seed_x: FloatArray, seed_y: FloatArray, x: FloatArray, y: FloatArray) -> IntArray:
    """Index of the nearest seed for each point (STRtree, ties to the lowest index)."""
    tree = shapely.STRtree(shapely.points(seed_x, seed_y))
    (src, dst) = tree.query_nearest(shapely.points(x, y), all_matches=False)
    out = np.empty(len(x), dtype=np.int64)
    out[src] = dst
    return out


def lloyd(
    rng: np.random.Generator, x: FloatArray, y: FloatArray, k: int, weights: FloatArray, rounds: int
) -> tuple[FloatArray, FloatArray]:
    """``k`` seeds spread over weighted points by Lloyd relaxation (k-means)."""
    start = rng.choice(len(x), size=k, replace=False, p=weights / weights.sum())
    sx, sy = x[start].copy(), y[start].copy()
    for _ in range(rounds):
        lab = nearest(sx, sy, x, y)
        w = np.bincount(lab, weights, minlength=k)
        ok = w > 0
        sx[ok] = np.bincount(lab, weights * x, minlength=k)[ok] / w[ok]
        sy[ok] = np.bincount(lab, weights * y, minlength=k)[ok] / w[ok]
    return sx, sy


def north_west_rank(group: IntArray, x: FloatArray, y: FloatArray) -> IntArray:
    """0-based rank of each item within its group, numbered north to south, west to east."""
    order = np.lexsort((np.round(x, -1), -np.round(y, -2), group))
    g = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(g)) - first
    return rank


@dataclass
class Villages:
    """Village polygons and their codes.

    Attributes
    ----------
    geoms : ndarray of shapely geometry
        Union of the village's cells (EPSG:4546).
    code : ndarray of str
        12-digit code: 6-digit county + 3-digit town + 3-digit village.
    name : ndarray of str
    county, town, village : ndarray of str
        The 6-, 3- and 3-digit parts of ``code``.
    settle_x, settle_y : ndarray
        The village settlement (its lowest cell), m.
    of_cell : ndarray of int
        Village index of every land cell.
    """

    geoms: NDArray[np.object_]
    code: NDArray[np.str_]
    name: NDArray[np.str_]
    county: NDArray[np.str_]
    town: NDArray[np.str_]
    village: NDArray[np.str_]
    settle_x: FloatArray
    settle_y: FloatArray
    of_cell: IntArray


def village_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct village names: the fixed list first (shuffled), then compounds.

    Compounds are two syllables (东坪村) and, when those run out, three (东坪塘村).
    """
    fixed = [str(n) for n in rng.permutation(np.array(VILLAGE_NAMES))]
    if count <= len(fixed):
        return fixed[:count]
    heads = np.array(NAME_HEADS)[:, None]
    tails = np.array(NAME_TAILS)
    two = np.char.add(np.char.add(heads, tails[None, :]), "村").ravel()
    i, j = np.nonzero(tails[:, None] != tails[None, :])
    three = np.char.add(np.char.add(heads, np.char.add(tails[i], tails[j])[None, :]), "村").ravel()
    pool = np.r_[rng.permutation(np.setdiff1d(two, fixed)), rng.permutation(three)]
    pool = pool[np.sort(np.unique(pool, return_index=True)[1])]
    return fixed + [str(n) for n in pool[: count - len(fixed)]]


def make_villages(
    rng: np.random.Generator, cells: Cells, n_villages: int, per_town: int, counties: int
) -> Villages:
    """Group cells into villages, villages into towns and towns into counties.

    Village seeds come from Lloyd relaxation over the cells; each cell joins the seed nearest
    to its generator after a smooth warp, so village boundaries wander like real ones.
    """
    n = len(cells.x)
    sample = rng.choice(n, size=min(n, 60_000), replace=False)
    ones = np.ones(len(sample))
    sx, sy = lloyd(rng, cells.x[sample], cells.y[sample], n_villages, ones, rounds=8)
    spacing = np.sqrt(shapely.area(cells.geoms).sum() / n_villages)
    wx, wy = Field(rng, (1.2 * spacing, 3 * spacing), 6), Field(rng, (1.2 * spacing, 3 * spacing))
    amp = 0.18 * spacing
    of_cell = nearest(
        sx, sy, cells.x + amp * wx(cells.x, cells.y), cells.y + amp * wy(cells.x, cells.y)
    )
    counts = np.bincount(of_cell, minlength=n_villages)
    if (counts == 0).any():
        of_cell = nearest(sx, sy, cells.x, cells.y)
        counts = np.bincount(of_cell, minlength=n_villages)
    vx = np.bincount(of_cell, cells.x, minlength=n_villages) / counts
    vy = np.bincount(of_cell, cells.y, minlength=n_villages) / counts
    n_towns = max(1, round(n_villages / per_town))
    n_counties = min(counties, n_towns, len(COUNTY_CODES))
    tx, ty = lloyd(rng, vx, vy, n_towns, counts.astype(float), rounds=10)
    town_of = nearest(tx, ty, vx, vy)
    cx, cy = lloyd(rng, tx, ty, n_counties, np.ones(n_towns), rounds=10)
    county_of_town = nearest(cx, cy, tx, ty)
    county_rank = north_west_rank(np.zeros(n_counties, dtype=np.int64), cx, cy)
    town_rank = north_west_rank(county_of_town, tx, ty)
    village_rank = north_west_rank(town_of, vx, vy)
    county = np.array(COUNTY_CODES)[county_rank[county_of_town[town_of]]]
    town = np.char.zfill((101 + town_rank[town_of]).astype(str), 3)
    village = (201 + village_rank).astype(str)
    code = np.char.add(np.char.add(county, town), village)
    order = np.argsort(code, kind="stable")
    remap = np.empty(n_villages, dtype=np.int64)
    remap[order] = np.arange(n_villages)
    of_cell = remap[of_cell]
    code, county, town, village = code[order], county[order], town[order], village[order]
    names = np.array(village_names(rng, n_villages))
    geoms = union_by_group(cells.geoms, of_cell, n_villages)
    low = np.lexsort((cells.elev, of_cell))
    first = low[np.r_[0, np.flatnonzero(np.diff(of_cell[low])) + 1]]
    return Villages(
        geoms, code, names, county, town, village, cells.x[first], cells.y[first], of_cell
    )


def union_by_group(geoms: NDArray[np.object_], group: IntArray, k: int) -> NDArray[np.object_]:
    """Coverage union of ``geoms`` per group 0..k-1 (one GEOS call per group, not per cell)."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(k + 1))
    out = np.empty(k, dtype=object)
    for i in range(k):
        out[i] = shapely.coverage_union_all(geoms[order[bounds[i] : bounds[i + 1]]])
    return out
