"""The locks of a workspace file: ``<workspace>.lock`` and the GDAL/Python gate.

:func:`file_lock` holds ``<workspace>.lock``, the lock imports and SQL transactions take
so that one of them writes at a time; audit-row inserts take only SQLite's own lock and
:func:`audit_lock`, which an import's write-back takes too. One gate per workspace file
per process (:func:`gate`) keeps GDAL's use of the file apart from Python's connections;
why it is needed is in :class:`Gate`.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from geoservice.base.errors import ConflictError, message
from geoservice.base.real_paths import real_path

__all__ = ["Gate", "audit_lock", "file_lock", "gate", "held_file_lock", "lock_held"]


class Gate:
    """One process's gate on one workspace file: GDAL's use of it apart from Python's.

    GDAL (through pyogrio) links its own copy of SQLite, and POSIX file locks belong to the
    process, not to the connection, so neither copy sees the other's locks, and closing a
    file handle drops every lock the process holds on the file, the other copy's included.
    The workspace is in WAL mode, where this is worse: a GDAL close that finds no other
    process on the file takes itself for the last connection, checkpoints and deletes the
    ``-wal`` and ``-shm`` files under the Python connections of this process, whose next
    statement then fails ("disk I/O error") or commits into the deleted log. With the
    rollback journal the dropped locks let the other worker commit under a Python read
    ("database disk image is malformed"). Within a process the gate therefore lets either
    kind in at a time, for as long as its connections are open:

    - :meth:`reading`: GDAL reads (and GDAL's rare writes of the live file), shared with
      one another;
    - :meth:`sql` and :meth:`writing`: Python connections, reading or writing, shared with
      one another (SQLite's own locks order Python's connections, as between processes).

    When one kind waits for the other, the other lets no newcomer in until it has drained
    (phase-fair: neither kind starves). Nested use of the same kind in one thread passes;
    use of one kind inside the same thread's use of the other is refused with RuntimeError
    (it could only deadlock or, were it let in, close the file under the other): finish
    the GDAL read before opening a connection, or the reverse. Python connections kept
    open between uses (:mod:`geoservice.base.connection_pool`) are closed when a GDAL use
    comes in (:attr:`before_gdal`).
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._cond = threading.Condition()
        self._active = {"gdal": 0, "python": 0}
        self._waiting = {"gdal": 0, "python": 0}
        self._turn: str | None = None  # the kind the other must let in next
        self._local = threading.local()  # this thread's depth of each kind
        # run when GDAL comes in while no Python connection is lent: closes the idle ones
        # (see geoservice.base.connection_pool)
        self.before_gdal: Callable[[], None] | None = None
        self._closing = False  # the first GDAL user runs before_gdal: nobody else gets in

    def _depth(self, kind: str) -> int:
        return int(getattr(self._local, kind, 0))

    def _free(self, kind: str) -> bool:
        other = _OTHER[kind]
        return self._active[other] == 0 and self._turn != other and not self._closing

    @contextlib.contextmanager
    def _use(self, kind: str) -> Iterator[None]:
        other = _OTHER[kind]
        if self._depth(other):
            raise RuntimeError(
                f"{_NAMES[kind]} of {self._path} inside this thread's own {_NAMES[other]} "
                "of it: the GDAL side's close would drop the Python side's locks and delete "
                "its write-ahead log; finish one before starting the other"
            )
        outermost = not self._depth(kind)
        first = False
        if outermost:
            with self._cond:
                if not self._free(kind):
                    self._waiting[kind] += 1
                    if self._active[other]:
                        self._turn = kind  # newcomers of the other kind now wait
                    try:
                        self._cond.wait_for(lambda: self._free(kind))
                    finally:
                        self._waiting[kind] -= 1
                first = kind == "gdal" and not self._active[kind] and self.before_gdal is not None
                self._closing = first
                self._active[kind] += 1
        setattr(self._local, kind, self._depth(kind) + 1)
        try:
            if first and self.before_gdal is not None:
                # the idle Python connections closed before any GDAL use of the file
                # starts: other GDAL users wait until they are (a Python close beside an
                # open GDAL handle would drop its locks or truncate its shared memory)
                try:
                    self.before_gdal()
                finally:
                    with self._cond:
                        self._closing = False
                        self._cond.notify_all()
            yield
        finally:
            setattr(self._local, kind, self._depth(kind) - 1)
            if outermost:
                with self._cond:
                    self._active[kind] -= 1
                    if not self._active[kind]:
                        self._turn = other if self._waiting[other] else None
                    self._cond.notify_all()

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """The GDAL side: a GDAL read (or write) of the live file."""
        return self._use("gdal")

    def sql(self) -> contextlib.AbstractContextManager[None]:
        """The Python side, for a connection that reads."""
        return self._use("python")

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """The Python side, for a write transaction, an audit row, or an import's copy and
        rename of the file."""
        return self._use("python")


_OTHER = {"gdal": "python", "python": "gdal"}
_NAMES = {"gdal": "a GDAL read", "python": "a Python connection"}


_GATES: dict[str, Gate] = {}
_GATES_LOCK = threading.Lock()


def gate(path: Path) -> Gate:
    """The process-wide GDAL/Python gate of a workspace file."""
    key = real_path(path)
    with _GATES_LOCK:
        if key not in _GATES:
            _GATES[key] = Gate(Path(key))
        return _GATES[key]


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_POLL_SECONDS = 0.001  # one thread per process polls; a wake-up costs microseconds


def _thread_lock(path: Path) -> threading.Lock:
    """The process-wide lock the threads of this process queue on before ``<path>.lock``."""
    key = real_path(path)
    with _GATES_LOCK:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


@contextlib.contextmanager
def file_lock(path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold ``<path>.lock``, waiting up to ``wait_seconds`` for another writer.

    The threads of one process first queue on a thread lock (woken as soon as it is
    free), so that only one of them at a time polls the file lock, which other processes
    hold. Raises :class:`~geoservice.base.errors.ConflictError` when it is still held then.
    """
    deadline = time.monotonic() + wait_seconds
    mine = _thread_lock(path)
    if not mine.acquire(timeout=max(wait_seconds, 0.0)):
        raise _locked(path)
    try:
        with _lock_file(path) as lock:
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


def _lock_file(path: Path) -> BinaryIO:
    """``<path>.lock`` opened for appending, its folder made first when it is missing
    (tried after the open fails: each system call lets other threads run, see
    :mod:`~geoservice.base.real_paths`)."""
    name = path.with_name(path.name + ".lock")
    try:
        return open(name, "a+b")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(name, "a+b")


_HELD = threading.local()  # realpaths of the workspaces whose lock this thread holds


def lock_held(path: Path) -> bool:
    """Whether this thread holds ``<path>.lock`` through :func:`held_file_lock`."""
    return real_path(path) in _HELD.__dict__.get("paths", ())


@contextlib.contextmanager
def held_file_lock(path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """:func:`file_lock`, which a thread that holds it may take again (a no-op then)."""
    key = real_path(path)
    held: set[str] = _HELD.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    with file_lock(path, wait_seconds):
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


@contextlib.contextmanager
def audit_lock(path: Path) -> Iterator[None]:
    """Hold ``<path>.audit.lock``, one holder at a time: every batch of audit rows while
    it is written, and an import while it writes its working copy back into the file.

    An import copies the workspace, writes the copy for minutes, then carries over the
    audit rows appended to the original meanwhile and writes the copy back in one SQLite
    transaction. No row may land between the carry and the write-back, or it would be
    overwritten; appends take no ``<workspace>.lock`` (an import holds it throughout), so
    they take this one. It is exclusive for the appends too: they are one at a time in
    SQLite anyway, and with shared holds the write-back starved (six threads appending
    back to back kept it out for 23 s; exclusive, it got in after 17 ms). ``flock`` locks
    belong to the open file, so threads of one process exclude each other too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".audit.lock"), "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _locked(path: Path) -> ConflictError:
    return ConflictError(
        message(
            "workspace.locked",
            f"工作空间 {path} 正在被另一个操作（导入、研判或整改更新）写入；请等它结束后再试。",
            f"Workspace {path} is being written by another process (an import, an analysis "
            "or a problem update); try again when it has finished.",
        )
    )
