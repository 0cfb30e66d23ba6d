"""The SQL functions a GeoPackage's R-tree triggers call, for Python's ``sqlite3``.

A GeoPackage layer's R-tree triggers call ``ST_IsEmpty`` and ``ST_MinX``..``ST_MaxY``,
which plain SQLite lacks (see :mod:`geoservice.base.gpkg_sql` for why no extension is
loaded); every connection that writes a layer's rows needs them. They read the
GeoPackageBinary header (GeoPackage 1.3, clause 2.1.3) to reach the WKB.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import shapely

__all__ = ["register_gpkg_functions"]

# header flags byte, bits 1-3 -> envelope length in bytes
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def _geometry(blob: bytes | None) -> shapely.Geometry | None:
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:  # the empty-geometry flag
        return shapely.Point()
    start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)
    return shapely.from_wkb(bytes(blob[start:]))


def _bound(index: int) -> Callable[[bytes | None], float | None]:
    def fn(blob: bytes | None) -> float | None:
        geom = _geometry(blob)
        if geom is None or geom.is_empty:
            return None
        return float(geom.bounds[index])

    return fn


def _is_empty(blob: bytes | None) -> int | None:
    geom = _geometry(blob)
    return None if geom is None else int(geom.is_empty)


def register_gpkg_functions(con: sqlite3.Connection) -> None:
    """Give ``con`` ``ST_IsEmpty`` and ``ST_MinX``, ``ST_MinY``, ``ST_MaxX``, ``ST_MaxY``
    of GeoPackage geometry blobs (None for a blob that is not one)."""
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for name, index in (("ST_MinX", 0), ("ST_MinY", 1), ("ST_MaxX", 2), ("ST_MaxY", 3)):
        con.create_function(name, 1, _bound(index), deterministic=True)
