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
Request parameters are parsed in :mod:`geoservice.ogc.params`, features encoded as GeoJSON
in :mod:`geoservice.ogc.geojson`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
import shapely

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, message
from geoservice.base.scope import scope_columns, scope_mask, visible_layers
from geoservice.base.workspace import Workspace
from geoservice.ogc.geojson import (
    LONLAT,
    matches_text,
    plain_values,
    reproject,
    to_crs84,
    to_features,
)
from geoservice.ogc.params import (
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Query,
    check_format,
    parse_query,
)
from geoservice.ogc.workflow_fields import match_workflow, with_workflow, workflow_fields
from layers.messages import Lang, pick

__all__ = [
    "COLLECTIONS",
    "CONFORMANCE",
    # Parameter checks the HTTP routes reach through this module, from ogc_params.
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "check_format",
    "collection",
    "collections",
    "conformance",
    "feature",
    "items",
    "landing",
    "visible_collections",
]

_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMANCE = tuple(_CONF + c for c in ("core", "geojson", "oas30"))
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


@dataclass(frozen=True)
class CollectionDef:
    """A collection: its layer, titles and natural id column (its rows are scoped by
    :mod:`geoservice.base.scope`)."""

    id: str
    zh: str
    en: str
    id_column: str


COLLECTIONS: dict[str, CollectionDef] = {
    c.id: c
    for c in (
        CollectionDef("villages", "村界", "village boundaries", "village_code"),
        CollectionDef("parcels", "小班", "forest and wetland parcels", "parcel_id"),
        CollectionDef("complaints", "举报投诉", "complaints", "complaint_id"),
        CollectionDef("patches", "变化图斑", "change patches", "patch_id"),
        CollectionDef("problems", "督查问题", "inspection problems", "problem_id"),
        CollectionDef("targets", "联合执法目标", "enforcement targets", "target_id"),
        CollectionDef("parcel_risk", "风险小班", "parcel risk", "parcel_id"),
    )
}


def _title(spec: CollectionDef, lang: Lang) -> str:
    return pick(lang, spec.zh, spec.en)


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
        "title": pick(lang, "林长制共享图层", "Forest-chief shared layers"),
        "description": pick(
            lang, "只读，坐标为 CRS84 经纬度。", "Read only, in CRS84 longitude/latitude."
        ),
        "links": [_link(h, rel, t, pick(lang, zh, en)) for h, rel, t, zh, en in links],
    }


def conformance() -> dict[str, Any]:
    """The conformance classes: Part 1 core, GeoJSON and OpenAPI 3.0."""
    return {"conformsTo": list(CONFORMANCE)}


def visible_collections(ws: Workspace, principal: Principal) -> list[str]:
    """Ids of the collections ``principal`` may see, in a fixed order.

    A layer without catalog rows counts as ``restricted`` (default deny).
    """
    return visible_layers(ws, principal, COLLECTIONS)


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
    return scope_mask(principal, spec.id, frame)


def _scope_columns(principal: Principal, spec: CollectionDef) -> tuple[str, ...]:
    return scope_columns(principal, spec.id)


def _extent(ws: Workspace, principal: Principal, spec: CollectionDef) -> list[float] | None:
    """The CRS84 bounds of what the caller may see of a collection (None when empty)."""
    info = ws.info(spec.id, force_total_bounds=True)
    columns = _scope_columns(principal, spec)
    if not columns:
        return to_crs84(info["total_bounds"], info["crs"])
    frame = ws.read(spec.id, use_arrow=False, columns=list(columns))
    shown = frame.geometry[_scope_mask(principal, spec, frame)]
    return to_crs84(shown.total_bounds, info["crs"])


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
    title = pick(lang, "数据集合", "collections")
    return {"links": [_link(f"{base}/collections", "self", JSON, title)], "collections": found}


# --- features ---------------------------------------------------------------------------


def _ids(frame: pd.DataFrame, spec: CollectionDef) -> pd.Series:
    """Feature ids: the natural id column as text, the GeoPackage fid where it is empty."""
    fids = pd.Series(frame.index.astype(str), index=frame.index, dtype="string")
    if spec.id_column not in frame.columns:
        return fids
    return frame[spec.id_column].astype("string").fillna(fids)


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
    return reproject(shape, LONLAT, crs)


def _effective_bbox(
    ws: Workspace, spec: CollectionDef, query: Query, crs: str
) -> tuple[float, float, float, float] | Literal[False] | None:
    """The request's bbox clipped to the layer's extent: False when it misses the layer,
    None when there is none or it covers the whole layer (no spatial test needed)."""
    if query.bbox is None:
        return None
    extent = to_crs84(ws.info(spec.id, force_total_bounds=True)["total_bounds"], crs)
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
    clipped to the layer) and filters (on the layer's columns and the workflow properties
    of :mod:`geoservice.ogc.workflow_fields`)."""
    extra = set(workflow_fields(principal, spec.id))
    flow = {k: v for k, v in query.filters.items() if k in extra}
    plain_filters = [k for k in query.filters if k not in extra]
    columns = sorted(
        set(plain_filters)
        | set(_scope_columns(principal, spec))
        | ({spec.id_column} if flow else set())
    )
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
    plain = plain_values(frame[plain_filters])
    for name in plain_filters:
        keep &= matches_text(plain[name], query.filters[name])
    if flow:
        keep &= match_workflow(ws, spec.id, frame[spec.id_column], flow)
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
    fields = [*info["fields"], *workflow_fields(principal, spec.id)]
    query = parse_query(params, fields, spec.id)
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
    if page is not None:
        page = with_workflow(ws, principal, spec.id, page)
    features = [] if page is None else to_features(page, _ids(page, spec), info["crs"])
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
    page = with_workflow(ws, principal, spec.id, page)
    out = to_features(page, _ids(page, spec), info["crs"])[0]
    href = f"{base}/collections/{spec.id}/items/{quote(feature_id, safe='')}"
    out["links"] = [
        _link(href, "self", GEOJSON, "this feature"),
        _link(f"{base}/collections/{spec.id}", "collection", JSON, spec.zh),
    ]
    return out
