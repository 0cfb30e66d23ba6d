"""Coordinates of Chinese web maps (GCJ-02, BD-09) to and from WGS 84 / CGCS2000.

Positions picked on 高德 (AutoNavi), 腾讯 maps or shared through WeChat are GCJ-02: WGS 84
longitude/latitude plus a published, smoothly varying offset of a few hundred metres
(roughly 300-600 m in Guangdong). Positions from 百度 maps are BD-09: GCJ-02 plus a further
published offset (a shift of 0.0065 deg east, 0.006 deg north, with a small rotation and
scale). CGCS2000 (EPSG:4490) and WGS 84 differ by centimetres to decimetres, so WGS 84 is
taken for CGCS2000 here.

The forward transforms (WGS 84 -> GCJ-02, GCJ-02 <-> BD-09) are closed formulas. GCJ-02 ->
WGS 84 has none: it is found by fixed-point iteration on the forward transform, whose
offset changes by less than 0.3 % of a step per step, so each iteration gains two to three
decimal digits: four iterations reach well under a millimetre. BD-09 -> GCJ-02 starts from
the published approximate inverse and is refined the same way.

Points outside China (the usual box: longitude 72.004-137.8347 E, latitude 0.8293-55.8271
N, decided on the input coordinates) are not offset by either transform. NaN coordinates
stay NaN. Every function takes and returns numpy arrays of longitudes and latitudes in
degrees (any shape, broadcast together) and never loops per point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = [
    "BD09",
    "CGCS2000",
    "GCJ02",
    "OFFSET_DATUMS",
    "WEB_DATUMS",
    "WGS84",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "datum_name",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_cgcs2000",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

ArrayLike = npt.ArrayLike
Pair = tuple[np.ndarray, np.ndarray]

CGCS2000, WGS84, GCJ02, BD09 = "CGCS2000", "WGS84", "GCJ-02", "BD-09"
#: The datums a position may be given in, canonical spellings.
WEB_DATUMS: tuple[str, ...] = (CGCS2000, WGS84, GCJ02, BD09)
#: The ones that carry an offset and are converted.
OFFSET_DATUMS: tuple[str, ...] = (GCJ02, BD09)

# Spellings (upper case, without spaces, dashes, underscores, dots or colons).
_SPELLINGS = {
    "CGCS2000": CGCS2000,
    "EPSG4490": CGCS2000,
    "4490": CGCS2000,
    "WGS84": WGS84,
    "EPSG4326": WGS84,
    "4326": WGS84,
    "GCJ02": GCJ02,
    "BD09": BD09,
    "BD09LL": BD09,
}

# The GCJ-02 offset is defined on the Krasovsky 1940 ellipsoid.
_A = 6378245.0
_EE = 0.00669342162296594323
# China box of the out-of-China rule (degrees).
_LON_BOX = (72.004, 137.8347)
_LAT_BOX = (0.8293, 55.8271)
# BD-09: constant shift (degrees) and the angular factor of its wobble terms.
_BD_DLON, _BD_DLAT = 0.0065, 0.006
_BD_K = math.pi * 3000.0 / 180.0
# Iterations stop when the forward transform of the estimate is this close to the input
# (degrees; 1e-10 deg is about 0.01 mm), or after _MAX_ITER steps.
_TOL_DEG = 1e-10
_MAX_ITER = 12


def datum_name(text: str | None) -> str | None:
    """The canonical name of a datum spelling, or None when it is not one of them.

    ``gcj02``, ``GCJ-02``, ``gcj_02`` give ``"GCJ-02"``; ``bd09``, ``BD-09``, ``bd09ll``
    give ``"BD-09"``; ``wgs84``, ``WGS-84``, ``EPSG:4326`` give ``"WGS84"``; ``cgcs2000``,
    ``EPSG:4490`` give ``"CGCS2000"``. Case and the separators `` -_.:`` do not matter.
    """
    if text is None:
        return None
    return _SPELLINGS.get(re.sub(r"[\s\-_.:]", "", text).upper())


def _pair(lon: ArrayLike, lat: ArrayLike) -> Pair:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x, y


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Boolean array: True where (lon, lat) lies in the out-of-China rule's box (NaN: False)."""
    x, y = _pair(lon, lat)
    with np.errstate(invalid="ignore"):
        return (x >= _LON_BOX[0]) & (x <= _LON_BOX[1]) & (y >= _LAT_BOX[0]) & (y <= _LAT_BOX[1])


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """GCJ-02 minus WGS 84 (degrees) at the WGS 84 point (lon, lat), without the box rule."""
    x, y = lon - 105.0, lat - 35.0
    px, py = np.pi * x, np.pi * y
    common = 40.0 / 3.0 * (np.sin(6.0 * px) + np.sin(2.0 * px))
    root = np.sqrt(np.abs(x))
    north_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common
        + 40.0 / 3.0 * (np.sin(py) + 2.0 * np.sin(py / 3.0))
        + 320.0 / 3.0 * (np.sin(py / 12.0) + 2.0 * np.sin(py / 30.0))
    )  # fmt: skip
    east_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common
        + 40.0 / 3.0 * (np.sin(px) + 2.0 * np.sin(px / 3.0))
        + 100.0 * (np.sin(px / 12.0) + 2.0 * np.sin(px / 30.0))
    )  # fmt: skip
    phi = np.radians(lat)
    w = 1.0 - _EE * np.sin(phi) ** 2
    metres_per_deg_lat = np.pi / 180.0 * _A * (1.0 - _EE) / (w * np.sqrt(w))
    metres_per_deg_lon = np.pi / 180.0 * _A * np.cos(phi) / np.sqrt(w)
    return east_m / metres_per_deg_lon, north_m / metres_per_deg_lat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> Pair:
    r = np.hypot(lon, lat) + 2e-5 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 3e-6 * np.cos(lon * _BD_K)
    return r * np.cos(theta) + _BD_DLON, r * np.sin(theta) + _BD_DLAT


def _bd_backward_rough(lon: np.ndarray, lat: np.ndarray) -> Pair:
    x, y = lon - _BD_DLON, lat - _BD_DLAT
    r = np.hypot(x, y) - 2e-5 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 3e-6 * np.cos(x * _BD_K)
    return r * np.cos(theta), r * np.sin(theta)


def _largest(values: np.ndarray) -> float:
    finite = np.isfinite(values)
    return float(np.max(np.abs(values), where=finite, initial=0.0))


def _invert(forward: Callable[[np.ndarray, np.ndarray], Pair], target: Pair, start: Pair) -> Pair:
    """Solve ``forward(p) = target`` by fixed-point steps ``p -= forward(p) - target``."""
    x, y = start
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - target[0], fy - target[1]
        x, y = x - ex, y - ey
        if max(_largest(ex), _largest(ey)) < _TOL_DEG:
            break
    return x, y


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> Pair:
    dx, dy = _gcj_offset(lon, lat)
    return lon + dx, lat + dy


def _gcj_backward(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """WGS 84 of GCJ-02 (lon, lat) by iteration, starting one offset back."""
    dx, dy = _gcj_offset(lon, lat)
    return _invert(_gcj_forward, (lon, lat), (lon - dx, lat - dy))


def _where_china(mask: np.ndarray, moved: Pair, original: Pair) -> Pair:
    return np.where(mask, moved[0], original[0]), np.where(mask, moved[1], original[1])


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS 84 / CGCS2000 longitude, latitude (degrees) to GCJ-02 (degrees).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        GCJ-02 longitudes and latitudes; points outside China and NaN unchanged.
    """
    x, y = _pair(lon, lat)
    return _where_china(in_china(x, y), _gcj_forward(x, y), (x, y))


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 longitude, latitude (degrees) to WGS 84 / CGCS2000 (degrees), by iteration.

    The result's GCJ-02 transform equals the input to 1e-10 degrees (about 0.01 mm).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        WGS 84 longitudes and latitudes; points outside China and NaN unchanged.
    """
    x, y = _pair(lon, lat)
    return _where_china(in_china(x, y), _gcj_backward(x, y), (x, y))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 longitude, latitude (degrees) to BD-09 (degrees); outside China unchanged."""
    x, y = _pair(lon, lat)
    return _where_china(in_china(x, y), _bd_forward(x, y), (x, y))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 longitude, latitude (degrees) to GCJ-02 (degrees); outside China unchanged.

    The published closed-form inverse (good to about a centimetre) refined by iteration so
    that the result's BD-09 transform equals the input to 1e-10 degrees.
    """
    x, y = _pair(lon, lat)
    moved = _invert(_bd_forward, (x, y), _bd_backward_rough(x, y))
    return _where_china(in_china(x, y), moved, (x, y))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS 84 / CGCS2000 longitude, latitude (degrees) to BD-09; outside China unchanged."""
    x, y = _pair(lon, lat)
    gx, gy = wgs84_to_gcj02(x, y)
    return _where_china(in_china(x, y), _bd_forward(gx, gy), (x, y))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 longitude, latitude (degrees) to WGS 84 / CGCS2000; outside China unchanged."""
    x, y = _pair(lon, lat)
    gx, gy = _invert(_bd_forward, (x, y), _bd_backward_rough(x, y))
    return _where_china(in_china(x, y), _gcj_backward(gx, gy), (x, y))


def to_cgcs2000(lon: ArrayLike, lat: ArrayLike, datum: str) -> Pair:
    """Longitudes, latitudes (degrees) given in ``datum`` as CGCS2000 (EPSG:4490) degrees.

    Parameters
    ----------
    lon, lat : array-like
        Degrees in ``datum``.
    datum : str
        Any spelling :func:`datum_name` knows; CGCS2000 and WGS 84 are returned as they
        are (they agree to decimetres).

    Raises
    ------
    ValueError
        ``datum`` is not one of :data:`WEB_DATUMS`.
    """
    name = datum_name(datum)
    if name == GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if name == BD09:
        return bd09_to_wgs84(lon, lat)
    if name in (CGCS2000, WGS84):
        x, y = _pair(lon, lat)
        return x.copy(), y.copy()
    raise ValueError(f"datum {datum!r} is not one of {', '.join(WEB_DATUMS)}")
