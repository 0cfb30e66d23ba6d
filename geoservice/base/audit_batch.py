"""Audit rows of concurrent requests committed together (group commit).

Every audited request appends a row to the workspace's ``audit_log`` before it answers.
One transaction per row makes every read a write: under 50 field clients the service
committed some 100 rows a second, each waiting for SQLite's write lock, for readers of
both worker processes to leave the file (rollback journal) and for its own ``fsync``.

Here the threads of a process that append rows to the same workspace at the same time
share one transaction. The first thread to arrive when no transaction is being written
writes every row queued so far (its own included) and commits; threads arriving
meanwhile queue their rows and wait, and the first of them to wake writes the next
batch. No thread waits for a timer: alone, a row is committed at once, exactly as
before; under load, one commit serves as many rows as arrived during the previous one.
A thread returns only once its row is committed (or raises the error its batch got), so
an answered request has its audit row on disk, as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from geoservice.base.gpkg_sql import AuditRow, append_audit_rows
from geoservice.base.workspace_gate import audit_lock, gate

__all__ = ["AuditBatch", "audit_batch", "log_row"]

Writer = Callable[[Sequence[AuditRow]], None]

_KEEP_FAILURES = 64  # errors kept for threads still to read theirs


class AuditBatch:
    """The rows one process appends to one workspace, committed in shared transactions."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: list[AuditRow] = []
        self._collecting = 0  # number of the batch now collecting rows
        self._written = -1  # number of the last batch written (or failed)
        self._writing = False
        self._failed: dict[int, BaseException] = {}
        self.commits = 0  # transactions written (for the tests and benchmarks)

    def append(self, row: AuditRow, write: Writer) -> None:
        """Queue ``row`` and return once it is committed by ``write`` (this thread's or
        another's call, with the rows queued beside it); raise its batch's error."""
        with self._cond:
            self._pending.append(row)
            mine = self._collecting
            while self._written < mine and self._writing:
                self._cond.wait()
            if self._written >= mine:
                self._raise_failure(mine)
                return
            self._writing = True  # this thread writes the batch that holds its row
            batch, self._pending = self._pending, []
            self._collecting += 1
        error: BaseException | None = None
        try:
            write(batch)
        except BaseException as exc:
            error = exc
        with self._cond:
            self._written = mine
            self.commits += 1
            if error is not None:
                self._failed[mine] = error
                for old in [n for n in self._failed if n < mine - _KEEP_FAILURES]:
                    del self._failed[old]
            self._writing = False
            self._cond.notify_all()
        if error is not None:
            raise error

    def _raise_failure(self, number: int) -> None:
        error = self._failed.get(number)
        if error is not None:
            raise error


_BATCHES: dict[str, AuditBatch] = {}
_BATCHES_LOCK = threading.Lock()


def audit_batch(path: Path) -> AuditBatch:
    """The process-wide :class:`AuditBatch` of the workspace file at ``path``."""
    key = os.path.realpath(path)
    with _BATCHES_LOCK:
        return _BATCHES.setdefault(key, AuditBatch())


def log_row(path: Path, row: AuditRow, timeout: float = 60.0) -> None:
    """Append ``row`` to the audit log of the workspace at ``path``, sharing a transaction
    with the rows other threads of this process append meanwhile.

    The thread that writes a batch passes the process's
    :class:`~geoservice.base.workspace_gate.Gate` (waiting for GDAL reads in flight),
    holds :func:`~geoservice.base.workspace_gate.audit_lock` (waiting while an import
    writes its copy back) and waits up to ``timeout`` seconds for SQLite's write lock.
    """

    def write(rows: Sequence[AuditRow]) -> None:
        with gate(path).writing(), audit_lock(path):
            append_audit_rows(path, rows, timeout=timeout)

    audit_batch(path).append(row, write)
