"""Audit rows of concurrent requests committed together (group commit).

Every audited request appends a row to the workspace's ``audit_log`` before it answers.
One transaction per row makes every read a write: under 50 field clients the service
committed some 100 rows a second, each waiting for SQLite's write lock, for readers of
both worker processes to leave the file (rollback journal) and for its own ``fsync``.

Here the threads of a process that append rows to the same workspace at the same time
share one transaction (:class:`~geoservice.base.group_commit.GroupCommit`): alone, a row
is committed at once, exactly as before; under load, one commit serves as many rows as
arrived during the previous one. A thread returns only once its row is committed (or
raises the error its batch got), so an answered request has its audit row in the file;
how soon it reaches the disk is said in
:func:`~geoservice.base.gpkg_sql.append_audit_rows`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from geoservice.base.gpkg_sql import AuditRow, append_audit_rows
from geoservice.base.group_commit import GroupCommit
from geoservice.base.real_paths import real_path
from geoservice.base.workspace_gate import audit_lock, gate

__all__ = ["AuditBatch", "audit_batch", "log_row"]

Writer = Callable[[Sequence[AuditRow]], None]


class AuditBatch(GroupCommit[AuditRow, None]):
    """The rows one process appends to one workspace, committed in shared transactions."""

    def append(self, row: AuditRow, write: Writer) -> None:
        """Queue ``row`` and return once it is committed by ``write`` (this thread's or
        another's call, with the rows queued beside it); raise its batch's error."""

        def write_all(rows: Sequence[AuditRow]) -> list[None]:
            write(rows)
            return [None] * len(rows)

        self.submit(row, write_all)


_BATCHES: dict[str, AuditBatch] = {}
_BATCHES_LOCK = threading.Lock()


def audit_batch(path: Path) -> AuditBatch:
    """The process-wide :class:`AuditBatch` of the workspace file at ``path``."""
    key = real_path(path)
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
