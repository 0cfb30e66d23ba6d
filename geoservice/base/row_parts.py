"""Several one-row queries read in one SQLite statement.

Each statement lets the interpreter go to another thread, and under load getting it back
waits for one of them; a fingerprint of a dozen counts and maxima read with a statement
each paid that a dozen times. :func:`side_by_side` joins the queries' single rows as one
row (``SELECT * FROM (q1), (q2), ...``) and splits it again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

__all__ = ["side_by_side"]


def side_by_side(
    con: sqlite3.Connection, queries: Sequence[tuple[str, int]]
) -> list[tuple[Any, ...]]:
    """The row of each ``(sql, width)`` query (one row of ``width`` columns each, an
    aggregate for instance), read in one statement; ``[]`` for no query.

    Raises what SQLite raises when one query cannot run (a missing table or column:
    the caller reads them one by one then, if it can).
    """
    if not queries:
        return []
    row = con.execute(f"SELECT * FROM {', '.join(f'({sql})' for sql, _ in queries)}").fetchone()
    rows, at = [], 0
    for _, width in queries:
        rows.append(tuple(row[at : at + width]))
        at += width
    return rows
