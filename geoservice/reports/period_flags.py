"""What happened to each problem and target in a report period.

The flags behind the department meeting report (:mod:`geoservice.reports.departments`),
for a period ``[start, end]`` (both days included) and an evaluation date ``as_of``.
Definitions (the workflow state is the stored one, read when the report is made):

- *handed over*: ``found_on`` within the period;
- *closed*: ``verified``, the last change to ``verified`` in the history within the
  period; a problem imported already verified has no such date and counts in the period
  of its deadline;
- *due* and *on time*: as defined once for the on-time rate
  (:data:`geoservice.workflow.rates.ON_TIME_RATE`, :func:`~geoservice.workflow.rates.on_time_flags`),
  the window being ``[start, min(end, as_of)]``;
- *overdue*: found on or before ``end`` and overdue at ``as_of``
  (:func:`geoservice.workflow.escalation.escalate`);
- *targets*: the ``targets`` layer, counted only when the analysis run that produced it
  is dated within the period (the layer holds the latest run only).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geoservice.base.errors import OptionError, message
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation import escalate
from geoservice.workflow.rates import on_time_flags
from geoservice.workflow.states import OPEN_STATES
from geoservice.workflow.store import history, read_problems

__all__ = ["check_period", "period_targets", "problem_flags", "split_codes"]


# --- checks -----------------------------------------------------------------------------


def check_period(start: date, end: date, as_of: date | None) -> date:
    """Validate the period; returns the evaluation date (``as_of`` or ``end``)."""
    if end < start:
        raise OptionError(
            message(
                "report.period_reversed",
                f"统计期间的开始日期 {start} 晚于结束日期 {end}；请检查 --from 和 --to。",
                f"`from` was {start} but is expected to be on or before `to` ({end}); "
                "swap or fix --from and --to.",
            )
        )
    day = as_of or end
    if day < start:
        raise OptionError(
            message(
                "report.as_of_before_period",
                f"--as-of 为 {day}，早于统计期间开始日期 {start}；应不早于 {start}，"
                "或省略 --as-of（默认取结束日期）。",
                f"`as-of` was {day} but is expected to be on or after the period start "
                f"{start}; fix it or leave it out (it defaults to --to).",
            )
        )
    return day


# --- problems ---------------------------------------------------------------------------


def _transition_dates(hist: pd.DataFrame, state: str) -> pd.Series:
    """Date of each problem's last real change to ``state`` (imports excluded)."""
    real = hist[(hist["to_state"] == state) & hist["from_state"].notna()]
    real = real[~real["note"].fillna("").astype(str).str.startswith("[import")]
    last = real.groupby("problem_id")["at"].max()
    return pd.to_datetime(last.astype(str).str.slice(0, 10)).rename(f"{state}_on")


def split_codes(values: pd.Series) -> pd.Series:
    """Lists of department codes from ``,``- or ``;``-joined text (empty list for NA)."""
    text = values.astype("string").fillna("")
    return text.str.split(r"[,;]").map(lambda items: [s.strip() for s in items if s.strip()])


def problem_flags(ws: Workspace, start: date, end: date, as_of: date) -> pd.DataFrame:
    """One row per problem with the report's flags (see the definitions in the module docstring).

    Columns: ``problem_id``, ``village_code``, ``village_name``, ``category``,
    ``deadline``, ``status``, ``departments`` (list), ``handed``, ``closed``, ``due``,
    ``on_time``, ``overdue`` (bools), ``days_overdue``, ``escalation`` (now) and
    ``escalation_reached``.
    """
    probs = read_problems(ws)
    hist = history(ws)
    ids = probs["problem_id"].astype(object)
    reported_on = pd.to_datetime(ids.map(dict(_transition_dates(hist, "reported").items())))
    verified_on = pd.to_datetime(ids.map(dict(_transition_dates(hist, "verified").items())))
    esc = escalate(probs, as_of, reported_on=reported_on)
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    found = probs["found_on"]
    known = (found.isna() | (found <= last)).to_numpy(dtype=bool)
    status = probs["status"].astype(str)
    verified = (status == "verified").to_numpy(dtype=bool)
    closed_on = verified_on.where(verified_on.notna(), probs["deadline"])
    deadline = probs["deadline"]
    due, on_time = on_time_flags(deadline, status, reported_on, found, start, min(end, as_of))
    return pd.DataFrame(
        {
            "problem_id": probs["problem_id"],
            "village_code": probs["village_code"],
            "village_name": probs["village_name"],
            "category": probs["category"],
            "deadline": deadline,
            "status": status,
            "departments": split_codes(probs["cc_departments"]),
            "handed": ((found >= first) & (found <= last)).to_numpy(dtype=bool),
            "closed": verified & closed_on.between(first, last).to_numpy(dtype=bool),
            "due": due,
            "on_time": on_time,
            "overdue": esc["overdue"].to_numpy(dtype=bool) & known,
            "awaiting": (status == "reported").to_numpy(dtype=bool) & known,
            "days_overdue": esc["days_overdue"],
            "escalation": np.where(known, esc["escalation"], "none"),
            "escalation_reached": np.where(
                known & (probs["status"].isin(OPEN_STATES) | due), esc["escalation_reached"], "none"
            ),
        }
    )


# --- targets ----------------------------------------------------------------------------


def period_targets(ws: Workspace, start: date, end: date) -> tuple[pd.DataFrame, date | None]:
    """The targets layer when its analysis run is dated within the period.

    Returns the frame (``priority``, ``lead_department``, ``cooperating_departments``,
    ``criminal``; empty when the run is outside the period or there is none) and the date
    of the latest analysis run (None without one).
    """
    empty = pd.DataFrame(
        columns=["priority", "lead_department", "cooperating_departments", "criminal"]
    )
    if "targets" not in ws.layer_names():
        return empty, None
    runs = ws.runs()
    if runs.empty:
        return empty, None
    run_day = date.fromisoformat(str(runs["as_of"].iloc[-1])[:10])
    if not start <= run_day <= end:
        return empty, run_day
    frame = ws.read("targets", use_arrow=False, read_geometry=False)
    criminal = frame.get("criminal_threshold_met", pd.Series(False, index=frame.index))
    return (
        pd.DataFrame(
            {
                "priority": frame["priority"].astype(str),
                "lead_department": frame["lead_department"].astype(str),
                "cooperating_departments": frame["cooperating_departments"],
                "criminal": criminal.fillna(False).astype(bool),
            }
        ),
        run_day,
    )
