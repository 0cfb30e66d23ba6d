"""The service's own address, and which peers may speak for a client.

- :func:`public_base`: the address absolute links are built from, the ``public_url`` setting
  or else the address the server listens on as its socket reports it (the ASGI ``server``
  of the scope). The ``Host`` header is never used: any client, or a proxy in front of the
  service, can write anything there.
- :func:`public_origin`: the ``scheme://host[:port]`` of that address, which ``Origin`` and
  ``Referer`` of a cookie-authenticated change must match (:mod:`geoservice.api.csrf`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from geoservice.base.settings import Settings

__all__ = ["origin_of", "public_base", "public_origin", "server_origin"]

DEFAULT_PORTS = {"http": 80, "https": 443}


def server_origin(scope: Mapping[str, Any]) -> str:
    """``scheme://host[:port]`` of the socket the request arrived on (default port left
    out, IPv6 in brackets); ``http://localhost`` when the server does not say."""
    scheme = str(scope.get("scheme") or "http")
    server = scope.get("server")
    if not server:
        return f"{scheme}://localhost"
    host, port = str(server[0]), server[1]
    if ":" in host:
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS.get(scheme) == int(port):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` (lower case, default port left out); None when
    ``url`` is not an absolute http(s) address."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS[scheme] == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def public_base(settings: Settings, scope: Mapping[str, Any]) -> str:
    """The address absolute links start with (no trailing slash)."""
    return settings.public_url or server_origin(scope)


def public_origin(settings: Settings, scope: Mapping[str, Any]) -> str:
    """The one origin trusted to send cookie-authenticated changes."""
    return origin_of(public_base(settings, scope)) or server_origin(scope)
