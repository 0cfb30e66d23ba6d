"""Vector tiles at ``/tiles/{layer}/{z}/{x}/{y}.mvt`` (Mapbox Vector Tile, Web Mercator XYZ).

Layers ``villages``, ``parcels``, ``parcel_risk``, ``targets``, ``patches``, ``problems``
and ``complaints``, each as the caller may see it (as the OGC API scopes them: a layer
they may not see is 404; a village's ``problems`` tiles hold its own problems only). A bad
``z``/``x``/``y`` is 400 naming the value. Tiles carry an ``ETag`` that changes with the
data under them, the tile and the caller's scope: a client that sends it back in
``If-None-Match`` gets 304 without the tile being cut, and a tile cut once for an ETag
is kept in the process (64 MB in all) for the next caller of the same scope.
``Cache-Control: private, no-cache``: a tile holds the caller's scope, and is revalidated
on every use. A tile sent is audited (``tiles.read``); a 304 sends no data and is not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from geoservice.api.deps import Caller, WorkspaceDep, audit
from geoservice.api.responses import etag_matches
from geoservice.tiles.grid import parse_tile
from geoservice.tiles.serve import render_tile, tile_etag

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
_CACHE = "private, no-cache"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}, "description": "Mapbox Vector Tile (empty when no feature)"},
    304: {"description": "Not modified (If-None-Match named the tile's ETag)"},
}


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="矢量瓦片 / vector tile",
    response_class=Response,
    responses=_RESPONSES,
)
def tile(
    layer: str, z: str, x: str, y: str, request: Request, principal: Caller, ws: WorkspaceDep
) -> Response:
    """One tile of a layer, scoped to the caller, with an ``ETag`` (304 on
    ``If-None-Match``); overview attributes only below zoom 12."""
    address = parse_tile(z, x, y)
    etag = tile_etag(ws, principal, layer, address)
    headers = {"Cache-Control": _CACHE, "Vary": "Authorization, Cookie"}
    if etag is not None:
        headers["ETag"] = etag
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    body = render_tile(ws, principal, layer, address, etag)
    audit(request, principal, "tiles.read", layer, {"tile": str(address), "bytes": len(body)})
    return Response(body, media_type=MVT, headers=headers)
