"""The small analysed town the intake tests file complaints into (one copy per test)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import pytest
import shapely

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.intake.complaints import ComplaintIntake
from tests.support.builders import GK111, X0, Y0, write_shp, xiaoban
from tests.support.files import copy_workspace

AS_OF = date(2026, 11, 28)
TO_GEO = pyproj.Transformer.from_crs(GK111, 4490, always_xy=True)
# three 100 m parcels 0012-001..003 at x0, x0+200, x0+400; a patch on the second
PARCEL_CENTRES = [(X0 + 50 + 200 * i, Y0 + 50) for i in range(3)]


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_GEO.transform(x, y)
    return float(lon), float(lat)


def parcels_file(path: Path) -> Path:
    codes = ["441882101201", "441882101202", "441882101202"]
    return write_shp(xiaoban(ZLDWDM=codes), path)


def villages_file(path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"XZQDM": ["441882101201", "441882101202"], "XZQMC": ["竹山村", "丰阳村"]},
        geometry=[
            shapely.box(X0 - 1000, Y0 - 1000, X0 + 250, Y0 + 1000),
            shapely.box(X0 + 250, Y0 - 1000, X0 + 1500, Y0 + 1000),
        ],
        crs=GK111,
    )
    return write_shp(frame, path, encoding="utf-8", cpg=True)


def patches_file(path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "PAN_NO_TB": ["P1"],
            "BHND": [2026],
            "BHYY": ["22"],
            "SHIFOU_WF": ["1"],
            "WF_MJ": [0.1],
            "MIAN_JI": [0.25],
        },
        geometry=[shapely.box(X0 + 200, Y0, X0 + 250, Y0 + 50)],
        crs=GK111,
    )
    return write_shp(frame, path)


def complaints_file(path: Path) -> Path:
    lon, lat = lonlat(*PARCEL_CENTRES[0])
    path.write_text(
        "举报编号,受理时间,举报内容,经度,纬度,核实结果\n"
        f"A1,2026-10-01,有人砍树,{lon},{lat},属实\n"
        f"A2,2026-11-01,山上有人烧垃圾,{lon + 0.0002},{lat},待核实\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Parcels, villages, complaints and a patch, analysed at AS_OF."""
    d = tmp_path_factory.mktemp("intake")
    ws = Workspace(d / "w.gpkg")
    import_file(ws, parcels_file(d / "xb.shp"), "parcels", actor="t", parcel_kind="forest")
    import_file(ws, villages_file(d / "v.shp"), "villages", actor="t")
    import_file(ws, complaints_file(d / "c.csv"), "complaints", actor="t")
    import_file(ws, patches_file(d / "p.shp"), "patches", actor="t")
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    return ws.path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "w.gpkg"
    copy_workspace(template, path)
    return Workspace(path)


def submit(intake: ComplaintIntake, at: int | tuple[float, float] = 0, **kw):
    x, y = PARCEL_CENTRES[at] if isinstance(at, int) else at
    lon, lat = lonlat(x, y)
    args = {"text": "有人在山上砍树", "by": "office:张三", "as_of": AS_OF, **kw}
    return intake.submit(intake.ws, lon=lon, lat=lat, **args)


def risk(ws: Workspace) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(ws.path, layer="parcel_risk").set_index("parcel_id")
