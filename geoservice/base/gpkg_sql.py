"""SQLite connections to the workspace GeoPackage, its geometry functions and the audit log.

Workflow, intake and access code write small transactions straight into the workspace file
with :mod:`sqlite3`. A GeoPackage's R-tree triggers call ``ST_IsEmpty`` and ``ST_MinX``..
``ST_MaxY``, which plain SQLite lacks; :func:`connect_file` registers them. Every change a
person makes is also written to the ``audit_log`` table (:func:`audit`) inside the same
transaction.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path
from typing import Any, Literal

import shapely

__all__ = ["LOCK_WAIT_SECONDS", "audit", "connect_file", "point_blob"]

LOCK_WAIT_SECONDS = 15.0
"""Seconds a writer waits for ``<workspace>.lock`` (and SQLite for its own lock)."""


def connect_file(
    path: Path, isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = "DEFERRED"
) -> sqlite3.Connection:
    """A connection to a GeoPackage file with the geometry functions its triggers call."""
    con = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=isolation_level)
    _register_gpkg_functions(con)
    return con


# --- GeoPackage geometry functions (the layer's R-tree triggers call them) -------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def _geometry(blob: bytes | None) -> shapely.Geometry | None:
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:
        return shapely.Point()
    start = 8 + _ENVELOPE_BYTES.get((flags >> 1) & 0b111, 0)
    return shapely.from_wkb(bytes(blob[start:]))


def _bound(index: int) -> Any:
    def fn(blob: bytes | None) -> float | None:
        geom = _geometry(blob)
        if geom is None or geom.is_empty:
            return None
        return float(geom.bounds[index])

    return fn


def _register_gpkg_functions(con: sqlite3.Connection) -> None:
    def is_empty(blob: bytes | None) -> int | None:
        geom = _geometry(blob)
        return None if geom is None else int(geom.is_empty)

    con.create_function("ST_IsEmpty", 1, is_empty, deterministic=True)
    for name, index in (("ST_MinX", 0), ("ST_MinY", 1), ("ST_MaxX", 2), ("ST_MaxY", 3)):
        con.create_function(name, 1, _bound(index), deterministic=True)


def point_blob(x: float, y: float, srs_id: int) -> bytes:
    """A GeoPackage geometry blob of one point (little endian, xy envelope)."""
    header = b"GP" + bytes([0, 0b00000011]) + struct.pack("<i", srs_id)
    envelope = struct.pack("<4d", x, x, y, y)
    return header + envelope + shapely.to_wkb(shapely.Point(x, y), byte_order=1)


def audit(
    con: sqlite3.Connection, at: str, actor: str, action: str, target: str, detail: Any
) -> None:
    """Append one audit-log row (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
        (at, actor, action, target, json.dumps(detail, ensure_ascii=False, default=str)),
    )
