"""Spatial kernels of the analysis against GEOS (blocks, threads, anchors, edge tests)."""

import numpy as np
import pytest
import shapely

from geoservice.analysis import edges, lanes, polygon_pairs, spatial
from geoservice.analysis.polygon_pairs import polygon_pairs_within
from geoservice.analysis.spatial import PolygonIndex, points_within


def shapes(rng, n, extent=3000.0):
    """Polygons of 4 to ~320 edges, some holed, some MultiPolygons, one None, one empty."""
    centres = shapely.points(rng.uniform(0, extent, (n, 2)))
    quads = rng.choice([1, 2, 8, 80], n)
    out = np.array(
        [
            shapely.buffer(c, r, quad_segs=int(q))
            for c, r, q in zip(centres, rng.uniform(5, 90, n), quads, strict=True)
        ],
        dtype=object,
    )
    out[::9] = shapely.difference(out[::9], shapely.buffer(centres[::9], 3))
    out[5::11] = shapely.union(out[5::11], shapely.box(0, 0, 20, 20))
    out[3] = None
    out[4] = shapely.Polygon()
    return out


def geos_pairs(points, polygons, distance):
    tree = shapely.STRtree(polygons)
    a, b = tree.query(points, predicate="dwithin", distance=distance)
    return {(int(i), int(j)) for i, j in zip(a, b, strict=True)}


@pytest.fixture
def small_blocks(monkeypatch):
    """Block and thread thresholds small enough for a few hundred shapes to use them all."""
    monkeypatch.setattr(spatial, "_BLOCK_POLYGONS", 7)
    monkeypatch.setattr(spatial, "_BLOCK_POINTS", 50)
    monkeypatch.setattr(spatial, "_SPLIT_POINTS", 100)
    monkeypatch.setattr(polygon_pairs, "_SPLIT_POLYGONS", 20)
    monkeypatch.setattr(edges, "_LOOP_EDGES", 8)
    monkeypatch.setattr(edges, "_EDGE_ROWS", 64)


@pytest.mark.parametrize("distance", [0.0, 0.005, 37.5, 200.0])
def test_points_within_agrees_with_geos_in_blocks_on_two_threads(small_blocks, distance):
    rng = np.random.default_rng(11)
    polygons = shapes(rng, 300)
    points = shapely.points(rng.uniform(-100, 3100, (3000, 2)))
    points[7] = None
    index = PolygonIndex.build(polygons)
    pt, poly = points_within(points, index, distance, parallel=True)
    assert set(zip(pt.tolist(), poly.tolist(), strict=True)) == geos_pairs(
        points, polygons, distance
    )
    assert np.all(np.diff(pt) >= 0)


def test_points_within_is_the_same_in_blocks_as_in_one_piece(monkeypatch):
    rng = np.random.default_rng(5)
    polygons = shapes(rng, 200)
    points = shapely.points(rng.uniform(0, 3000, (2500, 2)))
    whole = points_within(points, PolygonIndex.build(polygons), 120.0)
    monkeypatch.setattr(spatial, "_BLOCK_POLYGONS", 13)
    monkeypatch.setattr(spatial, "_BLOCK_POINTS", 97)
    monkeypatch.setattr(spatial, "_SPLIT_POINTS", 10)
    blocks = points_within(points, PolygonIndex.build(polygons), 120.0, parallel=True)
    assert all(np.array_equal(a, b) for a, b in zip(whole, blocks, strict=True))


@pytest.mark.parametrize(
    ("distance", "within"),
    [(212.13, False), (212.134, True), (212.2, True)],
    ids=["just beyond", "inside the anchor margin", "well inside"],
)
def test_a_point_near_a_corner_is_within_exactly_from_the_distance_on(distance, within):
    square = np.array([shapely.box(0, 0, 100, 100)], dtype=object)
    index = PolygonIndex.build(square)
    # (-150, -150) is 212.1320 m from the corner (0, 0)
    point = np.array([shapely.Point(-150, -150)], dtype=object)
    assert (len(points_within(point, index, distance)[0]) == 1) is within


def test_anchor_vertices_lie_on_their_polygon():
    polygons = shapes(np.random.default_rng(2), 60)
    index = PolygonIndex.build(polygons)
    has = index.count > 0
    anchors = shapely.points(
        (index.anchor_x + index.cx)[:, has].ravel(), (index.anchor_y + index.cy)[:, has].ravel()
    )
    owners = np.tile(polygons[has], index.anchor_x.shape[0])
    assert np.all(shapely.distance(anchors, shapely.boundary(owners)) < 1e-3)


@pytest.mark.parametrize("distance", [0.0, 40.0])
def test_polygon_pairs_within_on_two_threads_agree_with_geos(small_blocks, distance):
    polygons = shapes(np.random.default_rng(3), 120)[5:]
    i, j = polygon_pairs_within(polygons, distance, parallel=True)
    found = {(a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True) if a != b}
    expected = geos_pairs(polygons, polygons, distance)
    assert {tuple(sorted(p)) for p in found} == {tuple(sorted(p)) for p in expected if p[0] != p[1]}


@pytest.mark.parametrize(("distance", "paired"), [(40.0, True), (30.0, True), (29.9, False)])
def test_polygons_near_along_an_edge_but_not_at_a_vertex_are_paired_exactly(distance, paired):
    # 30 m apart between their long sides; their nearest vertices are 500 m apart
    polygons = np.array([shapely.box(0, 0, 1000, 10), shapely.box(500, 40, 1500, 50)], dtype=object)
    i, j = polygon_pairs_within(polygons, distance)
    assert (list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1)]) is paired


def test_polygon_pairs_of_a_missing_or_empty_polygon_are_none():
    polygons = np.array([None, shapely.Polygon(), shapely.box(0, 0, 10, 10)], dtype=object)
    i, j = polygon_pairs_within(polygons, 100.0)
    assert len(i) == len(j) == 0


def no_threads(*args, **kwargs):
    raise AssertionError("a thread pool was started")


def test_spatial_joins_start_no_thread_unless_asked(small_blocks, monkeypatch):
    monkeypatch.setattr(lanes, "ThreadPoolExecutor", no_threads)
    rng = np.random.default_rng(4)
    polygons = shapes(rng, 300)
    points = shapely.points(rng.uniform(-100, 3100, (3000, 2)))
    pt, poly = points_within(points, PolygonIndex.build(polygons), 60.0)
    assert set(zip(pt.tolist(), poly.tolist(), strict=True)) == geos_pairs(points, polygons, 60.0)
    i, _ = polygon_pairs_within(polygons, 40.0)
    assert len(i) > 0
