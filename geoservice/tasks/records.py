"""The records behind the task lists and detail pages, and how they are built from frames.

Plain frozen dataclasses (no HTTP): a problem or a target as a line of a list, a history
row, the office's filters and the lists and detail records of :mod:`geoservice.tasks.lists` and
:mod:`geoservice.tasks.detail`. The builders read the problems and targets the principal may
see (:class:`~geoservice.base.access.Principal` masks) and order them most urgent first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from geoservice.analysis.target_register import read_register, with_states
from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.workflow.access_rules import visible_problems
from geoservice.workflow.escalation import LEVELS, Thresholds, escalate
from geoservice.workflow.states import OPEN_STATES

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
    "problem_tasks",
    "scoped_problems",
    "scoped_targets",
    "split_list",
    "target_tasks",
    "to_records",
    "urgent_first",
]

T = TypeVar("T", bound="DataclassInstance")
_PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2}


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
    state: str = "new"  # the outcome (geoservice.workflow.target_states)


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
    villages: list[tuple[str, str | None]]


@dataclass(frozen=True)
class ProblemDetail:
    """A problem with its history, location and the states the caller may move it to.

    ``shapes`` is a GeoJSON FeatureCollection (lon/lat) of the village boundary, the
    areas drawn on the map when it was captured in the field (``kind`` ``area``) and the
    problem point; ``lonlat`` the point, None when the problem has no location.
    """

    task: ProblemTask
    history: list[HistoryEntry]
    shapes: dict[str, Any]
    lonlat: tuple[float, float] | None
    transitions: tuple[str, ...]


@dataclass(frozen=True)
class TargetDetail:
    """A target with its reasons (one sentence per item), outline and problems, and its
    outcome: ``outcome`` holds ``state``, ``state_label``, ``version``, ``case_number``,
    ``history`` and ``actions`` (:func:`geoservice.workflow.target_actions.target_detail`);
    ``may_act``: the caller may add an action record."""

    task: TargetTask
    reasons: list[str]
    shapes: dict[str, Any]
    problems: list[ProblemTask] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)
    may_act: bool = False


# --- building them ----------------------------------------------------------------------


def split_list(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("")
    return text.str.split(r"\s*[,;；、]\s*", regex=True).map(lambda xs: tuple(x for x in xs if x))


def to_records(cls: type[T], frame: pd.DataFrame) -> list[T]:
    """One ``cls`` per row, from the columns named like its fields (missing → None)."""
    cells = frame[[f.name for f in fields(cls)]].astype(object)
    return [cls(**r) for r in cells.where(cells.notna(), None).to_dict("records")]


def urgent_first(frame: pd.DataFrame, esc: pd.DataFrame) -> np.ndarray:
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


def problem_tasks(frame: pd.DataFrame, esc: pd.DataFrame) -> list[ProblemTask]:
    rows = frame.assign(
        category=frame["category"].fillna("other"),
        description=frame["description"].fillna(""),
        found_on=frame["found_on"].dt.date,
        deadline=frame["deadline"].dt.date,
        cc_departments=split_list(frame["cc_departments"]),
        days_left=esc["days_to_deadline"].round().astype("Int64"),
        overdue=esc["overdue"],
        days_overdue=esc["days_overdue"],
        escalation=esc["escalation"],
    )
    return to_records(ProblemTask, rows)


def scoped_problems(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The problems the principal may see, most urgent first, with their escalation."""
    probs = visible_problems(ws, principal)
    esc = escalate(probs, as_of, thresholds)
    order = urgent_first(probs, esc)
    return probs.iloc[order].reset_index(drop=True), esc.iloc[order].reset_index(drop=True)


def scoped_targets(ws: Workspace, principal: Principal) -> pd.DataFrame:
    if "targets" not in ws.layer_names():
        return pd.DataFrame({"target_id": pd.Series(dtype="string")})
    frame = ws.read("targets", use_arrow=False, read_geometry=False)
    frame = with_states(frame, read_register(ws))
    return frame[principal.target_mask(frame)].reset_index(drop=True)


def target_tasks(frame: pd.DataFrame, principal: Principal) -> list[TargetTask]:
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
        village_names=split_list(frame["village_names"]),
        village_codes=split_list(frame["village_codes"]),
        categories=split_list(frame["categories"]),
        cooperating_departments=split_list(frame["cooperating_departments"]),
    )
    return to_records(TargetTask, rows.iloc[order])
