"""Delivered columns, ids and files of the sample data.

Turns the internal event tables into the columns survey files really carry (Chinese CSV and
XLSX headers, 森林督查 field codes), numbers them, and writes every file with the encoding,
code-page byte, ``.cpg`` and ``.prj`` that ``sample_gis/README.md`` documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geoservice.sample.forms import WECHAT_COLUMNS, village_name_forms
from geoservice.sample.io import (
    PRJ_CGCS2000_GK_CM_111E,
    PRJ_CGCS2000_GK_ZONE_37,
    DbfField,
    write_csv,
    write_shapefile,
    write_xlsx,
)
from geoservice.sample.patch_dates import DATE_FIELDS, patch_dates
from geoservice.sample.terrain import Villages
from geoservice.sample.text import CAMPAIGNS, CATEGORY_ZH, cc_departments

if TYPE_CHECKING:
    from geoservice.sample.town import SampleData

#: Zone-37 false easting prefix added to CM-111E eastings (EPSG:4546 -> EPSG:4525).
ZONE_37_PREFIX = 37_000_000.0

C: Final = "C"
N: Final = "N"
VILLAGE_FIELDS = (DbfField("XZQDM", C, 12), DbfField("XZQMC", C, 50))
WETLAND_FIELDS = (
    DbfField("BSM", C, 18),
    DbfField("TBBH", C, 8),
    DbfField("DLBM", C, 5),
    DbfField("DLMC", C, 60),
    DbfField("ZLDWDM", C, 19),
    DbfField("ZLDWMC", C, 60),
    DbfField("TBMJ", N, 19, 2),
    DbfField("SDLX", C, 4),
)


def forest_fields(lin_ban_width: int) -> tuple[DbfField, ...]:
    """小班 fields; LIN_BAN is 4 characters (5 at the province scale)."""
    return (
        DbfField("SHENG", C, 2),
        DbfField("SHI", C, 4),
        DbfField("XIAN", C, 6),
        DbfField("XIANG", C, 3),
        DbfField("CUN", C, 3),
        DbfField("LIN_BAN", C, lin_ban_width),
        DbfField("XIAO_BAN", C, 5),
        DbfField("DI_LEI", C, 6),
        DbfField("SEN_LIN_LB", C, 2),
        DbfField("SHI_QUAN_D", C, 2),
        DbfField("GJGYL_BHDJ", C, 1),
        DbfField("BH_DJ", C, 1),
        DbfField("LIN_ZHONG", C, 3),
        DbfField("QI_YUAN", C, 2),
        DbfField("YOU_SHI_SZ", C, 6),
        DbfField("HUO_LMGQXJ", N, 8, 1),
        DbfField("MIAN_JI", N, 12, 2),
        DbfField("CUN_MC", C, 30),
        DbfField("BEI_ZHU", C, 60),
    )


def patch_fields(lin_ban_width: int) -> tuple[DbfField, ...]:
    """森林督查 change-patch fields; XIAN, XIANG and CUN are full-length codes (6, 9, 12)."""
    return (
        DbfField("PAN_NO_TB", C, 20),
        DbfField("XIAN", C, 6),
        DbfField("XIANG", C, 9),
        DbfField("CUN", C, 12),
        DbfField("LIN_BAN", C, lin_ban_width),
        DbfField("BHND", C, 4),
        DbfField("PAN_BHYY", C, 3),
        DbfField("BHYY", C, 3),
        DbfField("SHIFOU_WF", C, 1),
        DbfField("WF_MJ", N, 10, 2),
        DbfField("MIAN_JI", N, 10, 2),
        DbfField("SH_WH", C, 40),
        DbfField("CFZH", C, 30),
        DbfField("GPS_X", N, 10, 0),
        DbfField("GPS_Y", N, 9, 0),
        DbfField(DATE_FIELDS[0], C, 8),
        DbfField(DATE_FIELDS[1], C, 10),
        DbfField(DATE_FIELDS[2], C, 10),
        DbfField("BEIZHU", C, 80),
    )


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4546 metres -> CGCS2000 degrees as 6-decimal text ("" where x is NaN)."""
    lon, lat = Transformer.from_crs(4546, 4490, always_xy=True).transform(x, y)
    out = []
    for v in (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)):
        text = np.char.mod("%.6f", np.nan_to_num(v)).astype(object)
        text[np.isnan(v)] = ""
        out.append(text)
    return out[0], out[1]


def _serial(group: pd.Series) -> np.ndarray:
    """1-based running number within each value of ``group`` (in row order)."""
    return group.groupby(group, sort=False).cumcount().to_numpy() + 1


def finish_complaints(table: pd.DataFrame, villages: Villages) -> pd.DataFrame:
    """Sort by time, number (举报编号 JB<year><5 digits>) and add the delivered columns."""
    t = table.sort_values("_when", kind="stable").reset_index(drop=True)
    year = t["_when"].dt.year.astype(str)
    t["举报编号"] = "JB" + year + pd.Series(_serial(year)).astype(str).str.zfill(5)
    t["受理时间"] = t["_when"].dt.strftime("%Y-%m-%d %H:%M")
    t["来源"] = t["_channel"]
    cat = t["_category"].map(CATEGORY_ZH)
    t["类别"] = cat.where(~t["_blank_category"], "")
    t["举报内容"] = t["_text"]
    t["经度"], t["纬度"] = _lonlat(t["_x"].to_numpy(), t["_y"].to_numpy())
    t["核实结果"] = t["_status"]
    vil = t["_village"].to_numpy()
    t["所在村"] = np.where(vil >= 0, villages.name[np.maximum(vil, 0)], "")
    return t


COMPLAINT_COLUMNS = [
    "举报编号",
    "受理时间",
    "来源",
    "类别",
    "举报内容",
    "经度",
    "纬度",
    "核实结果",
    "所在村",
]


def finish_patches(
    table: pd.DataFrame, forest: pd.DataFrame, villages: Villages, rng: np.random.Generator
) -> pd.DataFrame:
    """Locate each patch (county, town, village, 林班), number it and add MIAN_JI, GPS and
    the image, dispatch and check dates (:mod:`geoservice.sample.patch_dates`, drawn from
    ``rng``; a patch counts as checked when it has a 变化原因 or a 违法违规 value).

    XIAN, XIANG and CUN are written full-length as the LCXZGX template defines them: the
    6-digit county, the 9-digit township and the 12-digit village code.
    """
    geoms = table["geometry"].to_numpy()
    pt = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pt), shapely.get_y(pt)
    in_vil = shapely.STRtree(villages.geoms).query(pt, predicate="within")
    vil = np.zeros(len(table), dtype=np.int64)
    vil[in_vil[0]] = in_vil[1]
    in_forest = shapely.STRtree(forest.geometry.to_numpy()).query(pt, predicate="within")
    lin_ban = np.full(len(table), "", dtype=object)
    lin_ban[in_forest[0]] = forest["LIN_BAN"].to_numpy()[in_forest[1]]
    t = table.assign(
        XIAN=villages.county[vil],
        XIANG=np.char.add(villages.county[vil], villages.town[vil]),
        CUN=villages.code[vil],
        LIN_BAN=lin_ban,
        _x=x,
        _y=y,
    )
    t = t.assign(_ry=-np.round(y, -2)).sort_values(["BHND", "_ry", "_x"], kind="stable")
    t = t.reset_index(drop=True)
    width = max(4, len(str(len(t))))
    seq = pd.Series(_serial(t["BHND"])).astype(str).str.zfill(width)
    t["PAN_NO_TB"] = t["XIAN"] + t["BHND"] + seq
    t["MIAN_JI"] = np.round(shapely.area(t["geometry"].to_numpy()) / 1e4, 2)
    c = shapely.centroid(t["geometry"].to_numpy())
    t["GPS_X"] = np.round(shapely.get_x(c) + ZONE_37_PREFIX)
    t["GPS_Y"] = np.round(shapely.get_y(c))
    checked = (t["BHYY"].astype(str) != "") | (t["SHIFOU_WF"].astype(str) != "")
    dates = patch_dates(rng, t["BHND"].to_numpy(dtype=str), checked.to_numpy())
    return pd.concat([t, dates], axis=1)


def finish_problems(
    table: pd.DataFrame, villages: Villages, rng: np.random.Generator
) -> pd.DataFrame:
    """Sort by date found, number (DC<campaign yyyymm>-<3 digits>) and add the columns.

    The village is named only, under 所属村, in the forms lists use
    (:func:`geoservice.sample.forms.village_name_forms`); no village code column.
    """
    t = table.sort_values(["_found", "_village"], kind="stable").reset_index(drop=True)
    camp_date = pd.Series([c[1] for c in CAMPAIGNS])[t["_campaign"]].to_numpy()
    prefix = pd.Series(camp_date).str.slice(0, 7).str.replace("-", "")
    seq = pd.Series(_serial(prefix)).astype(str).str.zfill(3)
    t["问题编号"] = "DC" + prefix + "-" + seq
    t["督查批次"] = pd.Series([c[0] for c in CAMPAIGNS])[t["_campaign"]].to_numpy()
    t["发现日期"] = pd.to_datetime(t["_found"]).dt.date
    vil = t["_village"].to_numpy()
    t["问题类别"] = t["_category"].map(CATEGORY_ZH)
    t["问题描述"] = t["_text"]
    t["整改期限"] = pd.to_datetime(t["_deadline"]).dt.date
    t["整改状态"] = t["_status"]
    t["抄送部门"] = t["_category"].map({k: cc_departments(k) for k in CATEGORY_ZH})
    lon, lat = _lonlat(t["_x"].to_numpy(), t["_y"].to_numpy())
    t["经度"] = pd.to_numeric(pd.Series(lon).replace("", np.nan))
    t["纬度"] = pd.to_numeric(pd.Series(lat).replace("", np.nan))
    t["所属村"] = village_name_forms(rng, villages.name[vil], t["_x"].notna().to_numpy())
    return t


PROBLEM_COLUMNS = [
    "问题编号",
    "督查批次",
    "发现日期",
    "所属村",
    "问题类别",
    "问题描述",
    "整改期限",
    "整改状态",
    "抄送部门",
    "经度",
    "纬度",
]
PROBLEM_WIDTHS = {"问题编号": 14, "督查批次": 30, "问题描述": 70, "抄送部门": 40, "问题类别": 22}


def write_all(out: Path, data: SampleData, names: Mapping[str, str]) -> dict[str, Path]:
    """Write every file into ``out``; returns kind -> path."""
    villages, forest, wetlands = data.villages, data.forest, data.wetlands
    complaints, patches, problems = data.complaints, data.patches, data.problems
    lb = len(str(forest["LIN_BAN"].iloc[0]))
    paths: dict[str, Path] = {}
    v_geoms, v_index = data.village_rows
    paths["villages"] = write_shapefile(
        out / names["villages"],
        v_geoms,
        VILLAGE_FIELDS,
        {"XZQDM": villages.code[v_index], "XZQMC": villages.name[v_index]},
        encoding="gbk",
        ldid=0x4D,
        cpg="936",
        prj=PRJ_CGCS2000_GK_CM_111E,
        epsg=4546,
        updated=dt.date(2025, 12, 31),
    )
    paths["parcels"] = write_shapefile(
        out / names["parcels"],
        forest["geometry"].to_numpy(),
        forest_fields(lb),
        forest,
        encoding="gbk",
        ldid=0x00,
        cpg=None,
        prj=PRJ_CGCS2000_GK_CM_111E,
        epsg=4546,
        updated=dt.date(2026, 6, 30),
    )
    paths["wetlands"] = write_shapefile(
        out / names["wetlands"],
        wetlands["geometry"].to_numpy(),
        WETLAND_FIELDS,
        wetlands,
        encoding="utf-8",
        ldid=0x00,
        cpg="UTF-8",
        prj=PRJ_CGCS2000_GK_CM_111E,
        epsg=4546,
        updated=dt.date(2026, 5, 12),
    )
    moved = shapely.transform(
        patches["geometry"].to_numpy(), lambda c: c + np.array([ZONE_37_PREFIX, 0.0])
    )
    paths["patches"] = write_shapefile(
        out / names["patches"],
        moved,
        patch_fields(lb),
        patches,
        encoding="gbk",
        ldid=0x57,
        cpg=None,
        prj=PRJ_CGCS2000_GK_ZONE_37,
        epsg=4525,
        updated=dt.date(2026, 11, 20),
    )
    paths["complaints"] = write_csv(
        out / names["complaints"], complaints[COMPLAINT_COLUMNS], encoding="gbk"
    )
    paths["complaints_wechat"] = write_csv(
        out / names["complaints_wechat"], data.wechat[WECHAT_COLUMNS], encoding="utf-8-sig"
    )
    paths["problems"] = write_xlsx(
        out / names["problems"], "督查问题", problems[PROBLEM_COLUMNS], PROBLEM_WIDTHS
    )
    return paths
