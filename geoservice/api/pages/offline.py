"""What a phone keeps for working offline, and the script files that make it possible.

:func:`offline_list` is the list of URLs the service worker (``static/sw.js``, served as
``/app/sw.js``) stores for the signed-in person: their task list, the page of each of
their problems and targets, the app shell (style sheet, scripts, Leaflet files, manifest
and icons) and the vector tiles of their working area (:mod:`geoservice.tiles.area`) for
the tile layers they may see among :data:`OFFLINE_LAYERS`.

:data:`VENDOR` names the npm files the phone runs (Workbox, the IndexedDB wrapper ``idb``),
installed in ``maps/assets/node_modules`` by ``npm ci --prefix maps/assets`` and pinned by
its ``package-lock.json``; :func:`vendor_asset` reads one, and :func:`page_asset` one of the
files of ``static/`` the offline routes serve.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from geoservice.api.pages.render import STATIC, static_asset
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, message
from geoservice.base.workspace import Workspace
from geoservice.tasks import lists as tasks
from geoservice.tasks.patch_records import patch_tasks
from geoservice.tiles.area import area_boxes, area_tiles
from geoservice.tiles.serve import tile_layers
from layers.messages import Lang
from maps.assets import ASSET_ROOT, served_names
from maps.render import ASSET_BASE

__all__ = [
    "OFFLINE_LAYERS",
    "VENDOR",
    "VendorFile",
    "offline_list",
    "page_asset",
    "vendor_asset",
]

# Tile layers a field map draws: the village outline, the 小班 (parcels) with their
# numbers, change patches, the person's problems and, for departments, their targets.
OFFLINE_LAYERS = ("villages", "parcels", "patches", "problems", "targets")
_WORKBOX = ("core", "routing", "strategies", "expiration", "cacheable-response")
# Served name -> path under maps/assets/node_modules.
VENDOR: dict[str, str] = {
    "idb.js": "idb/build/umd.js",
    "workbox-sw.js": "workbox-sw/build/workbox-sw.js",
    **{
        f"workbox-{m}.{mode}.js": f"workbox-{m}/build/workbox-{m}.{mode}.js"
        for m in _WORKBOX
        for mode in ("prod", "dev")
    },
}
VENDOR_BASE = "/app/lib"
# Files of ``static/`` served under /app (the worker's scope) rather than /static/pages.
APP_FILES: dict[str, tuple[str, str]] = {
    "sw.js": ("sw.js", "text/javascript; charset=utf-8"),
    "icon-192.png": ("icon-192.png", "image/png"),
    "icon-512.png": ("icon-512.png", "image/png"),
}


@dataclass(frozen=True)
class VendorFile:
    """A served file: its bytes, media type and ETag (content hash)."""

    body: bytes
    media_type: str
    etag: str


def _file(path: Path, media_type: str) -> VendorFile:
    body = path.read_bytes()
    return VendorFile(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


@functools.cache
def vendor_asset(name: str) -> VendorFile:
    """The npm file served as ``/app/lib/{name}`` (NotFoundError naming the known names,
    or how to install them when the packages are missing)."""
    if name not in VENDOR:
        known = ", ".join(VENDOR)
        raise NotFoundError(
            message(
                "offline.no_file",
                f"没有名为“{name}”的离线脚本；可用：{known}。",
                f"There is no offline script {name!r}; the scripts are: {known}.",
            )
        )
    path = ASSET_ROOT / "node_modules" / VENDOR[name]
    if not path.is_file():
        raise NotFoundError(
            message(
                "offline.not_installed",
                f"离线脚本 {VENDOR[name]} 未安装；请运行 npm ci --prefix maps/assets。",
                f"The offline script {VENDOR[name]} is not installed; run "
                "`npm ci --prefix maps/assets`.",
            )
        )
    return _file(path, "text/javascript; charset=utf-8")


@functools.cache
def page_asset(name: str) -> VendorFile:
    """The file of ``static/`` served as ``/app/{name}`` (:data:`APP_FILES`)."""
    file_name, media_type = APP_FILES[name]
    return _file(Path(__file__).parent / "static" / file_name, media_type)


def _versioned(url: str, etag: str) -> str:
    return f"{url}?v={etag.strip(chr(34))}"


def shell_urls() -> list[str]:
    """The app shell: the pages' style sheet and script, the IndexedDB wrapper, the
    Leaflet files, the manifest and the icons."""
    urls = []
    for name in STATIC:
        asset = static_asset(name)
        if asset is not None:
            urls.append(_versioned(f"/static/pages/{name}", asset.etag))
    urls.append(f"{VENDOR_BASE}/idb.js")
    urls.extend(f"{ASSET_BASE}/{name}" for name in served_names())
    urls.append("/app/manifest.webmanifest")
    urls.extend(f"/app/{name}" for name in APP_FILES if name.endswith(".png"))
    return urls


def _page(path: str, lang: Lang) -> str:
    return path + ("?lang=en" if lang == "en" else "")


# Field pages kept by role when the service has them (route path -> roles): recording a
# new problem or a patrol, observing at a target, and what those pages fetch.
FIELD_PAGES: dict[str, tuple[str, ...]] = {
    "/app/capture": ("village",),
    "/app/patrol": ("village", "department"),
    "/app/field/crs.json": ("village", "department"),
}
OBSERVE = "/app/targets/{target_id}/observe"
PATCH_PAGE = "/app/patches/{patch_id}"


def page_urls(
    ws: Workspace,
    principal: Principal,
    today: date,
    lang: Lang,
    routes: Collection[str] = (),
) -> list[str]:
    """The task list and the page of each problem and target on it; of the field pages
    (:data:`FIELD_PAGES`, a department's observation page of each target, the page of each
    change patch on the task list) those whose route path is among ``routes``."""
    problems: list[str] = []
    targets: list[str] = []
    if principal.role == "village":
        problems = [p.problem_id for p in tasks.village_tasks(ws, principal, today)]
    elif principal.role == "department":
        dept = tasks.department_tasks(ws, principal, today)
        problems = [p.problem_id for p in dept.problems]
        targets = [x.target_id for x in dept.targets]
    pages = [_page("/app", lang)]
    pages += [_page(f"/app/problems/{quote(i, safe='')}", lang) for i in problems]
    pages += [_page(f"/app/targets/{quote(i, safe='')}", lang) for i in targets]
    pages += [
        path if path.endswith(".json") else _page(path, lang)
        for path, roles in FIELD_PAGES.items()
        if path in routes and principal.role in roles
    ]
    if OBSERVE in routes:
        pages += [_page(f"/app/targets/{quote(i, safe='')}/observe", lang) for i in targets]
    if PATCH_PAGE in routes and principal.role in ("village", "department"):
        shown = patch_tasks(ws, principal, today).shown  # the task list's, at most 50
        pages += [_page(f"/app/patches/{quote(p.patch_id, safe='')}", lang) for p in shown]
    return pages


def offline_list(
    ws: Workspace,
    principal: Principal,
    today: date,
    lang: Lang,
    routes: Collection[str] = (),
) -> dict[str, Any]:
    """The URLs the phone keeps for ``principal`` (see the module), with the working area;
    ``routes``: the route paths of the service (see :func:`page_urls`).

    Returns
    -------
    dict
        ``user`` (user id), ``pages``, ``shell`` and ``tiles`` (lists of URLs, paths
        relative to the service), ``layers`` (tile layers kept), ``zooms`` ([lowest,
        deepest] zoom kept, or None without an area), ``boxes`` (the area, degrees
        EPSG:4326 west, south, east, north) and ``count`` (all URLs).
    """
    boxes = area_boxes(ws, principal)
    visible = set(tile_layers(ws, principal)) if boxes else set()
    layers = [layer for layer in OFFLINE_LAYERS if layer in visible]
    addresses = area_tiles(boxes) if layers else []
    tiles = [f"/tiles/{layer}/{a}.mvt" for layer in layers for a in addresses]
    pages = page_urls(ws, principal, today, lang, routes)
    shell = shell_urls()
    zooms = [addresses[0].z, addresses[-1].z] if addresses else None
    return {
        "user": principal.user_id,
        "pages": pages,
        "shell": shell,
        "tiles": tiles,
        "layers": layers,
        "zooms": zooms,
        "boxes": [[round(v, 6) for v in box] for box in boxes],
        "count": len(pages) + len(shell) + len(tiles),
    }
