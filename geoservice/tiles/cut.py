"""Cutting features into one tile and encoding it as a Mapbox Vector Tile.

Features are held in Web Mercator (EPSG:3857, metres) with their tile attributes
(:class:`Features`). For one tile they are moved into tile units (0 to :data:`EXTENT`
across, y down) in one vectorised step, clipped to the tile with a :data:`BUFFER` of
tile units around it (so strokes meet across tile edges), simplified by a tolerance that
grows at low zooms, and encoded with :mod:`mapbox_vector_tile`.

Below :data:`~geoservice.tiles.specs.DETAIL_ZOOM` polygons smaller than one screen pixel
are left out and points are thinned to one per two screen pixels square: they would draw
on top of one another. A tile that would still encode to more than :data:`MAX_TILE_BYTES`
(estimated from its vertices first, so a county's 200,000 parcels are not encoded to find
out) keeps only its overview attributes and the largest of its features that fit (polygons
by area, points in feature order), halved again while it does not: a tile over 500 KB is a
defect.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pyproj
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

from geoservice.tiles.grid import EXTENT, TileAddress, tile_bounds
from geoservice.tiles.specs import DETAIL_ZOOM, TILE_LAYERS, columns_at

__all__ = [
    "BUFFER",
    "MAX_TILE_BYTES",
    "Features",
    "encode_tile",
    "plain_attributes",
    "to_mercator",
    "transformer",
]

BUFFER = 64  # tile units around the tile kept when clipping (1/64 of its width)
MAX_TILE_BYTES = 500_000
_PIXEL = EXTENT / 256  # tile units per screen pixel of a 256-pixel tile
# Encoded bytes, roughly: per vertex (two delta varints), per feature (id, geometry header,
# framing) and per attribute (key and value indexes); the share of the limit aimed at.
_VERTEX_BYTES, _FEATURE_BYTES, _ATTRIBUTE_BYTES = 3, 8, 3
_BUDGET = 0.9
_POINT_CELL = 2  # screen pixels: below DETAIL_ZOOM one point is kept per cell this wide
_OPTIONS = {
    "y_coord_down": True,
    "extents": EXTENT,
    "on_invalid_geometry": on_invalid_geometry_make_valid,
    "check_winding_order": False,  # done beforehand, vectorised (_on_grid)
}
WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class Features:
    """The features of one tile layer.

    Attributes
    ----------
    layer : str
        The tile layer's name (a key of :data:`~geoservice.tiles.specs.TILE_LAYERS`).
    fids : numpy.ndarray
        GeoPackage feature ids (int64), used as the MVT feature ids.
    geometry : numpy.ndarray
        Shapely geometries in EPSG:3857 (metres), aligned to ``fids``.
    attributes : pandas.DataFrame
        Attribute values as plain Python values or None, rows aligned to ``fids``.
    """

    layer: str
    fids: np.ndarray
    geometry: np.ndarray
    attributes: pd.DataFrame

    def __len__(self) -> int:
        return len(self.fids)

    def take(self, keep: np.ndarray) -> Features:
        """The features at ``keep`` (a boolean mask or positions)."""
        rows = self.attributes.iloc[keep].reset_index(drop=True)
        return Features(self.layer, self.fids[keep], self.geometry[keep], rows)


@lru_cache(maxsize=32)
def transformer(source: str, target: str) -> pyproj.Transformer:
    """A transformer between two CRSs given as text (made once: about 40 ms each)."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def to_mercator(geometry: np.ndarray, crs: str) -> np.ndarray:
    """Geometries from ``crs`` (the layer's CRS) into EPSG:3857 metres."""
    if len(geometry) == 0:
        return np.asarray(geometry, dtype=object)
    move = transformer(crs, WEB_MERCATOR)

    def coords(xy: np.ndarray) -> np.ndarray:
        x, y = move.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geometry, dtype=object), coords)


def plain_attributes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s values as plain Python values, None where missing (MVT leaves those
    keys out); dates and other objects become text, numpy numbers Python numbers."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = column.astype(object)
        else:
            values = column.astype("string").astype(object)
        out[name] = values.where(column.notna().to_numpy(), None)
    return pd.DataFrame(out, index=frame.index)


def _visible(features: Features, tile: TileAddress) -> Features:
    """Below :data:`DETAIL_ZOOM`, the features but polygons smaller than a screen pixel
    (tested before any clipping or simplifying: most of a county's parcels at zoom 8)."""
    if tile.z >= DETAIL_ZOOM or not len(features):
        return features
    minx, _, maxx, _ = tile_bounds(tile)
    pixel = (maxx - minx) / EXTENT * _PIXEL  # metres of one screen pixel
    shapes = features.geometry
    small = (shapely.get_dimensions(shapes) == 2) & (shapely.area(shapes) < pixel**2)
    return features if not small.any() else features.take(np.flatnonzero(~small))


def _in_tile(features: Features, tile: TileAddress) -> Features:
    """The features moved into tile units, clipped to the buffered tile, simplified and
    thinned for the zoom; empty ones dropped."""
    features = _visible(features, tile)
    minx, _, maxx, maxy = tile_bounds(tile)
    scale = EXTENT / (maxx - minx)
    origin = np.array([minx, maxy])
    factor = np.array([scale, -scale])
    moved = shapely.transform(features.geometry, lambda xy: (xy - origin) * factor)
    lo, hi = -BUFFER, EXTENT + BUFFER
    points = shapely.get_type_id(moved) == 0
    inside = shapely.intersects(shapely.box(lo, lo, hi, hi), moved)
    shapes = np.where(points, moved, shapely.clip_by_rect(moved, lo, lo, hi, hi))
    detail = tile.z >= DETAIL_ZOOM
    tolerance = 1.0 if detail else _PIXEL / 4
    shapes = np.where(points, shapes, shapely.simplify(shapes, tolerance))
    shapes = _on_grid(shapes)
    keep = inside & ~shapely.is_empty(shapes)
    if not detail:
        keep &= _thinned(shapes, points & keep, _POINT_CELL * _PIXEL)
    out = Features(features.layer, features.fids, shapes, features.attributes)
    return out.take(np.flatnonzero(keep))


def _on_grid(shapes: np.ndarray) -> np.ndarray:
    """Shapes snapped to whole tile units (kept valid; what collapses becomes empty), their
    polygons wound as MVT wants them in y-down tile units, so the encoder need not check
    each one in Python (three quarters of its time on a dense tile)."""
    snapped = shapely.set_precision(shapes, 1.0, mode="pointwise")
    broken = (shapely.get_dimensions(snapped) == 2) & ~shapely.is_valid(snapped)
    # rounding made a few self-touching: mend those (buffer(0) stays polygonal)
    snapped[broken] = shapely.buffer(snapped[broken], 0)
    return shapely.orient_polygons(snapped, exterior_cw=False)


def _thinned(shapes: np.ndarray, points: np.ndarray, cell: float) -> np.ndarray:
    """True but for points after the first in each ``cell``-sized square (non-points
    stay True)."""
    keep = np.ones(len(shapes), dtype=bool)
    at = np.flatnonzero(points)
    if len(at) == 0:
        return keep
    cells = np.floor(shapely.get_coordinates(shapes[at]) / cell).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    keep[at] = False
    keep[at[first]] = True
    return keep


def _records(features: Features, columns: list[str]) -> list[dict[str, object]]:
    props = features.attributes[columns].to_dict("records")
    return [
        {"geometry": g, "properties": p, "id": int(i)}
        for g, p, i in zip(features.geometry, props, features.fids, strict=True)
    ]


def _encode(parts: list[tuple[Features, list[str]]]) -> bytes:
    layers = [{"name": f.layer, "features": _records(f, cols)} for f, cols in parts if len(f)]
    return bytes(mapbox_vector_tile.encode(layers, default_options=_OPTIONS)) if layers else b""


def _size_order(features: Features) -> np.ndarray:
    """Positions of the features, largest first (polygons by area, lines by length;
    points, all of size zero, in feature order)."""
    shapes = features.geometry
    size = np.where(
        shapely.get_dimensions(shapes) == 2, shapely.area(shapes), shapely.length(shapes)
    )
    return np.argsort(-size, kind="stable")


def _estimate(features: Features, columns: int) -> np.ndarray:
    """Roughly the bytes each feature takes encoded with ``columns`` attributes."""
    vertices = shapely.get_num_coordinates(features.geometry)
    return _VERTEX_BYTES * vertices + _FEATURE_BYTES + _ATTRIBUTE_BYTES * columns


def _value_bytes(features: Features, columns: list[str]) -> int:
    """Roughly the bytes of the distinct attribute values (each is stored once a tile)."""
    values = features.attributes[columns]
    return sum(int(values[c].drop_duplicates().astype(str).str.len().sum()) for c in columns)


def _within(features: Features, columns: int, budget: float) -> Features:
    """The largest features whose estimated encoded size fits in ``budget`` bytes."""
    cost = _estimate(features, columns)
    if cost.sum() <= budget:
        return features
    order = _size_order(features)
    fits = np.cumsum(cost[order]) <= budget
    return features.take(np.sort(order[fits]))


def _larger_half(features: Features) -> Features:
    """The larger half of the features (see :func:`_size_order`)."""
    return features.take(np.sort(_size_order(features)[: len(features) // 2]))


def encode_tile(sources: list[Features], tile: TileAddress) -> bytes:
    """One tile of ``sources`` (one layer each, EPSG:3857) as MVT bytes.

    Returns
    -------
    bytes
        The encoded tile, at most :data:`MAX_TILE_BYTES` long; empty (``b""``, a valid
        empty MVT) when no feature falls in the tile.
    """
    cut = [_in_tile(f, tile) for f in sources]
    full = [columns_at(TILE_LAYERS[f.layer], tile.z, list(f.attributes.columns)) for f in cut]
    guess = sum(
        int(_estimate(f, len(c)).sum()) + _value_bytes(f, c) for f, c in zip(cut, full, strict=True)
    )
    if guess <= MAX_TILE_BYTES:  # else it would not fit: do not spend the time encoding it
        body = _encode(list(zip(cut, full, strict=True)))
        if len(body) <= MAX_TILE_BYTES:
            return body
    short = [columns_at(TILE_LAYERS[f.layer], 0, list(f.attributes.columns)) for f in cut]
    share = _BUDGET * MAX_TILE_BYTES / max(1, sum(len(f) > 0 for f in cut))
    cut = [_within(f, len(c), share) for f, c in zip(cut, short, strict=True)]
    while True:
        body = _encode(list(zip(cut, short, strict=True)))
        if len(body) <= MAX_TILE_BYTES:
            return body
        cut = [_larger_half(f) for f in cut]
