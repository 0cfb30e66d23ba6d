"""A cheap fingerprint of everything drawn from a workspace, and the caller's scope in it.

Map pages (:mod:`geoservice.webmaps.cache`) and vector tiles (:mod:`geoservice.tiles`) are
kept or revalidated while the data version (:func:`data_version`) is unchanged. It changes
whenever anything drawn can change:

- the file was rewritten or replaced: imports and analyses write a copy and write it back
  in one transaction, which raises the file's generation (``workspace_meta``); a file put
  in its place by hand has another inode (with the device);
- problems changed in place (workflow updates and problems added by hand, which bump
  ``version`` and ``updated_at`` or add a row): count, latest ``updated_at``, sum of
  ``version``;
- layers written in place (live complaint intake updates ``parcel_risk`` and
  ``complaints`` and stamps ``gpkg_contents.last_change``; a first complaint creates the
  layer): the latest ``last_change``;
- complaints added in place (they are never deleted in place): their largest fid;
- the sharing register (what a department may read): row count and latest import time;
- change-patch workflow states, which the patch tiles and the village status show: the
  ``patch_state`` table's row count and the last ``patch_history`` id (every change of a
  patch's state, note or links appends a history row in the same transaction; counting
  rows and summing versions walked 20,000 patch states at county scale, 1.5 ms on every
  status and tile request).

The file's size and mtime are not used: every audited request appends to the audit log,
which changes both without changing any map.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoservice.base.connection_pool import connection
from geoservice.base.row_parts import side_by_side

if TYPE_CHECKING:
    from geoservice.base.access import Principal

__all__ = ["data_version", "file_identity", "generation", "scope_of"]

# the reads' own wait (``LOCK_WAIT_SECONDS``): the kept connections last used by reads are
# lent first (connection_pool), and a connection's wait is set again only when it differs
_READ_TIMEOUT = 15.0

# (name, tables it reads, query of one row, its column count) of every in-place change a
# map can show; the query's bare column names make it fail, not read a string, when the
# column is not there (the problems layer before its workflow columns)
_QUERIES: tuple[tuple[str, tuple[str, ...], str, int], ...] = (
    (
        "problems",
        ("problems",),
        "SELECT count(*), max(updated_at), sum(version) FROM problems",
        3,
    ),
    ("contents", ("gpkg_contents",), "SELECT max(last_change) FROM gpkg_contents", 1),
    # the largest fid alone: complaints are only appended in place (count(*) walked the
    # whole table, 18 ms at county scale, on every tile request)
    ("complaints", ("complaints",), "SELECT max(fid) FROM complaints", 1),
    ("register", ("layer_catalog",), "SELECT count(*), max(imported_at) FROM layer_catalog", 2),
    # change-patch workflow states (every change appends a history row)
    (
        "patches",
        ("patch_state", "patch_history"),
        "SELECT (SELECT count(*) FROM patch_state), (SELECT max(id) FROM patch_history)",
        2,
    ),
)
_GENERATION_SQL = "SELECT value FROM workspace_meta WHERE key = 'generation'"


def _parts(
    con: sqlite3.Connection, tables: set[str], without: tuple[str, ...]
) -> tuple[int, tuple[tuple[Any, ...], ...]]:
    """The generation and one tuple per part not in ``without`` (``("absent",)`` without
    one of its tables), read in one statement
    (:func:`~geoservice.base.row_parts.side_by_side`). When that fails (a problems layer
    with no workflow columns yet), they are read one by one (:func:`_part`)."""
    chosen = [q for q in _QUERIES if q[0] not in without]
    present = [q for q in chosen if set(q[1]) <= tables]
    meta = "workspace_meta" in tables
    queries = [(f"SELECT ({_GENERATION_SQL})", 1)] if meta else []
    try:
        rows = side_by_side(con, [*queries, *((sql, width) for _, _, sql, width in present)])
    except sqlite3.OperationalError as exc:
        if "no such column" not in str(exc):
            raise
        return generation(con), tuple(_part(con, tables, q[1], q[2]) for q in chosen)
    at = int(rows.pop(0)[0] or 0) if meta else 0
    read = {q[0]: row for q, row in zip(present, rows, strict=True)}
    return at, tuple(read.get(q[0], ("absent",)) for q in chosen)


def _part(
    con: sqlite3.Connection, tables: set[str], needed: tuple[str, ...], sql: str
) -> tuple[Any, ...]:
    """The row of ``sql``; ``("absent",)`` without one of the ``needed`` tables; the
    problems layer's row count alone while it has no workflow columns yet (adding them
    changes the answer)."""
    if not set(needed) <= tables:
        return ("absent",)
    if needed == ("problems",):
        columns = {str(r[1]) for r in con.execute('PRAGMA table_info("problems")')}
        if not {"updated_at", "version"} <= columns:
            return ("plain", *con.execute("SELECT count(*) FROM problems").fetchone())
    return tuple(con.execute(sql).fetchone())


def file_identity(con: sqlite3.Connection, st: os.stat_result) -> tuple[int, int, int]:
    """Which file ``con`` reads, and which write-back of it: device and inode (``st``, from
    ``os.stat`` of the path) and the generation every write-back of an import's copy
    raises (:func:`generation`)."""
    return (st.st_dev, st.st_ino, generation(con))


def generation(con: sqlite3.Connection) -> int:
    """The ``generation`` row of ``workspace_meta``; 0 without it (a file never written
    back)."""
    try:
        row = con.execute(_GENERATION_SQL).fetchone()
    except sqlite3.OperationalError:  # no register tables yet
        return 0
    return int(row[0]) if row else 0


def data_version(path: Path, without: tuple[str, ...] = ()) -> tuple[Any, ...] | None:
    """A cheap fingerprint of everything a map of the workspace at ``path`` draws.

    ``without`` names parts left out (``problems``: a light map page, whose problem
    colours come from a status object, stays the same when problems change).

    Returns
    -------
    tuple or None
        ``(device, inode, generation, <one tuple per query>)``; None when the file is
        missing or cannot be read now (the caller then does not cache).
    """
    try:
        st = os.stat(path)
        with connection(Path(path), _READ_TIMEOUT) as con:
            con.execute("BEGIN")  # one snapshot for every part
            master = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {str(r[0]) for r in master}
            at, parts = _parts(con, tables, without)
    except (OSError, sqlite3.Error):
        return None
    return (st.st_dev, st.st_ino, at, *parts)


def scope_of(principal: Principal | None) -> tuple[str | None, ...]:
    """What of the principal decides what a map shows: role, department, village."""
    if principal is None:
        return ("all",)
    return (principal.role, principal.department, principal.village_code)
