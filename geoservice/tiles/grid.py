"""Tile addresses of the Web Mercator XYZ grid (``WebMercatorQuad``, EPSG:3857, y down).

A request's ``z``, ``x`` and ``y`` arrive as text; :func:`parse_tile` checks them and
names the bad value (BadParameterError). Bounds come from :mod:`morecantile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import morecantile

from geoservice.base.errors import BadParameterError, message

__all__ = ["EXTENT", "MAX_ZOOM", "TileAddress", "parse_tile", "tile_bounds", "tms"]

EXTENT = 4096  # tile-local units per tile side (the MVT default)
MAX_ZOOM = 22  # about 4 cm per tile unit at the equator: more detail than any survey


@cache
def tms() -> morecantile.TileMatrixSet:
    """The Web Mercator quad grid."""
    return morecantile.tms.get("WebMercatorQuad")


@dataclass(frozen=True, order=True)
class TileAddress:
    """One tile: zoom ``z`` (0 to :data:`MAX_ZOOM`), column ``x`` and row ``y`` (both
    0 to 2**z - 1, ``y`` counted from the north)."""

    z: int
    x: int
    y: int

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


def _integer(name: str, text: str, high: int, where: str) -> int:
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= 9 and int(value) <= high:
        return int(value)
    raise BadParameterError(
        message(
            "tiles.bad_address",
            f"瓦片地址{where}中 {name} 为“{text}”，应为 0 到 {high} 之间的整数；"
            "请按 /tiles/{图层}/{z}/{x}/{y}.mvt 请求（Web 墨卡托 XYZ 瓦片）。",
            f"Tile address{where} `{name}` was {text!r} but is expected to be an integer "
            f"from 0 to {high}; request /tiles/{{layer}}/{{z}}/{{x}}/{{y}}.mvt (Web Mercator "
            "XYZ tiles).",
        )
    )


def parse_tile(z: str, x: str, y: str) -> TileAddress:
    """The tile ``z/x/y`` given as text (BadParameterError naming the bad value)."""
    zoom = _integer("z", z, MAX_ZOOM, "")
    last = 2**zoom - 1
    where = f" {zoom}/…"
    return TileAddress(zoom, _integer("x", x, last, where), _integer("y", y, last, where))


def tile_bounds(tile: TileAddress) -> tuple[float, float, float, float]:
    """The tile's bounds in EPSG:3857 metres (minx, miny, maxx, maxy)."""
    b = tms().xy_bounds(morecantile.Tile(tile.x, tile.y, tile.z))
    return (b.left, b.bottom, b.right, b.top)
