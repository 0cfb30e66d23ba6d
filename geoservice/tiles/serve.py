"""One tile of one layer, as one caller may see it, and its ETag.

Layers are scoped exactly as the OGC API scopes them (:mod:`geoservice.base.scope`): a
layer the caller may not see does not exist for them (NotFoundError naming what they may
see), and a village's ``problems`` tiles hold its own problems only.

The ETag is derived from the workspace's data version
(:func:`geoservice.base.data_version.data_version`: the file replaced by an import or
analysis, problems changed, layers written in place by live intake, the register), the
layer, the tile address and the caller's scope, so it changes whenever what the tile
draws may have changed, and a client revalidates a tile without it being cut again.
Only the tile's bounding box (with the clipping buffer) is read, through the
GeoPackage's spatial index.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.data_version import data_version, scope_of
from geoservice.base.errors import NotFoundError, message
from geoservice.base.scope import scope_columns, scope_mask, visible_layers
from geoservice.base.workspace import Workspace
from geoservice.tiles.cut import (
    BUFFER,
    WEB_MERCATOR,
    Features,
    encode_tile,
    plain_attributes,
    to_mercator,
    transformer,
)
from geoservice.tiles.grid import EXTENT, MAX_ZOOM, TileAddress, tile_bounds
from geoservice.tiles.specs import DERIVED, TILE_LAYERS, WORKFLOW, columns_at
from geoservice.tiles.workflow import workflow_columns

__all__ = [
    "TILES",
    "TILE_FORMAT",
    "etag_of",
    "layer_version",
    "read_features",
    "render_tile",
    "tile_etag",
    "tile_layers",
]

# raise when the same data would be cut into different tiles (2: patch legality, 3: state)
TILE_FORMAT = 3
Bounds = tuple[float, float, float, float]
_WAIT_SECONDS = 60.0  # at most this long for another thread's cut of the same tile
# Parts of the data version a layer's tiles do not draw (see :func:`layer_version`).
# problem changes (``problems``) and patch workflow states (``patches``) are drawn by the
# layer of that name only
_NOT_DRAWN: dict[str, tuple[str, ...]] = {
    layer: tuple(part for part in ("problems", "patches") if part != layer) for layer in TILE_LAYERS
}


def tile_layers(ws: Workspace, principal: Principal) -> list[str]:
    """The tile layers ``principal`` may see, in a fixed order.

    What a caller sees depends on its role, the stored layers and the register only, so
    the answer is kept per role and data version without problems, complaints and patch
    states (a first complaint creates its layer and stamps ``gpkg_contents``; that part stays):
    listing a GeoPackage's layers and reading the register took about 35 ms of every
    tile request, this fingerprint about 1 ms at county scale.
    """
    version = data_version(ws.path, without=("problems", "complaints", "patches"))
    if version is None:
        return visible_layers(ws, principal, TILE_LAYERS)
    return list(_visible_to_role(str(ws.path), version, principal.role))


@lru_cache(maxsize=64)
def _visible_to_role(path: str, version: tuple[Any, ...], role: str) -> tuple[str, ...]:
    caller = Principal("tiles", f"tiles:{role}", role)
    return tuple(visible_layers(Workspace(path), caller, TILE_LAYERS))


def _resolve(ws: Workspace, principal: Principal, layer: str) -> None:
    visible = tile_layers(ws, principal)
    if layer in visible:
        return
    raise NotFoundError(
        message(
            "tiles.no_layer",
            f"没有瓦片图层“{layer}”（或你无权查看）；你可查看的图层：{'、'.join(visible) or '无'}。",
            f"There is no tile layer {layer!r} (or it is not visible to you); your layers: "
            f"{', '.join(visible) or 'none'}.",
        )
    )


def layer_version(ws: Workspace, layer: str) -> tuple[Any, ...] | None:
    """The part of the data version a tile of ``layer`` draws: problem changes only for
    the ``problems`` layer, change-patch workflow states only for ``patches`` (a problem
    update leaves every other layer's tiles, and their ETags, as they were); None when it
    cannot be read now."""
    return data_version(ws.path, without=_NOT_DRAWN.get(layer, ()))


def etag_of(version: tuple[Any, ...], principal: Principal, layer: str, tile: TileAddress) -> str:
    """The quoted ETag of ``layer``'s ``tile`` for ``principal`` at ``version``
    (:func:`layer_version`)."""
    key = repr((TILE_FORMAT, version, layer, str(tile), scope_of(principal)))
    return '"' + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + '"'


def tile_etag(ws: Workspace, principal: Principal, layer: str, tile: TileAddress) -> str | None:
    """The quoted ETag of the tile for ``principal`` (NotFoundError when the layer is not
    visible to them); None when the data version cannot be read now (do not cache)."""
    _resolve(ws, principal, layer)
    version = layer_version(ws, layer)
    return None if version is None else etag_of(version, principal, layer, tile)


@dataclass(frozen=True)
class _LayerInfo:
    crs: str
    fields: tuple[str, ...]
    extent: Bounds | None  # EPSG:3857, None when the layer is empty


def _moved(source: str, target: str, box: tuple[float, ...]) -> Bounds:
    """A box holding ``box`` (in ``source``) in ``target``, its edges densified."""
    x0, y0, x1, y1 = transformer(source, target).transform_bounds(
        box[0], box[1], box[2], box[3], densify_pts=21
    )
    return (x0, y0, x1, y1)


@lru_cache(maxsize=64)
def _layer_info(path: str, version: tuple[Any, ...], layer: str) -> _LayerInfo:
    """The layer's CRS, fields and bounds in EPSG:3857, read once per data version."""
    info = Workspace(path).info(layer, force_total_bounds=True)
    crs, fields = str(info["crs"]), tuple(str(f) for f in info["fields"])
    bounds = np.asarray(info["total_bounds"], dtype=float)
    if not np.isfinite(bounds).all():
        return _LayerInfo(crs, fields, None)
    return _LayerInfo(crs, fields, _moved(crs, WEB_MERCATOR, tuple(bounds)))


def _layer_box(crs: str, extent: Bounds | None, bounds: Bounds) -> Bounds | None:
    """``bounds`` (EPSG:3857) cut to the layer's ``extent`` and taken into the layer's CRS
    (a box holding it); None when they do not meet. Cutting first keeps the box within the
    area a projected CRS covers (a tile on the other side of the world has no metres in a
    Gauss-Kruger zone)."""
    if extent is None:
        return None
    box = (
        max(bounds[0], extent[0]),
        max(bounds[1], extent[1]),
        min(bounds[2], extent[2]),
        min(bounds[3], extent[3]),
    )
    if box[0] > box[2] or box[1] > box[3]:
        return None
    return _moved(WEB_MERCATOR, crs, box)


def read_features(
    ws: Workspace,
    principal: Principal,
    layer: str,
    bounds: Bounds | None = None,
    zoom: int = MAX_ZOOM,
) -> Features:
    """The features of ``layer`` in ``principal``'s scope, in EPSG:3857 with the tile
    attributes of ``zoom`` (default: every one); only those whose box meets ``bounds``
    (EPSG:3857 metres) when given."""
    spec = TILE_LAYERS[layer]
    version = data_version(ws.path)
    if version is None:  # not readable now: read the layer's facts afresh
        _layer_info.cache_clear()
    info = _layer_info(str(ws.path), version or (), layer)
    columns = columns_at(spec, zoom, info.fields)
    box = None if bounds is None else _layer_box(info.crs, info.extent, bounds)
    if bounds is not None and box is None:
        return Features(
            layer,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=object),
            pd.DataFrame(columns=columns),
        )
    wanted = sorted(set(columns) | set(scope_columns(principal, layer)))
    frame = ws.read(layer, columns=wanted, bbox=box, fid_as_index=True)
    keep = scope_mask(principal, layer, frame) & frame.geometry.notna().to_numpy()
    frame = frame[keep].sort_index()  # fid order, whatever order the index gave
    attributes = plain_attributes(frame[columns]).reset_index(drop=True)
    if layer in WORKFLOW:  # the workflow state, and the legality its field check found
        flow = workflow_columns(ws, layer, frame)
        frame = frame.assign(**{c: flow[c] for c in flow.columns})
        for name in WORKFLOW[layer]:
            attributes[name] = flow[name].to_numpy(dtype=object)
    if layer in DERIVED:
        name, derive = DERIVED[layer]
        attributes[name] = derive(frame).to_numpy(dtype=object)
    return Features(
        layer,
        frame.index.to_numpy(dtype=np.int64),
        to_mercator(frame.geometry.to_numpy(), info.crs),
        attributes,
    )


class _TileCache:
    """Encoded tiles by ETag, least recently used dropped past ``limit`` bytes in all (an
    ETag names the data version, layer, tile and scope, so a hit is always current).

    A tile being cut is claimed (:meth:`claim`), so that a second request for it (the
    background warm-up and the first visitor, two visitors) waits for that cut instead of
    cutting it again beside it."""

    def __init__(self, limit: int = 64_000_000) -> None:
        self.limit, self.size = limit, 0
        self._tiles: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._cutting: dict[str, threading.Event] = {}

    def claim(self, etag: str) -> threading.Event | None:
        """None when the caller is to cut the tile of ``etag`` (then :meth:`release` it);
        else the event another thread's cut of it sets when done."""
        with self._lock:
            other = self._cutting.get(etag)
            if other is None:
                self._cutting[etag] = threading.Event()
            return other

    def release(self, etag: str) -> None:
        """End the caller's claim on ``etag`` (its tile kept or not) and wake its waiters."""
        with self._lock:
            done = self._cutting.pop(etag, None)
        if done is not None:
            done.set()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._tiles.get(etag)
            if body is not None:
                self._tiles.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        with self._lock:
            if etag in self._tiles:
                return
            self._tiles[etag] = body
            self.size += len(body)
            while self.size > self.limit:
                self.size -= len(self._tiles.popitem(last=False)[1])


TILES = _TileCache()


def render_tile(
    ws: Workspace,
    principal: Principal,
    layer: str,
    tile: TileAddress,
    etag: str | None = None,
) -> bytes:
    """The MVT bytes of one tile of ``layer`` for ``principal`` (NotFoundError when the
    layer is not visible to them); empty bytes for a tile with no feature.

    With the tile's ``etag`` (:func:`tile_etag`, just computed for this caller), a tile
    cut before for that ETag is served from :data:`TILES` and a new one kept there.
    """
    if etag is not None and (kept := TILES.get(etag)) is not None:
        return kept  # cut for this very ETag: this scope saw the layer at this data version
    _resolve(ws, principal, layer)
    if etag is None:
        return _cut(ws, principal, layer, tile)
    other = TILES.claim(etag)
    if other is not None:  # being cut by another thread: wait for it, then cut it here if need be
        other.wait(_WAIT_SECONDS)
        kept = TILES.get(etag)
        return kept if kept is not None else _cut(ws, principal, layer, tile)
    try:
        body = _cut(ws, principal, layer, tile)
        TILES.put(etag, body)
    finally:
        TILES.release(etag)
    return body


def _cut(ws: Workspace, principal: Principal, layer: str, tile: TileAddress) -> bytes:
    minx, miny, maxx, maxy = tile_bounds(tile)
    pad = (maxx - minx) * BUFFER / EXTENT
    box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    return encode_tile([read_features(ws, principal, layer, box, tile.z)], tile)
