"""The FastAPI application: :func:`create_app`."""

from __future__ import annotations

import contextlib
import importlib
import logging
import pkgutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from geoservice.api import deps, errors
from geoservice.api.csrf import CSRFGuard
from geoservice.api.first_views import first_views
from geoservice.api.headers import SecurityHeaders
from geoservice.api.limits import RequestLimits
from geoservice.base.errors import GeoserviceError
from geoservice.base.long_lived import keep_out_of_collections
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_file import check_workspace_file
from geoservice.tiles.warm import TileWarmer
from geoservice.webmaps.pages import load_renderers
from geoservice.workflow.village_updates import kept_view

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

__all__ = ["FIRST_ROUTES", "create_app", "route_modules"]

log = logging.getLogger(__name__)

DESCRIPTION = (
    "林长制联合执法规划服务：共享图层、研判目标、督查问题与整改、地图、报告和 OGC API Features。"
    " / Forest-chief enforcement planning: shared layers, targets, inspection problems, "
    "maps, reports and OGC API Features."
)


def _docs_assets() -> str:
    import swagger_ui_bundle

    return str(swagger_ui_bundle.swagger_ui_path)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Before a worker takes requests, its complaint intake reads the workspace's parcels,
    villages and complaint index (``ComplaintIntake.warm_up``), so that the first complaint
    is as fast as the next. A workspace it cannot read yet (none, no parcels) is left to the
    first complaint, which says what is missing. The village status of today is kept
    likewise (:func:`_keep_village_status`), and the map rendering modules are imported
    (:func:`~geoservice.webmaps.pages.load_renderers`). What was read is then frozen out of
    the cyclic collector's full walks (:mod:`geoservice.base.long_lived`). Then a background
    thread cuts the tiles of the map pages' first views
    (:class:`~geoservice.tiles.warm.TileWarmer`), again after each data change, until the
    worker stops."""
    if app.state.settings.workspace.is_file():
        with contextlib.suppress(GeoserviceError, OSError, sqlite3.Error):
            deps.app_intake(app).warm_up()
        _keep_village_status(app.state.settings)
    load_renderers()
    keep_out_of_collections()  # what the worker keeps, out of the collector's full walks
    warmer = app.state.tile_warmer = TileWarmer(app.state.settings.workspace, first_views)
    warmer.start()
    try:
        yield
    finally:
        warmer.stop()


def _keep_village_status(settings: Settings) -> None:
    """Build the kept village status of today, which the map status objects and the village
    status are drawn from, before the first request: its first build reads every problem,
    its history and the patches (0.4 s at county scale); later requests only update it.
    A workspace it cannot be built from yet is left to the requests, which say why."""
    try:
        kept_view(Workspace(settings.workspace), date.today())
    except Exception as exc:  # a failed warm-up must never keep the service from starting
        log.info("village status not kept at start for %s: %s", settings.workspace, exc)


# The route modules of the field clients' requests, included first. FastAPI tries the
# included routers in order for every request, about 7 microseconds each; no path is
# answered by routes of two modules (tests/geoservice/api/test_app.py), so the order
# never changes which route answers.
FIRST_ROUTES = ("problems", "maps", "tiles")


def route_modules() -> list[str]:
    """The modules of :mod:`geoservice.api.routes`, in the order their routers are
    included: :data:`FIRST_ROUTES`, then the others by name."""
    import geoservice.api.routes as routes

    names = sorted(info.name for info in pkgutil.iter_modules(routes.__path__))
    return [n for n in FIRST_ROUTES if n in names] + [n for n in names if n not in FIRST_ROUTES]


_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment).

    Every module of :mod:`geoservice.api.routes` contributes its ``router``; the API
    documentation page is served with local assets, so it works on an intranet.

    Raises
    ------
    geoservice.base.errors.WorkspaceError
        The workspace path exists but is not a GeoPackage (a folder, an empty or text
        file, a zip, an SQLite database of another program): the service does not start.
        A path that does not exist yet is accepted; an import creates it.
    """
    settings = settings or Settings()
    check_workspace_file(settings.workspace)
    app = FastAPI(
        title="林长制联合执法规划服务 geoservice",
        description=DESCRIPTION,
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
        # FastAPI's OpenTelemetry hooks look for a provider on every request unless off
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
    )
    app.state.settings = settings
    errors.install(app)
    app.mount("/static/docs", StaticFiles(directory=_docs_assets()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title,
            swagger_js_url="/static/docs/swagger-ui-bundle.js",
            swagger_css_url="/static/docs/swagger-ui.css",
            swagger_favicon_url="/static/docs/favicon-32x32.png",
        )

    for name in route_modules():
        module = importlib.import_module(f"geoservice.api.routes.{name}")
        app.include_router(module.router)
    app.add_middleware(CSRFGuard, settings=settings)
    app.add_middleware(SecurityHeaders)  # inside GZip: hashes the HTML as rendered
    # zlib's default level: half the CPU of level 9 on a map page or a problem list, for
    # answers 1-5 % larger
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(RequestLimits, settings=settings)
    if settings.trusted_proxies:  # outermost: the real client address for everything inside
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
