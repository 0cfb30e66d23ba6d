"""The FastAPI application: :func:`create_app` and the request body cap."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from geoservice.api import errors
from geoservice.settings import Settings
from geoservice.workspace_file import check_workspace_file

__all__ = ["create_app"]

DESCRIPTION = (
    "林长制联合执法规划服务：共享图层、研判目标、督查问题与整改、地图、报告和 OGC API Features。"
    " / Forest-chief enforcement planning: shared layers, targets, inspection problems, "
    "maps, reports and OGC API Features."
)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by declared length or as read."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return event

        async def tracked_send(event: Any) -> None:
            nonlocal started
            if event["type"] == "http.response.start":
                started = True
            await send(event)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        mb = self.limit / 1024 / 1024
        body = {
            "error": {
                "code": "api.body_too_large",
                "message": f"请求体超过上限 {mb:g} MB；请压缩或拆分后再上传。",
                "zh": f"请求体超过上限 {mb:g} MB；请压缩或拆分后再上传。",
                "en": f"The request body is over the {mb:g} MB limit; compress or split it.",
            }
        }
        response = JSONResponse(body, status_code=413)
        await response({"type": "http"}, _no_receive, send)


class _TooLarge(Exception):
    pass


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}


def _docs_assets() -> str:
    import swagger_ui_bundle

    return str(swagger_ui_bundle.swagger_ui_path)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment).

    Every module of :mod:`geoservice.api.routes` contributes its ``router``; the API
    documentation page is served with local assets, so it works on an intranet.

    Raises
    ------
    geoservice.errors.WorkspaceError
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

    import geoservice.api.routes as routes

    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        app.include_router(module.router)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(BodyLimit, limit=settings.max_body_mb * 1024 * 1024)
    return app
