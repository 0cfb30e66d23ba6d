"""The small snapshot of a workspace the kept village status is compared with.

Read in one read transaction (see :mod:`geoservice.workflow.village_updates` for how the
parts are used): the GeoPackage contents' last changes (every table but the ones live
complaint intake stamps), the problems' count and version sums with the last problem
history id, the patch states' count with the last patch history id, and
the patrols' count and latest creation time.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

__all__ = ["LIVE_TABLES", "Snapshot", "snapshot"]

LIVE_TABLES = ("complaints", "parcel_risk")  # stamped by live intake; not in the status


@dataclass(frozen=True)
class Snapshot:
    """The parts read (``("absent",)`` for a table that is not there; a mark is None then)."""

    contents: tuple[Any, ...]
    problems: tuple[Any, ...]
    problem_mark: int | None
    patches: tuple[Any, ...]
    patch_mark: int | None
    patrols: tuple[Any, ...]


def snapshot(con: sqlite3.Connection) -> Snapshot:
    """The snapshot of the file behind ``con``, in the caller's read transaction."""
    tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def row(table: str, sql: str) -> tuple[Any, ...]:
        return tuple(con.execute(sql).fetchone()) if table in tables else ("absent",)

    def mark(table: str) -> int | None:
        return row(table, f"SELECT max(id) FROM {table}")[0] if table in tables else None

    contents: tuple[Any, ...] = ("absent",)
    if "gpkg_contents" in tables:
        skip = ", ".join(f"'{t}'" for t in LIVE_TABLES)
        contents = tuple(
            tuple(r)
            for r in con.execute(
                "SELECT table_name, last_change FROM gpkg_contents "
                f"WHERE table_name NOT IN ({skip}) ORDER BY table_name"
            )
        )
    problems: tuple[Any, ...] = ("absent",)
    if "problems" in tables:
        columns = {str(r[1]) for r in con.execute('PRAGMA table_info("problems")')}
        problems = ("plain", *row("problems", "SELECT count(*) FROM problems"))
        if "version" in columns:
            sql = "SELECT count(*), sum(version), count(version) FROM problems"
            problems = row("problems", sql)
    return Snapshot(
        contents=contents,
        problems=problems,
        problem_mark=mark("problem_history"),
        # the count alone: summing versions walks every patch state (1.4 ms for 20,000);
        # an update of the patches sums them (village_updates)
        patches=row("patch_state", "SELECT count(*) FROM patch_state"),
        patch_mark=mark("patch_history"),
        patrols=row("patrols", "SELECT count(*), max(created_at) FROM patrols"),
    )
