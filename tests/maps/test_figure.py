"""The target map drawn offline as a still image for the printed work order."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
from PIL import Image
from shapely.geometry import Point, box

from maps.figure import (
    TargetMapLayers,
    grid_north_deg,
    scale_length_m,
    short_labels,
    target_map_png,
)
from maps.render import MapInputError

CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 111E (false easting 500 km)


def _layers(crs: str = CRS, *, parcels: int = 2) -> TargetMapLayers:
    # EPSG:4546 has no zone prefix: about 111.4E, east of the central meridian.
    x0, y0 = 541_000.0, 2_745_000.0
    frame = gpd.GeoDataFrame(
        {"parcel_id": [f"0139-00{i}" for i in range(parcels)]},
        geometry=[box(x0 + i * 120, y0, x0 + i * 120 + 100, y0 + 150) for i in range(parcels)],
        crs=CRS,
    ).to_crs(crs)
    patches = gpd.GeoDataFrame(
        {"legality": ["true"]}, geometry=[box(x0 + 10, y0 + 10, x0 + 60, y0 + 60)], crs=CRS
    ).to_crs(crs)
    complaints = gpd.GeoDataFrame(
        {"status": ["verified", "new"]},
        geometry=[Point(x0 + 50, y0 + 80), Point(x0 + 400, y0 + 300)],
        crs=CRS,
    ).to_crs(crs)
    villages = gpd.GeoDataFrame(
        {"village_name": ["黄岗村"]},
        geometry=[box(x0 - 300, y0 - 300, x0 + 700, y0 + 700)],
        crs=CRS,
    ).to_crs(crs)
    return TargetMapLayers(frame, patches, complaints, villages)


@pytest.mark.parametrize(
    ("span", "expected"),
    [(4000.0, 1000.0), (900.0, 200.0), (1999.0, 200.0), (2000.0, 500.0), (30.0, 10.0)],
)
def test_scale_bar_is_a_round_length_of_at_most_a_quarter_of_the_view(span, expected):
    assert scale_length_m(span) == expected


def test_true_north_leans_toward_the_central_meridian():
    crs = pyproj.CRS(CRS)
    west = grid_north_deg(crs, 338_000.0, 2_745_000.0)  # about 109.4E, west of 111E
    east = grid_north_deg(crs, 662_000.0, 2_745_000.0)
    assert 0.3 < west < 1.5
    assert -1.5 < east < -0.3
    assert abs(grid_north_deg(crs, 500_000.0, 2_745_000.0)) < 1e-6


def test_long_wetland_ids_are_labelled_by_what_differs():
    labels, prefix = short_labels(pd.Series(["441882110000000119", "441882110000000125"]))
    assert prefix == "441882110000000"
    assert labels.tolist() == ["119", "125"]


def test_short_parcel_numbers_are_labelled_in_full():
    labels, prefix = short_labels(pd.Series(["0139-003", "0140-002"]))
    assert prefix == ""
    assert labels.tolist() == ["0139-003", "0140-002"]


def test_map_is_a_png_of_the_printed_size_with_the_centre_in_lon_lat(cjk_fonts):
    drawn = target_map_png(_layers(), width_mm=100, height_mm=60, dpi=100)
    image = Image.open(io.BytesIO(drawn.png))
    assert image.format == "PNG"
    assert image.size == (int(100 / 25.4 * 100), int(60 / 25.4 * 100))
    assert 111.3 < drawn.centre_lon < 111.5 and 24.7 < drawn.centre_lat < 24.9
    assert drawn.north_deg < 0  # east of the central meridian
    assert drawn.centre_text().endswith("°N") and "°E, " in drawn.centre_text()
    assert drawn.scale_m in (100.0, 200.0)


def test_map_in_english_draws_without_cjk_text():
    drawn = target_map_png(_layers(), lang="en", width_mm=80, height_mm=50, dpi=72)
    assert drawn.png.startswith(b"\x89PNG")


def test_map_of_layers_in_lon_lat_is_refused_naming_the_crs():
    with pytest.raises(MapInputError, match=r"EPSG:4326|projected CRS"):
        target_map_png(_layers("EPSG:4326"))


def test_map_with_nothing_to_draw_is_refused():
    empty = gpd.GeoDataFrame({"parcel_id": []}, geometry=[], crs=CRS)
    layers = TargetMapLayers(
        empty,
        gpd.GeoDataFrame({"legality": []}, geometry=[], crs=CRS),
        gpd.GeoDataFrame({"status": []}, geometry=[], crs=CRS),
        gpd.GeoDataFrame({"village_name": []}, geometry=[], crs=CRS),
    )
    with pytest.raises(MapInputError, match="no parcel, patch or complaint"):
        target_map_png(layers)


def test_centre_of_a_u_shaped_target_lies_on_its_parcels(cjk_fonts):
    x0, y0 = 541_000.0, 2_745_000.0
    u = gpd.GeoDataFrame(
        {"parcel_id": ["0139-001", "0139-002", "0139-003"]},
        geometry=[
            box(x0, y0, x0 + 60, y0 + 300),  # left arm
            box(x0, y0, x0 + 300, y0 + 60),  # bottom
            box(x0 + 240, y0, x0 + 300, y0 + 300),  # right arm
        ],
        crs=CRS,
    )
    base = _layers()
    drawn = target_map_png(
        TargetMapLayers(u, base.patches.iloc[:0], base.complaints.iloc[:0], base.villages),
        width_mm=60,
        height_mm=40,
        dpi=50,
    )
    to_map = pyproj.Transformer.from_crs(4326, CRS, always_xy=True)
    x, y = to_map.transform(drawn.centre_lon, drawn.centre_lat)
    assert u.union_all().buffer(0.01).contains(Point(x, y))
    assert not u.union_all().contains(u.union_all().centroid)  # the trap: centroid is off it


def test_a_chinese_font_installed_after_matplotlib_listed_the_fonts_is_used(cjk_fonts, monkeypatch):
    """matplotlib lists the fonts once, in a cache file; a Chinese font installed later
    is not in that list. The figure adds the system's Chinese fonts to it, so its text is
    drawn, not boxes (matplotlib warns of each missing glyph: an error in the tests)."""
    from matplotlib import font_manager

    import maps.fonts as fonts

    manager = font_manager.fontManager
    without = [f for f in manager.ttflist if f.name not in fonts.CHINESE_FONTS]
    monkeypatch.setattr(manager, "ttflist", without)  # as a list cached before the install
    monkeypatch.setattr(fonts, "_font_checked", False)
    manager._findfont_cached.cache_clear()
    try:
        drawn = target_map_png(_layers(), width_mm=60, height_mm=40, dpi=72)
        known = {f.name for f in manager.ttflist}
    finally:
        manager._findfont_cached.cache_clear()
    assert drawn.png.startswith(b"\x89PNG")
    assert known & set(fonts.CHINESE_FONTS)
