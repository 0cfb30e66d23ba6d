"""Photos of a field capture, stored before the record they belong to exists.

A capture's photos are checked and written (:func:`~geoservice.workflow.photos.save_photos`)
before its one workspace transaction, into a hidden stage folder named after the form's
``submission_id`` (a hash of it, so any id the phone sends makes a safe name, and a suffix
of its own for each attempt)::

    <folder>/.capture-<16 hex of sha256(submission_id)>-<8 hex>/

When the transaction fails the stage folder is removed; once it is committed the photos
move into the record's folder (``<folder>/<record id>/``). If the process stops between
the commit and the move, the replay of the same submission finds the stage folder by its
name and finishes the move (:func:`recover_photos`). Folders whose name starts with ``.``
are never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from geoservice.workflow.photos import save_photos

__all__ = ["STAGE_PREFIX", "Staged", "discard", "place", "recover_photos", "stage_photos"]

STAGE_PREFIX = ".capture-"


@dataclass(frozen=True)
class Staged:
    """Photos written under a stage folder (``folder`` None when there were none)."""

    folder: Path | None = None
    names: list[str] = field(default_factory=list)


def _key(submission_id: str | None) -> str:
    if not submission_id:
        return secrets.token_hex(8)
    return hashlib.sha256(submission_id.encode("utf-8")).hexdigest()[:16]


def stage_photos(
    folder: Path, submission_id: str | None, files: Sequence[tuple[str, bytes]], max_bytes: int
) -> Staged:
    """Check and store ``files`` (all or none) under a new stage folder of ``folder``.

    Raises what :func:`~geoservice.workflow.photos.save_photos` raises (OptionError,
    TooLargeError), leaving nothing behind.
    """
    if not files:
        return Staged()
    name = f"{STAGE_PREFIX}{_key(submission_id)}-{secrets.token_hex(4)}"
    stage = Path(folder) / name
    try:
        names = save_photos(folder, name, files, max_bytes=max_bytes)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Staged(stage, names)


def discard(staged: Staged) -> None:
    """Remove the stage folder (the record was not stored)."""
    if staged.folder is not None:
        shutil.rmtree(staged.folder, ignore_errors=True)


def _move(stage: Path, target: Path) -> None:
    """Move every file of ``stage`` (metadata folder included) into ``target``; a file
    another mover took first is skipped."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(stage, target)
            return
    for item in sorted(stage.rglob("*"), key=lambda p: p.name.endswith(".jpg")):
        if item.is_file():
            (target / item.relative_to(stage)).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.replace(item, target / item.relative_to(stage))
    shutil.rmtree(stage, ignore_errors=True)


def place(staged: Staged, target: Path) -> None:
    """Move the staged photos into the record's folder ``target`` (after the commit)."""
    if staged.folder is not None:
        _move(staged.folder, target)


def recover_photos(
    folder: Path, submission_id: str | None, target: Path, names: Sequence[str]
) -> None:
    """Finish the move of a committed capture's photos ``names`` into ``target`` when
    the process stopped before it: the stage folder of ``submission_id`` that holds them
    is moved in. Nothing to do when every photo is in place."""
    if not submission_id or all((target / n).is_file() for n in names):
        return
    for stage in Path(folder).glob(f"{STAGE_PREFIX}{_key(submission_id)}-*"):
        if any((stage / n).is_file() for n in names):
            _move(stage, target)
