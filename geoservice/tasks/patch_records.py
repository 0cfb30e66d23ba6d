"""Change patches (森林督查变化图斑) as the verifier's phone pages list them.

Who sees and moves which patch is decided by :mod:`geoservice.workflow.patch_access`: the
office and department officers see every patch, a village cadre its own village's, read
only; the office and the forestry department move them on.

A patch is a line of a task list (:class:`PatchTask`) with its stage deadline
(``stage_due``, a calendar date) and days overdue; areas are hectares. Nothing here knows
about HTTP: a patch outside the caller's scope is a
:class:`~geoservice.base.errors.NotFoundError` naming only the id asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.tasks.records import to_records
from geoservice.workflow.escalation import LEVELS
from geoservice.workflow.patch_access import find_patch, may_update, next_states, visible_patches
from layers.messages import Lang, pick

__all__ = [
    "CHANGE_CAUSES",
    "LIST_SIZE",
    "PatchTask",
    "PatchTasks",
    "cause_words",
    "patch_list",
    "patch_tasks",
    "scoped_patch",
]

LIST_SIZE = 50  # patches on a task list, most urgent first

# 森林督查 change causes (BHYY / PAN_BHYY codes, as the national verification app lists
# them), in words.
CHANGE_CAUSES: dict[str, tuple[str, str]] = {
    "11": ("人工造林或飞播造林", "afforestation (planted or aerial seeding)"),
    "12": ("人工更新", "replanting after felling"),
    "20": ("森林采伐", "forest felling"),
    "21": ("经审批采伐林木", "approved felling"),
    "22": ("未经审批采伐林木", "felling without approval"),
    "30": ("规划调整", "planning adjustment"),
    "41": ("经审批使用林地", "approved use of forest land"),
    "411": ("经审批使用林地（永久使用）", "approved use of forest land (permanent)"),
    "412": ("经审批使用林地（临时占用）", "approved use of forest land (temporary)"),
    "413": ("经审批直接为林业生产服务", "approved use serving forestry"),
    "42": ("未经审批使用林地", "use of forest land without approval"),
    "421": ("未经审批使用林地（永久使用）", "use of forest land without approval (permanent)"),
    "422": ("未经审批使用林地（临时占用）", "use of forest land without approval (temporary)"),
    "423": ("未经审批直接为林业生产服务", "use serving forestry without approval"),
    "50": ("毁林（湿）开垦", "forest or wetland cleared for cultivation"),
    "51": ("毁林（湿）开垦：种植", "forest or wetland cleared for planting"),
    "52": ("毁林（湿）开垦：土地整理", "forest or wetland cleared by land consolidation"),
    "60": ("森林抚育", "forest tending"),
    "71": ("火灾", "fire"),
    "72": ("地质灾害", "geological hazard"),
    "73": ("其他灾害因素", "other disaster"),
    "81": ("封山育林", "closed for natural regeneration"),
    "82": ("其他自然因素（自然更新）", "other natural change"),
    "91": ("调查原因导致的地类变化", "land-class change from the survey"),
    "92": ("错划", "mis-mapped"),
    "93": ("其他调查因素", "other survey cause"),
    "94": ("标准调整", "standard revised"),
    "95": ("界线变化（数据库整合）", "boundary change (database merge)"),
    "96": ("界线变化（行政界线调整）", "boundary change (administrative)"),
    "97": ("界线变化（国有林场）", "boundary change (state forest farm)"),
    "98": ("界线变化（自然保护区）", "boundary change (nature reserve)"),
    "99": ("地类未变化，管理因子变化", "land class unchanged, management attributes changed"),
}


@dataclass(frozen=True)
class PatchTask:
    """One change patch as a line of a task list (areas in hectares; ``stage_due`` the
    day its current stage is due, None once closed; ``days_overdue`` 0 when not late)."""

    patch_id: str
    village_code: str | None
    village_name: str | None
    category: str | None
    area_ha: float | None
    change_cause: str | None
    state: str
    legality: str | None
    verifier: str | None
    verified_on: str | None
    stage_due: date | None
    days_overdue: int
    level: str
    problem_id: str | None
    target_id: str | None
    version: int

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


@dataclass(frozen=True)
class PatchTasks:
    """The patches on a person's task list: the most urgent ``shown`` (at most
    :data:`LIST_SIZE`) of ``open`` unclosed ones, ``overdue`` of them late, ``closed``
    closed; ``may_move``: the person moves patches on (else read only)."""

    shown: list[PatchTask] = field(default_factory=list)
    open: int = 0
    overdue: int = 0
    closed: int = 0
    may_move: bool = False


def cause_words(code: Any, lang: Lang = "zh") -> str:
    """A change-cause code in words (``代码 …`` / ``code …`` when unknown, '' when none)."""
    if code is None or (isinstance(code, float) and np.isnan(code)) or str(code).strip() == "":
        return ""
    text = str(code).strip()
    if text in CHANGE_CAUSES:
        return pick(lang, *CHANGE_CAUSES[text])
    return pick(lang, f"代码 {text}", f"code {text}")


def _urgent_first(frame: pd.DataFrame) -> np.ndarray:
    """Open patches first (highest escalation, longest overdue, nearest due day), then
    closed ones; by 图斑号 within a tie."""
    closed = (frame["state"].astype("string") == "closed").fillna(False).to_numpy(bool)
    level = -frame["level"].map({k: i for i, k in enumerate(LEVELS)}).fillna(0).to_numpy(int)
    late = -pd.to_numeric(frame["days_overdue"], errors="coerce").fillna(0).to_numpy(int)
    due = pd.to_datetime(frame["stage_due"], errors="coerce")
    near = due.to_numpy(dtype="datetime64[D]").astype("float")
    near = np.where(np.isnan(near), np.inf, near)
    ids = frame["patch_id"].astype(str).to_numpy()
    return np.lexsort((ids, near, late, level, closed))


def _tasks(frame: pd.DataFrame) -> list[PatchTask]:
    rows = frame.assign(
        stage_due=pd.to_datetime(frame["stage_due"], errors="coerce").dt.date,
        days_overdue=pd.to_numeric(frame["days_overdue"], errors="coerce").fillna(0).astype(int),
        area_ha=pd.to_numeric(frame["area_ha"], errors="coerce"),
        level=frame["level"].fillna("none"),
    )
    return to_records(PatchTask, rows)


def patch_list(ws: Workspace, principal: Principal, as_of: date) -> pd.DataFrame:
    """The patches the principal sees at ``as_of`` (rows of
    :func:`~geoservice.workflow.patch_store.read_patch_states`), most urgent first."""
    if principal.role == "viewer" or "patches" not in ws.layer_names():
        return pd.DataFrame(columns=["patch_id", "village_code", "state"])
    frame = visible_patches(ws, principal, as_of)
    return frame.iloc[_urgent_first(frame)].reset_index(drop=True)


def patch_tasks(ws: Workspace, principal: Principal, as_of: date) -> PatchTasks:
    """The patches on the principal's task list: a village its own (read only), the
    forestry department and the office every patch still open, most urgent first; other
    departments and viewers none."""
    if principal.role == "viewer" or (principal.role == "department" and not may_update(principal)):
        return PatchTasks()
    frame = patch_list(ws, principal, as_of)
    if frame.empty:
        return PatchTasks(may_move=may_update(principal))
    closed = (frame["state"].astype("string") == "closed").fillna(False).to_numpy(bool)
    late = pd.to_numeric(frame["days_overdue"], errors="coerce").fillna(0).to_numpy() > 0
    return PatchTasks(
        shown=_tasks(frame[~closed].head(LIST_SIZE)),
        open=int((~closed).sum()),
        overdue=int((late & ~closed).sum()),
        closed=int(closed.sum()),
        may_move=may_update(principal),
    )


def scoped_patch(
    ws: Workspace, principal: Principal, patch_id: str, as_of: date
) -> tuple[PatchTask, tuple[str, ...]]:
    """The patch if the principal sees it at ``as_of`` (NotFoundError otherwise, the same
    message as for an id that does not exist) and the states the principal may move it
    to (none: read only)."""
    row = find_patch(ws, principal, patch_id, as_of)
    return _tasks(row.to_frame().T)[0], next_states(principal, row.to_dict())
