"""The locks of a workspace file: ``<workspace>.lock`` and the readers-writer gate.

:func:`file_lock` holds ``<workspace>.lock``, the lock imports and SQL transactions take
so that one of them writes at a time (audit-row inserts take only SQLite's own lock).
One readers-writer gate per workspace file per process (:func:`gate`) keeps GDAL reads off
writes; why it is needed is in :class:`Gate`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from geoservice.base.errors import ConflictError, message

__all__ = ["Gate", "file_lock", "gate"]


class Gate:
    """One process's gate on one workspace file: GDAL's use of it apart from Python's.

    GDAL (through pyogrio) links its own copy of SQLite, and POSIX file locks belong to the
    process, not to the connection, so neither copy sees the other's locks, and closing a
    file handle drops every lock the process holds on the file, the other copy's included.
    A GDAL read closing the file while a Python connection of another thread is in a
    transaction on it therefore drops that transaction's lock: the other worker process may
    then write under a Python read (which fails with "database disk image is malformed", or
    worse, reads a mix of two states) or see a Python write's live journal as a crashed
    writer's. Within a process the gate keeps the two apart:

    - :meth:`reading` (GDAL reads) are shared with one another;
    - :meth:`sql` (Python connections that read) are shared with one another;
    - :meth:`writing` (Python write transactions, audit-row inserts, an import's copy and
      rename) is exclusive;

    and a waiting writer goes before new readers of either kind. Between processes SQLite's
    own locks suffice. Nested use in one thread passes: the writer may read either way, a
    Python read inside this thread's GDAL read joins it, and a write may start inside this
    thread's own read. A GDAL read inside this thread's Python read is refused (its close
    would drop that read's lock): read with GDAL first.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._cond = threading.Condition()
        self._gdal = 0  # GDAL reads in flight
        self._sql = 0  # threads with Python read connections open
        self._writer: int | None = None
        self._writers_waiting = 0
        self._local = threading.local()  # this thread's depth of each kind

    def _depth(self, kind: str) -> int:
        return int(getattr(self._local, kind, 0))

    @contextlib.contextmanager
    def _held(self, kind: str) -> Iterator[None]:
        setattr(self._local, kind, self._depth(kind) + 1)
        try:
            yield
        finally:
            setattr(self._local, kind, self._depth(kind) - 1)

    def _free_for_readers(self) -> bool:
        return self._writer is None and not self._writers_waiting

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the GDAL side for a GDAL read (or write) of the file."""
        if self._writer == threading.get_ident() or self._depth("gdal"):
            with self._held("gdal"):
                yield
            return
        if self._depth("sql"):
            raise RuntimeError(
                f"a GDAL read of {self._path} inside this thread's own Python read of it: its "
                "close would drop that read's lock; read with GDAL before opening the connection"
            )
        with self._cond:
            self._cond.wait_for(lambda: self._free_for_readers() and self._sql == 0)
            self._gdal += 1
        try:
            with self._held("gdal"):
                yield
        finally:
            with self._cond:
                self._gdal -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def sql(self) -> Iterator[None]:
        """Hold the Python side while a Python connection reads the file."""
        me = threading.get_ident()
        if self._writer == me or self._depth("sql") or self._depth("gdal"):
            with self._held("sql"):
                yield
            return
        with self._cond:
            self._cond.wait_for(lambda: self._free_for_readers() and self._gdal == 0)
            self._sql += 1
        try:
            with self._held("sql"):
                yield
        finally:
            with self._cond:
                self._sql -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the gate alone (this thread's own reads excepted) for a write."""
        me = threading.get_ident()
        if self._writer == me:  # a write nested in this thread's own write
            yield
            return
        own_sql = 1 if self._depth("sql") and not self._depth("gdal") else 0
        own_gdal = 1 if self._depth("gdal") else 0
        with self._cond:
            self._writers_waiting += 1
            try:
                self._cond.wait_for(
                    lambda: self._writer is None and self._gdal == own_gdal and self._sql == own_sql
                )
            finally:
                self._writers_waiting -= 1
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
        if key not in _GATES:
            _GATES[key] = Gate(Path(key))
        return _GATES[key]


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_POLL_SECONDS = 0.005


def _thread_lock(path: Path) -> threading.Lock:
    """The process-wide lock the threads of this process queue on before ``<path>.lock``."""
    key = os.path.realpath(path)
    with _GATES_LOCK:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


@contextlib.contextmanager
def file_lock(path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``<path>.lock``, waiting up to ``wait_seconds`` for another writer.

    The threads of one process first queue on a thread lock (woken as soon as it is
    free), so that only one of them at a time polls the file lock, which other processes
    hold. Raises :class:`~geoservice.base.errors.ConflictError` when it is still held then.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    mine = _thread_lock(path)
    if not mine.acquire(timeout=max(wait_seconds, 0.0)):
        raise _locked(path)
    try:
        with open(path.with_name(path.name + ".lock"), "a+b") as lock:
            while True:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise _locked(path) from exc
                    time.sleep(_POLL_SECONDS)
            yield
    finally:
        mine.release()


def _locked(path: Path) -> ConflictError:
    return ConflictError(
        message(
            "workspace.locked",
            f"工作空间 {path} 正在被另一个操作（导入、研判或整改更新）写入；请等它结束后再试。",
            f"Workspace {path} is being written by another process (an import, an analysis "
            "or a problem update); try again when it has finished.",
        )
    )
