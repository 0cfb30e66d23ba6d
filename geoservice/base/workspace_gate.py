"""The readers-writer gate that keeps GDAL reads of a workspace file off its writes.

One gate per workspace file per process (:func:`gate`); why it is needed is in
:class:`Gate`. Between processes SQLite's own locks and ``<workspace>.lock`` suffice.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Gate", "gate"]


class Gate:
    """One process's readers-writer gate on one workspace file.

    GDAL (through pyogrio) links its own copy of SQLite, and POSIX file locks are per
    process, so a GDAL read in one thread does not see a write transaction that Python's
    ``sqlite3`` holds in another thread of the same process: it takes the live journal for
    a crashed writer's and fails ("attempt to write a readonly database"), and closing its
    file handle would drop the writer's locks. Within a process, GDAL reads therefore wait
    for writes and writes for GDAL reads; between processes SQLite's own locks suffice. A
    thread that holds the write side may also read.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._writer == me:
            yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._cond.wait_for(lambda: self._writer is None and self._readers == 0)
            self._writer = me
        try:
            yield
        finally:
            with self._cond:
                self._writer = None
                self._cond.notify_all()


_GATES: dict[str, Gate] = {}
_GATES_LOCK = threading.Lock()


def gate(path: Path) -> Gate:
    """The process-wide readers-writer gate of a workspace file."""
    key = os.path.realpath(path)
    with _GATES_LOCK:
        return _GATES.setdefault(key, Gate())
