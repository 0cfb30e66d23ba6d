"""OGC API - Features (Part 1, read only) over the workspace, as the caller may see it.

Collections: the shared layers the caller's role may read (most restrictive classification
of their catalog rows), ``parcel_risk`` (internal), ``targets`` (office; a department those
it leads or cooperates on) and ``problems`` (office; a department those copied to it; a
village its own). What the caller may not see does not exist for them (NotFoundError).

Features are in CRS84 (longitude, latitude, degrees), reprojected from the projected
workspace CRS (metres). ``bbox`` (CRS84) is widened into the layer CRS for the GeoPackage's
spatial index, then applied exactly. An unfiltered page is read with ``skip_features`` /
``max_features`` (10 of 200,000 parcels reads 10 rows). Filter values are compared as text
in pandas: nothing from a request is put into SQL. Nothing here knows about HTTP.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoservice.access import Principal
from geoservice.errors import BadParameterError, NotFoundError, message
from geoservice.workspace import CLASSIFICATIONS, Workspace
from layers.messages import Lang

__all__ = [
    "COLLECTIONS",
    "CONFORMANCE",
    "CRS84",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "collection",
    "collections",
    "conformance",
    "feature",
    "items",
    "landing",
    "visible_collections",
]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMANCE = tuple(_CONF + c for c in ("core", "geojson", "oas30"))
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
LONLAT = "EPSG:4326"  # used with always_xy, so longitude/latitude as CRS84
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
class CollectionDef:
    """A collection: its layer, titles, natural id column and how its rows are scoped.

    ``scope`` is ``layer`` (by catalog classification), ``internal`` (as an internal
    layer), ``targets`` or ``problems`` (by role, then per row).
    """

    id: str
    zh: str
    en: str
    id_column: str
    scope: str = "layer"


COLLECTIONS: dict[str, CollectionDef] = {
    c.id: c
    for c in (
        CollectionDef("villages", "村界", "village boundaries", "village_code"),
        CollectionDef("parcels", "小班", "forest and wetland parcels", "parcel_id"),
        CollectionDef("complaints", "举报投诉", "complaints", "complaint_id"),
        CollectionDef("patches", "变化图斑", "change patches", "patch_id"),
        CollectionDef("problems", "督查问题", "inspection problems", "problem_id", "problems"),
        CollectionDef("targets", "联合执法目标", "enforcement targets", "target_id", "targets"),
        CollectionDef("parcel_risk", "风险小班", "parcel risk", "parcel_id", "internal"),
    )
}
# Roles that see a row-scoped collection at all, and the columns their row mask needs.
_ROLES = {"targets": ("office", "department"), "problems": ("office", "department", "village")}
_SCOPE_COLUMNS = {
    "targets": ("lead_department", "cooperating_departments"),
    "problems": ("cc_departments", "village_code"),
}


def _pick(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _title(spec: CollectionDef, lang: Lang) -> str:
    return _pick(lang, spec.zh, spec.en)


# --- metadata ---------------------------------------------------------------------------


def _link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str, openapi_url: str, lang: Lang = "zh") -> dict[str, Any]:
    """The landing page of the endpoint at ``base`` (absolute URL without trailing slash)."""
    links = (
        (base, "self", JSON, "本页", "this document"),
        (openapi_url, "service-desc", OPENAPI, "接口说明", "API definition"),
        (f"{base}/conformance", "conformance", JSON, "符合的标准", "conformance"),
        (f"{base}/collections", "data", JSON, "数据集合", "collections"),
    )
    return {
        "title": _pick(lang, "林长制共享图层", "Forest-chief shared layers"),
        "description": _pick(
            lang, "只读，坐标为 CRS84 经纬度。", "Read only, in CRS84 longitude/latitude."
        ),
        "links": [_link(h, rel, t, _pick(lang, zh, en)) for h, rel, t, zh, en in links],
    }


def conformance() -> dict[str, Any]:
    """The conformance classes: Part 1 core, GeoJSON and OpenAPI 3.0."""
    return {"conformsTo": list(CONFORMANCE)}


def _classifications(ws: Workspace) -> dict[str, str]:
    """The most restrictive classification of each catalogued layer."""
    rank = {c: i for i, c in enumerate(CLASSIFICATIONS)}
    level: dict[str, int] = {}
    for e in ws.catalog():  # an unknown classification counts as the most restrictive
        level[e.layer] = max(level.get(e.layer, 0), rank.get(e.classification, len(rank) - 1))
    return {layer: CLASSIFICATIONS[i] for layer, i in level.items()}


def visible_collections(ws: Workspace, principal: Principal) -> list[str]:
    """Ids of the collections ``principal`` may see, in a fixed order.

    A layer without catalog rows counts as ``restricted`` (default deny).
    """
    ws.require()
    present = set(ws.layer_names())
    classes = _classifications(ws)
    out = []
    for cid, spec in COLLECTIONS.items():
        if spec.scope in _ROLES:
            ok = principal.role in _ROLES[spec.scope]
        else:
            ok = principal.can_read(
                "internal" if spec.scope == "internal" else classes.get(cid, "restricted")
            )
        if ok and cid in present:
            out.append(cid)
    return out


def _resolve(ws: Workspace, principal: Principal, collection_id: str) -> CollectionDef:
    visible = visible_collections(ws, principal)
    if collection_id not in visible:
        raise NotFoundError(
            message(
                "ogc.no_collection",
                f"没有集合“{collection_id}”（或你无权查看）；你可查看的集合："
                f"{'、'.join(visible) or '无'}。",
                f"There is no collection {collection_id!r} (or it is not visible to you); "
                f"your collections: {', '.join(visible) or 'none'}.",
            )
        )
    return COLLECTIONS[collection_id]


def _scope_mask(principal: Principal, spec: CollectionDef, frame: pd.DataFrame) -> np.ndarray:
    if not _scope_columns(principal, spec):
        return np.ones(len(frame), dtype=bool)
    return (principal.target_mask if spec.scope == "targets" else principal.problem_mask)(frame)


def _scope_columns(principal: Principal, spec: CollectionDef) -> tuple[str, ...]:
    return () if principal.role == "office" else _SCOPE_COLUMNS.get(spec.scope, ())


@functools.lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    """A cached transformer (building one takes tenths of a second; they are thread-safe).

    ``EPSG:4326`` with ``always_xy`` is CRS84: longitude first.
    """
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _reproject(geoms: Any, src: str, dst: str = LONLAT) -> Any:
    tr = _transformer(src, dst)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _to_crs84(bounds: Sequence[float], crs: str) -> list[float] | None:
    if not np.all(np.isfinite(bounds)):
        return None
    tr = _transformer(crs, LONLAT)
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return [round(v, 7) for v in tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)]


def _extent(ws: Workspace, principal: Principal, spec: CollectionDef) -> list[float] | None:
    """The CRS84 bounds of what the caller may see of a collection (None when empty)."""
    info = ws.info(spec.id, force_total_bounds=True)
    columns = _scope_columns(principal, spec)
    if not columns:
        return _to_crs84(info["total_bounds"], info["crs"])
    frame = ws.read(spec.id, use_arrow=False, columns=list(columns))
    shown = frame.geometry[_scope_mask(principal, spec, frame)]
    return _to_crs84(shown.total_bounds, info["crs"])


def collection(
    ws: Workspace, principal: Principal, collection_id: str, base: str, lang: Lang = "zh"
) -> dict[str, Any]:
    """One collection (NotFoundError when not visible); its CRS84 ``extent`` covers what
    the caller may see, and is left out when that is nothing."""
    spec = _resolve(ws, principal, collection_id)
    return _describe(ws, principal, spec, base, lang)


def _describe(
    ws: Workspace, principal: Principal, spec: CollectionDef, base: str, lang: Lang
) -> dict[str, Any]:
    href = f"{base}/collections/{spec.id}"
    out: dict[str, Any] = {
        "id": spec.id,
        "title": _title(spec, lang),
        "description": f"{spec.zh} / {spec.en}",
        "crs": [CRS84],
        "itemType": "feature",
        "links": [
            _link(href, "self", JSON, _title(spec, lang)),
            _link(f"{href}/items", "items", GEOJSON, _title(spec, lang)),
        ],
    }
    bbox = _extent(ws, principal, spec)
    if bbox is not None:
        out["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return out


def collections(
    ws: Workspace, principal: Principal, base: str, lang: Lang = "zh"
) -> dict[str, Any]:
    """Every collection the caller may see, with links."""
    found = [
        _describe(ws, principal, COLLECTIONS[cid], base, lang)
        for cid in visible_collections(ws, principal)
    ]
    title = _pick(lang, "数据集合", "collections")
    return {"links": [_link(f"{base}/collections", "self", JSON, title)], "collections": found}


# --- query parameters -----------------------------------------------------------------


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


# --- features ---------------------------------------------------------------------------


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and times as ISO text (a date alone when at midnight), other columns as they are."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        day = s.dt.strftime("%Y-%m-%d")
        out[col] = day.where(s.dt.normalize() == s, s.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return out


def _matches(values: pd.Series, wanted: str) -> np.ndarray:
    """Rows whose value, as the text the client sees, equals ``wanted`` (numbers also by value)."""
    flag = pd.api.types.is_bool_dtype(values)
    text = values.map({True: "true", False: "false"}) if flag else values
    hit = (text.astype("string").fillna("") == wanted).to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(values) and not flag:
        number = pd.to_numeric(pd.Series([wanted]), errors="coerce").iloc[0]
        hit |= (values == number).fillna(False).to_numpy(dtype=bool)
    return hit


def _ids(frame: pd.DataFrame, spec: CollectionDef) -> pd.Series:
    """Feature ids: the natural id column as text, the GeoPackage fid where it is empty."""
    fids = pd.Series(frame.index.astype(str), index=frame.index, dtype="string")
    if spec.id_column not in frame.columns:
        return fids
    return frame[spec.id_column].astype("string").fillna(fids)


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object text per row (text inside is escaped, so no row spans lines)."""
    text = frame.to_json(orient="records", lines=True, force_ascii=False, double_precision=15)
    return text.rstrip("\n").split("\n")


def _features(page: gpd.GeoDataFrame, ids: pd.Series, crs: str) -> list[dict[str, Any]]:
    """GeoJSON features in CRS84 of a page in ``crs``, built as one JSON text, parsed once."""
    if not len(page):
        return []
    geoms = _reproject(page.geometry.to_numpy(), crs)
    geoms[shapely.is_empty(geoms)] = None
    geo = pd.Series(shapely.to_geojson(geoms), dtype="string").fillna("null")
    props = _plain(pd.DataFrame(page.drop(columns=page.geometry.name)))
    prop_lines = _json_lines(props)
    id_lines = _json_lines(pd.DataFrame({"id": ids.to_numpy()}))
    text = (
        '{"type":"Feature",'
        + pd.Series(id_lines, dtype="string").str[1:-1]
        + ',"geometry":'
        + geo.to_numpy()
        + ',"properties":'
        + pd.Series(prop_lines, dtype="string")
        + "}"
    )
    parsed: list[dict[str, Any]] = json.loads("[" + ",".join(text.tolist()) + "]")
    return parsed


# Degrees added around a layer's CRS84 extent before a bbox is clipped to it: far more than
# the curvature of the extent's densified edges, far less than anything that matters.
_EXTENT_MARGIN = 0.01


def _query_box(
    bbox: tuple[float, float, float, float], extent: Sequence[float] | None
) -> tuple[float, float, float, float] | None:
    """``bbox`` (CRS84) clipped to a layer's CRS84 ``extent`` widened by a margin.

    Nothing outside the extent can match, and what lies far outside a projected CRS's area
    (the world box in a Gauss-Kruger zone) does not project to finite metres. None when the
    two do not meet (or the layer is empty); a zero width or height is kept.
    """
    if extent is None:
        return None
    m = _EXTENT_MARGIN
    box = (
        max(bbox[0], extent[0] - m),
        max(bbox[1], extent[1] - m),
        min(bbox[2], extent[2] + m),
        min(bbox[3], extent[3] + m),
    )
    return box if box[0] <= box[2] and box[1] <= box[3] else None


def _layer_box(bbox: tuple[float, float, float, float], crs: str) -> shapely.Geometry:
    """The CRS84 box as a geometry in the layer CRS, edges densified so still exact.

    A box of zero width or height is a line, of both a point (a degenerate polygon is
    invalid to GEOS); each selects what it touches.
    """
    minx, miny, maxx, maxy = bbox
    if minx < maxx and miny < maxy:
        shape: shapely.Geometry = shapely.box(minx, miny, maxx, maxy)
    elif minx < maxx or miny < maxy:
        shape = shapely.LineString([(minx, miny), (maxx, maxy)])
    else:
        shape = shapely.Point(minx, miny)
    step = max(maxx - minx, maxy - miny) / 32
    if step > 0:
        shape = shapely.segmentize(shape, max_segment_length=step)
    return _reproject(shape, LONLAT, crs)


def _effective_bbox(
    ws: Workspace, spec: CollectionDef, query: Query, crs: str
) -> tuple[float, float, float, float] | Literal[False] | None:
    """The request's bbox clipped to the layer's extent: False when it misses the layer,
    None when there is none or it covers the whole layer (no spatial test needed)."""
    if query.bbox is None:
        return None
    extent = _to_crs84(ws.info(spec.id, force_total_bounds=True)["total_bounds"], crs)
    clipped = _query_box(query.bbox, extent)
    if clipped is None or extent is None:
        return False
    m = _EXTENT_MARGIN
    widened = (extent[0] - m, extent[1] - m, extent[2] + m, extent[3] + m)
    return None if clipped == widened else clipped


def _matching_fids(
    ws: Workspace,
    spec: CollectionDef,
    principal: Principal,
    query: Query,
    crs: str,
    bbox: tuple[float, float, float, float] | None,
) -> np.ndarray:
    """Sorted fids of the features that pass the caller's scope, ``bbox`` (CRS84, already
    clipped to the layer) and filters."""
    columns = sorted(set(query.filters) | set(_scope_columns(principal, spec)))
    box = _layer_box(bbox, crs) if bbox is not None else None
    frame = ws.read(
        spec.id,
        use_arrow=False,
        columns=columns,
        read_geometry=box is not None,
        bbox=tuple(shapely.bounds(box)) if box is not None else None,
        fid_as_index=True,
    )
    keep = np.array(_scope_mask(principal, spec, frame), dtype=bool)
    if box is not None:
        shapely.prepare(box)
        keep &= shapely.intersects(box, frame.geometry.to_numpy())
    plain = _plain(frame[list(query.filters)])
    for name, wanted in query.filters.items():
        keep &= _matches(plain[name], wanted)
    return np.sort(frame.index.to_numpy()[keep])


def _page_url(url: str, params: Sequence[tuple[str, str]], limit: int, offset: int) -> str:
    kept = [(k, v) for k, v in params if k not in ("limit", "offset")]
    return f"{url}?{urlencode([*kept, ('limit', str(limit)), ('offset', str(offset))])}"


def items(
    ws: Workspace,
    principal: Principal,
    collection_id: str,
    params: Sequence[tuple[str, str]],
    base: str,
) -> dict[str, Any]:
    """One page of a collection as a GeoJSON FeatureCollection in CRS84.

    Parameters
    ----------
    params : sequence of (str, str)
        The request's query parameters: ``bbox`` (CRS84 minlon,minlat,maxlon,maxlat),
        ``limit`` (1 to :data:`MAX_LIMIT`, default :data:`DEFAULT_LIMIT`), ``offset``,
        ``f``, ``lang``, ``datetime`` (ignored), ``crs``/``bbox-crs`` (CRS84 only) and
        ``<property>=<value>`` equality filters.
    base : str
        Absolute URL of the endpoint, for the ``self``/``next``/``prev`` links.

    Features come in fid order; their ids are the natural ids (``parcel_id``, ...).
    """
    spec = _resolve(ws, principal, collection_id)
    info = ws.info(spec.id, force_feature_count=True)
    query = parse_query(params, list(info["fields"]), spec.id)
    read = {"use_arrow": False, "fid_as_index": True}
    bbox = _effective_bbox(ws, spec, query, info["crs"])
    if bbox is False:
        matched, page = 0, None
    elif bbox is None and not query.filters and not _scope_columns(principal, spec):
        matched = int(info["features"])
        page = (
            ws.read(spec.id, skip_features=query.offset, max_features=query.limit, **read)
            if query.offset < matched
            else None
        )
    else:
        fids = _matching_fids(ws, spec, principal, query, info["crs"], bbox or None)
        matched = len(fids)
        chosen = fids[query.offset : query.offset + query.limit]
        page = ws.read(spec.id, fids=chosen, **read) if len(chosen) else None
    features = [] if page is None else _features(page, _ids(page, spec), info["crs"])
    url = f"{base}/collections/{spec.id}/items"
    pages = [("self", query.offset)]
    if query.offset + len(features) < matched:
        pages.append(("next", query.offset + query.limit))
    if query.offset > 0:
        pages.append(("prev", max(0, query.offset - query.limit)))
    links = [_link(_page_url(url, params, query.limit, at), rel, GEOJSON, rel) for rel, at in pages]
    links.append(_link(f"{base}/collections/{spec.id}", "collection", JSON, spec.zh))
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "links": links,
    }


def feature(
    ws: Workspace, principal: Principal, collection_id: str, feature_id: str, base: str
) -> dict[str, Any]:
    """One feature by its id (NotFoundError naming it when absent or out of scope)."""
    spec = _resolve(ws, principal, collection_id)
    info = ws.info(spec.id)
    fields = list(info["fields"])
    columns = sorted({spec.id_column} & set(fields) | set(_scope_columns(principal, spec)))
    frame = ws.read(
        spec.id, use_arrow=False, columns=columns, read_geometry=False, fid_as_index=True
    )
    hit = (_ids(frame, spec) == feature_id).fillna(False).to_numpy(dtype=bool)
    hit &= _scope_mask(principal, spec, frame)
    if not hit.any():
        raise NotFoundError(
            message(
                "ogc.no_feature",
                f"集合“{spec.id}”中没有编号为“{feature_id}”的要素（或你无权查看）；"
                f"请先从 {base}/collections/{spec.id}/items 查到编号。",
                f"Collection {spec.id!r} has no feature {feature_id!r} (or it is not visible "
                f"to you); look the id up in {base}/collections/{spec.id}/items.",
            )
        )
    fid = frame.index.to_numpy()[hit][:1]
    page = ws.read(spec.id, use_arrow=False, fids=fid, fid_as_index=True)
    out = _features(page, _ids(page, spec), info["crs"])[0]
    href = f"{base}/collections/{spec.id}/items/{quote(feature_id, safe='')}"
    out["links"] = [
        _link(href, "self", GEOJSON, "this feature"),
        _link(f"{base}/collections/{spec.id}", "collection", JSON, spec.zh),
    ]
    return out
