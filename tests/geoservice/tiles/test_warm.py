"""The first view of a map page as Leaflet fits it: zoom, centre and the tiles it asks for."""

from __future__ import annotations

import threading
import time

import pytest

from geoservice.base.access import Principal
from geoservice.tiles import serve
from geoservice.tiles.grid import TileAddress
from geoservice.tiles.warm import TileWarmer, fit_zoom, view_tiles

WORLD = (-180.0, -85.0511287798, 180.0, 85.0511287798)
# a county of Guangdong (the sample county's village bounds, degrees)
COUNTY = (111.94752997404576, 24.42280600324724, 112.8501926055808, 25.152836950912615)
OFFICE = Principal("t", "t", "office")
TILE = TileAddress(9, 415, 219)


@pytest.mark.parametrize(
    ("size", "zoom"), [((256, 256), 0), ((500, 600), 0), ((512, 512), 1), ((1024, 1024), 2)]
)
def test_the_world_fits_at_the_largest_zoom_whose_map_holds_it(size, zoom) -> None:
    assert fit_zoom(WORLD, size) == zoom


def test_a_county_opens_a_zoom_lower_on_a_phone_than_on_a_desktop() -> None:
    # what Chromium's Leaflet chose for these windows (bench/map_pages.py: 9/41x/21x tiles)
    assert fit_zoom(COUNTY, (1280, 860)) == 10
    assert fit_zoom(COUNTY, (390, 844)) == 9


@pytest.mark.parametrize(("half_width", "zoom"), [(90.25, 1), (93.6, 0)])
def test_a_zoom_within_one_percent_below_a_level_snaps_up_to_it(half_width, zoom) -> None:
    # 180.5 degrees in 256 pixels: zoom 0.996, drawn at 1; 187.2 degrees: 0.943, drawn at 0
    assert fit_zoom((-half_width, -10.0, half_width, 10.0), (256, 2000)) == zoom


def test_the_view_asks_for_the_512_pixel_tiles_under_its_window_cut_a_zoom_below() -> None:
    # the whole world at map zoom 1 in a 512-pixel window: the one tile of zoom 0
    assert view_tiles(WORLD, 1, (512, 512)) == [TileAddress(0, 0, 0)]
    # the county at map zoom 10 in a 1280 x 860 window: the 4 x 3 tiles of zoom 9 seen
    tiles = view_tiles(COUNTY, 10, (1280, 860))
    assert {t.z for t in tiles} == {9}
    assert sorted({t.x for t in tiles}) == [414, 415, 416, 417]
    assert sorted({t.y for t in tiles}) == [218, 219, 220]


def test_a_window_wider_than_the_world_wraps_its_columns_without_repeats() -> None:
    tiles = view_tiles(WORLD, 1, (4000, 512))
    assert tiles == [TileAddress(0, 0, 0)]


def test_a_warmer_of_a_missing_workspace_warms_nothing_and_stops(tmp_path) -> None:
    asked = threading.Event()

    def plan(ws):  # type: ignore[no-untyped-def]
        asked.set()
        return []

    warmer = TileWarmer(tmp_path / "missing.gpkg", plan, interval=0.01)
    assert warmer.warm_once() == 0
    warmer.start()
    warmer.stop(timeout=5)
    assert not warmer._thread.is_alive()
    assert not asked.is_set()
    assert warmer.passes == 0


def _slow_cuts(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[str]:
    """Stand-ins for the layer check and the cut: every cut recorded, each taking 0.2 s
    (and failing the first time when ``fail``)."""
    cuts: list[str] = []

    def cut(ws, principal, layer, tile):  # type: ignore[no-untyped-def]
        cuts.append(str(tile))
        time.sleep(0.2)
        if fail and len(cuts) == 1:
            raise OSError("the workspace went away")
        return b"tile " + str(tile).encode()

    monkeypatch.setattr(serve, "_resolve", lambda *args: None)
    monkeypatch.setattr(serve, "_cut", cut)
    return cuts


def _render_twice(etag: str) -> list[bytes | BaseException]:
    got: list[bytes | BaseException] = []

    def one() -> None:
        try:
            got.append(serve.render_tile(None, OFFICE, "villages", TILE, etag))  # type: ignore[arg-type]
        except OSError as exc:
            got.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(10)
    return got


def test_a_tile_asked_for_while_it_is_cut_is_cut_once(monkeypatch) -> None:
    cuts = _slow_cuts(monkeypatch)
    got = _render_twice('"single-flight"')
    assert cuts == [str(TILE)]
    assert got == [b"tile 9/415/219", b"tile 9/415/219"]


def test_a_failed_cut_lets_the_waiting_request_cut_the_tile_itself(monkeypatch) -> None:
    cuts = _slow_cuts(monkeypatch, fail=True)
    got = _render_twice('"failed-first"')
    assert len(cuts) == 2
    assert sorted(map(str, got)) == ["b'tile 9/415/219'", "the workspace went away"]
    assert serve.TILES.claim('"failed-first"') is None  # no claim left behind
    serve.TILES.release('"failed-first"')
