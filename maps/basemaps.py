"""Basemaps a map may be drawn on.

The default is none: village outlines on a plain background, which works anywhere, intranet
included. Online basemaps are OpenStreetMap and 天地图 Tianditu (vector or imagery, each
with its annotation layer; a key is needed). Any XYZ tile server on the intranet can be
given by its URL template. GCJ-02 basemaps (AMap/Gaode and the like) are not offered: the
survey data are CGCS2000, and on a GCJ-02 basemap they would sit hundreds of metres off.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.errors import MessageError
from layers.messages import Message

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
PRESETS = ("none", "osm", "tianditu-vec", "tianditu-img")


class BasemapError(MessageError):
    """A basemap cannot be used as asked (unknown name, missing key)."""


@dataclass(frozen=True)
class TileSpec:
    """One XYZ tile layer: URL template, attribution, subdomains for ``{s}``."""

    url: str
    attribution: str
    subdomains: str = "abc"
    overlay: bool = False


@dataclass(frozen=True)
class Basemap:
    """A named basemap of one or more tile layers.

    Attributes
    ----------
    online : bool
        True when the tiles come from the internet (they need a network the intranet may
        not have, and a standalone file then depends on it).
    """

    name: str
    layers: tuple[TileSpec, ...]
    online: bool

    def url_prefixes(self) -> tuple[str, ...]:
        """The URL prefixes (up to the first ``{``) the tile layers request."""
        return tuple(spec.url.split("{")[0] for spec in self.layers)


def _tianditu(kind: str, key: str) -> Basemap:
    base, note = ("vec", "cva") if kind == "vec" else ("img", "cia")
    attribution = "天地图 Tianditu"
    return Basemap(
        f"tianditu-{kind}",
        (
            TileSpec(
                _TIANDITU.replace("{layer}", base).replace("{key}", key), attribution, "01234567"
            ),
            TileSpec(
                _TIANDITU.replace("{layer}", note).replace("{key}", key),
                attribution,
                "01234567",
                overlay=True,
            ),
        ),
        online=True,
    )


def basemap(
    name: str | None = None, *, url: str | None = None, key: str | None = None
) -> Basemap | None:
    """The basemap called ``name`` (or the intranet XYZ ``url``); None for no basemap.

    Parameters
    ----------
    name : {"none", "osm", "tianditu-vec", "tianditu-img"}, optional
    url : str, optional
        An XYZ URL template (``http://10.1.2.3/tiles/{z}/{x}/{y}.png``), used when no
        preset is named.
    key : str, optional
        The Tianditu key (required for the Tianditu presets).

    Raises
    ------
    BasemapError
        For an unknown name or a Tianditu preset without a key.
    """
    if name in (None, "none"):
        if url:
            return Basemap("xyz", (TileSpec(url, url, "abc"),), online=False)
        return None
    if name == "osm":
        return Basemap(
            "osm",
            (
                TileSpec(
                    "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"
                ),
            ),
            online=True,
        )
    if name in ("tianditu-vec", "tianditu-img"):
        if not key:
            raise BasemapError(
                Message(
                    "basemap.no_key",
                    f"底图 {name} 需要天地图密钥；请设置 GEOSERVICE_TIANDITU_KEY。",
                    f"Basemap {name} needs a Tianditu key; set GEOSERVICE_TIANDITU_KEY.",
                )
            )
        return _tianditu(name.split("-")[1], key)
    raise BasemapError(
        Message(
            "basemap.unknown",
            f"--basemap 为“{name}”，应为 {'、'.join(PRESETS)} 之一，或用 --tiles 给出内网瓦片地址。"
            "不提供高德等 GCJ-02 底图（会使小班偏移数百米）。",
            f"`basemap` was {name!r} but is expected to be one of {', '.join(PRESETS)}, or "
            "give an intranet tile URL with --tiles. GCJ-02 basemaps (AMap) are not offered: "
            "they would shift the parcels by hundreds of metres.",
        )
    )
