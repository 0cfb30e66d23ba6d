"""Which listed tables a process already created in a workspace, at which schema version.

Every SQL write transaction (:meth:`geoservice.base.workspace.Workspace.sql_transaction`)
first makes sure the tables it writes exist (``CREATE TABLE IF NOT EXISTS`` and a row in
``gpkg_contents`` for each, :func:`geoservice.base.workspace_write.create_listed`): two
dozen statements for a problem update, each a turn at the interpreter lock while the
transaction holds ``<workspace>.lock``. Under load those turns, not the statements, made
the lock's hold time.

SQLite raises the file's schema version (``PRAGMA schema_version``) at every change of a
table's definition, and an import's write-back raises it too. So once a transaction that
created some tables has committed at schema version ``S``, a later transaction that finds
the file still at ``S`` knows they exist and skips their statements. The memory is kept
per file (real path, device, inode) and per table, and only for committed transactions.
Other steps whose result only a schema change can undo (an index, added columns) are
remembered the same way (:func:`known_step`, :func:`ran_step`).

A transaction that listed nothing new ends at the schema version it began with (as far
as this memory needs: a definition changed by other means leaves a version the next
transaction does not find remembered, so it lists every table again), and reads it only
once. Whether a file is in WAL mode is remembered per file too (:func:`wal_known`): the
mode is stored in the file, and only a deliberate ``PRAGMA journal_mode`` changes it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from geoservice.base.real_paths import real_path

__all__ = [
    "SchemaMemo",
    "file_key",
    "known_step",
    "known_tables",
    "ran_step",
    "remember_wal",
    "schema_version",
    "wal_known",
]

_FileKey = tuple[str, int, int]
_KNOWN: dict[_FileKey, tuple[int, frozenset[str]]] = {}
_WAL: set[_FileKey] = set()
_LOCK = threading.Lock()
_CURRENT = threading.local()


def file_key(path: Path) -> _FileKey:
    """The workspace file at ``path`` as this memory knows it: real path, device, inode."""
    st = os.stat(path)
    return (real_path(path), st.st_dev, st.st_ino)


def wal_known(key: _FileKey) -> bool:
    """Whether this process saw the file ``key`` in WAL mode (:func:`remember_wal`)."""
    with _LOCK:
        return key in _WAL


def remember_wal(key: _FileKey) -> None:
    """Record that the file ``key`` is in WAL mode."""
    with _LOCK:
        _WAL.add(key)


def schema_version(con: sqlite3.Connection) -> int:
    """SQLite's schema version of the file behind ``con`` (as its transaction sees it)."""
    return int(con.execute("PRAGMA schema_version").fetchone()[0])


class SchemaMemo:
    """The memory of one write transaction ``con`` holds on the workspace at ``path``.

    :meth:`active` makes the tables this process listed at the file's current schema
    version known to :func:`known_tables` (so :func:`create_listed` skips them) and
    collects those listed meanwhile; :meth:`remember` records them once the transaction
    has committed, at the schema version it ended with.
    """

    def __init__(self, con: sqlite3.Connection, key: _FileKey) -> None:
        self.key = key
        self.at = schema_version(con)
        with _LOCK:
            version, names = _KNOWN.get(self.key, (-1, frozenset()))
        self.known = names if version == self.at else frozenset()
        self.ensured: set[str] = set()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        outer = getattr(_CURRENT, "memo", None)
        _CURRENT.memo = self
        try:
            yield
        finally:
            _CURRENT.memo = outer

    def end_version(self, con: sqlite3.Connection) -> int:
        """The schema version to remember once the transaction on ``con`` commits: read
        again when it listed anything new, else the one it began with."""
        return schema_version(con) if self.ensured - self.known else self.at

    def remember(self, version: int) -> None:
        """Record the tables known and listed, at ``version`` (read inside the committed
        transaction, after its own definitions)."""
        if version == self.at and self.ensured <= self.known:
            return  # nothing to add to what was known at this version
        with _LOCK:
            _KNOWN[self.key] = (version, frozenset(self.known | self.ensured))


def known_tables() -> tuple[frozenset[str], set[str]] | None:
    """(tables known to exist, the set to add the tables listed now to) for the write
    transaction of this thread; None outside one (every table is then listed)."""
    memo: SchemaMemo | None = getattr(_CURRENT, "memo", None)
    return None if memo is None else (memo.known, memo.ensured)


def known_step(name: str) -> bool:
    """Whether this process ran schema step ``name`` (an index, added columns) in a
    committed write transaction at the file's current schema version, so that the write
    transaction of this thread may skip it; False outside one."""
    memo: SchemaMemo | None = getattr(_CURRENT, "memo", None)
    return memo is not None and name in memo.known


def ran_step(name: str) -> None:
    """Record that the write transaction of this thread ran schema step ``name`` (known
    to later transactions once it has committed; see :func:`known_step`)."""
    memo: SchemaMemo | None = getattr(_CURRENT, "memo", None)
    if memo is not None:
        memo.ensured.add(name)
