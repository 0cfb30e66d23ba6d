"""Coordinate reference systems of Chinese survey files.

Survey shapefiles use CGCS2000, Xian 1980 or Beijing 1954, either geographic or
Gauss-Kruger (transverse Mercator, scale 1) in 3-degree or 6-degree zones, with the zone
number prefixed to the easting (false easting ``zone * 1e6 + 500000``) or not (false
easting 500000, "CM" variants). Their ``.prj`` files are ESRI WKT, often with custom
names, so PROJ does not always find the EPSG code; this module matches the parameters
itself and says how each CRS was decided, in Chinese and English. It also parses the CRS a
user gives (``--crs``) and describes CRSs; inferring a CRS from coordinates when a file
declares none is :mod:`layers.crs_inference`.

Coordinates handed to these functions are in traditional GIS order (x = easting or
longitude), as GDAL returns them, whatever the EPSG axis order of the CRS.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import pyproj
from pyproj.exceptions import CRSError as PyprojCRSError

from layers.errors import CRSError
from layers.messages import Message

#: Example CRS codes quoted in messages that ask for ``--crs`` (Chinese, English).
CRS_EXAMPLES_ZH = (
    "例如 EPSG:4546（CGCS2000 3度带高斯-克吕格 中央经线111°E）或 EPSG:4490（CGCS2000 经纬度）"
)
CRS_EXAMPLES_EN = (
    "e.g. EPSG:4546 (CGCS2000 3-degree Gauss-Kruger CM 111E) or EPSG:4490 (CGCS2000 lon/lat)"
)

#: Degrees added around a CRS's area of use by :func:`valid_lonlat_box`.
LONLAT_MARGIN_DEG = 2.0

#: Gauss-Kruger zone numbers used in China: 3-degree zones and 6-degree zones.
ZONES_3DEG = range(25, 46)
ZONES_6DEG = range(13, 24)


# --------------------------------------------------------------------------- EPSG table


@dataclass(frozen=True)
class Datum:
    key: str
    zh: str
    en: str
    a: float  # semi-major axis, metres
    rf: float  # inverse flattening
    tokens: tuple[str, ...]  # normalised name fragments
    # EPSG codes: geographic, and the first code of each series (zone 25 / zone 13).
    geographic: int
    zone3: int
    cm3: int
    zone6: int
    cm6: int


#: The datums of Chinese survey data: CGCS2000, Xian 1980, Beijing 1954.
DATUMS: tuple[Datum, ...] = (
    Datum(
        key="cgcs2000",
        zh="CGCS2000",
        en="CGCS2000",
        a=6378137.0,
        rf=298.257222101,
        tokens=("CGCS2000", "CHINA2000", "CHINAGEODETICCOORDINATESYSTEM2000", "国家2000"),
        geographic=4490,
        zone3=4513,
        cm3=4534,
        zone6=4491,
        cm6=4502,
    ),
    Datum(
        key="xian1980",
        zh="西安1980",
        en="Xian 1980",
        a=6378140.0,
        rf=298.257,
        tokens=("XIAN1980", "XIAN80", "西安80", "西安1980"),
        geographic=4610,
        zone3=2349,
        cm3=2370,
        zone6=2327,
        cm6=2338,
    ),
    Datum(
        key="beijing1954",
        zh="北京1954",
        en="Beijing 1954",
        a=6378245.0,
        rf=298.3,
        tokens=("BEIJING1954", "BEIJING54", "BJ54", "北京54", "北京1954"),
        geographic=4214,
        zone3=2401,
        cm3=2422,
        zone6=21413,
        cm6=21453,
    ),
)


@dataclass(frozen=True)
class EpsgEntry:
    """What an EPSG code of the table stands for."""

    datum: Datum
    band: int  # 0 geographic, 3 or 6 degree zones
    cm: float | None  # central meridian, degrees east
    zone: int | None  # zone number when the easting is zone-prefixed

    def label(self, lang: str) -> str:
        name = self.datum.zh if lang == "zh" else self.datum.en
        if self.band == 0:
            return f"{name} 经纬度" if lang == "zh" else f"{name} lon/lat"
        cm = f"{self.cm:g}"
        if lang == "zh":
            where = f"第{self.zone}带(带号前缀)" if self.zone else f"中央经线{cm}°E"
            return f"{name} {self.band}度带 {where}"
        where = f"zone {self.zone} (zone-prefixed)" if self.zone else f"CM {cm}E"
        return f"{name} {self.band}-degree GK {where}"


@cache
def epsg_table() -> dict[int, EpsgEntry]:
    """EPSG codes of CGCS2000 / Xian 1980 / Beijing 1954 geographic and Gauss-Kruger CRSs.

    Built from the code ranges: 3-degree zones 25..45 (CM = 3 * zone, 75E..135E) and
    6-degree zones 13..23 (CM = 6 * zone - 3), each zone-prefixed and CM variant.
    """
    table: dict[int, EpsgEntry] = {}
    for d in DATUMS:
        table[d.geographic] = EpsgEntry(d, 0, None, None)
        for i, zone in enumerate(ZONES_3DEG):
            table[d.zone3 + i] = EpsgEntry(d, 3, 3.0 * zone, zone)
            table[d.cm3 + i] = EpsgEntry(d, 3, 3.0 * zone, None)
        for i, zone in enumerate(ZONES_6DEG):
            table[d.zone6 + i] = EpsgEntry(d, 6, 6.0 * zone - 3.0, zone)
            table[d.cm6 + i] = EpsgEntry(d, 6, 6.0 * zone - 3.0, None)
    return table


def code_for(datum: Datum, band: int, cm: float | None, zone: int | None) -> int | None:
    """The EPSG code of ``datum`` for a band (0, 3, 6), central meridian and zone, or None."""
    for code, entry in epsg_table().items():
        if (entry.datum, entry.band, entry.cm, entry.zone) == (datum, band, cm, zone):
            return code
    return None


# --------------------------------------------------------------------------- parsing


def _parse(text: str, what_zh: str, what_en: str) -> pyproj.CRS:
    cleaned = text.strip().lstrip("\ufeff").strip()
    try:
        if not cleaned:
            raise PyprojCRSError("empty")
        return pyproj.CRS.from_user_input(cleaned)
    except PyprojCRSError:
        shown = cleaned if len(cleaned) <= 80 else cleaned[:77] + "..."
        raise CRSError(
            Message(
                "crs.invalid",
                f"{what_zh}为 '{shown}'，无法识别为坐标系；应为 EPSG 代码、WKT 或 PROJ 字符串，"
                f"{CRS_EXAMPLES_ZH}。请用 --crs 指定，例如 --crs EPSG:4546。",
                f"{what_en} was '{shown}' but is expected to be an EPSG code, WKT or PROJ "
                f"string, {CRS_EXAMPLES_EN}; pass --crs, e.g. --crs EPSG:4546.",
            )
        ) from None


def crs_from_user(text: str) -> pyproj.CRS:
    """The CRS a user typed: ``EPSG:4546``, ``epsg:4546``, ``4546``, WKT or a PROJ string.

    Raises
    ------
    CRSError
        The text is not a CRS; the message names it, gives examples and names the web-map
        values ``GCJ-02`` and ``BD-09`` that :func:`layers.read_layer` also accepts.
    """
    match = re.fullmatch(r"\s*(?:epsg\s*:\s*)?(\d{4,6})\s*", text, flags=re.IGNORECASE)
    try:
        return _parse(f"EPSG:{match.group(1)}" if match else text, "`--crs` ", "`--crs`")
    except CRSError as exc:
        raise CRSError(
            Message(
                exc.code,
                f"{exc.message.zh}在高德、腾讯、微信地图上取的经纬度用 --crs GCJ-02，"
                "百度地图的用 --crs BD-09。",
                f"{exc.message.en} For lon/lat picked on AutoNavi, Tencent or WeChat maps "
                "pass --crs GCJ-02; on Baidu maps --crs BD-09.",
            )
        ) from None


# --------------------------------------------------------------------------- .prj matching


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-./()]", "", text).upper()


def _datum_by_name(crs: pyproj.CRS) -> Datum | None:
    geodetic = crs.geodetic_crs
    names = [crs.name, geodetic.name if geodetic else ""]
    if crs.datum is not None:
        names.append(crs.datum.name)
    if crs.ellipsoid is not None:
        names.append(crs.ellipsoid.name)
    text = _norm(" ".join(names))
    found = [d for d in DATUMS if any(t in text for t in d.tokens)]
    return found[0] if len(found) == 1 else None


def _datum_by_ellipsoid(crs: pyproj.CRS) -> Datum | None:
    ell = crs.ellipsoid
    if ell is None or ell.inverse_flattening is None:
        return None
    for d in DATUMS:
        if abs(ell.semi_major_metre - d.a) < 0.01 and abs(ell.inverse_flattening - d.rf) < 1e-6:
            return d
    return None


def _detect_datum(crs: pyproj.CRS) -> Datum | None:
    """The datum from its ellipsoid parameters; a datum named otherwise is refused."""
    if crs.prime_meridian is not None and abs(crs.prime_meridian.longitude) > 1e-9:
        return None
    by_ellipsoid = _datum_by_ellipsoid(crs)
    by_name = _datum_by_name(crs)
    if by_ellipsoid is None or (by_name is not None and by_name != by_ellipsoid):
        return None
    return by_ellipsoid


def _tm_parameters(crs: pyproj.CRS) -> dict[str, float] | None:
    """lat0, cm (degrees), k, fe, fn (metres) of a transverse Mercator CRS in metres."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    if any(abs(a.unit_conversion_factor - 1.0) > 1e-12 for a in crs.axis_info):
        return None  # not metres
    keys = {"8801": "lat0", "8802": "cm", "8805": "k", "8806": "fe", "8807": "fn"}
    out: dict[str, float] = {}
    for p in op.params:
        key = keys.get(str(p.code))
        if key is None:
            continue
        value = float(p.value) * p.unit_conversion_factor
        out[key] = math.degrees(value) if key in ("lat0", "cm") else value
    return out if len(out) == 5 else None


def _close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol


def _gk_candidates(datum: Datum, params: dict[str, float], name: str) -> list[int]:
    """EPSG codes whose Gauss-Kruger parameters equal ``params`` (best first)."""
    if not (_close(params["k"], 1.0) and _close(params["lat0"], 0.0) and _close(params["fn"], 0)):
        return []
    cm = round(params["cm"])
    if not _close(params["cm"], cm, 1e-7):
        return []
    fe = params["fe"]
    if _close(fe, 500_000.0, 1e-3):
        bands = [3, 6]
        if "6DEGREE" in name or "6度" in name:
            bands = [6, 3]
        codes = [code_for(datum, band, float(cm), None) for band in bands]
        return [c for c in codes if c is not None]
    zone, rest = divmod(fe, 1_000_000.0)
    if not _close(rest, 500_000.0, 1e-3):
        return []
    band = 3 if int(zone) in ZONES_3DEG else 6 if int(zone) in ZONES_6DEG else 0
    expected_cm = 3 * zone if band == 3 else 6 * zone - 3
    if band == 0 or cm != expected_cm:
        return []
    code = code_for(datum, band, float(cm), int(zone))
    return [code] if code is not None else []


def _unbound(crs: pyproj.CRS) -> pyproj.CRS:
    """``crs`` without a TOWGS84 clause (which hides the projection and the EPSG code)."""
    return crs.source_crs if crs.is_bound and crs.source_crs is not None else crs


def match_epsg(crs: pyproj.CRS) -> list[int]:
    """EPSG codes of :func:`epsg_table` whose datum and parameters equal those of ``crs``.

    The datum comes from the ellipsoid (a, 1/f) and must not be named as another one; a
    projected CRS must be transverse Mercator in metres with scale 1, latitude of origin
    0, false northing 0, an integer central meridian and a false easting of 500000 or
    ``zone * 1e6 + 500000`` consistent with it.

    Returns
    -------
    list of int
        Best first; empty when nothing matches. Two codes when a CM variant fits both the
        3-degree and the 6-degree series (same numbers, e.g. 4546 and 4508): 3-degree
        first unless the CRS name says 6 degrees.
    """
    crs = _unbound(crs)
    datum = _detect_datum(crs)
    if datum is None:
        return []
    if crs.is_geographic and not crs.is_projected:
        units_ok = all("degree" in a.unit_name.lower() for a in crs.axis_info)
        return [datum.geographic] if units_ok and len(crs.axis_info) == 2 else []
    params = _tm_parameters(crs) if crs.is_projected else None
    if params is None:
        return []
    return _gk_candidates(datum, params, _norm(crs.name))


def _label(code: int, lang: str) -> str:
    entry = epsg_table().get(code)
    if entry is not None:
        return entry.label(lang)
    return pyproj.CRS.from_epsg(code).name


def crs_from_prj(prj_text: str) -> tuple[pyproj.CRS, Message]:
    """The CRS of a ``.prj`` (ESRI WKT) or any WKT, resolved to an EPSG code when possible.

    Order: PROJ's exact identification (``to_epsg()``); else a match on datum (from the
    ellipsoid a and 1/f: CGCS2000, Xian 1980, Beijing 1954) and transverse Mercator
    parameters (scale 1, latitude of origin 0, central meridian, false easting with or
    without zone prefix) against the EPSG table; ``to_epsg(min_confidence=25)`` only picks
    between equal candidates (3-degree CM 111E = 6-degree CM 111E). Otherwise the CRS
    built from the WKT is kept as is.

    Returns
    -------
    crs : pyproj.CRS
        ``CRS.from_epsg(code)`` when identified, else the CRS from the WKT.
    reason : Message
        Code ``crs.prj_epsg``, ``crs.prj_matched`` or ``crs.prj_wkt``.

    Raises
    ------
    CRSError
        The text is not a CRS.
    """
    crs = _parse(prj_text, "坐标系文件 .prj 的内容", "the .prj content")
    code = crs.to_epsg()
    if code is not None:
        return pyproj.CRS.from_epsg(code), Message(
            "crs.prj_epsg",
            f"坐标系文件识别为 EPSG:{code} ({_label(code, 'zh')})",
            f".prj identified as EPSG:{code} ({_label(code, 'en')})",
        )
    candidates = match_epsg(crs)
    if candidates:
        code = candidates[0]
        if len(candidates) > 1:  # PROJ's loose guess may only choose among equal candidates
            loose = crs.to_epsg(min_confidence=25)
            code = loose if loose in candidates else code
        named = _datum_by_name(_unbound(crs)) is not None
        how_zh = "" if named else "（基准面按椭球参数判断）"
        how_en = "" if named else " (datum recognised from the ellipsoid parameters)"
        if crs.is_bound:
            how_zh += "；.prj 中的 TOWGS84 参数未保留"
            how_en += "; the TOWGS84 parameters of the .prj are not kept"
        return pyproj.CRS.from_epsg(code), Message(
            "crs.prj_matched",
            f"按投影参数匹配为 EPSG:{code} ({_label(code, 'zh')}){how_zh}",
            f"matched by projection parameters to EPSG:{code} ({_label(code, 'en')}){how_en}",
        )
    return crs, Message(
        "crs.prj_wkt",
        f"坐标系 '{crs.name}' 没有对应的 EPSG 代码，按 WKT 原样保留",
        f"CRS '{crs.name}' has no EPSG code, kept as WKT",
    )


# --------------------------------------------------------------------------- helpers


def valid_lonlat_box(crs: pyproj.CRS) -> tuple[float, float, float, float]:
    """Lon/lat box (degrees, minlon, minlat, maxlon, maxlat) where ``crs`` data are plausible.

    The CRS's area of use widened by :data:`LONLAT_MARGIN_DEG` (Gauss-Kruger data often
    extend 1-2 degrees past their zone), clipped to the world; the whole world when the
    CRS has no area of use or its area crosses the antimeridian.
    """
    area = crs.area_of_use
    if area is None or area.west > area.east:
        return (-180.0, -90.0, 180.0, 90.0)
    m = LONLAT_MARGIN_DEG
    return (
        max(area.west - m, -180.0),
        max(area.south - m, -90.0),
        min(area.east + m, 180.0),
        min(area.north + m, 90.0),
    )


def is_projected_metres(crs: pyproj.CRS) -> bool:
    """True when ``crs`` (its horizontal part) is projected with metre axes."""
    horizontal = crs.sub_crs_list[0] if crs.is_compound and crs.sub_crs_list else crs
    if not horizontal.is_projected:
        return False
    axes = horizontal.axis_info[:2]
    return bool(axes) and all(abs(a.unit_conversion_factor - 1.0) < 1e-12 for a in axes)


def describe_crs(crs: pyproj.CRS) -> str:
    """A short label: ``"EPSG:4546 CGCS2000 / 3-degree Gauss-Kruger CM 111E"`` or the name."""
    code = crs.to_epsg()
    return f"EPSG:{code} {crs.name}" if code is not None else crs.name
