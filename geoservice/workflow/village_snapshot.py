"""The small snapshot of a workspace the kept village status is compared with.

Read in one read transaction (see :mod:`geoservice.workflow.village_updates` for how the
parts are used): the GeoPackage contents' last changes (every table but the ones live
complaint intake stamps), the problems' count and version sums with the last problem
history id, the patch states' count with the last patch history id, and
the patrols' count and latest creation time.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from geoservice.base.row_parts import side_by_side

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
    """The snapshot of the file behind ``con``, in the caller's read transaction.

    Two statements: the table names, then every part (:func:`_together`). Each statement
    is a turn at the interpreter lock, so under load each costs more than its own time.
    A problems layer with no workflow columns yet is read part by part
    (:func:`_one_by_one`), which gives the same snapshot.
    """
    tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    try:
        return _together(con, tables)
    except sqlite3.OperationalError as exc:
        if "no such column" not in str(exc):
            raise
        return _one_by_one(con, tables)


_SKIP = ", ".join(f"'{t}'" for t in LIVE_TABLES)
# (part, table, one-row query, its column count); bare column names, so that a missing
# column fails the statement instead of being read as a string
_PARTS: tuple[tuple[str, str, str, int], ...] = (
    (
        "contents",
        "gpkg_contents",
        "SELECT json_group_array(json_array(table_name, last_change)) FROM "
        f"(SELECT table_name, last_change FROM gpkg_contents WHERE table_name NOT IN ({_SKIP}) "
        "ORDER BY table_name)",
        1,
    ),
    ("problems", "problems", "SELECT count(*), sum(version), count(version) FROM problems", 3),
    ("problem_mark", "problem_history", "SELECT max(id) FROM problem_history", 1),
    ("patches", "patch_state", "SELECT count(*) FROM patch_state", 1),
    ("patch_mark", "patch_history", "SELECT max(id) FROM patch_history", 1),
    ("patrols", "patrols", "SELECT count(*), max(created_at) FROM patrols", 2),
)
_MARKS = ("problem_mark", "patch_mark")


def _together(con: sqlite3.Connection, tables: set[str]) -> Snapshot:
    """Every part of the tables there, in one statement
    (:func:`~geoservice.base.row_parts.side_by_side`; the GeoPackage contents as one JSON
    array)."""
    present = [p for p in _PARTS if p[1] in tables]
    rows = side_by_side(con, [(sql, width) for _, _, sql, width in present])
    read: dict[str, Any] = {}
    for (name, _, _, _), part in zip(present, rows, strict=True):
        if name == "contents":
            read[name] = tuple(tuple(pair) for pair in json.loads(part[0]))
        elif name in _MARKS:
            read[name] = part[0]
        else:
            read[name] = part
    return Snapshot(
        contents=read.get("contents", ("absent",)),
        problems=read.get("problems", ("absent",)),
        problem_mark=read.get("problem_mark"),
        patches=read.get("patches", ("absent",)),
        patch_mark=read.get("patch_mark"),
        patrols=read.get("patrols", ("absent",)),
    )


def _one_by_one(con: sqlite3.Connection, tables: set[str]) -> Snapshot:
    """The snapshot read part by part (also while the problems layer has no workflow
    columns: then its row count alone, marked ``plain``)."""

    def row(table: str, sql: str) -> tuple[Any, ...]:
        return tuple(con.execute(sql).fetchone()) if table in tables else ("absent",)

    def mark(table: str) -> int | None:
        return row(table, f"SELECT max(id) FROM {table}")[0] if table in tables else None

    contents: tuple[Any, ...] = ("absent",)
    if "gpkg_contents" in tables:
        contents = tuple(
            tuple(r)
            for r in con.execute(
                "SELECT table_name, last_change FROM gpkg_contents "
                f"WHERE table_name NOT IN ({_SKIP}) ORDER BY table_name"
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
