"""Property: survey files of any real form go through import → analyze → export → maps →
village status without an exception, every row is counted, and every row with a location
lands in the village that location lies in.

Each example draws a small town: field names from the alias tables, village codes in every
form files use (composed and full-length ``XIAN``/``XIANG``/``CUN``, 19-character
``ZLDWDM``, names with and without 村), missing values, GBK or UTF-8, several CRSs (two
Gauss-Kruger forms, lon/lat, GCJ-02 web-map coordinates) and boundaries stored one row
per part.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.errors import NothingImportedError
from geoservice.base.workspace import Workspace
from geoservice.files.exporting import export_layer
from geoservice.files.importing import import_file
from geoservice.webmaps.build import targets_map_of, villages_map_of
from geoservice.workflow.imports import import_problems
from geoservice.workflow.villages import village_status
from layers.chinacoords import wgs84_to_gcj02

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 28)
X0, Y0, SIDE = 641_000.0, 2_744_000.0, 1_000.0
VILLAGES = [("441882101201", "竹山村"), ("441882101202", "丰阳村"), ("441882101203", "沙坪村")]
# A dozen examples per run keeps the suite fast; set the variable for a longer search.
EXAMPLES = int(os.environ.get("GEOSERVICE_PROPERTY_EXAMPLES", "12"))


def village_box(i: int) -> shapely.Polygon:
    return shapely.box(X0 + i * SIDE, Y0, X0 + (i + 1) * SIDE, Y0 + SIDE)


@dataclass
class Row:
    village: int
    dx: float
    dy: float
    missing: bool  # the written village (code or name) is left empty
    blank: bool  # category, date or text left empty


rows = st.builds(
    Row,
    village=st.integers(0, len(VILLAGES) - 1),
    dx=st.floats(60, SIDE - 160),
    dy=st.floats(60, SIDE - 160),
    missing=st.booleans(),
    blank=st.booleans(),
)
FILE_CRS = {"gk": "EPSG:4546", "gk_zone": "EPSG:4525", "lonlat": "EPSG:4490"}


@dataclass
class Town:
    crs: str
    encoding: str
    village_code_field: str
    village_name_field: str
    split_village: bool
    parcel_code_form: str
    parcels: list[Row]
    complaint_header: tuple[str, str, str, str]
    complaint_village: str | None
    complaint_coords: str
    complaints: list[Row]
    problem_village: str
    problems: list[Row]
    problem_located: list[bool]


towns = st.builds(
    Town,
    crs=st.sampled_from(sorted(FILE_CRS)),
    encoding=st.sampled_from(["cp936", "utf-8"]),
    village_code_field=st.sampled_from(["XZQDM", "CJQYDM", "村代码", "ZLDWDM", "CUN"]),
    village_name_field=st.sampled_from(["XZQMC", "村名", "ZLDWMC", "行政村名称"]),
    split_village=st.booleans(),
    parcel_code_form=st.sampled_from(["composed", "full", "zldwdm", "name", "name_bare", "none"]),
    parcels=st.lists(rows, min_size=1, max_size=6),
    complaint_header=st.sampled_from(
        [
            ("举报编号", "受理时间", "举报内容", "类别"),
            ("工单编号", "来电时间", "诉求内容", "问题类型"),
            ("No", "日期", "内容", "category"),
        ]
    ),
    complaint_village=st.sampled_from([None, "所在村", "村委会", "所属行政村"]),
    complaint_coords=st.sampled_from(["cgcs2000", "gcj02"]),
    complaints=st.lists(rows, min_size=0, max_size=6),
    problem_village=st.sampled_from(["所属村", "村（居）委会", "责任村", "村代码", "地点"]),
    problems=st.lists(rows, min_size=1, max_size=5),
    problem_located=st.lists(st.booleans(), min_size=5, max_size=5),
)


def _in_file_crs(geoms: list, crs: str) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs="EPSG:4546").to_crs(FILE_CRS[crs])


def _point(row: Row) -> shapely.Point:
    return shapely.Point(X0 + row.village * SIDE + row.dx, Y0 + row.dy)


def write_villages(town: Town, folder: Path) -> Path:
    geoms, codes, names = [], [], []
    for i, (code, name) in enumerate(VILLAGES):
        box = village_box(i)
        parts = [box]
        if town.split_village and i == 1:
            parts = [shapely.box(*b) for b in _halves(box)]
        for part in parts:
            geoms.append(part)
            codes.append(code + ("0000000" if town.village_code_field == "ZLDWDM" else ""))
            names.append(name)
    frame = gpd.GeoDataFrame(
        {town.village_code_field: codes, town.village_name_field: names},
        geometry=_in_file_crs(geoms, town.crs),
    )
    path = folder / "villages.shp"
    _write_shapefile(frame, path, town.encoding)
    return path


def _write_shapefile(frame: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    # GDAL cuts field names to 10 bytes and warns (undecodably for UTF-8): the cut names
    # are one of the traps the reader handles.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frame.to_file(path, encoding=encoding)


def _halves(box: shapely.Polygon) -> list[tuple[float, float, float, float]]:
    x0, y0, x1, y1 = box.bounds
    mid = (y0 + y1) / 2
    return [(x0, y0, x1, mid), (x0, mid, x1, y1)]


def _parcel_code_fields(town: Town) -> dict[str, list]:
    n = len(town.parcels)
    codes = [VILLAGES[r.village][0] for r in town.parcels]
    names = [VILLAGES[r.village][1] for r in town.parcels]
    keep = [not r.missing for r in town.parcels]

    def blanked(values: list) -> list:
        return [v if k else None for v, k in zip(values, keep, strict=True)]

    form = town.parcel_code_form
    if form == "composed":
        return {
            "XIAN": ["441882"] * n,
            "XIANG": ["101"] * n,
            "CUN": blanked([c[-3:] for c in codes]),
        }
    if form == "full":
        return {
            "XIAN": ["441882"] * n,
            "XIANG": ["441882101"] * n,
            "CUN": blanked(codes),
        }
    if form == "zldwdm":
        return {"ZLDWDM": blanked([c + "0000000" for c in codes])}
    if form == "name":
        return {"CUN_MC": blanked(names)}
    if form == "name_bare":
        return {"村名": blanked([n.removesuffix("村") for n in names])}
    return {}


def write_parcels(town: Town, folder: Path) -> Path:
    geoms = [shapely.box(p.x, p.y, p.x + 80, p.y + 80) for p in (_point(r) for r in town.parcels)]
    n = len(geoms)
    data = {
        "LIN_BAN": ["0001"] * n,
        "XIAO_BAN": [f"{i + 1:03d}" for i in range(n)],
        "DI_LEI": [None if r.blank else "0111" for r in town.parcels],
        "SEN_LIN_LB": [None if r.blank else "11" for r in town.parcels],
        **_parcel_code_fields(town),
    }
    frame = gpd.GeoDataFrame(data, geometry=_in_file_crs(geoms, town.crs))
    path = folder / "xiaoban.shp"
    _write_shapefile(frame, path, town.encoding)
    return path


def _lonlat(points: list[shapely.Point], gcj: bool) -> tuple[np.ndarray, np.ndarray]:
    ll = gpd.GeoSeries(points, crs="EPSG:4546").to_crs(4490)
    lon, lat = ll.x.to_numpy(), ll.y.to_numpy()
    return wgs84_to_gcj02(lon, lat) if gcj else (lon, lat)


def write_complaints(town: Town, folder: Path) -> Path:
    id_h, date_h, text_h, cat_h = town.complaint_header
    lon, lat = _lonlat([_point(r) for r in town.complaints], town.complaint_coords == "gcj02")
    table = pd.DataFrame(
        {
            id_h: [f"JB{i:05d}" for i in range(len(town.complaints))],
            date_h: ["" if r.blank else "2026-10-01" for r in town.complaints],
            text_h: ["" if r.blank else "有人在山上砍树" for r in town.complaints],
            cat_h: ["" if r.blank else "盗伐滥伐林木" for r in town.complaints],
            "经度": np.round(lon, 7),
            "纬度": np.round(lat, 7),
        }
    )
    if town.complaint_village:
        table[town.complaint_village] = [
            "" if r.missing else VILLAGES[r.village][1] for r in town.complaints
        ]
    path = folder / "complaints.csv"
    path.write_bytes(
        table.to_csv(index=False).encode("gbk" if town.encoding == "cp936" else "utf-8-sig")
    )
    return path


def write_problems(town: Town, folder: Path) -> Path:
    located = town.problem_located[: len(town.problems)]
    lon, lat = _lonlat([_point(r) for r in town.problems], gcj=False)
    header = town.problem_village

    def written(r: Row) -> str:
        code, name = VILLAGES[r.village]
        if header == "村代码":
            return code
        if header == "地点":
            return f"{name}石坑组"
        return name

    table = pd.DataFrame(
        {
            "问题编号": [f"DC-{i:03d}" for i in range(len(town.problems))],
            header: [
                # A row with neither village nor location would belong nowhere: keep one.
                "" if (r.missing and ok) else written(r)
                for r, ok in zip(town.problems, located, strict=True)
            ],
            "问题描述": ["" if r.blank else "林地被占用建房" for r in town.problems],
            "整改期限": ["" if r.blank else "2026-10-30" for r in town.problems],
            "经度": [round(x, 7) if ok else None for x, ok in zip(lon, located, strict=True)],
            "纬度": [round(y, 7) if ok else None for y, ok in zip(lat, located, strict=True)],
        }
    )
    path = folder / "problems.csv"
    path.write_bytes(
        table.to_csv(index=False).encode("gbk" if town.encoding == "cp936" else "utf-8")
    )
    return path


def _balanced(report) -> None:
    assert report.rows_read == report.rows_imported + report.rows_rejected + report.rows_merged


def _expected_codes(rows_: list[Row]) -> list[str]:
    return [VILLAGES[r.village][0] for r in rows_]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(town=towns)
def test_any_town_goes_through_the_whole_pipeline_in_the_right_villages(town: Town):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ws = Workspace(folder / "town.gpkg")
        v = import_file(ws, write_villages(town, folder), "villages", actor="t").report
        _balanced(v)
        assert ws.count("villages") == len(VILLAGES)

        p = import_file(ws, write_parcels(town, folder), "parcels", actor="t").report
        _balanced(p)
        parcels = ws.read("parcels")
        assert parcels["village_code"].tolist() == _expected_codes(town.parcels)
        assert (parcels["village_by"] != "none").all()

        kept = [r for r in town.complaints if not r.blank]
        crs = "GCJ-02" if town.complaint_coords == "gcj02" else None
        if kept:
            result = import_file(
                ws, write_complaints(town, folder), "complaints", actor="t", crs=crs
            )
            _balanced(result.report)
            stored = ws.read("complaints")
            assert stored["village_code"].tolist() == _expected_codes(kept)
        elif town.complaints:  # every row lacks its date: nothing to import, said so
            with pytest.raises(NothingImportedError, match="were rejected"):
                import_file(ws, write_complaints(town, folder), "complaints", actor="t", crs=crs)

        imported = import_problems(ws, write_problems(town, folder), actor="t")
        assert imported.report is not None
        _balanced(imported.report)
        problems = ws.read("problems").sort_values("problem_id")
        assert problems["village_code"].tolist() == _expected_codes(town.problems)

        analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
        for fmt in ("xlsx", "geojson", "csv"):
            export_layer(ws, "targets", folder / f"targets.{fmt}", actor="t")
        export_layer(ws, "parcels", folder / "parcels.shp", actor="t")
        for m in (targets_map_of(ws, "zh"), villages_map_of(ws, AS_OF, "en")):
            assert "<html>" in m.get_root().render()
        status = village_status(ws, AS_OF)
        assert int(status["problems"].sum()) == len(town.problems)
