"""Stage deadlines and escalation of change patches at a date.

Each open stage of a patch (:data:`~geoservice.workflow.patch_states.OPEN_PATCH_STATES`)
is due ``patch_workflow.stage_days[state]`` days after the patch entered it
(``stage_started_on``; the rules file, :mod:`geoservice.analysis.patch_rules`). An overdue
stage escalates exactly as an overdue problem does: the levels and thresholds are those of
:func:`geoservice.workflow.escalation.escalate`, applied to the stage deadline.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from geoservice.workflow.escalation import Thresholds, escalate
from geoservice.workflow.patch_states import OPEN_PATCH_STATES

__all__ = ["stage_days", "stage_deadlines"]


def stage_days(rules_path: Path | None = None) -> dict[str, int]:
    """Days allowed per open patch state under the (overridden) rules."""
    from geoservice.analysis.rules import load_rules

    return dict(load_rules(rules_path).patch_workflow.stage_days.model_dump())


def stage_deadlines(
    frame: pd.DataFrame,
    as_of: date,
    *,
    rules_path: Path | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """The due day, days overdue and escalation level of each patch's current stage.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``state`` and ``stage_started_on`` (``YYYY-MM-DD``) columns.
    as_of : datetime.date
        The evaluation date.
    rules_path : Path, optional
        Rules file overriding ``patch_workflow.stage_days``.
    thresholds : Thresholds, optional
        Escalation thresholds (default: those of ``workflow.yaml``).

    Returns
    -------
    pandas.DataFrame
        Aligned to ``frame``: ``stage_due`` (``YYYY-MM-DD``, None for a closed patch or
        one without a start day), ``days_overdue`` (int) and ``level`` (``none``,
        ``reminder``, ``letter``, ``supervision``, ``listed``).
    """
    if frame.empty:
        return pd.DataFrame(
            {
                "stage_due": pd.Series(dtype=object),
                "days_overdue": pd.Series(dtype="int64"),
                "level": pd.Series(dtype=object),
            },
            index=frame.index,
        )
    days = stage_days(rules_path)
    state = frame["state"].astype("string")
    allowed = pd.to_numeric(state.map(days), errors="coerce")
    started = pd.to_datetime(frame["stage_started_on"], errors="coerce").dt.normalize()
    due = started + pd.to_timedelta(allowed, unit="D")
    is_open = state.isin(OPEN_PATCH_STATES).fillna(False).to_numpy(dtype=bool)
    # The problems' escalation on the stage deadline: an open stage counts as an open problem.
    as_problems = pd.DataFrame(
        {"status": np.where(is_open, "assigned", "verified"), "deadline": due},
        index=frame.index,
    )
    level = escalate(as_problems, as_of, thresholds)
    text = due.dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "stage_due": text.astype(object).where(due.notna() & is_open, None),
            "days_overdue": level["days_overdue"].astype("int64"),
            "level": level["escalation"].astype(object),
        },
        index=frame.index,
    )
