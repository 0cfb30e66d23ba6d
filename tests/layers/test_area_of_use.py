"""A feature is rejected as outside its CRS's area of use only when it lies wholly outside."""

import re

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from layers import read_layer
from layers.crs import valid_lonlat_box
from layers.validate import check_area_of_use
from tests.support.builders import GK111, squares, write_shp

GUANGDONG = ("realdata", "guangdong_districts", "guangdong_district.shp")
GK114 = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, lon 112.5-115.5 (+ margin)


def lonlat_boxes(*boxes, crs=GK111):
    """Lon/lat boxes (degrees) as polygons in ``crs``."""
    return gpd.GeoSeries([shapely.box(*b) for b in boxes], crs="EPSG:4490").to_crs(crs)


def village(geoms, crs=GK111, **extra):
    n = len(geoms)
    data = {"XZQDM": [f"44188210{i:04d}" for i in range(n)], "XZQMC": ["丰阳村"] * n, **extra}
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)


def quoted(detail):
    """The x, y a reject detail quotes."""
    m = re.search(r"x=(-?[\d.]+), y=(-?[\d.]+)", detail)
    assert m, detail
    return float(m.group(1)), float(m.group(2))


def in_box(lon, lat, box):
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def to_lonlat(crs, x, y):
    return pyproj.Transformer.from_crs(crs, "EPSG:4490", always_xy=True).transform(x, y)


def test_island_part_outside_the_area_is_kept_and_reported(tmp_path):
    main, island = lonlat_boxes((112.40, 24.80, 112.45, 24.85), (117.00, 23.40, 117.02, 23.42))
    src = village([shapely.multipolygons([main, island])])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert len(gdf) == 1
    assert shapely.get_num_geometries(gdf.geometry.iloc[0]) == 2
    assert report.rejected == {}
    warning = next(w for w in report.warnings if w.code == "area.outlying_parts")
    assert "1 features have 1 parts" in warning.en
    assert "441882100000" in warning.en
    assert "1 个要素共有 1 个部分" in warning.zh


def test_feature_wholly_outside_is_rejected_quoting_a_point_that_is_outside(tmp_path):
    # Two parts on either side of the zone: the middle of the pair lies inside it.
    west, east = lonlat_boxes((104.0, 24.8, 104.1, 24.9), (118.0, 24.8, 118.1, 24.9))
    src = village([shapely.multipolygons([west, east]), squares(1)[0]])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert len(gdf) == 1
    assert report.rejected == {"outside_crs_area": 1}
    detail = report.rejects["reject_detail"].iloc[0]
    lon, lat = to_lonlat(GK111, *quoted(detail))
    box = valid_lonlat_box(pyproj.CRS(GK111))
    assert not in_box(lon, lat, box)
    middle = shapely.multipolygons([west, east]).centroid
    assert in_box(*to_lonlat(GK111, middle.x, middle.y), box)
    assert "swapped" not in detail
    assert "lies outside the CRS's area of use (valid lon 107.5..114.5" in detail


def test_swapped_lat_lon_rejection_says_they_are_swapped(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n"
        "A2,2025-01-03,有人砍树,24.81,112.41\n",
        encoding="utf-8",
    )
    _, report = read_layer(csv, "complaints")
    assert report.rejected == {"outside_crs_area": 1}
    detail = report.rejects["reject_detail"].iloc[0]
    assert quoted(detail) == (24.81, 112.41)
    assert "longitude and latitude are likely swapped" in detail


def test_far_away_point_is_rejected_without_a_swap_hint(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n"
        "A2,2025-01-03,有人砍树,150.2,24.81\n",
        encoding="utf-8",
    )
    _, report = read_layer(csv, "complaints", crs="EPSG:4490")
    detail = report.rejects["reject_detail"].iloc[0]
    assert quoted(detail) == (150.2, 24.81)
    assert "swapped" not in detail


def test_swapped_easting_northing_in_a_projected_crs_says_so(tmp_path):
    good, bad = squares(2)
    swapped = shapely.transform(bad, lambda xy: xy[:, ::-1])
    src = village([good, swapped])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert len(gdf) == 1
    detail = report.rejects["reject_detail"].iloc[0]
    assert detail.startswith("EPSG:4546 x=")
    assert re.search(r"\(lon 130\.\d+, lat 5\.\d+\)", detail)
    assert "easting and northing are likely swapped" in detail


def test_coordinates_that_do_not_convert_to_lon_lat_say_so(tmp_path):
    far = shapely.box(9e9, 9e9, 9e9 + 100, 9e9 + 100)
    src = village([squares(1)[0], far])
    _, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert report.rejected == {"outside_crs_area": 1}
    assert "does not convert to lon/lat" in report.rejects["reject_detail"].iloc[0]


# --- the real Guangdong districts in one Gauss-Kruger zone -----------------------------


@pytest.fixture(scope="module")
def guangdong(shared_dir):
    real = pyogrio.read_dataframe(shared_dir.joinpath(*GUANGDONG), encoding="utf-8")
    return real.set_crs("EPSG:4490")


@pytest.mark.slow
def test_real_province_in_one_zone_keeps_its_islands_outside_the_zone(guangdong, tmp_path):
    province = shapely.union_all(guangdong.geometry.to_numpy())
    src = gpd.GeoDataFrame(
        {"XZQDM": ["440000"], "XZQMC": ["广东省"]}, geometry=[province], crs="EPSG:4490"
    ).to_crs(GK114)
    gdf, report = read_layer(write_shp(src, tmp_path / "gd.shp", encoding="utf-8"), "villages")
    assert report.rejected == {}
    assert shapely.get_num_geometries(gdf.geometry.iloc[0]) == shapely.get_num_geometries(province)
    warning = next(w for w in report.warnings if w.code == "area.outlying_parts")
    assert "1 features have 3 parts" in warning.en


@pytest.mark.slow
def test_real_province_exported_one_row_per_part_keeps_its_island_rows(guangdong, tmp_path):
    province = shapely.union_all(guangdong.geometry.to_numpy())
    parts = shapely.get_parts(province)
    src = gpd.GeoDataFrame(
        {"XZQDM": ["440000"] * len(parts), "XZQMC": ["广东省"] * len(parts)},
        geometry=parts,
        crs="EPSG:4490",
    ).to_crs(GK114)
    gdf, report = read_layer(write_shp(src, tmp_path / "gd.shp", encoding="utf-8"), "villages")
    assert len(gdf) == 1
    assert report.rejected == {}
    assert report.parts_merged == len(parts)
    assert any(w.code == "area.outlying_parts" and "3 parts" in w.en for w in report.warnings)


def test_real_districts_wholly_outside_the_zone_are_rejected_quoting_outside_points(
    guangdong, tmp_path
):
    src = guangdong.to_crs(GK114)
    gdf, report = read_layer(write_shp(src, tmp_path / "gd.shp", encoding="utf-8"), "villages")
    rejected = report.rejects
    assert sorted(rejected["name"]) == sorted(["雷州市", "霞山区", "遂溪县", "赤坎区"])
    assert set(rejected["reject_reason"]) == {"outside_crs_area"}
    box = valid_lonlat_box(pyproj.CRS(GK114))
    for detail in rejected["reject_detail"]:
        assert not in_box(*to_lonlat(GK114, *quoted(detail)), box), detail
        assert "swapped" not in detail
    # Districts reaching past the zone's edge are kept whole.
    assert {"廉江市", "徐闻县", "麻章区", "化州市"} <= set(gdf["village_name"])
    warning = next(w for w in report.warnings if w.code == "area.outlying_parts")
    assert warning.en.startswith("4 features have 6 parts")


# --- check_area_of_use -------------------------------------------------------------------


def test_empty_series_gives_an_empty_check():
    out = check_area_of_use(gpd.GeoSeries([], crs=4490), pyproj.CRS(4490), (73, 3, 136, 54))
    assert out.empty
    assert list(out.columns) == ["outside", "outlying_parts", "x", "y", "lon", "lat", "swap_inside"]


def test_part_crossing_the_box_without_a_vertex_in_it_reaches_it():
    strip = shapely.box(60.0, 30.0, 140.0, 30.1)  # corners west and east of the box
    out = check_area_of_use(gpd.GeoSeries([strip], crs=4490), pyproj.CRS(4490), (73, 3, 136, 54))
    assert not out["outside"].iloc[0]
    assert out["outlying_parts"].iloc[0] == 0


def test_outlying_parts_are_counted_and_inside_features_left_alone():
    main, island, far = (shapely.box(112, 24, 113, 25), shapely.box(10, 10, 11, 11), None)
    geoms = gpd.GeoSeries([shapely.multipolygons([main, island]), main, far], crs=4490)
    out = check_area_of_use(geoms, pyproj.CRS(4490), (73, 3, 136, 54))
    assert out["outside"].tolist() == [False, False, False]
    assert out["outlying_parts"].tolist() == [1, 0, 0]
    assert np.isnan(out["x"]).all()
