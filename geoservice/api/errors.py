"""Domain errors to HTTP status, in one table.

Core code raises :mod:`geoservice.base.errors` exceptions (the service refuses) and
:mod:`layers.errors` exceptions (a survey file cannot be used), both
:class:`~layers.errors.MessageError`; this module is the only place they become status
codes. The body is always
``{"error": {"code": ..., "message": ..., "zh": ..., "en": ...}}`` with ``message`` in the
caller's language.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from geoservice.api.paths import hide_paths
from geoservice.base.errors import (
    AuthenticationError,
    BadParameterError,
    ConflictError,
    NotFoundError,
    NothingImportedError,
    OptionError,
    PermissionDeniedError,
    PreconditionRequiredError,
    StaleVersionError,
    TooLargeError,
    TooManyAttemptsError,
    WorkspaceError,
)
from layers.errors import LayersError, MessageError
from layers.messages import Lang

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[MessageError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (StaleVersionError, 412),
    (PreconditionRequiredError, 428),
    (ConflictError, 409),
    (TooLargeError, 413),
    (TooManyAttemptsError, 429),
    (NothingImportedError, 422),
    (BadParameterError, 400),
    (OptionError, 422),
    (WorkspaceError, 503),
    (LayersError, 422),
    (MessageError, 422),
)


def status_for(exc: MessageError) -> int:
    """The HTTP status of a domain error (422 for any error not listed)."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 422


def request_lang(request: Request) -> Lang:
    """``en`` when the caller asks for English (``?lang=en`` or Accept-Language), else the
    service default."""
    asked = request.query_params.get("lang") or ""
    if asked in ("zh", "en"):
        return "en" if asked == "en" else "zh"
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("zh"):
        return "zh"
    settings = getattr(request.app.state, "settings", None)
    return "en" if getattr(settings, "lang", "zh") == "en" else "zh"


def error_body(exc: MessageError, lang: Lang) -> dict[str, object]:
    body: dict[str, object] = {
        "code": exc.code,
        "message": exc.text(lang),
        "zh": exc.message.zh,
        "en": exc.message.en,
    }
    report = getattr(exc, "report", None)
    if report is not None and hasattr(report, "to_dict"):
        body["report"] = report.to_dict(lang)
    return {"error": body}


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MessageError)
    status = status_for(exc)
    hide_paths(exc, getattr(request.app.state, "settings", None))
    if isinstance(exc, NotFoundError):
        # Imported here: the audit needs geoservice.api.deps, which imports this module.
        from geoservice.api.refusals import audit_not_found

        audit_not_found(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyAttemptsError):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc, request_lang(request)), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler that maps every domain error through :data:`STATUS`."""
    app.add_exception_handler(MessageError, _handle)
