"""Checks of a complaint filed through the live intake, each refusal naming the field.

Text, received date, reporter phone (masked), category, the point (lon/lat degrees,
inside China) and the datum it was picked in (CGCS2000, WGS84, or GCJ-02 / BD-09 from
Chinese web maps, converted to CGCS2000), and where it lands (near the town's parcels,
inside the filer's own village). Every refusal is an
:class:`~geoservice.base.errors.OptionError` with code ``intake.<reason>``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyproj

from geoservice.analysis.rules import Rules
from geoservice.base.errors import OptionError, message
from geoservice.intake.text import note
from layers import chinacoords
from layers.codes import CATEGORIES, category_from_text

__all__ = [
    "LAT_RANGE",
    "LON_RANGE",
    "MAX_OUTSIDE_M",
    "MAX_TEXT",
    "check_datum",
    "check_place",
    "check_point",
    "check_received",
    "check_text",
    "choose_category",
    "classify_one",
    "convert_point",
    "intake_error",
    "mask_phone",
]

LON_RANGE, LAT_RANGE = (73.0, 136.0), (3.0, 54.0)  # China, degrees (CGCS2000 ≈ WGS 84)
MAX_OUTSIDE_M = 20_000.0  # a point farther than this from every parcel is refused
MAX_TEXT = 2000
_GEOD = pyproj.Geod(ellps="GRS80")


def intake_error(code: str, zh: str, en: str) -> OptionError:
    """An OptionError with code ``intake.<code>``."""
    return OptionError(message(f"intake.{code}", zh, en))


def check_text(text: str) -> str:
    body = (text or "").strip()
    if not body or len(body) > MAX_TEXT:
        raise intake_error(
            "bad_text",
            f"举报内容 text 为 {len(body)} 个字，应为 1 到 {MAX_TEXT} 个字；请写明发生了什么、在哪里。",
            f"`text` had {len(body)} characters but is expected to have 1 to {MAX_TEXT}; "
            "say what happened and where.",
        )
    return body


def check_received(reported_at: date | None, day: date) -> date:
    received = reported_at or day
    received = received.date() if isinstance(received, datetime) else received
    if received > day:
        raise intake_error(
            "future_date",
            f"受理时间 reported_at 为 {received}，晚于今天（{day}）；请给出不晚于今天的日期。",
            f"`reported_at` was {received}, after today ({day}); give a date no later than today.",
        )
    return received


def mask_phone(phone: str | None) -> str | None:
    """The reporter's phone, masked (``138****5678``); it is never stored in clear."""
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s\-+()]", "", phone)
    if not digits.isdigit() or not 5 <= len(digits) <= 20:
        raise intake_error(
            "bad_phone",
            f"reporter_phone 为“{phone}”，应为 5 到 20 位数字的电话号码（可含空格、-、+）。",
            f"`reporter_phone` was {phone!r} but is expected to be a phone number of 5 to 20 "
            "digits (spaces, -, + allowed).",
        )
    keep = 3 if len(digits) >= 9 else 1
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def classify_one(text: str, rules: Rules) -> str:
    """The category of one complaint text, as
    :func:`~geoservice.analysis.rules.classify_text` gives it for a column: the first
    category of the rules' keyword table with a keyword contained in the text, else
    ``other`` (without building a pandas column for one text)."""
    for cat, words in rules.classification.keywords.items():
        if words and any(w in text for w in words):
            return str(cat)
    return "other"


def choose_category(text: str, given: str | None, rules: Rules) -> tuple[str, str]:
    """The category code and where it came from (``given`` or ``text``)."""
    if given is None or not given.strip():
        return classify_one(text, rules), "text"
    cat = category_from_text(pd.Series([given.strip()], dtype="string")).iloc[0]
    if pd.isna(cat) or (cat == "other" and given.strip() not in ("other", "其他")):
        raise intake_error(
            "bad_category",
            f"category 为“{given}”，应为类别代码或中文名之一："
            f"{'、'.join(zh for zh, _ in CATEGORIES.values())}；或不填，由举报内容自动分类。",
            f"`category` was {given!r} but is expected to be a category code or Chinese name: "
            f"{', '.join(CATEGORIES)}; or leave it out to classify the text.",
        )
    return str(cat), "given"


def check_point(lon: float | None, lat: float | None) -> tuple[float, float] | None:
    if lon is None and lat is None:
        return None
    if (
        lon is None
        or lat is None
        or not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1])
    ):
        (a, b), (c, d) = LON_RANGE, LAT_RANGE
        raise intake_error(
            "bad_point",
            f"位置为 lon={lon}、lat={lat}，应同时给出中国境内的经度 {a:g}–{b:g}、纬度 {c:g}–{d:g}"
            "（CGCS2000，度）；请检查是否填反。",
            f"The location was lon={lon}, lat={lat}; give both, in China: longitude {a:g} to "
            f"{b:g}, latitude {c:g} to {d:g} (degrees, CGCS2000); check they are not swapped.",
        )
    return float(lon), float(lat)


def check_datum(crs: str | None) -> str:
    """The datum of a filed point, canonical (``CGCS2000`` when left out).

    Any spelling :func:`layers.chinacoords.datum_name` knows: ``gcj02``, ``GCJ-02``,
    ``bd09``, ``BD-09``, ``wgs84``, ``EPSG:4326``, ``cgcs2000``, ``EPSG:4490``.
    """
    if crs is None or not crs.strip():
        return chinacoords.CGCS2000
    name = chinacoords.datum_name(crs)
    if name is None:
        raise intake_error(
            "bad_crs",
            f"坐标系 crs 为“{crs}”，应为 CGCS2000（默认）、WGS84、GCJ-02（高德、腾讯、微信地图）"
            "或 BD-09（百度地图）之一，不区分大小写（如 gcj02、bd09）；不填即为 CGCS2000。",
            f"`crs` was {crs!r} but is expected to be one of CGCS2000 (the default), WGS84, "
            "GCJ-02 (AutoNavi, Tencent, WeChat maps) or BD-09 (Baidu maps), in any case "
            "(e.g. gcj02, bd09); leave it out for CGCS2000.",
        )
    return name


def convert_point(
    point: tuple[float, float], datum: str
) -> tuple[tuple[float, float], dict[str, Any] | None]:
    """``point`` (lon, lat in ``datum``) as CGCS2000 degrees, and what was converted.

    Returns
    -------
    (lon, lat), converted
        The CGCS2000 point (rounded to 1e-7 degrees, about 1 cm); ``converted`` is None
        for CGCS2000 and WGS84 (taken as the same), else {``crs``, ``lon``, ``lat`` (as
        given), ``shift_m`` (metres, 0.1 m)}.
    """
    if datum not in chinacoords.OFFSET_DATUMS:
        return point, None
    lon, lat = (float(v) for v in chinacoords.to_cgcs2000(point[0], point[1], datum))
    shift = float(_GEOD.inv(point[0], point[1], lon, lat)[2])
    converted = {"crs": datum, "lon": point[0], "lat": point[1], "shift_m": round(shift, 1)}
    return (round(lon, 7), round(lat, 7)), converted


def check_place(
    where: dict[str, Any],
    own_village: str | None,
    named: tuple[str, str] | None,
    notes: list[dict[str, str]],
) -> None:
    """Refuse a point far from every parcel or outside the filer's own village."""
    far, located = where["distance_m"], where["village"]
    if far is not None and far > MAX_OUTSIDE_M:
        raise intake_error(
            "too_far",
            f"该位置距工作空间最近的小班 {far / 1000:.1f} 千米，不在本镇范围内；"
            "请检查经纬度是否正确、是否填反。",
            f"The point is {far / 1000:.1f} km from the nearest parcel of the workspace, "
            "outside the town; check lon/lat (are they swapped?).",
        )
    if own_village is not None and (located is None or located[0] != own_village):
        got = f"{located[1]}（{located[0]}）" if located else "任何村界之外"
        got_en = f"in {located[1]} ({located[0]})" if located else "in no village"
        raise intake_error(
            "outside_own_village",
            f"村用户只能提交本村（{own_village}）的举报，但该位置在{got}；"
            "请核对位置，或请镇林长办代为登记。",
            f"A village user may only file complaints in its own village ({own_village}), "
            f"but the point lies {got_en}; check the location, or ask the forest-chief "
            "office to file it.",
        )
    if named is not None and located is not None and named[0] != located[0]:
        notes.append(note("other_village", named[1], located[1]))
