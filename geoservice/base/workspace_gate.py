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
    """One process's readers-writer gate on one workspace file.

    GDAL (through pyogrio) links its own copy of SQLite, and POSIX file locks are per
    process, so a GDAL read in one thread does not see a write transaction that Python's
    ``sqlite3`` holds in another thread of the same process: it takes the live journal for
    a crashed writer's and fails ("attempt to write a readonly database"), and closing its
    file handle would drop the writer's locks. Within a process, GDAL reads therefore wait
    for writes and writes for GDAL reads; between processes SQLite's own locks suffice. A
    thread that holds the write side may also read, and write again (nested).

    Writers hold the write side only while they touch the workspace file itself: an SQL
    transaction on it, an audit-row insert, or the copy and the final rename of an import
    (which writes its layers into a separate working copy in between).
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
        if self._writer == me:  # a write nested in this thread's own write
            yield
            return
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
