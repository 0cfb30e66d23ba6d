"""read_layer(..., crs="GCJ-02" / "BD-09"): positions picked on Chinese web maps.

Inputs are built the way hotline and WeChat sheets arrive: GCJ-02 or BD-09 degrees with
six decimals (what the map pickers give), computed from known CGCS2000 points by the
coordTransform package, not by the code under test.
"""

from __future__ import annotations

import coordTransform as oracle
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from layers import read_layer
from layers.errors import CRSError
from tests.support.builders import GK111, write_shp

GEOD = pyproj.Geod(ellps="GRS80")
# Known CGCS2000 points near Lianzhou, Guangdong (lon, lat, degrees).
TRUE_LON = np.array([112.3712, 112.3841, 112.4027, 112.4163])
TRUE_LAT = np.array([24.7805, 24.7912, 24.8033, 24.8190])


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def picked(datum: str, lon=TRUE_LON, lat=TRUE_LAT) -> tuple[np.ndarray, np.ndarray]:
    """The positions a web map shows for the true points, rounded to 6 decimals."""
    forward = oracle.wgs84_to_gcj02 if datum == "GCJ-02" else oracle.wgs84_to_bd09
    out = np.array(forward(np.asarray(lon, float), np.asarray(lat, float)), dtype=float)
    return out[0].round(6), out[1].round(6)


def complaint_sheet(lon, lat) -> pd.DataFrame:
    n = len(lon)
    return pd.DataFrame(
        {
            "举报编号": [f"12345-2026-{i:04d}" for i in range(1, n + 1)],
            "受理时间": ["2026-10-0" + str(1 + i % 9) for i in range(n)],
            "举报内容": ["后山有人砍树", "河边有人挖沙", "林子里冒烟", "有人开荒种果树"][:n],
            "经度": [f"{v:.6f}" for v in lon],
            "纬度": [f"{v:.6f}" for v in lat],
        }
    )


def write_hotline_csv(path, lon, lat):
    """A 12345 hotline export saved from Excel: GBK, a merged title row above the header."""
    body = complaint_sheet(lon, lat).to_csv(index=False, lineterminator="\r\n")
    path.write_bytes(("2026年12345热线涉林举报登记表,,,,\r\n" + body).encode("gbk"))
    return path


def landed(gdf: gpd.GeoDataFrame) -> np.ndarray:
    geo = gdf.to_crs(4490)
    return metres(geo.geometry.x.to_numpy(), geo.geometry.y.to_numpy(), TRUE_LON, TRUE_LAT)


@pytest.mark.parametrize("spelling", ["GCJ-02", "gcj02", "Gcj_02"])
def test_gcj02_complaint_csv_lands_on_the_true_points(tmp_path, spelling):
    csv = write_hotline_csv(tmp_path / "热线.csv", *picked("GCJ-02"))
    gdf, report = read_layer(csv, "complaints", crs=spelling)
    assert report.rows_imported == 4
    assert landed(gdf).max() < 0.5


def test_gcj02_complaint_csv_without_crs_lands_hundreds_of_metres_away(tmp_path):
    csv = write_hotline_csv(tmp_path / "热线.csv", *picked("GCJ-02"))
    gdf, _ = read_layer(csv, "complaints")
    assert (landed(gdf) > 300).all()


def test_bd09_complaint_xlsx_lands_on_the_true_points(tmp_path):
    xlsx = tmp_path / "百度.xlsx"
    complaint_sheet(*picked("BD-09")).to_excel(xlsx, index=False)
    gdf, report = read_layer(xlsx, "complaints", crs="bd09")
    assert landed(gdf).max() < 0.5
    assert report.crs == "BD-09 → CGCS2000 (EPSG:4490)"


def test_the_report_states_the_conversion_and_its_shift(tmp_path):
    csv = write_hotline_csv(tmp_path / "热线.csv", *picked("GCJ-02"))
    _, report = read_layer(csv, "complaints", crs="GCJ-02")
    assert report.crs == "GCJ-02 → CGCS2000 (EPSG:4490)"
    assert "GCJ-02" in report.to_dict("zh")["crs_reason"]
    converted = [w for w in report.warnings if w.code == "crs.web_converted"]
    assert len(converted) == 1
    assert "Converted 4 features from GCJ-02 to CGCS2000: median shift" in converted[0].en
    median = float(converted[0].en.split("median shift ")[1].split(" m")[0])
    assert 300 < median < 700
    assert "已将 4 个要素的坐标从 GCJ-02 转换为 CGCS2000" in converted[0].zh


def test_rows_without_coordinates_are_rejected_and_the_others_converted(tmp_path):
    lon, lat = picked("GCJ-02")
    sheet = complaint_sheet(lon, lat)
    sheet.loc[1, ["经度", "纬度"]] = ""
    csv = tmp_path / "缺坐标.csv"
    sheet.to_csv(csv, index=False, encoding="utf-8-sig")
    gdf, report = read_layer(csv, "complaints", crs="GCJ-02")
    assert report.rejected == {"missing_coordinates": 1}
    geo = gdf.geometry
    keep = [0, 2, 3]
    assert metres(geo.x, geo.y, TRUE_LON[keep], TRUE_LAT[keep]).max() < 0.5
    assert "Converted 3 features" in report.warnings[-1].en


def test_a_point_outside_china_is_not_shifted_and_is_rejected_by_the_area_check(tmp_path):
    lon, lat = picked("GCJ-02")
    csv = write_hotline_csv(tmp_path / "x.csv", [*lon[:3], 2.3522], [*lat[:3], 48.8566])
    gdf, report = read_layer(csv, "complaints", crs="GCJ-02")
    assert report.rejected == {"outside_crs_area": 1}
    assert "x=2.3522, y=48.8566" in report.rejects["reject_detail"].iloc[0]
    assert "1 features lie outside China and were not shifted" in report.warnings[-1].en
    assert len(gdf) == 3


def test_a_sheet_with_a_header_only_imports_nothing_and_says_so(tmp_path):
    csv = tmp_path / "空.csv"
    complaint_sheet([], []).to_csv(csv, index=False, encoding="utf-8-sig")
    gdf, report = read_layer(csv, "complaints", crs="GCJ-02")
    assert len(gdf) == 0 and report.rows_read == 0
    assert report.crs == "GCJ-02 → CGCS2000 (EPSG:4490)"


def village_polygons(datum: str | None) -> gpd.GeoDataFrame:
    """Two village polygons (true CGCS2000 vertices), as picked in ``datum``."""
    true = [
        shapely.box(112.37, 24.78, 112.39, 24.80),
        shapely.Polygon([(112.40, 24.80), (112.42, 24.80), (112.41, 24.82)]),
    ]
    geoms = np.array(true, dtype=object)
    if datum is not None:
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(picked(datum, *xy.T)))
    return gpd.GeoDataFrame(
        {"村代码": ["441882101203", "441882101212"], "村名": ["黄岗村", "沙坪村"]},
        geometry=list(geoms),
        crs="EPSG:4326",
    )


def assert_vertices_on_true(gdf: gpd.GeoDataFrame) -> None:
    """Every vertex within 0.5 m of a true one and back (Hausdorff distance, metres)."""
    got = gdf.to_crs(GK111).geometry.to_numpy()
    want = village_polygons(None).to_crs(GK111).geometry.to_numpy()
    assert (shapely.hausdorff_distance(got, want) < 0.5).all()


def test_gcj02_geojson_polygons_land_on_the_true_villages(tmp_path):
    path = tmp_path / "村界_高德.geojson"
    pyogrio.write_dataframe(village_polygons("GCJ-02"), path)
    gdf, report = read_layer(path, "villages", crs="GCJ-02")
    assert_vertices_on_true(gdf)
    assert "Converted 2 features from GCJ-02" in report.warnings[-1].en


def test_bd09_geojson_points_land_on_the_true_points(tmp_path):
    path = tmp_path / "举报_百度.geojson"
    sheet = complaint_sheet(TRUE_LON, TRUE_LAT).drop(columns=["经度", "纬度"])
    points = gpd.GeoDataFrame(sheet, geometry=gpd.points_from_xy(*picked("BD-09")), crs=4326)
    pyogrio.write_dataframe(points, path)
    gdf, _ = read_layer(path, "complaints", crs="BD-09")
    assert landed(gdf).max() < 0.5


@pytest.mark.parametrize("name", ["村界.kml", "村界.shp"])
def test_gcj02_kml_and_shapefile_polygons_land_on_the_true_villages(tmp_path, name):
    path = tmp_path / name
    frame = village_polygons("GCJ-02")
    if name.endswith(".shp"):
        write_shp(frame, path, prj=False)  # a lon/lat shapefile without .prj
    else:
        pyogrio.write_dataframe(frame, path, driver="KML")
    gdf, _ = read_layer(path, "villages", crs="gcj-02")
    assert_vertices_on_true(gdf)


def test_web_map_positions_reach_the_workspace_crs(tmp_path):
    csv = write_hotline_csv(tmp_path / "热线.csv", *picked("GCJ-02"))
    gdf, _ = read_layer(csv, "complaints", crs="GCJ-02", target_crs=GK111)
    assert gdf.crs.to_epsg() == 4546
    assert landed(gdf).max() < 0.5


def test_projected_coordinates_are_refused_with_the_values_and_the_fix(tmp_path):
    sheet = complaint_sheet([641000.0, 641200.0], [2744000.0, 2744100.0])
    csv = tmp_path / "投影坐标.csv"
    sheet.to_csv(csv, index=False, encoding="utf-8-sig")
    with pytest.raises(
        CRSError,
        match=r"--crs GCJ-02 means longitudes/latitudes.*2 of 2 features.*"
        r"x 641000\.\.641200, y 2744000\.\.2744100; e\.g\. row 2: x=641000, y=2744000\).*"
        r"Leave out --crs GCJ-02 and import with the file's real CRS \(e\.g\. --crs EPSG:4546",
    ) as info:
        read_layer(csv, "complaints", crs="gcj02")
    assert "请去掉 --crs GCJ-02" in info.value.text("zh")


def test_a_projected_shapefile_given_as_bd09_is_refused(tmp_path):
    frame = village_polygons(None).to_crs(GK111)
    shp = write_shp(frame, tmp_path / "村界.shp")
    with pytest.raises(CRSError, match=r"--crs BD-09 means .*Baidu maps.*2 of 2 features"):
        read_layer(shp, "villages", crs="BD-09")


def test_an_unknown_crs_spelling_names_the_web_map_values(tmp_path):
    csv = write_hotline_csv(tmp_path / "热线.csv", *picked("GCJ-02"))
    with pytest.raises(CRSError, match=r"`--crs` was 'gcj' .* pass --crs GCJ-02; on Baidu"):
        read_layer(csv, "complaints", crs="gcj")
