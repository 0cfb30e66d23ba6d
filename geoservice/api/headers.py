"""Security headers on every response.

Every response gets ``X-Content-Type-Options: nosniff`` (a photo or an export is never
run as a script or a page), ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin``
(links to other sites carry no address of a problem or a target). An HTML page also gets a
``Content-Security-Policy`` that allows only the service's own files:

- scripts from the service itself plus, by their SHA-256 hash, the inline scripts of the
  page as it is sent (the folium maps and the API documentation carry their code inline;
  the field pages carry none): inline event handlers, ``javascript:`` links and scripts
  from any other address are blocked;
- style sheets from the service, and inline styles (Leaflet and the folium maps position
  their panes and popups with ``style`` attributes);
- images from the service and ``data:`` URIs (Leaflet's icons); no plugins, no ``<base>``;
  forms submit only to the service; ``frame-ancestors 'none'``: no other site can show a
  page in a frame.

A response that sets its own ``Content-Security-Policy`` keeps it. Any other response
gets ``default-src 'none'; frame-ancestors 'none'``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Any

__all__ = ["API_CSP", "SecurityHeaders", "page_csp"]

ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# An inline script: <script> without a src attribute, up to its closing tag.
_INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc\s*=)([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)
# A data block (``<script type="application/json">``) is never run: it needs no hash.
_DATA_BLOCK = re.compile(rb"\btype\s*=\s*[\"']?application/(ld\+)?json", re.IGNORECASE)
_CSP = b"content-security-policy"


@functools.lru_cache(maxsize=64)
def page_csp(html: bytes) -> str:
    """The policy of an HTML page: own files plus the hashes of its inline scripts.

    Remembered for the last pages seen: the map pages are served again and again from the
    page cache, and finding their scripts costs about 0.3 ms per 20 kB page, where looking
    a page up costs a hash of its bytes."""
    seen: dict[str, None] = {}
    for match in _INLINE_SCRIPT.finditer(html):
        attrs, code = match.group(1), match.group(2)
        if code.strip() and not _DATA_BLOCK.search(attrs):
            digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
            seen[f" 'sha256-{digest}'"] = None
    return PAGE_CSP.format(hashes="".join(seen))


def _with(headers: list[tuple[bytes, bytes]], csp: str | None) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    out = list(headers)
    out.extend(pair for pair in ALWAYS if pair[0] not in names)
    if csp is not None and _CSP not in names:
        out.append((_CSP, csp.encode("ascii")))
    return out


class SecurityHeaders:
    """ASGI middleware adding the headers of the module to every HTTP response.

    It must sit inside any compression middleware: the HTML it hashes is the body as the
    route produced it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def wrapped(event: Any) -> None:
            nonlocal start
            if event["type"] == "http.response.start":
                headers = list(event.get("headers") or [])
                kind = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                if not kind.startswith(b"text/html"):
                    await send({**event, "headers": _with(headers, API_CSP)})
                    return
                start = {**event, "headers": headers}
                return
            if start is None or event["type"] != "http.response.body":
                await send(event)
                return
            chunks.append(event.get("body", b""))
            if event.get("more_body", False):
                return
            html = b"".join(chunks)
            await send({**start, "headers": _with(start["headers"], page_csp(html))})
            await send({"type": "http.response.body", "body": html, "more_body": False})

        await self.app(scope, receive, wrapped)
