"""How the rows of a workspace's layers got their village, counted in SQL.

Import attribution records in ``village_by`` whether a row's village came from its
``code``, its ``name`` or its ``location`` (or ``none``); this counts the rows of each
stored layer per way (reported by ``geoservice layers``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

__all__ = ["COUNTED_LAYERS", "village_counts"]

# The layers that are attributed to villages (the villages layer itself is not).
COUNTED_LAYERS = ("parcels", "complaints", "patches", "problems")


def village_counts(con: sqlite3.Connection, present: Collection[str]) -> dict[str, dict[str, int]]:
    """Rows of each of :data:`COUNTED_LAYERS` in ``present`` per ``village_by`` value.

    ``con`` is open on the workspace GeoPackage; the layer names in the SQL come from
    :data:`COUNTED_LAYERS`, never from a request. Layers stored before attribution existed
    (no ``village_by`` column) count their rows with a village code as ``code`` and the
    others as ``none``.
    """
    out: dict[str, dict[str, int]] = {}
    for layer in COUNTED_LAYERS:
        if layer not in present:
            continue
        columns = {r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')}
        if "village_by" in columns:
            sql = f"SELECT coalesce(village_by, 'none'), count(*) FROM \"{layer}\" GROUP BY 1"
        elif "village_code" in columns:
            sql = (
                "SELECT CASE WHEN village_code IS NULL THEN 'none' ELSE 'code' END, "
                f'count(*) FROM "{layer}" GROUP BY 1'
            )
        else:
            sql = f"SELECT 'none', count(*) FROM \"{layer}\""
        counts = dict.fromkeys(("code", "name", "location", "none"), 0)
        for by, n in con.execute(sql):
            counts[str(by)] = counts.get(str(by), 0) + int(n)
        out[layer] = counts
    return out
