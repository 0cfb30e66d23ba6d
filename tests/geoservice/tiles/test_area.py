"""The tiles of a working area: boxes to tiles by zoom, bounded."""

from __future__ import annotations

from geoservice.tiles.area import area_tiles
from geoservice.tiles.grid import tms

# About 4 km square in the sample town (112.40-112.44 E, 24.78-24.82 N).
VILLAGE_BOX = (112.40, 24.78, 112.44, 24.82)


def test_no_boxes_give_no_tiles():
    assert area_tiles([]) == []


def test_zoom_16_tiles_span_the_box_corners():
    tiles = area_tiles([VILLAGE_BOX], min_zoom=16, max_zoom=16)
    first, last = tms().tile(112.40, 24.82, 16), tms().tile(112.44, 24.78, 16)
    assert {t.z for t in tiles} == {16}
    assert min(t.x for t in tiles) == first.x and max(t.x for t in tiles) == last.x
    assert min(t.y for t in tiles) == first.y and max(t.y for t in tiles) == last.y
    assert len(tiles) == (last.x - first.x + 1) * (last.y - first.y + 1)


def test_overlapping_boxes_do_not_repeat_tiles():
    tiles = area_tiles([VILLAGE_BOX, VILLAGE_BOX, (112.41, 24.79, 112.42, 24.80)])
    assert len(tiles) == len(set(tiles)) == len(area_tiles([VILLAGE_BOX]))


def test_deepest_zooms_are_dropped_to_stay_under_the_limit():
    full = area_tiles([VILLAGE_BOX], min_zoom=10, max_zoom=16)
    capped = area_tiles([VILLAGE_BOX], min_zoom=10, max_zoom=16, limit=len(full) - 1)
    assert max(t.z for t in full) == 16
    assert max(t.z for t in capped) == 15
    assert capped == [t for t in full if t.z <= 15]


def test_a_box_too_large_even_at_the_lowest_zoom_gives_no_tiles():
    assert area_tiles([(100.0, 20.0, 120.0, 30.0)], min_zoom=10, limit=10) == []


def test_a_box_across_tile_edges_at_zoom_10_takes_every_tile_it_touches():
    edge = tms().bounds(tms().tile(112.42, 24.80, 10))
    box = (edge.left - 0.01, edge.bottom - 0.01, edge.left + 0.01, edge.bottom + 0.01)
    assert len(area_tiles([box], min_zoom=10, max_zoom=10)) == 4
