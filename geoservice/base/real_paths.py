"""Workspace paths with their symbolic links resolved, once per process.

Every kept thing of a workspace (its locks, gates, connection pools, write batches, kept
status) is keyed by the file's real path, so that two spellings of one file share them.
:func:`os.path.realpath` answers with an ``lstat`` per part of the path, and a problem
update asked for it six times: each system call lets the interpreter go to the worker's
other threads, and under load getting it back waits for one of them (up to the switch
interval, 5 ms). :func:`real_path` resolves an absolute path once and remembers it.

A link along the path that is changed to point elsewhere while the process runs is not
followed; a relative path is resolved on every call (it depends on the working folder).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["real_path"]

_KEPT = 256  # paths remembered; beyond, forgotten all at once (a process has a few)
_REAL: dict[str, str] = {}
_LOCK = threading.Lock()


def real_path(path: str | os.PathLike[str] | Path) -> str:
    """:func:`os.path.realpath` of ``path``, remembered for an absolute path."""
    text = os.fspath(path)
    found = _REAL.get(text)
    if found is not None:
        return found
    real = os.path.realpath(text)
    if os.path.isabs(text):
        with _LOCK:
            if len(_REAL) >= _KEPT:
                _REAL.clear()
            _REAL[text] = real
    return real
