"""What each person has to do: the task lists and detail records behind the field pages.

A village cadre sees the village's own problems, most urgent first; a department its
targets (lead first, then cooperating) and the problems copied to it; the forest-chief office
everything, filtered; a viewer only the public per-village summary (Article 7; design:
``docs/design.md#workflow-states`` and ``docs/design.md#access-rules``).
Nothing here knows about HTTP: the records are plain dataclasses, an object outside the
caller's scope is a :class:`~geoservice.base.errors.NotFoundError` naming only the id asked for.

Dates are calendar dates; geometry handed out is GeoJSON in lon/lat (EPSG:4326), simplified
in the workspace CRS (metres) first.

The records are in :mod:`geoservice.tasks.records`; the detail pages and progress reports
in :mod:`geoservice.tasks.detail` (both importable from here too).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message
from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from geoservice.tasks.detail import changes_since, problem_detail, submit_update, target_detail
from geoservice.tasks.records import (
    DepartmentTasks,
    HistoryEntry,
    OfficeTasks,
    ProblemDetail,
    ProblemTask,
    TargetDetail,
    TargetTask,
    TaskFilters,
    problem_tasks,
    scoped_problems,
    scoped_targets,
    target_tasks,
)
from geoservice.workflow.escalation import Thresholds
from geoservice.workflow.villages import village_status
from layers.codes import PROBLEM_STATES

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


def village_tasks(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None = None
) -> list[ProblemTask]:
    """A village's own problems, most urgent first (nothing for other roles' villages)."""
    probs, esc = scoped_problems(ws, principal, as_of, thresholds)
    return problem_tasks(probs, esc)


def department_tasks(
    ws: Workspace, principal: Principal, as_of: date, thresholds: Thresholds | None = None
) -> DepartmentTasks:
    """A department's targets (lead first, then cooperating) and the problems copied to it."""
    probs, esc = scoped_problems(ws, principal, as_of, thresholds)
    return DepartmentTasks(
        targets=target_tasks(scoped_targets(ws, principal), principal),
        problems=problem_tasks(probs, esc),
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
    probs, esc = scoped_problems(ws, principal, as_of, thresholds)
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
        problems=problem_tasks(probs.iloc[rows], esc.iloc[rows]),
        total=total,
        pages=pages,
        filters=TaskFilters(filters.village, filters.state, filters.overdue_only, page),
        targets=target_tasks(scoped_targets(ws, principal), principal),
        villages=_village_choices(villages),
    )


def _village_choices(villages: pd.DataFrame) -> list[tuple[str, str | None]]:
    """(code, name) of the villages a list can be filtered by: those with a code."""
    known = villages[villages["village_code"].notna()]
    names = known["village_name"].astype(object).where(known["village_name"].notna(), None)
    return list(zip(known["village_code"].astype(str), names, strict=True))


def public_summary(ws: Workspace, as_of: date) -> list[dict[str, Any]]:
    """Per village: code, name and problem counts (total, open, overdue, awaiting verification,
    verified) and the on-time rate — no problem ids, nothing below village level."""
    status = village_status(ws, as_of)
    cols = [
        "village_code",
        "village_name",
        "problems",
        "open",
        "overdue",
        "awaiting_verification",
        "verified",
    ]
    out = status[cols].astype(object).where(status[cols].notna(), None)
    rate = status["on_time_rate"].astype(float)
    return [
        {**row, "on_time_rate": None if np.isnan(r) else float(r)}
        for row, r in zip(out.to_dict("records"), rate.to_numpy(), strict=True)
    ]
