"""Who may see and change which problem, and problems as plain JSON records.

Shared by the web API and the field pages so both apply one rule set
(``docs/design.md#workflow-states``, ``docs/design.md#access-rules``):

- the office may make every transition the state machine allows
  (:data:`~geoservice.workflow.states.TRANSITIONS`);
- a village may report rectification on its own problems only: the moves in
  :data:`VILLAGE_MOVES`; verifying (销号) and sending back (退回) are the office's;
- departments and viewers only read.

A problem outside the caller's scope is "not found", with the same message as a problem
that does not exist, so its existence is never revealed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geoservice.base import dates
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, PermissionDeniedError, message
from geoservice.base.records import json_records
from geoservice.base.villages import read_villages, resolve_village
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation import Thresholds, escalate, level_label
from geoservice.workflow.patch_progress import PATCH_STATUS_COLUMNS
from geoservice.workflow.states import allowed_next, check_state, state_label
from geoservice.workflow.store import read_problem, read_problems
from layers.codes import CATEGORIES, department_codes
from layers.messages import Lang, pick

__all__ = [
    "VILLAGE_MOVES",
    "category_label",
    "check_change",
    "dept_list",
    "filter_problems",
    "find_problem",
    "json_records",
    "not_visible",
    "parse_day",
    "problem_record",
    "problem_records",
    "status_records",
    "transitions_for",
    "village_may",
    "visible_problems",
]

# (from, to) moves a village may make on its own problems: rectification reporting.
VILLAGE_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        ("assigned", "in_progress"),
        ("in_progress", "reported"),
        ("assigned", "reported"),
        ("rejected", "in_progress"),
        ("rejected", "reported"),
    }
)
_VILLAGE_TARGETS = frozenset(to for _from, to in VILLAGE_MOVES)


def village_may(from_state: str, to_state: str) -> bool:
    """Whether a village may move its own problem from ``from_state`` to ``to_state``.

    This is the role rule only; the move must also be allowed by the state machine.
    """
    return (from_state, to_state) in VILLAGE_MOVES


def _owns(principal: Principal, row: Mapping[str, Any]) -> bool:
    code = row.get("village_code")
    return principal.role == "village" and bool(code) and str(code) == principal.village_code


def transitions_for(principal: Principal, problem_row: Mapping[str, Any]) -> tuple[str, ...]:
    """The states ``principal`` may move this problem to now (state machine and role).

    ``problem_row`` needs ``status`` and ``village_code`` (a dict or a pandas row).
    """
    nxt = allowed_next(str(problem_row.get("status")))
    if principal.role == "office":
        return nxt
    if _owns(principal, problem_row):
        current = str(problem_row.get("status"))
        return tuple(s for s in nxt if village_may(current, s))
    return ()


def check_change(principal: Principal, problem_row: Mapping[str, Any], to_state: str) -> None:
    """Refuse a change the caller's role does not allow.

    Raises
    ------
    OptionError
        ``to_state`` is not a problem state.
    PermissionDeniedError
        A department or viewer (read only), a village changing a problem that is not its
        own, or a village asking for a state only the office sets (verified, rejected).

    A move to a state the village may set but not from the current state (for example
    ``verified`` → ``in_progress``) is left to the state machine, which names the allowed
    next states.
    """
    check_state(to_state)
    if principal.role == "office":
        return
    pid = str(problem_row.get("problem_id"))
    if principal.role == "village" and _owns(principal, problem_row):
        if village_may(str(problem_row.get("status")), to_state) or to_state in _VILLAGE_TARGETS:
            return
        raise PermissionDeniedError(
            message(
                "workflow.village_cannot",
                f"问题 {pid} 不能由村改为 {to_state}（{state_label(to_state)}）：核验销号和退回由"
                "镇林长办办理；村可将问题改为整改中或已整改。",
                f"A village cannot move problem {pid} to {to_state!r}: verifying and sending "
                "back are done by the forest-chief office; a village may set in_progress or "
                "reported.",
            )
        )
    raise PermissionDeniedError(
        message(
            "workflow.read_only",
            f"用户“{principal.name}”只能查看问题 {pid}，不能修改其状态；整改情况由村上报、"
            "镇林长办核验。",
            f"User {principal.name!r} may read problem {pid} but not change its status; "
            "villages report rectification and the forest-chief office verifies it.",
        )
    )


def visible_problems(ws: Workspace, principal: Principal) -> pd.DataFrame:
    """The problems (:func:`~geoservice.workflow.store.read_problems`) the principal may see."""
    probs = read_problems(ws)
    return probs[principal.problem_mask(probs)].reset_index(drop=True)


def find_problem(ws: Workspace, principal: Principal, problem_id: str) -> pd.Series:
    """The problem ``problem_id`` if the principal may see it.

    Reads the problem by key (:func:`~geoservice.workflow.store.read_problem`) and applies
    :meth:`~geoservice.base.access.Principal.problem_mask` to it, the rule
    :func:`visible_problems` applies to the whole table.

    Raises
    ------
    NotFoundError
        Naming the id, with close ids among the visible problems only; the same for a
        problem that exists outside the caller's scope (:func:`not_visible`).
    """
    rows = read_problem(ws, problem_id)
    seen = rows[principal.problem_mask(rows)]
    if len(seen):
        return seen.iloc[0]
    raise not_visible(ws, principal, problem_id)


def not_visible(ws: Workspace, principal: Principal, problem_id: str) -> NotFoundError:
    """The error for a problem that does not exist or that the principal may not see:
    the same for both, naming the id, with close ids among the visible problems only
    (which reads them all: a refusal, not the common path)."""
    known = visible_problems(ws, principal)["problem_id"].dropna().astype(str).tolist()
    close = difflib.get_close_matches(problem_id, known, n=3, cutoff=0.6)
    hint_zh = f"相近的编号：{'、'.join(close)}。" if close else "请查看问题清单。"
    hint_en = f" Close ids: {', '.join(close)}." if close else " See the problem list."
    return NotFoundError(
        message(
            "workflow.no_problem",
            f"没有编号为“{problem_id}”的问题，或你无权查看；{hint_zh}",
            f"There is no problem {problem_id!r} that you may see.{hint_en}",
        )
    )


def filter_problems(
    ws: Workspace,
    problems: pd.DataFrame,
    *,
    village: str | None = None,
    status: str | None = None,
    department: str | None = None,
) -> pd.DataFrame:
    """Problems of one village (code or name), in one state, copied to one department.

    Unknown villages, states and departments raise errors naming the value and the fix.
    """
    keep = np.ones(len(problems), dtype=bool)
    if village:
        code, _name = resolve_village(village, read_villages(ws))
        keep &= (problems["village_code"] == code).fillna(False).to_numpy(dtype=bool)
    if status:
        keep &= (problems["status"] == check_state(status)).fillna(False).to_numpy(dtype=bool)
    if department:
        codes, unknown = department_codes(pd.Series([department], dtype="string"))
        if unknown or pd.isna(codes.iloc[0]):
            raise OptionError(
                message(
                    "workflow.bad_department",
                    f"department 为“{department}”，无法识别；请使用部门代码或名称，如 police、镇郊派出所。",
                    f"`department` was {department!r}, which names no department; use a "
                    "department code or name such as police or 镇郊派出所.",
                )
            )
        wanted = set(str(codes.iloc[0]).split(","))
        copied = _dept_lists(problems["cc_departments"]).map(lambda d: bool(wanted & set(d)))
        keep &= copied.to_numpy(dtype=bool)
    return problems[keep].reset_index(drop=True)


def _dept_lists(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("").str.replace(";", ",")
    return text.str.split(",").map(lambda xs: [x.strip() for x in xs if x.strip()])


def dept_list(text: str | None) -> list[str]:
    """One ``cc_departments`` value as the list of codes (``a,b`` or ``a;b``)."""
    return [x.strip() for x in (text or "").replace(";", ",").split(",") if x.strip()]


def problem_records(
    problems: pd.DataFrame,
    as_of: date,
    lang: Lang = "zh",
    thresholds: Thresholds | None = None,
) -> list[dict[str, Any]]:
    """Problems as JSON records with labels and their escalation at ``as_of``.

    Returns
    -------
    list of dict
        The :data:`~geoservice.workflow.store.PROBLEM_COLUMNS` (``found_on`` and
        ``deadline`` as ``YYYY-MM-DD``, ``cc_departments`` as a list of codes, ``version``
        int) plus ``status_label`` and ``category_label`` in ``lang``,
        ``days_to_deadline`` (int or None), ``overdue``, ``days_overdue`` and
        ``escalation`` with ``escalation_label``.
    """
    esc = escalate(problems, as_of, thresholds)
    out = problems.assign(
        cc_departments=_dept_lists(problems["cc_departments"]),
        status_label=problems["status"].map(lambda s: state_label(str(s), lang)),
        category_label=problems["category"].map(lambda c: category_label(c, lang)),
        days_to_deadline=pd.array(np.round(esc["days_to_deadline"]), dtype="Int64"),
        overdue=esc["overdue"],
        days_overdue=esc["days_overdue"],
        escalation=esc["escalation"],
        escalation_label=esc["escalation"].map(lambda v: level_label(str(v), lang)),
    )
    return json_records(out)


def problem_record(
    row: pd.Series, as_of: date, lang: Lang = "zh", thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """One problem (a row of :func:`find_problem`) as a record of :func:`problem_records`."""
    frame = row.to_frame().T.infer_objects()
    return problem_records(frame, as_of, lang, thresholds)[0]


def category_label(code: object, lang: Lang) -> str | None:
    """The name of a problem category code in ``lang`` (None for no category)."""
    if code is None or pd.isna(code):
        return None
    return pick(lang, *CATEGORIES.get(str(code), (str(code), str(code))))


def status_records(table: pd.DataFrame, principal: Principal) -> list[dict[str, Any]]:
    """The village status table (:func:`~geoservice.workflow.villages.village_status`) as
    the principal may see it: a village only its own row; ``targets`` (enforcement target
    counts) only for the office and departments, None for the others; the change-patch
    figures None for viewers."""
    rows = table
    if principal.role == "village":
        rows = table[table["village_code"] == (principal.village_code or "")]
    if principal.role not in ("office", "department"):
        rows = rows.assign(targets=None)
    if principal.role == "viewer":  # the patches layer is not shared with viewers
        rows = rows.assign(**dict.fromkeys(PATCH_STATUS_COLUMNS))
    return json_records(rows.reset_index(drop=True))


def parse_day(text: str | None, name: str = "as_of") -> date:
    """A ``YYYY-MM-DD`` date (today when empty); OptionError naming ``name`` otherwise."""
    return dates.parse_day(text, name, "workflow.bad_date")
