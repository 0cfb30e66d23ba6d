"""OGC API - Features at ``/ogc`` (read only), for GDAL's OAPIF driver, QGIS and others.

The landing page and conformance carry no data and need no token. Everything else needs
one: ``Authorization: Bearer <token>``, or HTTP Basic with the token as the password
(GDAL ``USERPWD=any:<token>``; QGIS user name/password). Items and features are audited.
Links are absolute, built from the ``public_url`` setting (else the address the server
listens on), never from the request's ``Host`` header.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from geoservice.api.deps import Caller, LangDep, WorkspaceDep, audit, get_settings
from geoservice.api.origin import public_base
from geoservice.base.access import Principal
from geoservice.ogc import features as ogc
from layers.errors import MessageError

router = APIRouter(prefix="/ogc", tags=["ogc"])

_GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {ogc.GEOJSON: {}}, "description": "GeoJSON"}
}
Format = Annotated[str | None, Query(description="json（默认）/ json (default)")]


def _root(request: Request) -> str:
    """The service's public address (the setting, else its socket; never ``Host``)."""
    return public_base(get_settings(request), request.scope)


def _base(request: Request) -> str:
    return _root(request) + router.prefix


def _geojson(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=ogc.GEOJSON)


def _audit_refusal(
    request: Request, principal: Principal, target: str, detail: dict[str, Any], exc: MessageError
) -> None:
    """Audit a data request that was refused (unknown id, bad parameter)."""
    audit(request, principal, "ogc.items", target, {**detail, "refused": exc.code})


@router.get("", name="ogc_landing", summary="OGC API Features 首页 / landing page")
def landing(request: Request, lang: LangDep, f: Format = None) -> JSONResponse:
    """Links to the API definition (``service-desc``), conformance and the collections."""
    ogc.check_format(f)
    return JSONResponse(ogc.landing(_base(request), _root(request) + "/openapi.json", lang))


@router.get("/", include_in_schema=False)
def landing_slash(request: Request, lang: LangDep, f: Format = None) -> JSONResponse:
    return landing(request, lang, f)


@router.get("/conformance", summary="符合的标准 / conformance classes")
def conformance(f: Format = None) -> JSONResponse:
    """Part 1 core, GeoJSON and OpenAPI 3.0."""
    ogc.check_format(f)
    return JSONResponse(ogc.conformance())


@router.get("/collections", summary="可查看的集合 / collections visible to the caller")
def collections(
    request: Request, principal: Caller, ws: WorkspaceDep, lang: LangDep, f: Format = None
) -> JSONResponse:
    """The layers the caller may see, with CRS84 extents."""
    ogc.check_format(f)
    body = ogc.collections(ws, principal, _base(request), lang)
    audit(request, principal, "ogc.collections", "collections", {"count": len(body["collections"])})
    return JSONResponse(body)


@router.get("/collections/{collection_id}", summary="一个集合 / one collection")
def collection(
    collection_id: str,
    request: Request,
    principal: Caller,
    ws: WorkspaceDep,
    lang: LangDep,
    f: Format = None,
) -> JSONResponse:
    """One collection (404 when absent or not visible to the caller)."""
    ogc.check_format(f)
    body = ogc.collection(ws, principal, collection_id, _base(request), lang)
    audit(request, principal, "ogc.collection", collection_id, {})
    return JSONResponse(body)


@router.get(
    "/collections/{collection_id}/items",
    summary="要素分页 / features, one page",
    responses=_GEOJSON,
)
def items(
    collection_id: str,
    request: Request,
    principal: Caller,
    ws: WorkspaceDep,
    bbox: Annotated[str | None, Query(description="CRS84 minlon,minlat,maxlon,maxlat")] = None,
    limit: Annotated[
        str | None, Query(description=f"1-{ogc.MAX_LIMIT}, default {ogc.DEFAULT_LIMIT}")
    ] = None,
    offset: Annotated[str | None, Query(description="0, 1, ...")] = None,
    f: Format = None,
) -> JSONResponse:
    """A GeoJSON FeatureCollection in CRS84, with ``next``/``prev`` links; any other
    ``<property>=<value>`` parameter filters on a property by equality."""
    # The declared parameters document the API; ogc.items parses all of them itself.
    detail: dict[str, Any] = {}  # audit() itself records the query string
    try:
        params = request.query_params.multi_items()
        body = ogc.items(ws, principal, collection_id, params, _base(request))
    except MessageError as exc:
        _audit_refusal(request, principal, collection_id, detail, exc)
        raise
    detail.update(matched=body["numberMatched"], returned=body["numberReturned"])
    audit(request, principal, "ogc.items", collection_id, detail)
    return _geojson(body)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="一个要素 / one feature",
    responses=_GEOJSON,
)
def feature(
    collection_id: str,
    feature_id: str,
    request: Request,
    principal: Caller,
    ws: WorkspaceDep,
    f: Format = None,
) -> JSONResponse:
    """One GeoJSON feature in CRS84 (404 naming the id when absent or out of scope)."""
    detail = {"feature_id": feature_id}
    try:
        ogc.check_format(f)
        body = ogc.feature(ws, principal, collection_id, feature_id, _base(request))
    except MessageError as exc:
        _audit_refusal(request, principal, collection_id, detail, exc)
        raise
    audit(request, principal, "ogc.items", collection_id, detail)
    return _geojson(body)
