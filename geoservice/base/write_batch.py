"""Small SQL writes of concurrent threads committed in one transaction (group commit).

A problem update holds ``<workspace>.lock`` for a few statements, but each transaction
also pays for the lock, a connection, ``BEGIN IMMEDIATE``, the schema checks and the
``COMMIT`` with its ``fsync``, and between statements its thread waits its turn at the
interpreter among the worker's request threads. Under 50 field clients these updates
queued one behind another at the lock (the wait was most of an update's time).

:func:`write_batched` queues a write (a function of the open connection) and the threads
of a process that write to the same workspace at the same time share one
:meth:`~geoservice.base.workspace.Workspace.sql_transaction`
(:class:`~geoservice.base.group_commit.GroupCommit`): alone, a write gets a transaction of
its own, as before; under load, one transaction serves every write that arrived while the
previous one was written. In a shared transaction each write runs inside a ``SAVEPOINT``,
so a write that raises (a stale version, a forbidden move) is undone alone and its thread
gets its own error; the others are committed. Every thread returns only after the
``COMMIT`` of its write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from geoservice.base.group_commit import Failed, GroupCommit, Outcome
from geoservice.base.real_paths import real_path
from geoservice.base.workspace_gate import lock_held

if TYPE_CHECKING:
    from geoservice.base.workspace import Schema, Workspace

__all__ = ["batch_counts", "write_batched"]

R = TypeVar("R")
Write = Callable[[sqlite3.Connection], Any]


class _Item(NamedTuple):
    write: Write
    actor: str


_BATCHES: dict[tuple[str, Any], GroupCommit[_Item, Any]] = {}
_BATCHES_LOCK = threading.Lock()


def write_batched(
    ws: Workspace,
    write: Callable[[sqlite3.Connection], R],
    actor: str = "system",
    schema: Schema | None = None,
) -> R:
    """``write(con)`` in a write transaction on ``ws``, shared with the writes other
    threads of this process queue meanwhile with the same ``schema``; its result.

    ``write`` must change the database only through ``con`` and may run in another
    thread. Its errors reach the caller as raised. A thread that already holds the
    workspace's lock (inside :meth:`~geoservice.base.workspace.Workspace.lock`) writes at
    once in a transaction of its own.

    Raises
    ------
    ConflictError
        When another writer held the workspace past the lock wait (every write of the
        batch gets it).
    """
    if lock_held(ws.path):
        with ws.sql_transaction(actor, schema=schema) as con:
            return write(con)
    key = (real_path(ws.path), schema)
    with _BATCHES_LOCK:
        batch = _BATCHES.setdefault(key, GroupCommit())

    def write_all(items: Sequence[_Item]) -> list[Outcome[Any]]:
        return _write_all(ws, schema, items)

    result: R = batch.submit(_Item(write, actor), write_all)
    return result


def _write_all(ws: Workspace, schema: Schema | None, items: Sequence[_Item]) -> list[Outcome[Any]]:
    """Every item's write in one transaction: the first item's actor runs the schema
    step; with more than one item, each is undone alone when it raises."""
    with ws.sql_transaction(items[0].actor, schema=schema) as con:
        if len(items) == 1:  # an error rolls the whole transaction back, as before
            return [items[0].write(con)]
        return [_in_savepoint(con, item.write) for item in items]


def _in_savepoint(con: sqlite3.Connection, write: Write) -> Outcome[Any]:
    con.execute("SAVEPOINT batched_write")
    try:
        result = write(con)
    except Exception as exc:  # this write's own error, returned to its thread
        con.execute("ROLLBACK TO batched_write")
        con.execute("RELEASE batched_write")
        return Failed(exc)
    con.execute("RELEASE batched_write")
    return result


def batch_counts(ws: Workspace) -> tuple[int, int]:
    """Transactions and writes this process has committed through :func:`write_batched`
    on the workspace file of ``ws`` (for the tests and benchmarks)."""
    real = real_path(ws.path)
    with _BATCHES_LOCK:
        found = [b for (path, _), b in _BATCHES.items() if path == real]
    return sum(b.commits for b in found), sum(b.items for b in found)
