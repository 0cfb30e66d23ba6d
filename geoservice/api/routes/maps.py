"""Web maps served by the service, scoped to the caller, and the Leaflet files they load.

- ``GET /static/maps/{name}``: ``leaflet.css|js``, ``markercluster.css|js``,
  ``fullscreen.css|js``, ``search.css|js`` (library code: no token, not audited; cached a
  day, then revalidated with the ETag);
- ``GET /maps/targets``: office (all targets) and department (the targets it leads or
  cooperates on, with their evidence); 403 for the others;
- ``GET /maps/villages?as_of=``: every role; every village's status colours and counts
  (a public summary), problem points by scope: office all, department those copied to it,
  village its own (zoomed to it), viewer none;
- ``GET /maps/department/{code}``: office any department; a department its own (another
  is 404); 403 for the others;
- ``GET /maps/status.json?kind=villages|targets|department&code=&as_of=``: the status
  object the pages fetch to colour their features (per-village status and counts,
  per-problem state, per-target state; :mod:`geoservice.webmaps.status`), scoped as the
  page, with an ``ETag`` (304 on ``If-None-Match``) and ``Cache-Control: private,
  no-cache``; audited when sent (``map.status``).

Map pages are light shells (:mod:`geoservice.webmaps.pages`): their features come from the
caller's vector tiles (``/tiles``), their colours from the status object; they hold no
http(s) URL (scripts and styles from ``/static/maps``). A page is built once per scope
(role, department, village), arguments and data version without problems, and served
from the process's cache (:mod:`geoservice.webmaps.cache`): a problem update changes the
status object, never the page. Pages are sent with ``Cache-Control: private, no-store``.
``?village=`` zooms to a village (code or name), ``?lang=`` picks the language.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from geoservice.api.deps import Caller, LangDep, WorkspaceDep, audit, require
from geoservice.api.responses import asset_response, etag_matches
from geoservice.base.access import Principal
from geoservice.webmaps import build as mapping
from geoservice.webmaps.status import status_for
from maps.render import ASSET_BASE

router = APIRouter(tags=["maps"])

_ASSET_CACHE = "public, max-age=86400"
_PAGE_CACHE = "private, no-store"
_STATUS_CACHE = "private, no-cache"
MapUser = require("office", "department")


@router.get(ASSET_BASE + "/{name}", include_in_schema=False)
def map_asset(name: str, request: Request) -> Response:
    """A Leaflet script or style sheet of the map pages; 304 when the client has it."""
    asset = mapping.map_asset(name)
    return asset_response(request, asset.content, asset.media_type, asset.etag, _ASSET_CACHE)


def _html(page: str) -> HTMLResponse:
    return HTMLResponse(page, headers={"Cache-Control": _PAGE_CACHE})


@router.get("/maps/targets", response_class=HTMLResponse)
def targets_map(
    request: Request,
    ws: WorkspaceDep,
    lang: LangDep,
    principal: Principal = MapUser,
    village: str | None = None,
) -> HTMLResponse:
    """联合执法目标图 / Enforcement target map (office: all; department: its own)."""
    page = mapping.targets_page(ws, principal, lang, village)
    audit(request, principal, "map.targets", "targets", {"village": village, "lang": lang})
    return _html(page)


@router.get("/maps/villages", response_class=HTMLResponse)
def villages_map(
    request: Request,
    ws: WorkspaceDep,
    lang: LangDep,
    principal: Caller,
    as_of: str | None = None,
    village: str | None = None,
) -> HTMLResponse:
    """各村整改情况图 / Rectification status by village (problem points by scope)."""
    day = mapping.parse_as_of(as_of)
    page = mapping.villages_page(ws, principal, day, lang, village)
    detail = {"as_of": day.isoformat(), "village": village, "lang": lang}
    audit(request, principal, "map.villages", "villages", detail)
    return _html(page)


@router.get("/maps/department/{code}", response_class=HTMLResponse)
def department_map(
    code: str,
    request: Request,
    ws: WorkspaceDep,
    lang: LangDep,
    principal: Principal = MapUser,
    as_of: str | None = None,
    village: str | None = None,
) -> HTMLResponse:
    """部门视图 / One department's targets and the problems copied to it."""
    day = mapping.parse_as_of(as_of)
    page = mapping.department_page(ws, principal, code, day, lang, village)
    detail = {"as_of": day.isoformat(), "village": village, "lang": lang}
    audit(request, principal, "map.department", f"department:{code}", detail)
    return _html(page)


@router.get("/maps/status.json")
def map_status(
    request: Request,
    ws: WorkspaceDep,
    lang: LangDep,
    principal: Caller,
    kind: str = "villages",
    as_of: str | None = None,
    code: str | None = None,
) -> Response:
    """地图状态 / What colours a map's features (villages, problems, targets), by scope."""
    day = mapping.parse_as_of(as_of)
    status = status_for(ws, principal, kind, day, lang, code)
    headers = {"Cache-Control": _STATUS_CACHE, "ETag": status.etag, "Vary": "Authorization, Cookie"}
    if etag_matches(request.headers.get("if-none-match"), status.etag):
        return Response(status_code=304, headers=headers)
    detail = {"kind": kind, "as_of": day.isoformat(), "code": code}
    audit(request, principal, "map.status", kind, detail)
    return Response(status.text, media_type="application/json", headers=headers)
