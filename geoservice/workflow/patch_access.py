"""What a caller does with change patches: list, read, move on, attach photos.

Who may do what (``docs/design.md#access-rules``):

- the forest-chief office and department officers see every patch (the ``patches`` layer
  is shared with departments by its classification); a village sees its own village's
  patches, read only; a viewer none;
- the office and the forestry department (:data:`FORESTRY_DEPARTMENTS`: the 镇农业农村办
  runs forest protection in the town, ``docs/design.md`` section 5) verify patches and move
  them on.

A patch outside the caller's scope is "not found", with the same message as a patch that
does not exist, so its existence is never revealed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError, message
from geoservice.base.records import json_records
from geoservice.base.villages import read_villages, resolve_village
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation import level_label
from geoservice.workflow.patch_states import (
    PATCH_STATES,
    allowed_next,
    check_patch_state,
    legality_label,
    patch_state_label,
)
from geoservice.workflow.patch_store import (
    patch_not_found,
    read_patch_states,
    record_patch_event,
    transaction,
    update_patch,
)
from geoservice.workflow.photos import problem_photos, save_photos, served_photo
from geoservice.workflow.problem_actions import expected_version
from layers.codes import CATEGORIES
from layers.messages import Lang

__all__ = [
    "FORESTRY_DEPARTMENTS",
    "attach_patch_photos",
    "change_patch",
    "expected_patch_version",
    "filter_patches",
    "find_patch",
    "may_update",
    "next_states",
    "patch_mask",
    "patch_photo",
    "patch_photo_folder",
    "patch_photos",
    "patch_records",
    "visible_patches",
]

# Departments whose officers verify patches and move them on (besides the office).
FORESTRY_DEPARTMENTS: tuple[str, ...] = ("agriculture",)


def may_update(principal: Principal) -> bool:
    """Whether ``principal`` verifies patches and moves them on."""
    if principal.role == "office":
        return True
    return principal.role == "department" and principal.department in FORESTRY_DEPARTMENTS


def _check_may_update(principal: Principal, patch_id: str) -> None:
    if may_update(principal):
        return
    raise PermissionDeniedError(
        message(
            "patches.not_verifier",
            f"用户“{principal.name}”不能修改图斑 {patch_id}：现地核实和后续环节由镇林长办和"
            "林业部门（镇农业农村办）办理；你可以查看图斑。",
            f"User {principal.name!r} may not change patch {patch_id}: field verification "
            "and the later stages are done by the forest-chief office and the forestry "
            "department (agriculture office); you may read the patch.",
        )
    )


def patch_mask(principal: Principal, frame: pd.DataFrame) -> np.ndarray:
    """Which patches (rows with ``village_code``) the principal sees."""
    n = len(frame)
    if principal.role in ("office", "department"):
        return np.ones(n, dtype=bool)
    if principal.role == "village" and n:
        codes = frame["village_code"].astype("string").fillna("")
        return np.asarray(codes == (principal.village_code or ""), dtype=bool)
    return np.zeros(n, dtype=bool)


def visible_patches(ws: Workspace, principal: Principal, as_of: date) -> pd.DataFrame:
    """The rows of :func:`read_patch_states` at ``as_of`` the principal sees, by patch id."""
    frame = read_patch_states(ws, as_of)
    return frame.loc[patch_mask(principal, frame)].reset_index(drop=True)


def find_patch(ws: Workspace, principal: Principal, patch_id: str, as_of: date) -> pd.Series:
    """One patch in the caller's scope; NotFoundError (no hint of other ids) otherwise."""
    frame = visible_patches(ws, principal, as_of)
    hit = frame.loc[frame["patch_id"].astype(str) == patch_id]
    if not len(hit):
        raise patch_not_found(patch_id, frame["patch_id"].astype(str).tolist())
    return hit.iloc[0]


def filter_patches(
    ws: Workspace,
    frame: pd.DataFrame,
    *,
    state: str | None = None,
    village: str | None = None,
    overdue: bool = False,
) -> pd.DataFrame:
    """Patches in ``state`` (comma-separated states), of ``village`` (code or name) and,
    with ``overdue``, only those whose stage is overdue."""
    keep = np.ones(len(frame), dtype=bool)
    if state:
        states = [check_patch_state(s.strip()) for s in state.split(",") if s.strip()]
        keep &= frame["state"].astype("string").isin(states).fillna(False).to_numpy(bool)
    if village:
        code, _name = resolve_village(village, read_villages(ws))
        keep &= (frame["village_code"].astype("string") == code).fillna(False).to_numpy(bool)
    if overdue:
        keep &= pd.to_numeric(frame["days_overdue"]).fillna(0).to_numpy() > 0
    return frame.loc[keep].reset_index(drop=True)


def next_states(principal: Principal, row: Mapping[str, Any]) -> tuple[str, ...]:
    """The states ``principal`` may move this patch to now (state machine and role)."""
    if not may_update(principal):
        return ()
    moves = allowed_next(str(row["state"]))
    if row["state"] == "verified" and row.get("legality") == "illegal":
        moves = tuple(m for m in moves if m != "closed")  # closes only after acceptance
    return moves


def patch_records(
    frame: pd.DataFrame, principal: Principal, lang: Lang = "zh"
) -> list[dict[str, Any]]:
    """Patches as JSON records with the labels of state, legality, category and level in
    ``lang`` and the states the principal may move each to."""
    rows = json_records(frame)
    idx = 1 if lang == "en" else 0
    for r in rows:
        r["state_label"] = patch_state_label(str(r["state"]), lang)
        r["legality_label"] = legality_label(r.get("legality"), lang) or None
        cat = str(r.get("category") or "")
        r["category_label"] = CATEGORIES[cat][idx] if cat in CATEGORIES else (cat or None)
        r["level_label"] = level_label(str(r.get("level") or "none"), lang)
        r["next_states"] = [
            {"state": s, "label": patch_state_label(s, lang)} for s in next_states(principal, r)
        ]
    return rows


def expected_patch_version(if_match: str | None, patch_id: str) -> int:
    """The version in ``If-Match: "<version>"``; PreconditionRequiredError when missing,
    OptionError when malformed (the same rule as for problems and targets)."""
    return expected_version(if_match, patch_id, ("图斑", "patch"))


def change_patch(
    ws: Workspace,
    principal: Principal,
    patch_id: str,
    *,
    expected: int | None,
    state: str | None = None,
    legality: str | None = None,
    note: str | None = None,
    verifier: str | None = None,
    verified_on: date | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move a patch in the caller's scope on (the office or the forestry department),
    version-checked when ``expected`` is given.

    Raises
    ------
    NotFoundError
        The patch is not in the caller's scope.
    PermissionDeniedError
        The caller reads patches only.
    OptionError, StaleVersionError
        A move the state machine refuses; a stale version.
    """
    find_patch(ws, principal, patch_id, date.today())
    _check_may_update(principal, patch_id)
    if state is not None and state not in PATCH_STATES:
        check_patch_state(state)
    return update_patch(
        ws,
        patch_id,
        expected,
        actor=principal.actor,
        state=state,
        legality=legality,
        note=note,
        verifier=verifier,
        verified_on=verified_on,
        context=context,
    )


def patch_photo_folder(evidence_folder: Path) -> Path:
    """Where patch photos are kept: one folder per patch under ``patches``."""
    return evidence_folder / "patches"


def attach_patch_photos(
    ws: Workspace,
    principal: Principal,
    patch_id: str,
    files: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_bytes: int,
) -> list[str]:
    """Store verification photos (``(file name, bytes)``) of a patch the caller may change,
    recorded as a ``photos`` history row (the version does not change); the stored names."""
    find_patch(ws, principal, patch_id, date.today())
    _check_may_update(principal, patch_id)
    if not files:
        raise OptionError(
            message(
                "patches.no_photo",
                f"没有收到图斑 {patch_id} 的照片；请选择至少一张照片（JPEG、PNG 或 WebP）。",
                f"No photo of patch {patch_id} was received; choose at least one photo (JPEG, "
                "PNG or WebP).",
            )
        )
    names = save_photos(patch_photo_folder(evidence_folder), patch_id, files, max_bytes=max_bytes)
    with transaction(ws, principal.actor) as con:
        record_patch_event(con, patch_id, "photos", "、".join(names), principal.actor)
    return names


def patch_photos(evidence_folder: Path, patch_id: str) -> list[str]:
    """The stored photo names of a patch, oldest first."""
    return problem_photos(patch_photo_folder(evidence_folder), patch_id)


def patch_photo(
    ws: Workspace, principal: Principal, patch_id: str, name: str, evidence_folder: Path
) -> Path:
    """The stored photo ``name`` of a patch in the caller's scope: with the photo's EXIF
    for the office, the copy without metadata for everyone else
    (:func:`~geoservice.workflow.photos.served_photo`)."""
    find_patch(ws, principal, patch_id, date.today())
    return served_photo(patch_photo_folder(evidence_folder), patch_id, name, principal.role)
