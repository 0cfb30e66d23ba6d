"""OGC API - Features query parameters: an items request checked and parsed.

``bbox`` (CRS84 degrees), ``limit``/``offset`` paging, ``f``, ``crs``/``bbox-crs`` (CRS84
only) and property equality filters, each refused with a BadParameterError that names the
parameter, the value received and what is expected. Nothing here reads data or knows HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from geoservice.base.errors import BadParameterError, message

__all__ = [
    "CRS84",
    "DEFAULT_LIMIT",
    "FORMATS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "RESERVED",
    "Query",
    "check_format",
    "parse_query",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100_000
# Far beyond any layer of a county (a few hundred thousand rows), and small enough that no
# reader's 32-bit skip count overflows.
MAX_OFFSET = 10**9
# Query parameters that are not property filters (``datetime`` is accepted and ignored:
# no collection declares a temporal extent).
RESERVED = ("f", "lang", "bbox", "limit", "offset", "datetime", "crs", "bbox-crs")
FORMATS = ("json", "geojson")


@dataclass(frozen=True)
class Query:
    """A parsed items request: bbox (CRS84), paging and property equality filters."""

    bbox: tuple[float, float, float, float] | None
    limit: int
    offset: int
    filters: dict[str, str]


def _bad(code: str, zh: str, en: str) -> BadParameterError:
    return BadParameterError(message(f"ogc.{code}", zh, en))


def check_format(value: str | None) -> None:
    """BadParameterError unless ``f`` is absent, ``json`` or ``geojson``."""
    if value is not None and value.lower() not in FORMATS:
        raise _bad(
            "bad_format",
            f"参数 f 为“{value}”，本服务只提供 json 或 geojson；请去掉 f 或写 f=json。",
            f"`f` was {value!r} but this service only serves json or geojson; drop f or "
            "pass f=json.",
        )


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Four finite CRS84 numbers with each min <= max (a zero width or height is a line or a
    point, and valid); BadParameterError otherwise."""
    try:
        n = [float(p) for p in text.split(",")]
    except ValueError:
        n = []
    # NaN fails every comparison and infinities fall outside the ranges, so both are refused.
    if len(n) == 4 and -180 <= n[0] <= n[2] <= 180 and -90 <= n[1] <= n[3] <= 90:
        return n[0], n[1], n[2], n[3]
    raise _bad(
        "bad_bbox",
        f"参数 bbox 为“{text}”，应为四个数“最小经度,最小纬度,最大经度,最大纬度”"
        "（CRS84 经纬度，经度在 -180 到 180、纬度在 -90 到 90 之间，最小值不大于最大值），"
        "例如 bbox=112.35,24.75,112.45,24.85。",
        f"`bbox` was {text!r} but is expected to be four numbers minlon,minlat,maxlon,"
        "maxlat in CRS84 degrees (longitudes within -180..180, latitudes within -90..90) with "
        "each min <= max, e.g. bbox=112.35,24.75,112.45,24.85.",
    )


def _parse_int(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise _bad(
            f"bad_{name}",
            f"参数 {name} 为“{text}”，应为 {low} 到 {high} 之间的整数。",
            f"`{name}` was {text!r} but is expected to be an integer from {low} to {high}.",
        )
    return value


def parse_query(params: Sequence[tuple[str, str]], fields: Sequence[str], cid: str) -> Query:
    """Check an items request's parameters against the collection's properties.

    BadParameterError naming the parameter for a repeated one, an unknown one (listing the
    properties that may be filtered on), a bad ``bbox``/``limit``/``offset``/``f``, or a
    ``crs``/``bbox-crs`` other than CRS84.
    """
    seen: dict[str, str] = {}
    for key, value in params:
        if key in seen:
            raise _bad(
                "repeated",
                f"参数 {key} 出现了不止一次；每个参数只能给一次。",
                f"`{key}` was given more than once; give each parameter once.",
            )
        seen[key] = value
    unknown = [k for k in seen if k not in RESERVED and k not in fields]
    if unknown:
        names = ", ".join(fields)
        raise _bad(
            "unknown_parameter",
            f"查询参数“{unknown[0]}”既不是集合“{cid}”的属性，也不是 {', '.join(RESERVED)} 之一；"
            f"可筛选的属性：{names}。",
            f"Query parameter {unknown[0]!r} is neither a property of collection {cid!r} nor "
            f"one of {', '.join(RESERVED)}; properties you can filter on: {names}.",
        )
    check_format(seen.get("f"))
    for key in ("crs", "bbox-crs"):
        if key in seen and seen[key] != CRS84:
            raise _bad(
                "bad_crs",
                f"参数 {key} 为“{seen[key]}”，本服务只提供 {CRS84}（经纬度）；请去掉该参数。",
                f"`{key}` was {seen[key]!r} but this service only serves {CRS84} "
                "(longitude/latitude); drop the parameter.",
            )
    return Query(
        bbox=_parse_bbox(seen["bbox"]) if "bbox" in seen else None,
        limit=_parse_int("limit", seen.get("limit", str(DEFAULT_LIMIT)), 1, MAX_LIMIT),
        offset=_parse_int("offset", seen.get("offset", "0"), 0, MAX_OFFSET),
        filters={k: v for k, v in seen.items() if k not in RESERVED},
    )
