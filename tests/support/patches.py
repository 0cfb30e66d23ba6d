"""Builders shared by the change-patch tests: a tiny 森林督查 patch file as it arrives
(GBK shapefile without a .cpg, BHYY/SHIFOU_WF blank where the field check has not been
done) imported into a workspace with villages and one problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from tests.support.builders import GK111, squares, write_shp
from tests.support.workflow import workspace

VILLAGE = "441882101202"  # 丰阳村 of the sample villages

# One patch per way a field check can have ended (or not started).
UNVERIFIED = {"PAN_NO_TB": "44188220260001", "PAN_BHYY": "22"}  # 待现地核实
ILLEGAL = {
    "PAN_NO_TB": "44188220260002",
    "PAN_BHYY": "51",
    "BHYY": "51",
    "SHIFOU_WF": "1",
    "WF_MJ": 0.5,
}
LEGAL = {
    "PAN_NO_TB": "44188220260003",
    "PAN_BHYY": "411",
    "BHYY": "411",
    "SHIFOU_WF": "0",
    "WF_MJ": 0.0,
    "SH_WH": "粤林地许准〔2026〕3号",
}
CONTRADICTORY = {
    "PAN_NO_TB": "44188220260004",
    "PAN_BHYY": "421",
    "BHYY": "421",
    "SHIFOU_WF": "0",
    "WF_MJ": 0.0,
}


def patches_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A patch shapefile of ``rows`` (defaults: village 丰阳村, year 2026, 1 ha)."""
    base: dict[str, Any] = {
        "CUN": VILLAGE,
        "BHND": "2026",
        "PAN_BHYY": None,
        "BHYY": None,
        "SHIFOU_WF": None,
        "WF_MJ": None,
        "SH_WH": None,
        "MIAN_JI": 1.0,
    }
    full = [{**base, **r} for r in rows]
    data = {k: [r[k] for r in full] for k in full[0]}
    frame = gpd.GeoDataFrame(data, geometry=squares(len(rows)), crs=GK111)
    return write_shp(frame, path)


def import_patches(ws: Workspace, folder: Path, rows: list[dict[str, Any]]) -> None:
    """Import (or import again) the patch list ``rows`` into ``ws``."""
    import_file(ws, patches_file(folder / "patches.shp", rows), "patches", actor="importer")


def patch_workspace(tmp_path: Path, rows: list[dict[str, Any]] | None = None) -> Workspace:
    """Villages, one problem (P-1 of 丰阳村) and the patch list ``rows`` (default: the four
    patches above)."""
    ws = workspace(tmp_path)
    import_patches(ws, tmp_path, rows or [UNVERIFIED, ILLEGAL, LEGAL, CONTRADICTORY])
    return ws
