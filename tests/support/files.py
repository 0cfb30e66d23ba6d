"""Copies of workspace files made by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from geoservice.base.connection_pool import close_idle

__all__ = ["copy_workspace"]


def copy_workspace(src: str | Path, dest: str | Path) -> Path:
    """Copy the workspace file ``src`` to ``dest`` (a file or a folder), whole: this
    process's idle connections to it are closed first, as they are a second after their
    last use, so that its write-ahead log is folded back into the file."""
    close_idle(Path(src))
    return Path(shutil.copy2(src, dest))
