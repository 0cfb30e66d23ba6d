"""Imports give every row its village and say how; new boundaries re-attribute."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.imports import import_problems
from tests.support.builders import run_cli

CRS = "EPSG:4546"
X0, Y0 = 641_000.0, 2_744_000.0


def _villages(path: Path, split_at: float = 1_000.0) -> Path:
    frame = gpd.GeoDataFrame(
        {"XZQDM": ["441882101201", "441882101202"], "XZQMC": ["竹山村", "丰阳村"]},
        geometry=[
            shapely.box(X0, Y0, X0 + split_at, Y0 + 1_000),
            shapely.box(X0 + split_at, Y0, X0 + 2_000, Y0 + 1_000),
        ],
        crs=CRS,
    )
    frame.to_file(path, encoding="cp936")
    return path


def _parcels(path: Path, **codes: list) -> Path:
    xs = [X0 + 100, X0 + 700, X0 + 1_500]
    frame = gpd.GeoDataFrame(
        {"LIN_BAN": ["0001"] * 3, "XIAO_BAN": ["001", "002", "003"], "DI_LEI": ["0111"] * 3}
        | codes,
        geometry=[shapely.box(x, Y0 + 100, x + 100, Y0 + 200) for x in xs],
        crs=CRS,
    )
    frame.to_file(path, encoding="cp936")
    return path


def test_full_length_xian_xiang_cun_codes_give_every_parcel_its_village(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    path = _parcels(
        tmp_path / "xb.shp",
        XIAN=["441882"] * 3,
        XIANG=["441882101"] * 3,
        CUN=["441882101201", "441882101201", "441882101202"],
    )
    report = import_file(ws, path, "parcels", actor="t", parcel_kind="forest").report
    assert report.villages is not None
    assert report.villages.counts == {"code": 3, "name": 0, "location": 0, "none": 0}
    stored = ws.read("parcels")
    assert stored["village_name"].tolist() == ["竹山村", "竹山村", "丰阳村"]


def test_parcels_without_any_village_field_are_placed_by_location(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    result = import_file(ws, _parcels(tmp_path / "xb.shp"), "parcels", actor="t")
    assert result.report.villages.counts["location"] == 3
    assert ws.read("parcels")["village_code"].tolist() == [
        "441882101201",
        "441882101201",
        "441882101202",
    ]


def test_importing_villages_after_the_parcels_attributes_them(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _parcels(tmp_path / "xb.shp"), "parcels", actor="t")
    assert set(ws.read("parcels")["village_by"]) == {"none"}
    report = import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t").report
    assert ws.read("parcels")["village_by"].tolist() == ["location"] * 3
    assert any("按位置 3" in w.zh for w in report.warnings)


@pytest.mark.slow
def test_replacing_the_villages_places_located_rows_again_and_keeps_coded_ones(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    import_file(ws, _parcels(tmp_path / "xb.shp"), "parcels", actor="t")
    # The boundary moves west: the second parcel (at 700-800 m) now lies in 丰阳村.
    (tmp_path / "v2").mkdir()
    moved = _villages(tmp_path / "v2" / "v.shp", split_at=600.0)
    import_file(ws, moved, "villages", actor="t")
    assert ws.read("parcels")["village_name"].tolist() == ["竹山村", "丰阳村", "丰阳村"]


def test_a_problem_list_headed_suoshucun_gets_its_villages(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    lonlat = gpd.GeoSeries([shapely.Point(X0 + 1_500, Y0 + 500)], crs=CRS).to_crs(4490)
    path = tmp_path / "problems.xlsx"
    pd.DataFrame(
        {
            "问题编号": ["DC-1", "DC-2", "DC-3"],
            "所属村": ["竹山村", "丰阳", None],
            "问题描述": ["乱砍滥伐", "占用林地", "违规用火"],
            "经度": [None, None, lonlat.x.iloc[0]],
            "纬度": [None, None, lonlat.y.iloc[0]],
        }
    ).to_excel(path, index=False)
    result = import_problems(ws, path, actor="t")
    assert result.to_dict("en")["villages"]["by"] == {
        "code": 0,
        "name": 2,
        "location": 1,
        "none": 0,
    }
    stored = ws.read("problems").sort_values("problem_id")
    assert stored["village_code"].tolist() == ["441882101201", "441882101202", "441882101202"]


@pytest.mark.slow
def test_geoservice_layers_reports_the_attribution_per_layer(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    import_file(
        ws, _parcels(tmp_path / "xb.shp", CUN_MC=["竹山村", None, None]), "parcels", actor="t"
    )
    out = run_cli("layers", "-w", ws.path, "--json", check=True)
    coverage = json.loads(out.stdout)["village_coverage"]
    assert coverage == {"parcels": {"code": 0, "name": 1, "location": 2, "none": 0}}


@pytest.mark.slow
def test_an_appending_import_keeps_the_rows_earlier_imports_rejected(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    head = "举报编号,受理时间,举报内容,经度,纬度\n"
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(head + "A1,2026-01-02,砍树,112.40,24.80\nA2,2026-01-02,砍树,,\n", "utf-8")
    second.write_text(head + "B1,2026-01-03,烧山,112.41,24.80\nB2,2026-01-03,烧山,,\n", "utf-8")
    import_file(ws, first, "complaints", actor="t")
    import_file(ws, second, "complaints", actor="t", mode="append")
    rejects = ws.read("rejects_complaints", read_geometry=False)
    assert sorted(rejects["举报编号"]) == ["A2", "B2"]
    import_file(ws, second, "complaints", actor="t", allow_shrink=True)
    assert ws.read("rejects_complaints", read_geometry=False)["举报编号"].tolist() == ["B2"]
