"""The detail pages behind the field app and the progress a village reports.

A problem with its history, map shapes and the states the caller may move it to; a target
with its reasons, outline and problems; a progress or completion report stored with a
version check (Article 7; ``docs/design.md#workflow-states``). An object outside the
caller's scope is a :class:`~geoservice.base.errors.NotFoundError` naming only the id asked
for. Map shapes are GeoJSON in lon/lat (EPSG:4326), simplified in the workspace CRS
(metres) first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, StaleVersionError, message
from geoservice.base.workspace import Workspace
from geoservice.tasks.records import (
    HistoryEntry,
    ProblemDetail,
    ProblemTask,
    TargetDetail,
    problem_tasks,
    scoped_problems,
    scoped_targets,
    target_tasks,
    to_records,
)
from geoservice.workflow.access_rules import check_change, find_problem, transitions_for
from geoservice.workflow.capture_map import captured_areas
from geoservice.workflow.escalation import escalate
from geoservice.workflow.photos import save_photos
from geoservice.workflow.states import check_transition, state_label
from geoservice.workflow.store import history, update_problem
from geoservice.workflow.target_actions import attach_target_photos, record_action
from geoservice.workflow.target_actions import target_detail as target_outcome
from layers.codes import PROBLEM_STATES
from layers.messages import Lang

__all__ = [
    "NOTE_MAX_CHARS",
    "changes_since",
    "clean_note",
    "lonlat_shapes",
    "problem_detail",
    "shape_collection",
    "submit_action",
    "submit_update",
    "target_detail",
]

NOTE_MAX_CHARS = 2000
SIMPLIFY_METRES = 5.0


def clean_note(note: str | None) -> str | None:
    """The note without surrounding blanks (None when empty); OptionError when it is
    longer than :data:`NOTE_MAX_CHARS`."""
    clean = (note or "").strip() or None
    if clean and len(clean) > NOTE_MAX_CHARS:
        raise OptionError(
            message(
                "tasks.long_note",
                f"说明有 {len(clean)} 个字，最多 {NOTE_MAX_CHARS} 个字；请精简后再提交。",
                f"The note has {len(clean)} characters; at most {NOTE_MAX_CHARS} are kept. "
                "Shorten it.",
            )
        )
    return clean


def _no_target(target_id: str) -> NotFoundError:
    return NotFoundError(
        message(
            "tasks.no_target",
            f"没有编号为“{target_id}”的目标，或你无权查看；请从“我的任务”中打开。",
            f"There is no target {target_id!r} that you may see; open it from 'My tasks'.",
        )
    )


def _where(column: str, value: str) -> str:
    return f"{column} = '{value.replace(chr(39), chr(39) * 2)}'"


def _lonlat_shapes(
    ws: Workspace, layer: str, column: str, value: str, kind: str
) -> list[dict[str, Any]]:
    """GeoJSON features (lon/lat to 6 decimals, simplified by :data:`SIMPLIFY_METRES` in
    the workspace CRS, as the web maps draw them) of the rows of ``layer`` where
    column=value; property ``kind``."""
    if not value or layer not in ws.layer_names():
        return []
    frame = ws.read(layer, use_arrow=False, columns=[column], where=_where(column, value))
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty or frame.crs is None:
        return []
    from maps.render import display_frame, geojson

    shown = display_frame(frame, {"kind": [kind] * len(frame)}, layer, SIMPLIFY_METRES)
    features: list[dict[str, Any]] = geojson(shown)["features"]
    return features


def _collection(*parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for p in parts for f in p]}


# The same, for the other detail pages (change patches).
lonlat_shapes = _lonlat_shapes
shape_collection = _collection


def _scoped_problem(
    ws: Workspace, principal: Principal, problem_id: str, as_of: date
) -> tuple[ProblemTask, dict[str, Any]]:
    """The problem if the principal may see it (NotFoundError otherwise, the same message
    as for an id that does not exist) and its row as a plain dict."""
    found = find_problem(ws, principal, problem_id).to_frame().T.reset_index(drop=True)
    found = found.astype({"deadline": "datetime64[ns]", "found_on": "datetime64[ns]"})
    row = {k: (None if pd.isna(v) else v) for k, v in found.iloc[0].to_dict().items()}
    return problem_tasks(found, escalate(found, as_of))[0], row


def _entries(frame: pd.DataFrame) -> list[HistoryEntry]:
    return to_records(HistoryEntry, frame.assign(evidence=frame["evidence"].map(tuple)))


def problem_detail(
    ws: Workspace, principal: Principal, problem_id: str, as_of: date
) -> ProblemDetail:
    """A problem in the principal's scope with history, map shapes and allowed states."""
    task, row = _scoped_problem(ws, principal, problem_id, as_of)
    point = _lonlat_shapes(ws, "problems", "problem_id", problem_id, "problem")
    village = _lonlat_shapes(ws, "villages", "village_code", task.village_code or "", "village")
    coords = point[0]["geometry"]["coordinates"] if point else None
    return ProblemDetail(
        task=task,
        history=_entries(history(ws, problem_id)),
        shapes=_collection(village, captured_areas(ws, "problem", problem_id), point),
        lonlat=(float(coords[0]), float(coords[1])) if coords else None,
        transitions=tuple(transitions_for(principal, row)),
    )


def changes_since(ws: Workspace, problem_id: str, version: int) -> list[HistoryEntry]:
    """History rows made after ``version`` (what someone else changed meanwhile)."""
    frame = history(ws, problem_id)
    return _entries(frame[frame["version"] > version])


def _split_reasons(text: str, lang: Lang) -> list[str]:
    pattern = r"(?<=。)" if lang == "zh" else r"(?<=\.)\s+(?=[A-Z])"
    return [s.strip() for s in re.split(pattern, text or "") if s.strip()]


def target_detail(
    ws: Workspace, principal: Principal, target_id: str, as_of: date, lang: Lang = "zh"
) -> TargetDetail:
    """A target the principal leads or cooperates on (or any, for the office): reasons in
    ``lang``, outline (with its villages' boundaries), and the visible problems of its
    villages."""
    frame = scoped_targets(ws, principal)
    frame = frame[frame["target_id"] == target_id]
    if frame.empty:
        raise _no_target(target_id)
    task = target_tasks(frame, principal)[0]
    reasons = str(frame["reasons"].iloc[0]) if "reasons" in frame else ""
    if "target_reasons" in ws.layer_names():
        table = ws.read("target_reasons")
        found = table.loc[table["target_id"] == target_id, f"reasons_{lang}"]
        reasons = str(found.iloc[0]) if len(found) and pd.notna(found.iloc[0]) else reasons
    probs, esc = scoped_problems(ws, principal, as_of, None)
    mine = probs["village_code"].isin(task.village_codes).fillna(False).to_numpy(bool)
    return TargetDetail(
        task=task,
        reasons=_split_reasons(reasons, lang),
        shapes=_collection(
            *(
                _lonlat_shapes(ws, "villages", "village_code", c, "village")
                for c in task.village_codes
            ),
            _lonlat_shapes(ws, "targets", "target_id", target_id, "target"),
        ),
        problems=problem_tasks(probs[mine], esc[mine]),
        outcome=target_outcome(ws, principal, target_id, lang),
        may_act=principal.role in ("office", "department"),
    )


def submit_action(
    ws: Workspace,
    principal: Principal,
    target_id: str,
    *,
    action: str,
    acted_on: date,
    people: int | None,
    seizures: str | None,
    note: str | None,
    photos: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_photo_bytes: int,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Store an action record of the caller's department on a target, with its photos
    (checked and stored first; nothing is recorded when one is refused)."""
    names = (
        attach_target_photos(ws, principal, target_id, photos, evidence_folder, max_photo_bytes)
        if photos
        else []
    )
    return record_action(
        ws,
        principal,
        target_id,
        acted_on=acted_on,
        action=action,
        evidence_folder=evidence_folder,
        people=people,
        seizures=seizures or None,
        note=note or None,
        photos=names,
        context=context,
    )


# --- reporting progress -----------------------------------------------------------------


def _stale(task: ProblemTask, seen: int) -> StaleVersionError:
    return StaleVersionError(
        message(
            "tasks.stale",
            f"问题 {task.problem_id} 已被他人更新：你打开的是第 {seen} 版，现在是第 "
            f"{task.version} 版（状态“{state_label(task.status)}”）；你的提交没有保存，"
            "请看下面的变化后重新提交。",
            f"Problem {task.problem_id} has been updated by someone else: you opened version "
            f"{seen}, it is now at version {task.version} ({state_label(task.status, 'en')}); "
            "nothing was saved. Check the changes below and submit again.",
        )
    )


def submit_update(
    ws: Workspace,
    principal: Principal,
    problem_id: str,
    *,
    to: str,
    note: str | None,
    version: int,
    photos: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_photo_bytes: int,
    as_of: date,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a village's progress or completion report (or an office decision).

    ``context`` goes into the change's audit row (user id, client address).

    Checks, in order: the problem is in the principal's scope (NotFoundError); the role
    may make this change (PermissionDeniedError); the form was based on the current
    ``version`` (StaleVersionError, nothing saved); the state machine allows the move
    (OptionError). Then stores the photos (OptionError / TooLargeError) and changes the
    state with a version check, so a change made meanwhile is never overwritten.

    Returns
    -------
    dict
        What :func:`~geoservice.workflow.store.update_problem` returns, plus ``evidence``
        (the stored photo names).
    """
    task, row = _scoped_problem(ws, principal, problem_id, as_of)
    if to not in PROBLEM_STATES:
        raise OptionError(
            message(
                "tasks.no_move",
                f"整改进度为“{to}”，未选择或无法识别；请在表单中选择一项整改进度后再提交。",
                f"The progress was {to!r}, which is missing or unknown; choose one in the "
                "form and submit again.",
            )
        )
    check_change(principal, row, to)
    if version != task.version:
        raise _stale(task, version)
    check_transition(problem_id, task.status, to)
    clean = clean_note(note)
    names: list[str] = []
    if photos:
        names = list(
            save_photos(
                folder=evidence_folder,
                problem_id=problem_id,
                files=list(photos),
                max_bytes=max_photo_bytes,
                max_count=4,
            )
        )
    change = update_problem(
        ws,
        problem_id,
        to,
        principal.actor,
        note=clean,
        evidence=names,
        expected_version=version,
        context=context,
    )
    return {**change, "evidence": names}
