"""The import report printed by the CLI counts rows merged as parts of one feature."""

import json

import geopandas as gpd
import pytest
import shapely

from tests.support.builders import GK111, X0, Y0, run_cli, write_shp


def _village_in_three_parts(tmp_path):
    parts = [shapely.box(X0 + i * 1000, Y0, X0 + i * 1000 + 100, Y0 + 100) for i in range(3)]
    src = gpd.GeoDataFrame(
        {"XZQDM": ["441882101202"] * 3, "XZQMC": ["丰阳村"] * 3}, geometry=parts, crs=GK111
    )
    return write_shp(src, tmp_path / "cun.shp")


@pytest.mark.slow
def test_import_text_report_shows_the_rows_merged(tmp_path):
    shp = _village_in_three_parts(tmp_path)
    res = run_cli("import", "villages", shp, "-w", tmp_path / "ws.gpkg")
    assert res.returncode == 0, res.stderr
    assert "读取 3 行，导入 1 行" in res.stdout
    assert "合并 2 行：3 行是同一要素的多个部分，合并为 1 个要素" in res.stdout


@pytest.mark.slow
def test_import_json_report_balances_with_the_rows_merged(tmp_path):
    shp = _village_in_three_parts(tmp_path)
    res = run_cli("import", "villages", shp, "-w", tmp_path / "ws.gpkg", "--json", "--lang", "en")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)["report"]
    assert (report["parts_merged"], report["features_merged"], report["rows_merged"]) == (3, 1, 2)
    assert report["rows_read"] == (
        report["rows_imported"] + report["rows_rejected"] + report["rows_merged"]
    )
