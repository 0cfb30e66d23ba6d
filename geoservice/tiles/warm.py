"""Tiles a map's first view needs, cut in the background before anyone asks for them.

A served map page (:mod:`geoservice.webmaps.pages`) opens with Leaflet's ``fitBounds`` on
an area (every village, or one) and then asks for the tiles of every layer it shows at that
zoom, 512 pixels wide, cut a zoom below the map's (:data:`maps.tiled.ZOOM_OFFSET`). The
first visitor after a worker starts, or after the data changes, would wait for those tiles
to be cut (2.9 s of a county targets map's first paint, 1.3 s once kept).
:class:`TileWarmer` cuts them in a background thread of each worker, through the service's
own path (:func:`~geoservice.tiles.serve.render_tile`: the layer's box read with
``Workspace.read``, which passes the workspace's GDAL/Python gate), and keeps them by
ETag in :data:`~geoservice.tiles.serve.TILES`.

What the first view shows depends on the browser's window, which the server does not
know: :func:`view_tiles` takes the zoom ``fitBounds`` picks for each of
:data:`VIEWPORTS` (common desktop, tablet and phone windows) and, at each such zoom, the
tiles a window as large as the largest of them would show around the same centre.

Which maps, scopes and layers to warm is given by a ``plan`` (a function of the workspace
returning :class:`FirstView` objects; the service builds it from its map pages).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoservice.base.access import Principal
from geoservice.base.data_version import data_version
from geoservice.base.errors import GeoserviceError
from geoservice.base.workspace import Workspace
from geoservice.tiles.grid import TileAddress
from geoservice.tiles.serve import TILES, etag_of, layer_version, render_tile, tile_layers
from maps.tiled import ZOOM_OFFSET

__all__ = ["VIEWPORTS", "FirstView", "TileWarmer", "fit_zoom", "view_tiles", "warm_tiles"]

log = logging.getLogger(__name__)

# Map windows in CSS pixels (width, height): full-HD, common laptop and small desktop
# windows, a tablet and a phone, upright.
VIEWPORTS: tuple[tuple[int, int], ...] = (
    (1920, 1080),
    (1536, 864),
    (1366, 768),
    (1280, 860),
    (1280, 720),
    (820, 1180),
    (390, 844),
)
MAP_MAX_ZOOM = 20  # the pages' maxZoom (maps.render.base_map)
_TILE_PIXELS = 256 * 2**ZOOM_OFFSET  # a tile is drawn this wide
_MAX_LATITUDE = 85.0511287798  # Leaflet's spherical Mercator clamp
Bounds = tuple[float, float, float, float]
Plan = Callable[[Workspace], list["FirstView"]]


@dataclass(frozen=True)
class FirstView:
    """A map's first view for one scope.

    Attributes
    ----------
    principal : Principal
        Whose tiles (the ETag and the features are scoped to them).
    bounds : tuple of float
        ``(west, south, east, north)`` in degrees (EPSG:4326) the page fits.
    layers : dict
        Tile layer → the map zoom it is drawn from (its ``minZoom``).
    """

    principal: Principal
    bounds: Bounds
    layers: dict[str, int] = field(default_factory=dict)


def _pixel(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Leaflet's EPSG:3857 pixel of a point at ``zoom`` (256-pixel world at zoom 0)."""
    lat = max(-_MAX_LATITUDE, min(_MAX_LATITUDE, lat))
    size = 256 * 2**zoom
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return size * (lon / 360 + 0.5), size * (0.5 - y / (2 * math.pi))


def fit_zoom(bounds: Bounds, size: tuple[int, int], max_zoom: int = MAP_MAX_ZOOM) -> int:
    """The zoom Leaflet's ``fitBounds`` picks for ``bounds`` (degrees) in a map of ``size``
    pixels (``getBoundsZoom`` with no padding and a zoom snap of 1)."""
    west, south, east, north = bounds
    x0, y0 = _pixel(west, north, 0)
    x1, y1 = _pixel(east, south, 0)
    width, height = max(x1 - x0, 1e-12), max(y1 - y0, 1e-12)
    zoom = math.log2(min(size[0] / width, size[1] / height))
    zoom = round(zoom / 0.01) * 0.01  # Leaflet does not jump within 1 % of a snap level
    return max(0, min(max_zoom, math.floor(zoom)))


def view_tiles(bounds: Bounds, zoom: int, size: tuple[int, int]) -> list[TileAddress]:
    """The tile addresses a map of ``size`` pixels fitted on ``bounds`` at map ``zoom``
    asks for: its window around the centre ``fitBounds`` sets, in tiles of
    :data:`_TILE_PIXELS`, each cut at zoom ``zoom - ZOOM_OFFSET``."""
    west, south, east, north = bounds
    x0, y0 = _pixel(west, north, zoom)
    x1, y1 = _pixel(east, south, zoom)
    cx, cy = math.floor((x0 + x1) / 2), math.floor((y0 + y1) / 2)
    half_w, half_h = size[0] / 2, size[1] / 2
    cut_zoom = zoom - ZOOM_OFFSET
    if cut_zoom < 0:
        return []
    last = 2**cut_zoom - 1
    cols = range(math.floor((cx - half_w) / _TILE_PIXELS), math.ceil((cx + half_w) / _TILE_PIXELS))
    rows = range(
        max(0, math.floor((cy - half_h) / _TILE_PIXELS)),
        min(last, math.ceil((cy + half_h) / _TILE_PIXELS) - 1) + 1,
    )
    xs = sorted({x % (last + 1) for x in cols})
    return [TileAddress(cut_zoom, x, y) for y in rows for x in xs]


def first_view_tiles(
    bounds: Bounds, viewports: Iterable[tuple[int, int]] = VIEWPORTS
) -> dict[int, list[TileAddress]]:
    """Map zoom → the tiles the first view of a page fitted on ``bounds`` may ask for at
    it, over ``viewports`` (at each zoom one of them picks, the window of the largest); the
    zoom most of them pick first."""
    sizes = list(viewports)
    largest = (max(w for w, _ in sizes), max(h for _, h in sizes))
    picked = Counter(fit_zoom(bounds, size) for size in sizes)
    zooms = sorted(picked, key=lambda z: (-picked[z], z))
    return {z: view_tiles(bounds, z, largest) for z in zooms}


def warm_tiles(
    ws: Workspace,
    views: Iterable[FirstView],
    stop: threading.Event | None = None,
    viewports: Iterable[tuple[int, int]] = VIEWPORTS,
) -> int:
    """Cut and keep the tiles of ``views`` not kept yet for the current data; returns how
    many were cut. Stops between two tiles once ``stop`` is set."""
    sizes = list(viewports)
    versions: dict[str, tuple[Any, ...] | None] = {}
    cut = 0
    for view in views:
        visible = set(tile_layers(ws, view.principal))
        for zoom, tiles in first_view_tiles(view.bounds, sizes).items():
            layers = [n for n, low in view.layers.items() if n in visible and zoom >= low]
            for layer in layers:
                if layer not in versions:
                    versions[layer] = layer_version(ws, layer)
                version = versions[layer]
                if version is None:  # not readable now: the next pass tries again
                    continue
                for tile in tiles:
                    if stop is not None and stop.is_set():
                        return cut
                    etag = etag_of(version, view.principal, layer, tile)
                    if TILES.get(etag) is None:
                        render_tile(ws, view.principal, layer, tile, etag)
                        cut += 1
    return cut


class TileWarmer:
    """A background thread that keeps the first views' tiles of a workspace cut.

    It cuts them once the worker has started, then looks at the data version every
    ``interval`` seconds (a few small SQLite queries) and cuts them again once it has
    changed and then held still for one look (a burst of updates is not followed tile by
    tile; a tile already kept for the new data is not cut again). An empty or missing
    workspace, or one without the layers, warms nothing. :meth:`stop` ends it between two
    tiles.
    """

    def __init__(self, path: Path, plan: Plan, interval: float = 1.0) -> None:
        self.path, self.plan, self.interval = Path(path), plan, interval
        self.passes = 0  # finished warm-up passes
        self.warmed: tuple[Any, ...] | None = None  # the data version last warmed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tile-warmer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to end and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def warm_once(self) -> int:
        """One pass now, in this thread: the tiles cut (0 for an empty workspace)."""
        if not self.path.is_file():
            return 0
        ws = Workspace(self.path)
        cut = warm_tiles(ws, self.plan(ws), self._stop)
        self.passes += 1
        return cut

    def _run(self) -> None:
        seen: tuple[Any, ...] | None = None
        while not self._stop.is_set():
            version = data_version(self.path) if self.path.is_file() else None
            settled = self.warmed is None or version == seen
            if version is not None and version != self.warmed and settled:
                self.warmed = version  # tried once per version, whatever comes of it
                self._pass()
            seen = version
            self._stop.wait(self.interval)

    def _pass(self) -> None:
        """:meth:`warm_once`, logging what stopped it: the thread outlives a workspace
        replaced or locked under it, and the next data version is tried afresh."""
        try:
            self.warm_once()
        except (GeoserviceError, OSError, sqlite3.Error) as exc:
            log.info("tile warm-up of %s stopped: %s", self.path, exc)
        except Exception:  # a failed warm-up must never take the worker's thread down
            log.exception("tile warm-up of %s failed", self.path)
