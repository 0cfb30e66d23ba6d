"""Paging of the list endpoints: ``limit``, ``offset``, a ``next`` link, the total, an ETag.

Every list takes ``limit`` (default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`; more
is a 400 naming the value and the maximum) and ``offset`` (default 0). The ``next`` link is
absolute, built from the service's public address (:func:`geoservice.api.origin.public_base`,
never the ``Host`` header) with the request's other query parameters kept; there is none on
the last page.

- Lists answered as a JSON object (``/audit``, ``/layers``) carry ``total``, ``limit``,
  ``offset`` and ``next`` fields.
- Lists answered as a bare JSON array (``/problems``, ``/villages/status``) stay arrays, so
  clients that read them keep working; the paging is in headers: ``X-Total-Count`` and
  ``Link: <...>; rel="next"``.

The ``ETag`` is a hash of the workspace's data version
(:func:`geoservice.base.list_version.list_version`), the caller's scope and language, the
day (escalation and deadlines are counted from today) and the query. ``If-None-Match``
naming it answers 304 before anything is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from geoservice.api.deps import get_settings
from geoservice.api.origin import public_base
from geoservice.api.responses import etag_matches
from geoservice.base.access import Principal
from geoservice.base.data_version import scope_of
from geoservice.base.errors import BadParameterError, message
from geoservice.base.list_version import list_version
from geoservice.base.workspace import Workspace
from layers.messages import Lang

__all__ = [
    "DEFAULT_LIMIT",
    "LIST_RESPONSES",
    "MAX_LIMIT",
    "Page",
    "PageDep",
    "check_page",
    "list_etag",
    "next_link",
    "not_modified",
    "paging_headers",
]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
T = TypeVar("T")

# Documented answers of every paged list besides 200.
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match named the list's ETag)"},
    400: {"description": f"limit above {MAX_LIMIT}, below 1, or a negative offset"},
}


@dataclass(frozen=True)
class Page:
    """One page of a list: at most ``limit`` rows from row ``offset`` (0-based)."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def cut(self, rows: Sequence[T]) -> list[T]:
        """The rows of this page."""
        return list(rows[self.offset : self.offset + self.limit])

    def next_offset(self, total: int) -> int | None:
        """The offset of the next page; None on the last one."""
        after = self.offset + self.limit
        return after if after < total else None


def check_page(limit: int, offset: int) -> Page:
    """The page of ``limit`` and ``offset``.

    Raises
    ------
    BadParameterError
        (400) unless ``1 <= limit <= MAX_LIMIT`` and ``offset >= 0``, naming the value
        and the range.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameterError(
            message(
                "paging.bad_limit",
                f"limit 为 {limit}，应为 1 到 {MAX_LIMIT}（最大值）之间的整数；"
                "更多记录请用 offset 或响应中的 next 链接翻页。",
                f"`limit` was {limit} but is expected to be between 1 and {MAX_LIMIT} (the "
                "maximum); page through more rows with offset or the response's next link.",
            )
        )
    if offset < 0:
        raise BadParameterError(
            message(
                "paging.bad_offset",
                f"offset 为 {offset}，应为不小于 0 的整数（第一页为 0）。",
                f"`offset` was {offset} but is expected to be 0 or more (0 is the first page).",
            )
        )
    return Page(limit, offset)


def _page(
    limit: Annotated[
        int,
        Query(
            description=f"每页条数，默认 {DEFAULT_LIMIT}，最多 {MAX_LIMIT} / rows per page, "
            f"default {DEFAULT_LIMIT}, at most {MAX_LIMIT}"
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(description="跳过的条数（第一页为 0）/ rows to skip (0: the first page)")
    ] = 0,
) -> Page:
    return check_page(limit, offset)


PageDep = Annotated[Page, Depends(_page)]


def next_link(request: Request, page: Page, total: int) -> str | None:
    """The absolute address of the next page (the other query parameters kept); None on
    the last page."""
    after = page.next_offset(total)
    if after is None:
        return None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
    query = urlencode([*kept, ("limit", str(page.limit)), ("offset", str(after))])
    base = public_base(get_settings(request), request.scope)
    return f"{base}{request.url.path}?{query}"


def list_etag(
    request: Request,
    ws: Workspace,
    principal: Principal,
    lang: Lang,
    tables: tuple[str, ...] = (),
    extra: tuple[Any, ...] = (),
) -> str | None:
    """The ETag of a list: data version (with ``tables`` changed in place, and ``extra``,
    what else decides the rows), the caller's scope and language, today and the query;
    None when the workspace cannot be read."""
    version = list_version(ws.path, tables)
    if version is None:
        return None
    query = sorted(request.query_params.multi_items())
    day = date.today().isoformat()
    key = (version, extra, scope_of(principal), lang, day, request.url.path, query)
    return '"' + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str | None) -> Response | None:
    """A 304 when ``If-None-Match`` names ``etag``; else None."""
    if etag is not None and etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=_cache_headers(etag))
    return None


def _cache_headers(etag: str | None) -> dict[str, str]:
    headers = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    if etag is not None:
        headers["ETag"] = etag
    return headers


def paging_headers(
    request: Request, response: Response, page: Page, total: int, etag: str | None
) -> str | None:
    """Set ``ETag``, ``X-Total-Count`` and ``Link: <next>; rel="next"`` on ``response``;
    the next link (None on the last page)."""
    response.headers.update(_cache_headers(etag))
    response.headers["X-Total-Count"] = str(total)
    link = next_link(request, page, total)
    if link is not None:
        response.headers["Link"] = f'<{link}>; rel="next"'
    return link
