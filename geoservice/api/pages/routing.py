"""What every field page route shares: errors shown as pages, the signed-in person, the day.

:class:`PageRoute` turns the domain errors into pages instead of JSON: no valid token → a
redirect to ``/signin`` (with ``?reason=`` when the token is expired, revoked or unknown),
anything else → an error page with the status of :mod:`geoservice.api.errors` (an object
outside the caller's scope is a 404 page). The page routes of
:mod:`geoservice.api.routes` import these from here, not from one another.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from geoservice.api.deps import COOKIE, get_principal
from geoservice.api.errors import status_for
from geoservice.api.pages.render import page_lang, render
from geoservice.api.pages.words import WORDS
from geoservice.api.paths import hide_paths
from geoservice.api.refusals import audit_not_found
from geoservice.base.access import Principal
from geoservice.base.errors import AuthenticationError, NotFoundError, TooManyAttemptsError
from layers.errors import MessageError
from layers.messages import pick

__all__ = [
    "PagePrincipal",
    "PageRoute",
    "Today",
    "error_page",
    "get_today",
    "page_principal",
    "with_lang",
]

# AuthenticationError code -> ``?reason=`` of the sign-in page.
REASONS = {"access.expired": "expired", "access.revoked": "revoked", "access.bad_token": "unknown"}


def with_lang(request: Request, path: str) -> str:
    """``path`` with ``lang=en`` added when the page is in English."""
    if page_lang(request) != "en":
        return path
    return path + ("&" if "?" in path else "?") + "lang=en"


def _to_signin(request: Request, exc: AuthenticationError) -> Response:
    reason = REASONS.get(exc.code)
    target = "/signin" + (f"?reason={reason}" if reason else "")
    response = RedirectResponse(with_lang(request, target), status_code=303)
    if reason:
        response.delete_cookie(COOKIE, path="/")
    return response


def error_page(request: Request, exc: MessageError) -> Response:
    status = status_for(exc)
    hide_paths(exc, getattr(request.app.state, "settings", None))
    if isinstance(exc, NotFoundError):
        audit_not_found(request, exc)
    lang = page_lang(request)
    pair = WORDS.get(f"error.{status}", WORDS["error"])
    principal = getattr(request.state, "principal", None)
    response = render(
        request,
        "error.html",
        principal,
        status_code=status,
        heading=pick(lang, *pair),
        text=exc.text(lang),
    )
    if isinstance(exc, TooManyAttemptsError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


class PageRoute(APIRoute):
    """A route whose domain errors become pages: sign-in redirect or error page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthenticationError as exc:
                return _to_signin(request, exc)
            except MessageError as exc:
                return error_page(request, exc)

        return page_handler


def page_principal(request: Request) -> Principal:
    """The signed-in person (token header or sign-in cookie); AuthenticationError, which
    :class:`PageRoute` turns into a redirect to the sign-in page."""
    return get_principal(request)


def get_today() -> date:
    """The date deadlines are counted at (overridable in tests)."""
    return date.today()


PagePrincipal = Annotated[Principal, Depends(page_principal)]
Today = Annotated[date, Depends(get_today)]
