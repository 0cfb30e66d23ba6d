"""The installable offline app around the field pages.

- ``GET /app/sw.js``: the service worker (Workbox), allowed the scope ``/app``
  (``Service-Worker-Allowed``), revalidated on every check (``no-cache``);
- ``GET /app/lib/{name}``: the Workbox runtime and the IndexedDB wrapper ``idb``, from npm
  (:data:`geoservice.api.pages.offline.VENDOR`), never from a CDN;
- ``GET /app/manifest.webmanifest`` and ``/app/icon-192.png``, ``/app/icon-512.png``: the
  web app manifest and its icons;
- ``GET /app/offline.json``: the URLs the phone keeps for the signed-in person (their
  pages, the app shell, the tiles of their area; :func:`offline_list`), audited;
- ``GET /app/csrf.json``: the form token of the caller's sign-in cookie, which a report
  queued offline gets afresh before it is sent (the token in a page kept for days may
  belong to an older sign-in).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts

from geoservice.api.csrf import form_token
from geoservice.api.deps import Caller, WorkspaceDep, audit
from geoservice.api.pages.offline import (
    VENDOR_BASE,
    VendorFile,
    offline_list,
    page_asset,
    vendor_asset,
)
from geoservice.api.pages.render import page_lang
from geoservice.api.pages.routing import get_today
from geoservice.api.pages.words import WORDS
from geoservice.api.responses import asset_response
from layers.messages import pick

router = APIRouter(include_in_schema=False, tags=["offline"])

_LIB_CACHE = "public, max-age=86400"
_PRIVATE = {"Cache-Control": "private, no-store"}
# The worker's own policy: it fetches and imports only from the service.
_WORKER_CSP = "default-src 'self'; frame-ancestors 'none'"
THEME = "#1f5130"
Today = Annotated[date, Depends(get_today)]


def _send(request: Request, asset: VendorFile, cache: str) -> Response:
    return asset_response(request, asset.body, asset.media_type, asset.etag, cache)


@router.get("/app/sw.js")
def service_worker(request: Request) -> Response:
    """The service worker, controlling the pages under ``/app``."""
    response = _send(request, page_asset("sw.js"), "no-cache")
    response.headers["Service-Worker-Allowed"] = "/app"
    response.headers["Content-Security-Policy"] = _WORKER_CSP
    return response


@router.get(VENDOR_BASE + "/{name}")
def vendor_file(request: Request, name: str) -> Response:
    """A Workbox module or the ``idb`` wrapper (404 naming the files for any other)."""
    return _send(request, vendor_asset(name), _LIB_CACHE)


@router.get("/app/icon-{size}.png")
def icon(request: Request, size: str) -> Response:
    """The app icon, 192 or 512 px square."""
    name = f"icon-{size}.png"
    if size not in ("192", "512"):
        return Response(status_code=404)
    return _send(request, page_asset(name), _LIB_CACHE)


@router.get("/app/manifest.webmanifest")
def manifest(request: Request) -> Response:
    """The web app manifest: name, start page, colours and icons, in the page language."""
    lang = page_lang(request)
    name = pick(lang, *WORDS["app"])
    body: dict[str, Any] = {
        "name": name,
        "short_name": pick(lang, "林长任务", "Tasks"),
        "lang": "en" if lang == "en" else "zh-CN",
        "start_url": "/app" + ("?lang=en" if lang == "en" else ""),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6f2",
        "theme_color": THEME,
        "icons": [
            {"src": f"/app/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ]
        + [
            {
                "src": "/app/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    return JSONResponse(
        body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"}
    )


@router.get("/app/offline.json")
def offline_urls(
    request: Request, principal: Caller, ws: WorkspaceDep, today: Today
) -> JSONResponse:
    """The URLs to keep on the phone for the caller (401 without a sign-in)."""
    routes = {str(ctx.path) for ctx in iter_route_contexts(request.app.routes)}
    body = offline_list(ws, principal, today, page_lang(request), routes)
    counts = {k: len(body[k]) for k in ("pages", "shell", "tiles")}
    audit(request, principal, "page.offline", principal.user_id, counts)
    return JSONResponse(body, headers=_PRIVATE)


@router.get("/app/csrf.json")
def csrf_token(request: Request, principal: Caller) -> JSONResponse:
    """``{"csrf_token": ...}`` for the caller's sign-in cookie ("" for token callers)."""
    return JSONResponse({"csrf_token": form_token(request)}, headers=_PRIVATE)
