"""``geoservice import complaints FILE --crs GCJ-02``, run as a user runs it."""

from __future__ import annotations

import coordTransform as oracle
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from tests.support.builders import GK111, X0, Y0, run_cli, write_shp, xiaoban


@pytest.mark.slow
def test_import_with_gcj02_stores_the_true_point_and_prints_the_shift(tmp_path):
    ws = tmp_path / "ws.gpkg"
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    assert run_cli("import", "parcels", shp, "-w", ws).returncode == 0
    true_x, true_y = X0 + 50.0, Y0 + 50.0  # the middle of the first parcel
    lon, lat = pyproj.Transformer.from_crs(GK111, 4490, always_xy=True).transform(true_x, true_y)
    glon, glat = oracle.wgs84_to_gcj02(lon, lat)
    sheet = pd.DataFrame(
        {
            "举报编号": ["JB-1"],
            "受理时间": ["2026-10-08"],
            "举报内容": ["有人砍树"],
            "经度": [f"{glon:.6f}"],
            "纬度": [f"{glat:.6f}"],
        }
    )
    csv = tmp_path / "高德.csv"
    sheet.to_csv(csv, index=False, encoding="utf-8-sig")
    res = run_cli("import", "complaints", csv, "-w", ws, "--crs", "gcj02")
    assert res.returncode == 0, res.stderr
    assert "坐标系：GCJ-02 → CGCS2000 (EPSG:4490)" in res.stdout
    assert "已将 1 个要素的坐标从 GCJ-02 转换为 CGCS2000" in res.stdout
    stored = pyogrio.read_dataframe(ws, layer="complaints").geometry.iloc[0]
    assert shapely.distance(stored, shapely.Point(true_x, true_y)) < 0.5


@pytest.mark.slow
def test_import_of_projected_numbers_as_gcj02_exits_2_with_the_fix(tmp_path):
    sheet = pd.DataFrame(
        {
            "举报编号": ["JB-1"],
            "受理时间": ["2026-10-08"],
            "举报内容": ["砍树"],
            "X": [X0],
            "Y": [Y0],
        }
    )
    csv = tmp_path / "投影.csv"
    sheet.to_csv(csv, index=False, encoding="utf-8-sig")
    res = run_cli(
        "import", "complaints", csv, "-w", tmp_path / "ws.gpkg", "--crs", "GCJ-02", "--lang", "en"
    )
    assert res.returncode == 2
    assert "Leave out --crs GCJ-02" in res.stderr + res.stdout
