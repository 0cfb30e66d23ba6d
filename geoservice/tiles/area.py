"""The tiles of a person's working area, for a phone to keep offline.

A village cadre works in their village: the area is the village's bounding box. A
department officer works at the targets their department leads or cooperates on and at
the problems copied to it: the area is the set of those boxes, each widened by
:data:`MARGIN_M` so the surroundings of a small target are on the phone too. Office and
viewer accounts are not field accounts: no area.

The tiles covering the boxes at zooms :data:`MIN_ZOOM` to :data:`MAX_OFFLINE_ZOOM` come
from the Web Mercator grid of :mod:`morecantile` (:func:`geoservice.tiles.grid.tms`); the
list is kept under :data:`MAX_TILES` per layer by dropping the deepest zooms first.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.scope import scope_columns, scope_mask
from geoservice.base.workspace import Workspace
from geoservice.tiles.grid import TileAddress, tms

__all__ = ["MARGIN_M", "MAX_OFFLINE_ZOOM", "MAX_TILES", "MIN_ZOOM", "area_boxes", "area_tiles"]

MIN_ZOOM = 10  # a tile is about 35 km wide: the whole town in one or two tiles
MAX_OFFLINE_ZOOM = 16  # a tile is about 550 m wide: single 小班 boundaries readable
MAX_TILES = 1500  # per layer; a village of the sample town needs about a hundred
MARGIN_M = 300.0  # around each target or problem of a department
Box = tuple[float, float, float, float]  # west, south, east, north in degrees (EPSG:4326)


def _boxes(frame: gpd.GeoDataFrame, margin_m: float) -> list[Box]:
    """Bounding boxes (degrees) of ``frame``'s rows, widened by ``margin_m`` metres."""
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        return []
    if frame.crs is None or frame.crs.is_geographic:
        frame = frame.set_crs("EPSG:4326", allow_override=True).to_crs(3857)
    else:
        frame = frame.to_crs(3857)
    b = frame.geometry.bounds.to_numpy() + np.array([-margin_m, -margin_m, margin_m, margin_m])
    corners = gpd.GeoSeries.from_xy(
        np.concatenate([b[:, 0], b[:, 2]]), np.concatenate([b[:, 1], b[:, 3]]), crs=3857
    ).to_crs(4326)
    n = len(b)
    x, y = corners.x.to_numpy(), corners.y.to_numpy()
    return [(x[i], y[i], x[n + i], y[n + i]) for i in range(n)]


def _scoped(ws: Workspace, principal: Principal, layer: str) -> gpd.GeoDataFrame:
    if layer not in ws.layer_names():
        return gpd.GeoDataFrame(geometry=[], crs=4326)
    frame = ws.read(layer, columns=list(scope_columns(principal, layer)))
    return frame[scope_mask(principal, layer, frame)]


def area_boxes(ws: Workspace, principal: Principal) -> list[Box]:
    """The boxes (degrees, EPSG:4326) of ``principal``'s working area: their village; the
    targets and copied problems of their department (widened by :data:`MARGIN_M`); none
    for the office and viewers."""
    if principal.role == "village" and principal.village_code:
        villages = ws.read("villages", columns=["village_code"])
        mine = villages[villages["village_code"].astype(str) == principal.village_code]
        return _boxes(mine, 0.0)
    if principal.role == "department":
        return [
            box
            for layer in ("targets", "problems")
            for box in _boxes(_scoped(ws, principal, layer), MARGIN_M)
        ]
    return []


def _zoom_tiles(boxes: Sequence[Box], z: int) -> pd.DataFrame:
    """The ``x``, ``y`` of the tiles of zoom ``z`` covering any of ``boxes`` (no repeats)."""
    grid = tms()
    parts = []
    for west, south, east, north in boxes:
        first = grid.tile(west, north, z)
        last = grid.tile(east, south, z)
        xs, ys = np.meshgrid(np.arange(first.x, last.x + 1), np.arange(first.y, last.y + 1))
        parts.append(pd.DataFrame({"x": xs.ravel(), "y": ys.ravel()}))
    if not parts:
        return pd.DataFrame({"x": [], "y": []}, dtype="int64")
    return pd.concat(parts, ignore_index=True).drop_duplicates().sort_values(["x", "y"])


def area_tiles(
    boxes: Sequence[Box],
    min_zoom: int = MIN_ZOOM,
    max_zoom: int = MAX_OFFLINE_ZOOM,
    limit: int = MAX_TILES,
) -> list[TileAddress]:
    """The tiles covering ``boxes`` (degrees) from ``min_zoom`` to the deepest zoom up to
    ``max_zoom`` that keeps the count at or under ``limit``; ordered by zoom, x, y.

    Empty when ``boxes`` is empty, or when even ``min_zoom`` alone needs more than
    ``limit`` tiles.
    """
    out: list[TileAddress] = []
    for z in range(min_zoom, max_zoom + 1):
        level = _zoom_tiles(boxes, z)
        if len(out) + len(level) > limit:
            break
        out.extend(TileAddress(z, int(x), int(y)) for x, y in level.itertuples(index=False))
    return out
