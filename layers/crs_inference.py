"""Inferring the CRS of a layer that declares none, from its coordinates.

A shapefile without ``.prj`` or a table of coordinates carries no CRS. Longitude/latitude
inside China is taken as CGCS2000 (EPSG:4490); Gauss-Kruger eastings that carry a 3-degree
or 6-degree zone number give the CGCS2000 zone-prefixed code; anything else (e.g. 6-digit
eastings, whose central meridian cannot be known) is refused with a message asking for
``--crs``. Each decision is explained in Chinese and English.

Coordinates are in traditional GIS order (x = easting or longitude).
"""

from __future__ import annotations

import math

import pyproj

from layers.crs import CRS_EXAMPLES_EN, CRS_EXAMPLES_ZH, DATUMS, ZONES_3DEG, ZONES_6DEG, code_for
from layers.errors import CRSError
from layers.messages import Message

_CM_CODES_ZH = (
    "CGCS2000 3度带 中央经线75°E..135°E 为 EPSG:4534..4554（如 EPSG:4546 中央经线111°E，"
    "EPSG:4547 中央经线114°E）；西安80 为 EPSG:2370..2390；北京54 为 EPSG:2422..2442"
)
_CM_CODES_EN = (
    "EPSG:4534..4554 CGCS2000 / 3-degree GK CM 75E..135E (e.g. EPSG:4546 CGCS2000 / "
    "3-degree GK CM 111E, EPSG:4547 CGCS2000 / 3-degree GK CM 114E); Xian 1980: "
    "EPSG:2370..2390; Beijing 1954: EPSG:2422..2442"
)

# China, lon/lat (degrees): the box used to recognise geographic coordinates.
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)
# Plausible Gauss-Kruger values in China (metres).
_GK_EASTING = (150_000.0, 850_000.0)
_GK_NORTHING = (300_000.0, 6_000_000.0)


def _bounds_text(bounds: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


def _ambiguous(bounds: tuple[float, float, float, float], why_zh: str, why_en: str) -> CRSError:
    b = _bounds_text(bounds)
    return CRSError(
        Message(
            "crs.ambiguous",
            f"文件未声明坐标系（如 shapefile 缺 .prj，或表格只有坐标列），坐标范围 {b} {why_zh}，无法推断坐标系；"
            f"请用 --crs 指定。可能的代码：{_CM_CODES_ZH}；经纬度为 EPSG:4490。",
            f"the file declares no CRS (a shapefile without .prj, or a table of coordinates) and its bounds {b} {why_en}; the CRS cannot be "
            f"inferred, pass --crs. Likely codes: {_CM_CODES_EN}; lon/lat: EPSG:4490 "
            f"(CGCS2000).",
        )
    )


def _prefixed_zone(minx: float, maxx: float) -> int | None:
    zone = int(minx // 1_000_000)
    if zone != int(maxx // 1_000_000) or (zone not in ZONES_3DEG and zone not in ZONES_6DEG):
        return None
    lo, hi = _GK_EASTING
    if lo <= minx - zone * 1_000_000 and maxx - zone * 1_000_000 <= hi:
        return zone
    return None


def infer_crs(bounds: tuple[float, float, float, float]) -> tuple[pyproj.CRS, Message]:
    """Infer the CRS of a layer without ``.prj`` from its total bounds, when unambiguous.

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` in traditional GIS order (x = easting/longitude).

    Returns
    -------
    crs : pyproj.CRS
        EPSG:4490 for longitude/latitude inside China; the CGCS2000 zone-prefixed
        Gauss-Kruger code for 8-digit eastings that carry a 3-degree (25..45) or 6-degree
        (13..23) zone number.
    reason : Message
        A warning-style text saying what was assumed and how to override it with --crs.

    Raises
    ------
    CRSError
        Empty/NaN bounds, or coordinates that fit no unambiguous case (e.g. 6-digit
        eastings, whose central meridian cannot be known); the message asks for --crs.
    """
    if len(bounds) != 4 or not all(math.isfinite(float(v)) for v in bounds):
        raise CRSError(
            Message(
                "crs.no_bounds",
                f"文件未声明坐标系，且坐标范围为 {bounds!r}（为空或不是数值），"
                f"无法推断坐标系；"
                f"请用 --crs 指定，{CRS_EXAMPLES_ZH}。",
                f"the file declares no CRS and its bounds were {bounds!r} (empty or not numbers), "
                f"so the CRS cannot be inferred; pass --crs, {CRS_EXAMPLES_EN}.",
            )
        )
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if (
        _CHINA_LON[0] <= minx <= maxx <= _CHINA_LON[1]
        and _CHINA_LAT[0] <= miny <= maxy <= _CHINA_LAT[1]
    ):
        return pyproj.CRS.from_epsg(4490), Message(
            "crs.inferred_lonlat",
            "文件未声明坐标系；坐标像经纬度，假定为 CGCS2000 (EPSG:4490)；如不是请用 --crs 指定",
            "the file declares no CRS; coordinates look like longitude/latitude; assumed CGCS2000 (EPSG:4490); "
            "pass --crs if not",
        )
    zone = _prefixed_zone(minx, maxx)
    if zone is not None and _GK_NORTHING[0] <= miny <= maxy <= _GK_NORTHING[1]:
        return _zone_result(zone)
    if (
        _GK_EASTING[0] <= minx <= maxx <= _GK_EASTING[1]
        and _GK_NORTHING[0] <= miny <= maxy <= _GK_NORTHING[1]
    ):
        raise _ambiguous(
            bounds,
            "为不带带号的高斯-克吕格坐标，中央经线不确定",
            "are Gauss-Kruger coordinates without a zone prefix, so the central meridian is "
            "unknown",
        )
    raise _ambiguous(
        bounds,
        "既不像中国范围的经纬度，也不像高斯-克吕格坐标",
        "look neither like longitude/latitude in China nor like Gauss-Kruger coordinates",
    )


def _zone_result(zone: int) -> tuple[pyproj.CRS, Message]:
    band = 3 if zone in ZONES_3DEG else 6
    cm = float(3 * zone if band == 3 else 6 * zone - 3)
    cgcs, xian, beijing = (code_for(d, band, cm, zone) for d in DATUMS)
    assert cgcs is not None
    return pyproj.CRS.from_epsg(cgcs), Message(
        "crs.inferred_zone",
        f"文件未声明坐标系；横坐标带有带号 {zone}（{band}度带，中央经线{cm:g}°E），"
        f"基准面假定为 CGCS2000，即 EPSG:{cgcs}；如为西安80请用 --crs EPSG:{xian}，"
        f"北京54 请用 --crs EPSG:{beijing}",
        f"the file declares no CRS; eastings carry zone number {zone} ({band}-degree zone, CM {cm:g}E); "
        f"datum assumed CGCS2000, i.e. EPSG:{cgcs}; pass --crs EPSG:{xian} for Xian 1980 "
        f"or --crs EPSG:{beijing} for Beijing 1954",
    )
