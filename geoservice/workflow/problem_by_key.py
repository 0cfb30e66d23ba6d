"""One problem read by its id, checked against the caller's scope, as a JSON record.

What ``GET /problems/{id}`` and ``PATCH /problems/{id}`` need of a problem, read by key
(:func:`~geoservice.workflow.store.read_problem_values`) in plain Python rather than by
reading the whole table into a frame: the same values, the same scope rule (office all, a
department those copied to it, a village its own: :func:`may_see`, the one-row form of
:meth:`~geoservice.base.access.Principal.problem_mask`) and the same record as
:func:`~geoservice.workflow.access_rules.problem_records` gives in a list. A row whose
values plain Python would read differently from the frame
(:func:`~geoservice.workflow.problem_values.plain_row`) goes through the frame instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.workflow import access_rules as rules
from geoservice.workflow.escalation import Thresholds, escalate_one, level_label
from geoservice.workflow.problem_values import PROBLEM_COLUMNS, plain_row, typed_frame
from geoservice.workflow.states import state_label
from geoservice.workflow.store import history_not_found, read_problem_values
from layers.messages import Lang

__all__ = ["KeyedProblem", "may_see", "problem_record", "scoped_problem"]


@dataclass(frozen=True)
class KeyedProblem:
    """A problem in the caller's scope.

    Attributes
    ----------
    row : dict or pandas.Series
        The :data:`~geoservice.workflow.problem_values.PROBLEM_COLUMNS`: a plain dict (see
        :func:`~geoservice.workflow.problem_values.plain_row`), or the typed frame's row
        when plain Python would read a value differently.
    history : list of dict
        Its history, oldest first (empty unless asked for).
    patch_id : str or None
        The change patch it was opened for (None unless asked for, or opened for none).
    """

    row: dict[str, Any] | pd.Series
    history: list[dict[str, Any]] = field(default_factory=list)
    patch_id: str | None = None


def may_see(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Whether the principal may see this problem (a plain row): the rule of
    :meth:`~geoservice.base.access.Principal.problem_mask` for one row."""
    if principal.role == "office":
        return True
    if principal.role == "department":
        text = str(row.get("cc_departments") or "").replace(",", ";")
        return principal.department in {x.strip() for x in text.split(";")} - {""}
    if principal.role == "village":
        return str(row.get("village_code") or "") == (principal.village_code or "")
    return False


def scoped_problem(
    ws: Workspace,
    principal: Principal,
    problem_id: str,
    *,
    with_history: bool = True,
    with_patch: bool = False,
) -> KeyedProblem:
    """The problem ``problem_id`` if the principal may see it, with its history and (with
    ``with_patch``) the patch it was opened for, read together.

    Raises
    ------
    NotFoundError
        For an id that does not exist and for a problem outside the caller's scope alike
        (:func:`~geoservice.workflow.access_rules.not_visible`); as
        :func:`~geoservice.workflow.store.history` for a problem without history.
    """
    rows, past, patch = read_problem_values(
        ws, problem_id, with_history=with_history, with_patch=with_patch
    )
    plain = [plain_row(values) for values in rows]
    found: KeyedProblem | None = None
    if all(row is not None for row in plain):
        seen = [row for row in plain if row is not None and may_see(principal, row)]
        found = KeyedProblem(seen[0], past, patch) if seen else None
    else:
        frame = typed_frame(rows)
        frame = frame[principal.problem_mask(frame)]
        found = KeyedProblem(frame.iloc[0], past, patch) if len(frame) else None
    if found is None:
        raise rules.not_visible(ws, principal, problem_id)
    if with_history and not past:
        raise history_not_found(ws, problem_id)
    return found


def problem_record(
    found: KeyedProblem, as_of: date, lang: Lang = "zh", thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """The problem as a record of :func:`~geoservice.workflow.access_rules.problem_records`
    (labels in ``lang``, escalation at ``as_of``)."""
    row = found.row
    if isinstance(row, pd.Series):
        return rules.problem_record(row, as_of, lang, thresholds)
    esc = escalate_one(row["status"], row["deadline"], as_of, thresholds)
    days = {c: None if row[c] is None else row[c].isoformat() for c in ("found_on", "deadline")}
    return {
        **{c: row[c] for c in PROBLEM_COLUMNS},
        **days,
        "cc_departments": rules.dept_list(row["cc_departments"]),
        "status_label": state_label(row["status"], lang),
        "category_label": rules.category_label(row["category"], lang),
        **esc,
        "escalation_label": level_label(esc["escalation"], lang),
    }
