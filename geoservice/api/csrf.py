"""Cross-site request forgery: changes the sign-in cookie authenticates must come from the
service's own pages.

A state-changing request (POST, PUT, PATCH, DELETE) is *cookie-authenticated* when it
carries the sign-in cookie and no ``Authorization: Bearer`` / ``Basic`` header (programs,
QGIS and GDAL send those; a browser never adds them to a forged request, so they pass
unchecked). Such a request needs both:

1. an ``Origin`` header, or without one a ``Referer``, whose ``scheme://host[:port]`` is the
   service's public address (:func:`geoservice.api.origin.public_origin`); a request with
   neither is refused, as OWASP advises;
2. the request token of the session: ``HMAC-SHA256(sign-in token, "geoservice-csrf")`` in
   the ``X-CSRF-Token`` header, or, for the HTML forms of the field pages (sign-out, the
   problem report, the target action record, and the new problem, observation and patrol
   forms of the field capture), in their hidden ``csrf_token`` field, which those routes
   check (:func:`check_form_token`).

The token is bound to the sign-in token rather than being a random value copied into a
second cookie (the "double-submit cookie"): cookies are shared by every port of a host, so
a page on another port could plant its own cookie and the matching field. Neither the
cookie (HttpOnly) nor the token (only in the service's own pages) can be read from
another origin, and no server secret is needed, so every worker process agrees.

The sign-in form, which acts on the token in its body and never on a cookie sent along, is
refused only when its ``Origin`` / ``Referer`` names another site. A refusal is a 403 with the usual error body, audited as
``csrf.refused``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from geoservice.api.errors import error_body, request_lang
from geoservice.api.origin import origin_of, public_origin
from geoservice.base.access import authenticate
from geoservice.base.errors import CrossSiteRequestError, message
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from layers.errors import MessageError

__all__ = [
    "FIELD",
    "HEADER",
    "CSRFGuard",
    "check_form_token",
    "cookie_session",
    "form_token",
    "token_for",
]

FIELD = "csrf_token"
HEADER = "x-csrf-token"
COOKIE = "geoservice_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Page forms whose routes read the body and check the ``csrf_token`` field themselves.
FORM_ROUTES = re.compile(
    r"^/(signout|app/(problems|targets)/[^/]+|app/capture|app/patrol"
    r"|app/(targets|patches)/[^/]+/observe)$"
)
SIGNIN = "/signin"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SALT = b"geoservice-csrf"


def token_for(session: str) -> str:
    """The request token of the sign-in token ``session`` (64 hex digits)."""
    return hmac.new(session.encode("utf-8"), _SALT, hashlib.sha256).hexdigest()


def _has_credentials_header(authorization: str) -> bool:
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() in ("bearer", "basic") and bool(value.strip())


def cookie_session(headers: Mapping[str, str]) -> str | None:
    """The sign-in cookie when it is what authenticates the request (no ``Authorization``
    header that takes precedence), else None."""
    if _has_credentials_header(headers.get("authorization", "")):
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def form_token(request: Request) -> str:
    """The token the page forms carry for the caller's cookie ("" without one)."""
    session = request.cookies.get(COOKIE)
    return token_for(session) if session else ""


def _refusal(code: str, zh: str, en: str) -> CrossSiteRequestError:
    return CrossSiteRequestError(message(code, zh, en))


def bad_token() -> CrossSiteRequestError:
    return _refusal(
        "csrf.bad_token",
        "请求缺少或带有错误的防跨站令牌（表单字段 csrf_token 或请求头 X-CSRF-Token）；"
        "请重新打开本服务的页面后再提交。程序调用请改用 Authorization: Bearer 令牌。",
        "The request's anti-forgery token (form field `csrf_token` or header X-CSRF-Token) "
        "is missing or wrong; open the service's page again and resubmit. Programs should "
        "send `Authorization: Bearer <token>` instead of the sign-in cookie.",
    )


def check_form_token(request: Request, value: object) -> None:
    """Raise :class:`CrossSiteRequestError` when a cookie-authenticated page form lacks the
    session's token in ``value`` (the ``csrf_token`` field); bearer callers pass."""
    session = cookie_session(request.headers)
    if session is None:
        return
    sent = value if isinstance(value, str) else ""
    if not hmac.compare_digest(sent.encode("utf-8"), token_for(session).encode("ascii")):
        raise bad_token()


def _origin_refusal(sent: str | None, expected: str) -> CrossSiteRequestError:
    if sent is None:
        return _refusal(
            "csrf.no_origin",
            f"更改数据的请求既没有 Origin 也没有 Referer 请求头，无法确认来自本服务（{expected}）"
            "的页面；请从本服务的页面提交，程序调用请改用 Authorization: Bearer 令牌。",
            f"The change carries neither an Origin nor a Referer header, so it cannot be told "
            f"to come from the service's pages ({expected}); submit it from the service's "
            "page, or call with `Authorization: Bearer <token>`.",
        )
    return _refusal(
        "csrf.bad_origin",
        f"更改数据的请求来自 {sent}，而不是本服务的地址 {expected}；已拒绝。若服务地址确为"
        f" {sent}，请把 GEOSERVICE_PUBLIC_URL 设为该地址。",
        f"The change came from {sent}, not from the service's address {expected}, and was "
        f"refused. If {sent} is the service's address, set GEOSERVICE_PUBLIC_URL to it.",
    )


def check_origin(headers: Mapping[str, str], expected: str) -> None:
    """Raise unless ``Origin`` (else ``Referer``) names ``expected``."""
    raw = headers.get("origin") or headers.get("referer")
    if raw is None:
        raise _origin_refusal(None, expected)
    sent = origin_of(raw)
    if sent != expected:
        raise _origin_refusal(sent or raw[:200], expected)


class CSRFGuard:
    """ASGI middleware refusing forged cookie-authenticated changes (see the module)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            self._check(request)
        except CrossSiteRequestError as exc:
            await run_in_threadpool(self._audit, request, exc)
            body = error_body(exc, request_lang(request))
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, request: Request) -> None:
        headers = request.headers
        expected = public_origin(self.settings, request.scope)
        if request.url.path == SIGNIN:  # acts on the token in its body, never on the cookie
            if "origin" in headers or "referer" in headers:
                check_origin(headers, expected)
            return
        session = cookie_session(headers)
        if session is None:
            return
        check_origin(headers, expected)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if FORM_ROUTES.match(request.url.path) and kind in FORM_TYPES:
            return  # the page route checks the form's csrf_token field
        sent = headers.get(HEADER, "")
        if not hmac.compare_digest(sent.encode("utf-8"), token_for(session).encode("ascii")):
            raise bad_token()

    def _audit(self, request: Request, exc: CrossSiteRequestError) -> None:
        ws = Workspace(self.settings.workspace)
        session = cookie_session(request.headers)
        actor = "anonymous"
        if session is not None:
            try:
                actor = authenticate(ws, session).actor
            except MessageError:
                actor = "anonymous"
        detail = {
            "refused": exc.code,
            "from": request.client.host if request.client else "unknown",
            "method": request.method,
            "path": request.url.path,
            "origin": request.headers.get("origin"),
            "referer": (request.headers.get("referer") or "")[:200] or None,
        }
        try:
            ws.log(actor, "csrf.refused", request.url.path, detail)
        except MessageError:
            return  # no workspace yet: nothing to audit into; the request is refused anyway
