"""What each person has to do: the task lists and detail records behind the field pages.

A village cadre sees the village's own problems, most urgent first; a department its
targets (lead first, then cooperating) and the problems copied to it; the forest-chief office
everything, filtered; a viewer only the public per-village summary (DESIGN §7-§8, Article 7).
Nothing here knows about HTTP: the records are plain dataclasses, an object outside the
caller's scope is a :class:`~geoservice.errors.NotFoundError` naming only the id asked for.

Dates are calendar dates; geometry handed out is GeoJSON in lon/lat (EPSG:4326), simplified
in the workspace CRS (metres) first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import shapely

from geoservice.access import Principal
from geoservice.errors import NotFoundError, OptionError, StaleVersionError, message
from geoservice.workflow.access_rules import check_change, find_problem, transitions_for
from geoservice.workflow.escalation import LEVELS, Thresholds, escalate
from geoservice.workflow.evidence import save_photos
from geoservice.workflow.states import OPEN_STATES, check_transition, state_label
from geoservice.workflow.store import history, read_problems, update_problem
from geoservice.workflow.villages import read_villages, village_status
from geoservice.workspace import Workspace
from layers.codes import PROBLEM_STATES
from layers.messages import Lang

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "DepartmentTasks",
    "HistoryEntry",
    "OfficeTasks",
    "ProblemDetail",
    "ProblemTask",
    "TargetDetail",
    "TargetTask",
    "TaskFilters",
    "changes_since",
    "department_tasks",
    "office_tasks",
    "problem_detail",
    "public_summary",
    "submit_update",
    "target_detail",
    "village_tasks",
]

PAGE_SIZE = 100
NOTE_MAX_CHARS = 2000
SIMPLIFY_METRES = 5.0
T = TypeVar("T", bound="DataclassInstance")
_PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2}


# --- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemTask:
    """One problem as a line of a task list.

    ``days_left`` is deadline minus the evaluation date in days (negative once passed,
    None without a deadline); ``escalation`` one of
    :data:`~geoservice.workflow.escalation.LEVELS`.
    """

    problem_id: str
    village_code: str | None
    village_name: str | None
    category: str
    description: str
    campaign: str | None
    found_on: date | None
    deadline: date | None
    status: str
    version: int
    cc_departments: tuple[str, ...]
    days_left: int | None
    overdue: bool
    days_overdue: int
    escalation: str


@dataclass(frozen=True)
class TargetTask:
    """One enforcement target as a line of a department's list; ``role`` is ``lead``,
    ``cooperating`` or ``office``."""

    target_id: str
    priority: str
    score: float
    village_names: tuple[str, ...]
    village_codes: tuple[str, ...]
    categories: tuple[str, ...]
    lead_department: str
    cooperating_departments: tuple[str, ...]
    area_ha: float
    complaint_count: int
    patch_area_ha: float
    open_problem_count: int
    criminal_threshold_met: bool
    role: str


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a problem's history (``evidence``: stored photo names)."""

    at: str
    by: str
    from_state: str | None
    to_state: str
    note: str | None
    evidence: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class TaskFilters:
    """The office's filters: village code, state, overdue only, page (from 1)."""

    village: str | None = None
    state: str | None = None
    overdue_only: bool = False
    page: int = 1


@dataclass(frozen=True)
class DepartmentTasks:
    targets: list[TargetTask]
    problems: list[ProblemTask]


@dataclass(frozen=True)
class OfficeTasks:
    """Problems matching ``filters`` (one page of ``total``), every target, and the
    villages to filter by as (code, name)."""

    problems: list[ProblemTask]
    total: int
    pages: int
    filters: TaskFilters
    targets: list[TargetTask]
    villages: list[tuple[str, str]]


@dataclass(frozen=True)
class ProblemDetail:
    """A problem with its history, location and the states the caller may move it to.

    ``shapes`` is a GeoJSON FeatureCollection (lon/lat) of the village boundary and the
    problem point; ``lonlat`` the point, None when the problem has no location.
    """

    task: ProblemTask
    history: list[HistoryEntry]
    shapes: dict[str, Any]
    lonlat: tuple[float, float] | None
    transitions: tuple[str, ...]


@dataclass(frozen=True)
class TargetDetail:
    """A target with its reasons (one sentence per item), outline and problems."""

    task: TargetTask
    reasons: list[str]
    shapes: dict[str, Any]
    problems: list[ProblemTask] = field(default_factory=list)


# --- problems ---------------------------------------------------------------------------


def _split(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("")
    return text.str.split(r"\s*[,;；、]\s*", regex=True).map(lambda xs: tuple(x for x in xs if x))


def _records(cls: type[T], frame: pd.DataFrame) -> list[T]:
    """One ``cls`` per row, from the columns named like its fields (missing → None)."""
    cells = frame[[f.name for f in fields(cls)]].astype(object)
    return [cls(**r) for r in cells.where(cells.notna(), None).to_dict("records")]


def _urgent_first(frame: pd.DataFrame, esc: pd.DataFrame) -> np.ndarray:
    """Row order: overdue (highest level, longest overdue first), then open by nearest
    deadline, then reported, then verified (latest deadline first)."""
    status = frame["status"].astype("string").fillna("")
    group = np.select(
        [
            esc["overdue"].to_numpy(bool),
            status.isin(OPEN_STATES).to_numpy(bool),
            status == "reported",
        ],
        [0, 1, 2],
        default=3,
    )
    left = esc["days_to_deadline"].to_numpy(float)
    near = np.where(group <= 1, left, -left)
    near = np.where(np.isnan(near), np.inf, near)
    level = -esc["escalation"].map(LEVELS.index).to_numpy(int)
    ids = frame["problem_id"].astype(str).to_numpy()
    return np.lexsort((ids, near, -esc["days_overdue"].to_numpy(int), level, group))


def _problem_tasks(frame: pd.DataFrame, esc: pd.DataFrame) -> list[ProblemTask]:
    rows = frame.assign(
        category=frame["category"].fillna("other"),
        description=frame["description"].fillna(""),
        found_on=frame["found_on"].dt.date,
        deadline=frame["deadline"].dt.date,
        cc_departments=_split(frame["cc_departments"]),
        days_left=esc["days_to_deadline"].round().astype("Int64"),
        overdue=esc["overdue"],
        days_overdue=esc["days_overdue"],
        escalation=esc["escalation"],
    )
    return _records(ProblemTask, rows)


def _scoped_problems(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The problems the principal may see, most urgent first, with their escalation."""
    probs = read_problems(ws)
    probs = probs[principal.problem_mask(probs)].reset_index(drop=True)
    esc = escalate(probs, as_of, thresholds)
    order = _urgent_first(probs, esc)
    return probs.iloc[order].reset_index(drop=True), esc.iloc[order].reset_index(drop=True)


def village_tasks(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None = None
) -> list[ProblemTask]:
    """A village's own problems, most urgent first (nothing for other roles' villages)."""
    probs, esc = _scoped_problems(ws, principal, as_of, thresholds)
    return _problem_tasks(probs, esc)


def _scoped_targets(ws: Workspace, principal: Principal) -> pd.DataFrame:
    if "targets" not in ws.layer_names():
        return pd.DataFrame({"target_id": pd.Series(dtype="string")})
    frame = ws.read("targets", use_arrow=False, read_geometry=False)
    return frame[principal.target_mask(frame)].reset_index(drop=True)


def _target_tasks(frame: pd.DataFrame, principal: Principal) -> list[TargetTask]:
    """Targets led by the principal's department first, then by priority and score."""
    if frame.empty:
        return []
    lead = frame["lead_department"].astype("string").fillna("")
    role = np.where(
        principal.role == "department",
        np.where(lead == (principal.department or ""), "lead", "cooperating"),
        "office",
    )
    rank = frame["priority"].map(_PRIORITY_ORDER).fillna(9).to_numpy(float)
    order = np.lexsort((-frame["score"].to_numpy(float), rank, role != "lead"))
    rows = frame.assign(
        role=role,
        village_names=_split(frame["village_names"]),
        village_codes=_split(frame["village_codes"]),
        categories=_split(frame["categories"]),
        cooperating_departments=_split(frame["cooperating_departments"]),
    )
    return _records(TargetTask, rows.iloc[order])


def department_tasks(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None = None
) -> DepartmentTasks:
    """A department's targets (lead first, then cooperating) and the problems copied to it."""
    probs, esc = _scoped_problems(ws, principal, as_of, thresholds)
    return DepartmentTasks(
        targets=_target_tasks(_scoped_targets(ws, principal), principal),
        problems=_problem_tasks(probs, esc),
    )


def _check_filters(filters: TaskFilters, villages: pd.DataFrame) -> None:
    if filters.state and filters.state not in PROBLEM_STATES:
        raise OptionError(
            message(
                "tasks.bad_state",
                f"状态筛选为“{filters.state}”，应为以下之一：{'、'.join(PROBLEM_STATES)}。",
                f"`state` was {filters.state!r} but is expected to be one of "
                f"{', '.join(PROBLEM_STATES)}.",
            )
        )
    if filters.village and filters.village not in set(villages["village_code"].dropna()):
        raise OptionError(
            message(
                "tasks.bad_village",
                f"村筛选为“{filters.village}”，不是村界图层中的村代码；请从列表中选择。",
                f"`village` was {filters.village!r}, which is not a village code of the "
                "villages layer; pick one from the list.",
            )
        )


def office_tasks(
    ws: Workspace,
    principal: Principal,
    as_of: date,
    filters: TaskFilters,
    thresholds: Thresholds | None = None,
) -> OfficeTasks:
    """Every problem matching ``filters`` (most urgent first, :data:`PAGE_SIZE` a page),
    every target and the village list. PermissionDeniedError for other roles."""
    principal.require("office")
    villages = read_villages(ws)
    _check_filters(filters, villages)
    probs, esc = _scoped_problems(ws, principal, as_of, thresholds)
    keep = np.ones(len(probs), dtype=bool)
    if filters.village:
        keep &= (probs["village_code"] == filters.village).fillna(False).to_numpy(bool)
    if filters.state:
        keep &= (probs["status"] == filters.state).fillna(False).to_numpy(bool)
    if filters.overdue_only:
        keep &= esc["overdue"].to_numpy(bool)
    total = int(keep.sum())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    start = (page - 1) * PAGE_SIZE
    rows = np.flatnonzero(keep)[start : start + PAGE_SIZE]
    return OfficeTasks(
        problems=_problem_tasks(probs.iloc[rows], esc.iloc[rows]),
        total=total,
        pages=pages,
        filters=TaskFilters(filters.village, filters.state, filters.overdue_only, page),
        targets=_target_tasks(_scoped_targets(ws, principal), principal),
        villages=list(zip(villages["village_code"], villages["village_name"], strict=True)),
    )


def public_summary(ws: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Per village: name and problem counts (total, open, overdue, awaiting verification,
    verified) and the on-time rate — no problem ids, nothing below village level."""
    status = village_status(ws, as_of)
    cols = ["village_name", "problems", "open", "overdue", "awaiting_verification", "verified"]
    out = status[cols].astype(object).where(status[cols].notna(), None)
    rate = status["on_time_rate"].astype(float)
    return [
        {**row, "on_time_rate": None if np.isnan(r) else float(r)}
        for row, r in zip(out.to_dict("records"), rate.to_numpy(), strict=True)
    ]


# --- detail pages -----------------------------------------------------------------------


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
    """GeoJSON features (lon/lat, simplified) of the rows of ``layer`` where column=value."""
    if not value or layer not in ws.layer_names():
        return []
    frame = ws.read(layer, use_arrow=False, columns=[column], where=_where(column, value))
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty or frame.crs is None:
        return []
    simple = frame.geometry.simplify(SIMPLIFY_METRES, preserve_topology=True).to_crs(4326)
    geoms = shapely.set_precision(simple.to_numpy(), 1e-6)
    return [
        {"type": "Feature", "properties": {"kind": kind}, "geometry": json.loads(g)}
        for g in shapely.to_geojson(geoms)
    ]


def _collection(*parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for p in parts for f in p]}


def _scoped_problem(
    ws: Workspace, principal: Principal, problem_id: str, as_of: date
) -> tuple[ProblemTask, dict[str, Any]]:
    """The problem if the principal may see it (NotFoundError otherwise, the same message
    as for an id that does not exist) and its row as a plain dict."""
    found = find_problem(ws, principal, problem_id).to_frame().T.reset_index(drop=True)
    found = found.astype({"deadline": "datetime64[ns]", "found_on": "datetime64[ns]"})
    row = {k: (None if pd.isna(v) else v) for k, v in found.iloc[0].to_dict().items()}
    return _problem_tasks(found, escalate(found, as_of))[0], row


def _entries(frame: pd.DataFrame) -> list[HistoryEntry]:
    return _records(HistoryEntry, frame.assign(evidence=frame["evidence"].map(tuple)))


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
        shapes=_collection(village, point),
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
    frame = _scoped_targets(ws, principal)
    frame = frame[frame["target_id"] == target_id]
    if frame.empty:
        raise _no_target(target_id)
    task = _target_tasks(frame, principal)[0]
    reasons = str(frame["reasons"].iloc[0]) if "reasons" in frame else ""
    if "target_reasons" in ws.layer_names():
        table = ws.read("target_reasons")
        found = table.loc[table["target_id"] == target_id, f"reasons_{lang}"]
        reasons = str(found.iloc[0]) if len(found) and pd.notna(found.iloc[0]) else reasons
    probs, esc = _scoped_problems(ws, principal, as_of, None)
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
        problems=_problem_tasks(probs[mine], esc[mine]),
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
) -> dict[str, Any]:
    """Record a village's progress or completion report (or an office decision).

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
        ws, problem_id, to, principal.actor, note=clean, evidence=names, expected_version=version
    )
    return {**change, "evidence": names}
