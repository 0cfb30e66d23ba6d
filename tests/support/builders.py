"""Tiny builders of survey files for tests, the sample town, and the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import shapely

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.workspace import Workspace
from geoservice.cli.common import DEMO_FILES
from geoservice.files.importing import import_file

GK111 = "EPSG:4546"
# A 100 m square near Lianzhou in CGCS2000 / 3-degree GK CM 111E.
X0, Y0 = 641_000.0, 2_744_000.0


def squares(n: int, size: float = 100.0, x0: float = X0, y0: float = Y0) -> list:
    return [
        shapely.box(x0 + i * 2 * size, y0, x0 + i * 2 * size + size, y0 + size) for i in range(n)
    ]


def xiaoban(n: int = 3, crs: str | None = GK111, **extra: list) -> gpd.GeoDataFrame:
    data = {
        "LIN_BAN": ["0012"] * n,
        "XIAO_BAN": [f"{i + 1:03d}" for i in range(n)],
        "DI_LEI": ["111"] * n,
        "CUN_MC": ["丰阳村"] * n,
        "MIAN_JI": [1.0] * n,
    }
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=squares(n), crs=crs)


def write_shp(
    gdf: gpd.GeoDataFrame,
    path: Path,
    *,
    encoding: str = "cp936",
    cpg: bool = False,
    ldid: int | None = 0x00,
    prj: bool = True,
) -> Path:
    """Write a shapefile the way survey offices' files arrive.

    ``encoding`` is the DBF's text encoding; without ``cpg`` the ``.cpg`` is removed;
    ``ldid`` patches the DBF's language driver byte (29); without ``prj`` the ``.prj`` is
    removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Files without a CRS are what these tests are about.
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
        pyogrio.write_dataframe(gdf, path, encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    return path


# --- the sample town and the command line --------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "sample_gis"
AS_OF = date(2026, 11, 28)


def run_cli(
    *args: object,
    user: str = "tester",
    timeout: float | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m geoservice ARGS`` as a user runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "geoservice", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "GEOSERVICE_USER": user},
        timeout=timeout,
        check=check,
    )


def run_demo(out: Path) -> Path:
    """``geoservice demo`` of the sample town into ``out``; the path of its workspace.

    Run with a bare environment (no settings of the developer's shell leak in).
    """
    res = subprocess.run(
        [sys.executable, "-m", "geoservice", "demo", "--data", str(SAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={"GEOSERVICE_USER": "planner", "PATH": "/usr/bin:/bin", "HOME": str(out)},
    )
    assert res.returncode == 0, res.stderr
    return out / "demo.gpkg"


def sample_with_texts(
    folder: Path,
    complaint_texts: list[str],
    problem_description: str,
    village: str,
    renamed: str,
) -> Path:
    """A copy of the sample town's files in ``folder`` carrying user text traps.

    The first complaints get ``complaint_texts``, the first problem ``problem_description``,
    and the village ``village`` is called ``renamed`` in the villages layer, the complaints
    and the problem list. Spreadsheet cells are written as text, as a clerk's file holds
    them (never as formulas).
    """
    shutil.copytree(SAMPLE, folder)
    complaints = folder / "complaints.csv"
    table = pd.read_csv(complaints, encoding="gbk", dtype=str)
    table.loc[: len(complaint_texts) - 1, "举报内容"] = complaint_texts
    table["所在村"] = table["所在村"].replace(village, renamed)
    table.to_csv(complaints, index=False, encoding="gbk")
    book = openpyxl.load_workbook(folder / "problems.xlsx")
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    description = sheet.cell(2, header.index("问题描述") + 1, problem_description)
    description.data_type = "s"
    for row in sheet.iter_rows(min_row=2):
        cell = row[header.index("所属村")]
        if cell.value == village:
            cell.value = renamed
            cell.data_type = "s"
    book.save(folder / "problems.xlsx")
    villages = pyogrio.read_dataframe(folder / "villages.shp")
    villages.loc[villages["XZQMC"] == village, "XZQMC"] = renamed
    pyogrio.write_dataframe(villages, folder / "villages.shp", encoding="CP936")
    return folder


def analysed_town(files: Path, path: Path) -> Workspace:
    """The sample town's files in ``files`` imported as the demo does, analysed at AS_OF."""
    ws = Workspace(path)
    for f in DEMO_FILES:
        import_file(ws, files / f.name, f.kind, actor="t", **f.options())
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    return ws
