"""Tiny builders of survey files for tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

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
