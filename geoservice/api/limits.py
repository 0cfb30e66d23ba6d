"""Size limits of requests: text fields, request bodies, and the caller before an upload.

- :data:`Note`, :data:`LongText` and :data:`ShortText` are ``str`` with a ``max_length``
  taken from the settings of the app serving the request (``GEOSERVICE_MAX_NOTE_CHARS``,
  ``..._TEXT_CHARS``, ``..._FIELD_CHARS``); a longer value is a 422 naming the field, its
  length and the limit, and the OpenAPI schema states the limit as ``maxLength``.
- :class:`RequestLimits` is the ASGI middleware that makes those limits current, refuses a
  body over ``GEOSERVICE_MAX_BODY_MB`` with 413 (by ``Content-Length``, or while it streams
  when sent chunked), and resolves the caller of a route that reads a body before its
  dependencies (uploads, forms, JSON) before one byte of the body is read: 401/403 without
  spooling anything to disk.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from geoservice.api.deps import get_principal
from geoservice.api.errors import error_body, request_lang, status_for
from geoservice.base.errors import OptionError, message
from geoservice.base.settings import Settings
from layers.errors import MessageError
from layers.messages import pick

__all__ = [
    "LongText",
    "Note",
    "RequestLimits",
    "ShortText",
    "TextLimits",
    "check_length",
    "too_long",
]


@dataclass(frozen=True)
class TextLimits:
    """Longest accepted text per kind of field, in characters."""

    note: int
    text: int
    field: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TextLimits:
        return cls(settings.max_note_chars, settings.max_text_chars, settings.max_field_chars)


SETTING = {
    "note": "GEOSERVICE_MAX_NOTE_CHARS",
    "text": "GEOSERVICE_MAX_TEXT_CHARS",
    "field": "GEOSERVICE_MAX_FIELD_CHARS",
}
_DEFAULTS = Settings.model_fields
_DEFAULT_LIMITS = TextLimits(
    note=int(_DEFAULTS["max_note_chars"].default),
    text=int(_DEFAULTS["max_text_chars"].default),
    field=int(_DEFAULTS["max_field_chars"].default),
)
_CURRENT: ContextVar[TextLimits | None] = ContextVar("geoservice_text_limits", default=None)


def current_limit(kind: str) -> int:
    """The limit of ``kind`` (note, text, field) for the request being served (the
    settings' defaults outside a request)."""
    limit: int = getattr(_CURRENT.get() or _DEFAULT_LIMITS, kind)
    return limit


def too_long(field: str, length: int, limit: int, setting: str) -> tuple[str, str]:
    """(zh, en) of a text over its limit."""
    return (
        f"字段 {field} 长 {length} 字，超过上限 {limit} 字（{setting}）；请缩短后再提交。",
        f"`{field}` is {length} characters long, over the limit of {limit} ({setting}); "
        "shorten it and submit again.",
    )


def check_length(field: str, value: str, kind: str) -> None:
    """OptionError (422) when ``value`` is longer than the current limit of ``kind``."""
    limit = current_limit(kind)
    if len(value) > limit:
        zh, en = too_long(field, len(value), limit, SETTING[kind])
        raise OptionError(message("api.text_too_long", zh, en))


class _Limited:
    """Pydantic metadata: a ``str`` no longer than the current limit of ``kind``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        kind = self.kind

        def check(value: str, info: core_schema.ValidationInfo) -> str:
            limit = current_limit(kind)
            if len(value) > limit:
                field = info.field_name or "text"
                zh, en = too_long(field, len(value), limit, SETTING[kind])
                raise PydanticCustomError(
                    "string_too_long",
                    "{message}",
                    {
                        "message": f"{zh} / {en}",
                        "zh": zh,
                        "en": en,
                        "field": field,
                        "length": len(value),
                        "max_length": limit,
                        "setting": SETTING[kind],
                    },
                )
            return value

        return core_schema.with_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = dict(handler(schema))
        json_schema["maxLength"] = current_limit(self.kind)
        return json_schema


Note = Annotated[str, _Limited("note")]
LongText = Annotated[str, _Limited("text")]
ShortText = Annotated[str, _Limited("field")]


# --- the middleware -------------------------------------------------------------------------


class _Refused(Exception):
    """The body is not read: too large (413) or no acceptable caller (401/403)."""


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}


def _caller_roles(dependant: Dependant) -> tuple[bool, tuple[str, ...]]:
    """(whether the route needs a caller, the roles it lets through; () = any role)."""
    needs, roles = dependant.call is get_principal, getattr(dependant.call, "roles", ())
    for sub in dependant.dependencies:
        sub_needs, sub_roles = _caller_roles(sub)
        needs, roles = needs or sub_needs, roles or sub_roles
    return needs, tuple(roles)


class RequestLimits:
    """Text limits for the request, body cap (413) and the caller before the body (401/403).

    The caller is resolved when the route first asks for the body (FastAPI reads a form or
    JSON body before it resolves the route's dependencies), from the route's own
    dependencies: a route needing a caller gets 401 without a valid token and 403 for a
    role it does not let through, and not one byte of the body is read.

    Parameters
    ----------
    app : ASGI app
    settings : Settings
        ``max_body_mb`` and the text limits.
    """

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_body_mb * 1024 * 1024
        self.text_limits = TextLimits.from_settings(settings)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _CURRENT.set(self.text_limits)
        try:
            await self._http(scope, receive, send)
        finally:
            _CURRENT.reset(token)

    async def _http(self, scope: Any, receive: Any, send: Any) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope)(scope, _no_receive, send)
            return
        seen, checked, started = 0, False, False
        refusal: Response | None = None

        async def guarded() -> Any:
            nonlocal seen, checked, refusal
            if not checked:
                checked = True
                refusal = await self._caller_refusal(scope)
                if refusal is not None:
                    raise _Refused
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.limit:
                    refusal = self._too_large(scope)
                    raise _Refused
            return event

        async def tracked_send(event: Any) -> None:
            nonlocal started
            if refusal is not None:  # the app answered the unread body (FastAPI's 400)
                if event["type"] == "http.response.start" and not started:
                    started = True
                    await refusal(scope, _no_receive, send)
                return
            if event["type"] == "http.response.start":
                started = True
            await send(event)

        try:
            await self.app(scope, guarded, tracked_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not started:
            await refusal(scope, _no_receive, send)

    async def _caller_refusal(self, scope: Any) -> Response | None:
        """The error answer (401, 403, 429) when the route serving ``scope`` needs a caller it
        does not have, through the app's handler of domain errors."""
        route = scope.get("route")
        if not isinstance(route, APIRoute):
            return None
        needs, roles = _caller_roles(route.dependant)
        if not needs:
            return None
        request = Request(scope)

        def resolve() -> None:
            principal = get_principal(request)
            if roles:
                principal.require(*roles)

        try:
            await run_in_threadpool(resolve)
        except MessageError as exc:  # 401, 403, 429 while the address is throttled
            handler = request.app.exception_handlers.get(MessageError)
            if handler is not None:
                response: Response = await handler(request, exc)
                return response
            body = error_body(exc, request_lang(request))
            return JSONResponse(body, status_code=status_for(exc))
        return None

    def _too_large(self, scope: Any) -> Response:
        mb = self.limit / 1024 / 1024
        zh = f"请求体超过上限 {mb:g} MB（GEOSERVICE_MAX_BODY_MB）；请压缩或拆分后再上传。"
        en = (
            f"The request body is over the {mb:g} MB limit (GEOSERVICE_MAX_BODY_MB); "
            "compress or split it."
        )
        lang = request_lang(Request(scope))
        body = {
            "error": {
                "code": "api.body_too_large",
                "message": pick(lang, zh, en),
                "zh": zh,
                "en": en,
            }
        }
        return JSONResponse(body, status_code=413, headers={"Connection": "close"})
