"""Map files of ``geoservice map``: the data in the page at town scale, tiles beside it above.

A page holding its data (GeoJSON) opens from disk anywhere, but grows with the layers: a
county's targets map would be about 57 MB, which no browser paints usefully. So:

- up to :data:`EMBED_FEATURES` features in the layers a map draws, the page holds its data
  (:func:`maps.render.save_standalone`), unless that page would exceed :data:`PAGE_LIMIT`;
- otherwise (or with ``--tiled``) the page is a light shell
  (:func:`geoservice.webmaps.pages.tiled_shell`) holding the status object, and the vector
  tiles are written beside it, in ``<page stem>_tiles/<layer>/<z>/<x>/<y>.mvt``, referenced
  by a relative URL. Browsers do not let a page opened from disk (``file://``) fetch
  files, so such a page is opened through a web server: ``python -m http.server`` in its
  folder, any intranet web server, or the service itself (``geoservice serve`` serves the
  same map at ``/maps/targets``). The command says so.

Tiles are written for the zooms the page draws each layer at (a tile of zoom z is drawn at
map zoom z + 1, :data:`maps.tiled.ZOOM_OFFSET`; evidence from map zoom 12 or 13, see
:mod:`geoservice.webmaps.pages`) from zoom 7 up to zoom 16, as the office sees them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from geoservice.base.workspace import Workspace
from layers.messages import Lang

__all__ = ["EMBED_FEATURES", "PAGE_LIMIT", "MapFile", "needs_tiles", "write_tiled"]

EMBED_FEATURES = 20_000  # the sample town draws under 1,000; a county over 300,000
PAGE_LIMIT = 5_000_000  # bytes: never a page over this
TILE_MIN_ZOOM = 7  # drawn from map zoom 8, a county on a laptop screen


@dataclass(frozen=True)
class MapFile:
    """A page written with its tiles: the page, the tile folder, tiles and their bytes."""

    page: Path
    tiles: Path
    count: int
    bytes: int


def needs_tiles(ws: Workspace, kind: str) -> bool:
    """Whether the layers a map of ``kind`` draws hold more than :data:`EMBED_FEATURES`."""
    from geoservice.webmaps.pages import DRAWN_LAYERS

    drawn = {
        "targets": ("villages", "patches", "parcel_risk", "targets", "complaints"),
        "villages": ("villages", "problems"),
        "department": ("villages", "targets", "problems"),
    }[kind]
    present = set(ws.layer_names())
    total = sum(ws.count(layer) for layer in drawn if layer in present and layer in DRAWN_LAYERS)
    return total > EMBED_FEATURES


def _clear(folder: Path, layers: list[str]) -> None:
    """Remove the layer folders an earlier run wrote (and nothing else)."""
    for layer in layers:
        old = folder / layer
        if old.is_dir():
            shutil.rmtree(old)


def write_tiled(
    ws: Workspace,
    kind: str,
    path: Path,
    day: date,
    lang: Lang,
    village: str | None = None,
    dept: str | None = None,
    basemap: Any = None,
) -> MapFile:
    """Write the light page of ``kind`` to ``path`` and its tiles beside it.

    Parameters
    ----------
    ws : Workspace
    kind : {"targets", "villages", "department"}
    path : pathlib.Path
        The HTML file; the tiles go to ``<stem>_tiles`` in the same folder.
    day : datetime.date
        The date the status (village colours, escalation) is evaluated at.
    lang : {"zh", "en"}
    village : str, optional
        Village code or name the page opens on.
    dept : str, optional
        Department code of a department map.
    basemap : maps.basemaps.Basemap, optional
        An intranet (or allowed) basemap under the tiles.
    """
    from geoservice.tiles.build import build_tiles, scope_principal
    from geoservice.webmaps.pages import drawn_layers, page_layers, tiled_shell
    from geoservice.webmaps.status import status_parts
    from maps.assets import TILED_BUNDLES
    from maps.render import save_standalone
    from maps.tiled import NATIVE_MAX_ZOOM, ZOOM_OFFSET

    office = scope_principal("office")
    visible = drawn_layers(ws, office)
    layers = page_layers(kind, visible, lang, link=False)
    folder = path.with_name(f"{path.stem}_tiles")
    status = status_parts(ws, office, kind, day, lang, dept)
    m = tiled_shell(
        ws, kind, visible, lang, village, tiles=f"{folder.name}/{{layer}}/{{z}}/{{x}}/{{y}}.mvt",
        status=status, link=False, basemap=basemap,
        day=str(day), dept=dept,
    )  # fmt: skip
    names = sorted({layer.name for layer in layers})
    _clear(folder, names)
    count = size = 0
    for layer in layers:
        low = max(TILE_MIN_ZOOM, min(layer.min_zoom - ZOOM_OFFSET, NATIVE_MAX_ZOOM))
        if layer.name not in names:
            continue  # drawn twice (outline and status): written once
        names.remove(layer.name)
        report = build_tiles(ws, folder, office, [layer.name], low, NATIVE_MAX_ZOOM)
        count, size = count + report.tiles, size + report.bytes
    allowed = basemap.url_prefixes() if basemap is not None else ()
    page = save_standalone(m, path, allowed, TILED_BUNDLES)
    return MapFile(page, folder, count, size)


def describe(result: MapFile) -> dict[str, Any]:
    """The JSON fields of a tiled map file."""
    return {"tiles": str(result.tiles), "tile_count": result.count, "tile_bytes": result.bytes}
