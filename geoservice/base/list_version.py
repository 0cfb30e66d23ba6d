"""A cheap fingerprint of the tables a list of the service reads.

:func:`~geoservice.base.data_version.data_version` covers what the maps draw (the file,
problems, layers written in place, complaints, the sharing register). Lists also show
tables changed in place that no map draws, such as the target outcomes (a state change
updates ``target_state`` in place). :func:`list_version` adds those, so a list's ``ETag``
changes whenever its rows can. (The audit log, to which every audited request adds a row,
is versioned by the rows a page filters: :func:`geoservice.base.audit_log.audit_version`.)
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from geoservice.base.data_version import data_version
from geoservice.base.workspace_gate import gate

__all__ = ["EXTRA_QUERIES", "list_version"]

_READ_TIMEOUT = 5.0

# table -> the query whose row changes whenever the table's rows do (ids only grow)
EXTRA_QUERIES: dict[str, str] = {
    "target_state": "SELECT count(*), sum(version), max(updated_at) FROM target_state",
}  # (patch states: the data version has their count and last history id)


def _extra(path: Path, tables: tuple[str, ...]) -> tuple[Any, ...]:
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    with (
        gate(Path(path)).sql(),
        contextlib.closing(sqlite3.connect(uri, uri=True, timeout=_READ_TIMEOUT)) as con,
    ):
        present = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}
        return tuple(
            tuple(con.execute(EXTRA_QUERIES[t]).fetchone()) if t in present else ("absent",)
            for t in tables
        )


def list_version(path: Path, tables: tuple[str, ...] = ()) -> tuple[Any, ...] | None:
    """The data version of the workspace at ``path`` and the state of ``tables`` (keys of
    :data:`EXTRA_QUERIES`).

    Returns
    -------
    tuple or None
        None when the file is missing or cannot be read now (the list then has no ETag).

    Raises
    ------
    KeyError
        For a table not in :data:`EXTRA_QUERIES` (a programming error).
    """
    unknown = [t for t in tables if t not in EXTRA_QUERIES]
    if unknown:
        raise KeyError(f"no version query for tables {unknown}")
    base = data_version(path)
    if base is None:
        return None
    try:
        extra = _extra(path, tables)
    except (OSError, sqlite3.Error):
        return None
    return (*base, *extra)
