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
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from geoservice.base.real_paths import real_path

__all__ = ["SchemaMemo", "known_step", "known_tables", "ran_step", "schema_version"]

_FileKey = tuple[str, int, int]
_KNOWN: dict[_FileKey, tuple[int, frozenset[str]]] = {}
_LOCK = threading.Lock()
_CURRENT = threading.local()


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

    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        st = os.stat(path)
        self.key: _FileKey = (real_path(path), st.st_dev, st.st_ino)
        at = schema_version(con)
        with _LOCK:
            version, names = _KNOWN.get(self.key, (-1, frozenset()))
        self.known = names if version == at else frozenset()
        self.ensured: set[str] = set()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        outer = getattr(_CURRENT, "memo", None)
        _CURRENT.memo = self
        try:
            yield
        finally:
            _CURRENT.memo = outer

    def remember(self, version: int) -> None:
        """Record the tables known and listed, at ``version`` (read inside the committed
        transaction, after its own definitions)."""
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
