"""A static tile set of a workspace: a folder of ``.mvt`` files or one PMTiles archive.

For intranet web servers and offline use: the tiles a caller of the given scope would get
from ``GET /tiles/{layer}/{z}/{x}/{y}.mvt``, cut once. Each layer is read once and held in
Web Mercator with an STR-tree; every tile of every zoom that holds a feature is cut from
memory with the same code the service uses (:func:`~geoservice.tiles.cut.encode_tile`).

- ``out`` a folder: ``<out>/<layer>/<z>/<x>/<y>.mvt``, one layer per tile, as the
  service's URLs (a web server can serve the folder under ``/tiles``);
- ``out`` ending in ``.pmtiles``: one archive (PMTiles v3, via :mod:`pmtiles`), every
  layer in each tile, tiles gzip-compressed, with ``vector_layers`` metadata.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from geoservice.base.access import ROLES, Principal
from geoservice.base.errors import NotFoundError, OptionError, message
from geoservice.base.workspace import Workspace
from geoservice.tiles.cut import BUFFER, Features, encode_tile, transformer
from geoservice.tiles.grid import EXTENT, MAX_ZOOM, TileAddress, tile_bounds, tms
from geoservice.tiles.serve import read_features, tile_layers
from geoservice.tiles.specs import TILE_LAYERS, columns_at

__all__ = ["BuildReport", "build_tiles", "scope_principal"]


@dataclass
class BuildReport:
    """What :func:`build_tiles` wrote.

    Attributes
    ----------
    out : Path
    layers : list of str
    tiles : int
        Tiles written (files, or archive entries).
    bytes : int
        Their total size (uncompressed MVT).
    largest : tuple of (str, int)
        The largest tile's address ``z/x/y`` (with its layer in a folder) and size.
    per_zoom : dict of int to int
        Tiles written at each zoom.
    """

    out: Path
    layers: list[str]
    tiles: int = 0
    bytes: int = 0
    largest: tuple[str, int] = ("", 0)
    per_zoom: dict[int, int] = field(default_factory=dict)

    def add(self, name: str, z: int, size: int) -> None:
        self.tiles += 1
        self.bytes += size
        self.per_zoom[z] = self.per_zoom.get(z, 0) + 1
        if size > self.largest[1]:
            self.largest = (name, size)


def scope_principal(
    role: str, department: str | None = None, village: str | None = None
) -> Principal:
    """The caller whose scope a static tile set holds (``office``: everything; a
    ``department``, ``village`` or ``viewer``: what that caller may see over HTTP)."""
    needs = {"department": department, "village": village}
    if role not in ROLES or (role in needs and not needs[role]):
        raise OptionError(
            message(
                "tiles.bad_scope",
                f"瓦片范围为角色“{role}”，应为 {'、'.join(ROLES)} 之一；部门须加 --department，"
                "村须加 --village（村代码）。",
                f"The tile scope was role {role!r} but is expected to be one of "
                f"{', '.join(ROLES)}; a department needs --department, a village --village "
                "(its code).",
            )
        )
    return Principal(
        "tiles",
        f"tiles:{role}",
        role,
        department=department if role == "department" else None,
        village_code=village if role == "village" else None,
    )


def _check_zooms(min_zoom: int, max_zoom: int) -> None:
    if 0 <= min_zoom <= max_zoom <= MAX_ZOOM:
        return
    raise OptionError(
        message(
            "tiles.bad_zooms",
            f"缩放级别为 {min_zoom} 到 {max_zoom}，应满足 0 ≤ 最小 ≤ 最大 ≤ {MAX_ZOOM}；"
            "请检查 --min-zoom/--max-zoom。",
            f"Zooms were {min_zoom} to {max_zoom} but are expected to satisfy 0 <= min <= max "
            f"<= {MAX_ZOOM}; check --min-zoom/--max-zoom.",
        )
    )


def _chosen(ws: Workspace, principal: Principal, layers: list[str] | None) -> list[str]:
    visible = tile_layers(ws, principal)
    wanted = visible if layers is None else layers
    unknown = [name for name in wanted if name not in visible]
    if unknown:
        raise NotFoundError(
            message(
                "tiles.no_layer",
                f"没有瓦片图层“{'、'.join(unknown)}”（或此范围无权查看）；可用图层："
                f"{'、'.join(visible) or '无'}。",
                f"There is no tile layer {', '.join(unknown)} (or it is not visible in this "
                f"scope); the layers are: {', '.join(visible) or 'none'}.",
            )
        )
    return list(wanted)


def _tiles(sources: list[Features], min_zoom: int, max_zoom: int) -> list[TileAddress]:
    """The tiles of every zoom that cover the features' extent, in PMTiles id order."""
    shapes = np.concatenate([f.geometry for f in sources])
    bounds = shapely.total_bounds(shapes) if len(shapes) else np.full(4, np.nan)
    if not np.isfinite(bounds).all():
        return []
    lonlat = transformer("EPSG:3857", "EPSG:4326").transform_bounds(*bounds)
    found = tms().tiles(*lonlat, zooms=list(range(min_zoom, max_zoom + 1)))
    tiles = [TileAddress(t.z, t.x, t.y) for t in found]
    return sorted(tiles, key=lambda t: zxy_to_tileid(t.z, t.x, t.y))


def _in(source: Features, tree: shapely.STRtree, tile: TileAddress) -> Features:
    minx, miny, maxx, maxy = tile_bounds(tile)
    pad = (maxx - minx) * BUFFER / EXTENT
    hits = tree.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))
    return source.take(np.sort(hits))


def _metadata(sources: list[Features], min_zoom: int, max_zoom: int) -> dict[str, object]:
    layers = [
        {
            "id": f.layer,
            "fields": {
                c: "String"
                for c in columns_at(TILE_LAYERS[f.layer], MAX_ZOOM, list(f.attributes.columns))
            },
            "minzoom": min_zoom,
            "maxzoom": max_zoom,
        }
        for f in sources
    ]
    return {"name": "geoservice", "format": "pbf", "vector_layers": layers}


def build_tiles(
    ws: Workspace,
    out: str | Path,
    principal: Principal,
    layers: list[str] | None = None,
    min_zoom: int = 8,
    max_zoom: int = 16,
) -> BuildReport:
    """Write the tile set of ``ws`` as ``principal`` may see it.

    Parameters
    ----------
    out : path
        A folder (created), or a file ending in ``.pmtiles`` (replaced when complete).
    principal : Principal
        Whose scope the tiles hold (an office user: everything).
    layers : list of str, optional
        Tile layers to write; default every one ``principal`` may see.
    min_zoom, max_zoom : int
        Zooms written (Web Mercator XYZ).

    Returns
    -------
    BuildReport
        Counts, sizes and the largest tile.
    """
    _check_zooms(min_zoom, max_zoom)
    names = _chosen(ws, principal, layers)
    sources = [read_features(ws, principal, name) for name in names]
    trees = [shapely.STRtree(f.geometry) for f in sources]
    tiles = _tiles(sources, min_zoom, max_zoom)
    target = Path(out)
    report = BuildReport(target, names)
    if target.suffix.lower() == ".pmtiles":
        _write_archive(target, sources, trees, tiles, (min_zoom, max_zoom), report)
    else:
        _write_folder(target, sources, trees, tiles, report)
    return report


def _write_folder(
    target: Path,
    sources: list[Features],
    trees: list[shapely.STRtree],
    tiles: list[TileAddress],
    report: BuildReport,
) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for tile in tiles:
        for source, tree in zip(sources, trees, strict=True):
            body = encode_tile([_in(source, tree, tile)], tile)
            if not body:
                continue
            path = target / source.layer / str(tile.z) / str(tile.x) / f"{tile.y}.mvt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            report.add(f"{source.layer}/{tile}", tile.z, len(body))


def _write_archive(
    target: Path,
    sources: list[Features],
    trees: list[shapely.STRtree],
    tiles: list[TileAddress],
    zooms: tuple[int, int],
    report: BuildReport,
) -> None:
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "wb") as f:
        writer = Writer(f)
        for tile in tiles:
            body = encode_tile([_in(s, t, tile) for s, t in zip(sources, trees, strict=True)], tile)
            if body:
                writer.write_tile(
                    zxy_to_tileid(tile.z, tile.x, tile.y), gzip.compress(body, mtime=0)
                )
                report.add(str(tile), tile.z, len(body))
        if not report.tiles:
            partial.unlink()
            raise NotFoundError(
                message(
                    "tiles.nothing",
                    f"图层 {'、'.join(report.layers)} 在缩放级别 {zooms[0]}-{zooms[1]} 中没有可写的要素；"
                    "请先导入数据，或换用其他图层。",
                    f"Layers {', '.join(report.layers)} have no feature to write at zooms "
                    f"{zooms[0]}-{zooms[1]}; import data first, or choose other layers.",
                )
            )
        writer.finalize(_header(sources, tiles, zooms), _metadata(sources, *zooms))
    os.replace(partial, target)


def _header(
    sources: list[Features], tiles: list[TileAddress], zooms: tuple[int, int]
) -> dict[str, object]:
    shapes = np.concatenate([f.geometry for f in sources])
    lon0, lat0, lon1, lat1 = transformer("EPSG:3857", "EPSG:4326").transform_bounds(
        *shapely.total_bounds(shapes)
    )
    e7 = 10_000_000
    return {
        "tile_compression": Compression.GZIP,
        "tile_type": TileType.MVT,
        "min_lon_e7": int(lon0 * e7),
        "min_lat_e7": int(lat0 * e7),
        "max_lon_e7": int(lon1 * e7),
        "max_lat_e7": int(lat1 * e7),
        "center_zoom": zooms[0],
        "center_lon_e7": int((lon0 + lon1) / 2 * e7),
        "center_lat_e7": int((lat0 + lat1) / 2 * e7),
    }
