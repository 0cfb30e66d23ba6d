"""Files of positions picked on Chinese web maps (``--crs GCJ-02`` / ``--crs BD-09``).

Complaint sheets from hotlines (12345) and WeChat mini-programs hold longitudes and
latitudes in GCJ-02 (高德, 腾讯, WeChat) or BD-09 (百度), a few hundred metres off the true
place. :func:`convert_layer` moves every vertex of a freshly read layer to CGCS2000
(EPSG:4490) with :mod:`layers.chinacoords` before anything else is done with it, and says
in the import report what was converted and by how much.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from layers import chinacoords
from layers.errors import CRSError
from layers.messages import Message
from layers.report import ImportReport

__all__ = ["convert_layer", "is_offset_datum"]

_GEOD = pyproj.Geod(ellps="GRS80")
_CGCS2000 = "EPSG:4490"
_SOURCES = {
    chinacoords.GCJ02: ("高德、腾讯、微信地图", "AutoNavi, Tencent or WeChat maps"),
    chinacoords.BD09: ("百度地图", "Baidu maps"),
}


def is_offset_datum(text: str | None) -> bool:
    """True when ``text`` names GCJ-02 or BD-09 (any spelling of :func:`chinacoords.datum_name`)."""
    return chinacoords.datum_name(text) in chinacoords.OFFSET_DATUMS


def _lonlat_features(xy: np.ndarray, feature: np.ndarray, n: int) -> np.ndarray:
    """Per feature: True when every vertex is a finite longitude/latitude in degrees."""
    bad = ~(np.isfinite(xy).all(axis=1) & (np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90))
    out = np.ones(n, dtype=bool)
    out[feature[bad]] = False
    return out


def _not_lonlat(
    datum: str, xy: np.ndarray, feature: np.ndarray, lonlat: np.ndarray, rows: np.ndarray
) -> CRSError:
    has = np.zeros(len(lonlat), dtype=bool)
    has[feature] = True
    wrong = np.flatnonzero(has & ~lonlat)
    first = wrong[0]
    x, y = xy[feature == first][0]
    finite = xy[np.isfinite(xy).all(axis=1)]
    lo, hi = (finite.min(axis=0), finite.max(axis=0)) if len(finite) else ((np.nan,) * 2,) * 2
    span = f"x {lo[0]:.10g}..{hi[0]:.10g}, y {lo[1]:.10g}..{hi[1]:.10g}"
    got = f"x={x:.10g}, y={y:.10g}"
    k, n = len(wrong), int(has.sum())
    return CRSError(
        Message(
            "crs.web_not_lonlat",
            f"--crs {datum} 表示在{_SOURCES[datum][0]}上取的经纬度（度），但文件的坐标不是经纬度："
            f"{n} 个要素中有 {k} 个超出经度 -180..180、纬度 -90..90（坐标范围 {span}；"
            f"如第 {rows[first]} 行 {got}），像是投影坐标（米）。请去掉 --crs {datum}，"
            "按文件实际的坐标系导入（如 --crs EPSG:4546，CGCS2000 3度带 中央经线111°E）；"
            "如确为网络地图位置，请导出经度/纬度列后再导入。",
            f"--crs {datum} means longitudes/latitudes (degrees) picked on "
            f"{_SOURCES[datum][1]}, but the file's coordinates are not longitude/latitude: "
            f"{k} of {n} features lie outside longitude -180..180, latitude -90..90 (bounds "
            f"{span}; e.g. row {rows[first]}: {got}), which looks like projected metres. Leave "
            f"out --crs {datum} and import with the file's real CRS (e.g. --crs EPSG:4546, "
            "CGCS2000 3-degree Gauss-Kruger CM 111E); if the positions really come from a web "
            "map, export them as longitude/latitude columns and import again.",
        )
    )


def convert_layer(raw: gpd.GeoDataFrame, datum: str, report: ImportReport) -> pyproj.CRS:
    """Move the geometries of ``raw`` from ``datum`` lon/lat to CGCS2000, in place.

    Points and every vertex of lines and polygons are converted in one vectorised call
    (``shapely.transform``); vertices outside China are left as they are (the area check
    of the import rejects them later). Features that are not lon/lat at all are left as
    they are too, unless they are the majority, which refuses the file.

    Parameters
    ----------
    raw : geopandas.GeoDataFrame
        The layer as read, coordinates in ``datum`` (longitude, latitude in degrees); a
        ``source_row`` column, when present, names rows in the error message.
    datum : str
        A spelling of GCJ-02 or BD-09 (see :func:`is_offset_datum`).
    report : ImportReport
        Receives ``crs`` (e.g. ``"GCJ-02 → CGCS2000 (EPSG:4490)"``), ``crs_reason`` and a
        warning with the number of features converted and their median and largest shift
        in metres.

    Returns
    -------
    pyproj.CRS
        EPSG:4490, the CRS of the converted coordinates.

    Raises
    ------
    CRSError
        Most features are not longitude/latitude (projected numbers): the message names
        the values received and the fix.
    """
    name = chinacoords.datum_name(datum)
    if name not in chinacoords.OFFSET_DATUMS:
        raise ValueError(f"{datum!r} is not GCJ-02 or BD-09")
    geoms = np.asarray(raw.geometry.array, dtype=object)
    xy, feature = shapely.get_coordinates(geoms, return_index=True)
    lonlat = _lonlat_features(xy, feature, len(geoms))
    with_coords = np.bincount(feature, minlength=len(geoms)) > 0
    if 2 * int((with_coords & ~lonlat).sum()) > int(with_coords.sum()):
        rows = raw["source_row"].to_numpy() if "source_row" in raw else np.arange(len(raw)) + 1
        raise _not_lonlat(name, xy, feature, lonlat, rows)
    convert_vertex = lonlat[feature]

    def convert(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        lon, lat = chinacoords.to_cgcs2000(
            coords[convert_vertex, 0], coords[convert_vertex, 1], name
        )
        out[convert_vertex, 0], out[convert_vertex, 1] = lon, lat
        return out

    moved = shapely.transform(geoms, convert)
    raw[raw.geometry.name] = gpd.GeoSeries(moved, index=raw.index)
    new_xy = shapely.get_coordinates(moved)
    shift = np.zeros(len(xy))
    ok = convert_vertex & np.isfinite(xy).all(axis=1)
    shift[ok] = _GEOD.inv(xy[ok, 0], xy[ok, 1], new_xy[ok, 0], new_xy[ok, 1])[2]
    per_feature = np.zeros(len(geoms))
    np.maximum.at(per_feature, feature, shift)
    _report(report, name, per_feature[per_feature > 0], int((with_coords & lonlat).sum()))
    return pyproj.CRS.from_user_input(_CGCS2000)


def _report(report: ImportReport, name: str, shifts: np.ndarray, lonlat: int) -> None:
    zh_src, en_src = _SOURCES[name]
    report.crs = f"{name} → CGCS2000 ({_CGCS2000})"
    report.crs_reason = Message(
        "crs.user_web",
        f"由 --crs 指定为 {name}（{zh_src}的坐标），已转换为 CGCS2000 ({_CGCS2000})",
        f"given by --crs as {name} (positions from {en_src}), converted to CGCS2000 ({_CGCS2000})",
    )
    n, kept = len(shifts), lonlat - len(shifts)
    if n:
        med, top = float(np.median(shifts)), float(shifts.max())
        zh = f"已将 {n} 个要素的坐标从 {name} 转换为 CGCS2000：偏移中位数 {med:.1f} 米，最大 {top:.1f} 米。"
        en = (
            f"Converted {n} features from {name} to CGCS2000: median shift {med:.1f} m, "
            f"largest {top:.1f} m."
        )
    else:
        zh, en = f"没有要素需要从 {name} 转换。", f"No feature needed converting from {name}."
    if kept:
        zh += f"另有 {kept} 个要素在中国境外，坐标未偏移。"
        en += f" {kept} features lie outside China and were not shifted."
    report.warn(Message("crs.web_converted", zh, en))
