"""A change patch's phone page: its facts, history, photos and the verifier's form.

The facts of one patch in the caller's scope (:mod:`geoservice.tasks.patch_records`), the
林班 it lies in, its outline and village boundary as GeoJSON in lon/lat (EPSG:4326,
simplified in the workspace CRS first), its history and photos; a verification or a move
to the next stage stored with a version check (a form based on an older version changes
nothing: :class:`~geoservice.base.errors.StaleVersionError`). Photos are checked and
stored as problem photos are (:func:`geoservice.workflow.photos.save_photos`) under the
``patches`` folder of the evidence folder, and recorded in the patch's history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError, StaleVersionError, message
from geoservice.base.workspace import Workspace
from geoservice.tasks.detail import clean_note, lonlat_shapes, shape_collection
from geoservice.tasks.patch_records import PatchTask, scoped_patch
from geoservice.workflow.patch_access import (
    attach_patch_photos,
    change_patch,
    may_update,
    patch_photos,
)
from geoservice.workflow.patch_states import check_patch_transition, patch_state_label
from geoservice.workflow.patch_store import patch_history

__all__ = [
    "PHOTO_EVENT",
    "PatchDetail",
    "PatchHistoryEntry",
    "patch_changes_since",
    "patch_detail",
    "submit_patch",
]

PHOTO_EVENT = "photos"  # history event of photos added (note: the names, joined by 、)
# Columns that hold a patch's 林班 (forest compartment) in the survey files.
_LIN_BAN = ("LIN_BAN", "lin_ban", "林班", "林班号")


@dataclass(frozen=True)
class PatchHistoryEntry:
    """One row of a patch's history; ``photos``: the photo names a photo event added."""

    at: str
    by: str
    event: str
    from_state: str | None
    to_state: str | None
    legality: str | None
    note: str | None
    version: int
    photos: tuple[str, ...]


@dataclass(frozen=True)
class PatchDetail:
    """A patch with its 林班, history, photos, map shapes and the states the caller may
    move it to (none: read only)."""

    task: PatchTask
    lin_ban: str | None
    history: list[PatchHistoryEntry]
    photos: list[str]
    shapes: dict[str, Any]
    transitions: tuple[str, ...]


def _entries(frame: pd.DataFrame) -> list[PatchHistoryEntry]:
    out = []
    for row in frame.to_dict("records"):
        photos = row["event"] == PHOTO_EVENT and row["note"]
        out.append(
            PatchHistoryEntry(
                at=str(row["at"]),
                by=str(row["by"]),
                event=str(row["event"]),
                from_state=row["from_state"],
                to_state=row["to_state"],
                legality=row["legality"],
                note=None if photos else row["note"],
                version=int(row["version"]),
                photos=tuple(str(row["note"]).split("、")) if photos else (),
            )
        )
    return out


def _lin_ban(ws: Workspace, patch_id: str) -> str | None:
    fields = list(ws.info("patches")["fields"])
    column = next((c for c in _LIN_BAN if c in fields), None)
    if column is None:
        return None
    quoted = patch_id.replace("'", "''")
    frame = ws.read(
        "patches", columns=[column], read_geometry=False, where=f"patch_id = '{quoted}'"
    )
    values = frame[column].dropna().astype(str).str.strip()
    values = values[values != ""]
    return str(values.iloc[0]) if len(values) else None


def patch_detail(
    ws: Workspace, principal: Principal, patch_id: str, as_of: date, evidence_folder: Path
) -> PatchDetail:
    """A patch in the principal's scope (NotFoundError otherwise) with its history,
    photos, map shapes and allowed moves at ``as_of``."""
    task, moves = scoped_patch(ws, principal, patch_id, as_of)
    village = lonlat_shapes(ws, "villages", "village_code", task.village_code or "", "village")
    outline = lonlat_shapes(ws, "patches", "patch_id", patch_id, "patch")
    return PatchDetail(
        task=task,
        lin_ban=_lin_ban(ws, patch_id),
        history=_entries(patch_history(ws, patch_id)),
        photos=patch_photos(evidence_folder, patch_id),
        shapes=shape_collection(village, outline),
        transitions=moves,
    )


def patch_changes_since(ws: Workspace, patch_id: str, version: int) -> list[PatchHistoryEntry]:
    """History rows made after ``version`` (what someone else changed meanwhile)."""
    frame = patch_history(ws, patch_id)
    return _entries(frame[frame["version"] > version])


def _stale(task: PatchTask, seen: int) -> StaleVersionError:
    return StaleVersionError(
        message(
            "tasks.patch_stale",
            f"图斑 {task.patch_id} 已被他人更新：你打开的是第 {seen} 版，现在是第 "
            f"{task.version} 版（{patch_state_label(task.state)}）；你的提交没有保存，"
            "请看下面的变化后重新提交。",
            f"Patch {task.patch_id} has been updated by someone else: you opened version "
            f"{seen}, it is now at version {task.version} ({patch_state_label(task.state, 'en')}); "
            "nothing was saved. Check the changes below and submit again.",
        )
    )


def _read_only(principal: Principal, patch_id: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        message(
            "tasks.patch_read_only",
            f"用户“{principal.name}”只能查看图斑 {patch_id}：现地核实和后续环节由镇林长办和"
            "林业部门（镇农业农村办）办理。",
            f"User {principal.name!r} may only read patch {patch_id}: field verification and "
            "the later stages are done by the forest-chief office and the forestry department "
            "(agriculture office).",
        )
    )


def _no_move(patch_id: str, to: str) -> OptionError:
    return OptionError(
        message(
            "tasks.patch_no_move",
            f"图斑 {patch_id} 的办理环节为“{to}”，未选择或不是可选的下一环节；请在表单中"
            "选择一项后再提交。",
            f"The next stage of patch {patch_id} was {to!r}, which is missing or not one "
            "you may choose; choose one in the form and submit again.",
        )
    )


def submit_patch(
    ws: Workspace,
    principal: Principal,
    patch_id: str,
    *,
    to: str,
    legality: str | None,
    verified_on: date | None,
    note: str | None,
    version: int,
    photos: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_photo_bytes: int,
    as_of: date,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Verify a patch or move it to its next stage (``to``), with a note and photos.

    Checks, in order: the patch is in the principal's scope (NotFoundError); the principal
    verifies patches (PermissionDeniedError); the form was based on the current
    ``version`` (StaleVersionError, nothing saved); ``to`` is a move the principal may
    make and the state machine accepts it with the legality and note given (OptionError).
    Then stores the photos (OptionError / TooLargeError, nothing changed when one is
    refused), changes the patch with a version check (the verifier is the signed-in
    person) and records the photos in its history.

    Returns
    -------
    dict
        What :func:`~geoservice.workflow.patch_store.update_patch` returns, plus
        ``photos`` (the stored photo names).
    """
    task, moves = scoped_patch(ws, principal, patch_id, as_of)
    if not may_update(principal):
        raise _read_only(principal, patch_id)
    if version != task.version:
        raise _stale(task, version)
    if to not in moves:
        raise _no_move(patch_id, to)
    chosen = legality if to == "verified" else None
    clean = clean_note(note)
    verifier = principal.name if to == "verified" else None
    check_patch_transition(
        patch_id, task.state, to, legality=chosen or task.legality, verifier=verifier, note=clean
    )
    names = (
        attach_patch_photos(ws, principal, patch_id, list(photos), evidence_folder, max_photo_bytes)
        if photos
        else []
    )
    change = change_patch(
        ws,
        principal,
        patch_id,
        expected=version,
        state=to,
        legality=chosen,
        note=clean,
        verifier=verifier,
        verified_on=(verified_on or as_of) if to == "verified" else None,
        context=context,
    )
    return {**change, "photos": names}
