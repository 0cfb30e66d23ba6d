"""The department meeting report of Article 9: the numbers.

At town forest-chief meetings each cooperating department reports what it did, the
results, its problems and suggestions (Art. 9 of the collaboration rules). This module
computes, for a period ``[start, end]`` (both days included) and an evaluation date
``as_of`` (default ``end``):

- per department, every registered department (14) with zeros shown: what it did (its
  ledger entries by kind, its action records on targets, people deployed), the targets it
  leads, cooperates on and led to closure, and the inspection problems copied to it
  (抄送, Art. 7) with how many were due and rectified on time; the columns are the small
  functions of :mod:`geoservice.reports.department_columns`;
- per department, its own account of the period (履职情况, the statements of
  :mod:`geoservice.workflow.ledger` whose period overlaps the report's);
- per village: the same problem counts and on-time rate, with the highest escalation
  level reached;
- "problems and suggestions": sentences in Chinese and English generated from the
  overdue, escalated and unverified problems.

The per-problem flags (handed over, closed, due, on time, overdue) and the targets counted
are defined and computed in :mod:`geoservice.reports.period_flags`; this module tabulates
them per department and per village and assembles the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geoservice.analysis.target_register import TARGET_STATES
from geoservice.base.workspace import Workspace
from geoservice.reports.department_columns import (
    COLUMNS,
    GROUPS,
    PeriodData,
    department_table,
    led_closures,
)
from geoservice.reports.findings import (
    Finding,
    findings,
    notes,
    nothing_happened,
    summary_text,
    zh_date,
)
from geoservice.reports.period_flags import (
    check_period,
    period_targets,
    problem_flags,
)
from geoservice.workflow.escalation import LEVELS
from geoservice.workflow.ledger import read_entries, read_statements, read_target_actions
from geoservice.workflow.patrols import patrols_between
from geoservice.workflow.rates import ON_TIME_RATE, rate
from geoservice.workflow.target_actions import state_counts, target_rows
from layers.codes import DEPARTMENTS
from layers.messages import Lang, pick

__all__ = [
    "DEPARTMENT_COLUMNS",
    "HEADERS",
    "VILLAGE_COLUMNS",
    "DepartmentReport",
    "Finding",
    "department_name",
    "department_report",
    "header",
    "target_states",
    "target_states_empty",
]


def department_columns() -> list[str]:
    """The columns of the department table: code, name, then every
    :data:`~geoservice.reports.department_columns.COLUMNS` key in order."""
    return ["department", "department_name", *(c.key for c in COLUMNS)]


DEPARTMENT_COLUMNS = department_columns()
STATEMENT_REPORT_COLUMNS = ["department", "period_start", "period_end", "text", "updated_by"]
STATEMENT_REPORT_COLUMNS += ["updated_at", "version"]
VILLAGE_COLUMNS = [
    "village_code",
    "village_name",
    "problems_handed_over",
    "closed",
    "due",
    "on_time",
    "on_time_rate",
    "overdue",
    "max_escalation",
    "patrols",
]
HEADERS: dict[str, tuple[str, str]] = {
    "department": ("部门代码", "code"),
    "department_name": ("部门", "department"),
    "village_code": ("村代码", "village code"),
    "village_name": ("村（居）", "village"),
    "problems_handed_over": ("交办问题", "problems handed over"),
    "closed": ("已销号", "closed"),
    "due": ("期内到期", "due"),
    "on_time": ("按期整改", "rectified on time"),
    "on_time_rate": (ON_TIME_RATE.zh, ON_TIME_RATE.en),
    "overdue": ("逾期未整改", "overdue"),
    "max_escalation": ("最高督办级别", "highest escalation"),
    "patrols": ("巡护", "patrols"),
    "problem_id": ("问题编号", "problem"),
    "category": ("问题类别", "category"),
    "deadline": ("整改期限", "deadline"),
    "days_overdue": ("逾期天数", "days overdue"),
    "escalation": ("督办级别", "escalation"),
    "departments": ("抄送部门", "copied to"),
    "period_start": ("期间起", "from"),
    "period_end": ("期间止", "to"),
    "text": ("履职情况", "statement"),
    "updated_by": ("填报人", "written by"),
    "updated_at": ("填报时间", "written at"),
    "version": ("版本", "version"),
}
_COUNTS = ["handed", "closed", "due", "on_time", "overdue"]


def header(column: str, lang: Lang = "zh") -> str:
    """The table heading of a report column (department columns from their
    :class:`~geoservice.reports.department_columns.Column`)."""
    heads = {c.key: (c.zh, c.en) for c in COLUMNS if c.key not in HEADERS}
    return pick(lang, *{**HEADERS, **heads}.get(column, (column, column)))


def group_title(group: str, lang: Lang = "zh") -> str:
    """The heading of a group of department columns."""
    return pick(lang, *GROUPS.get(group, (group, group)))


def department_name(code: str, lang: Lang = "zh") -> str:
    """The department's name in ``lang`` (the code itself when it is not registered)."""
    return pick(lang, *DEPARTMENTS.get(code, (code, code)))


@dataclass(frozen=True)
class DepartmentReport:
    """The numbers of one department meeting report.

    Attributes
    ----------
    start, end, as_of : datetime.date
        The period (both days included) and the evaluation date of overdue and escalation.
    town : str
        The town's name, or its administrative code when no name was given.
    summary : dict
        ``targets``, ``p1``, ``criminal``, ``problems_handed_over``, ``closed``, ``due``,
        ``on_time``, ``on_time_rate`` (float or None), ``overdue``, ``escalated``
        (supervision letter or listed), ``awaiting_verification``.
    departments : pandas.DataFrame
        :func:`department_columns`, one row per registered department (registry order),
        zeros included.
    villages : pandas.DataFrame
        :data:`VILLAGE_COLUMNS`, one row per village with anything to report.
    overdue : pandas.DataFrame
        The problems overdue at ``as_of``, longest overdue first: ``problem_id``,
        ``village_name``, ``category``, ``deadline``, ``days_overdue``, ``escalation``,
        ``departments`` (list of codes), ``village_code``. Village codes, names and
        categories the problems do not give are missing here; the report words them.
    findings : list of Finding
        The "problems and suggestions" section.
    notes : list of Finding
        Caveats about the numbers (e.g. targets from a run outside the period).
    targets_as_of : datetime.date or None
        Date of the analysis run whose targets are counted.
    target_states : pandas.DataFrame
        Targets per department and state now (:func:`target_states`).
    statements : pandas.DataFrame
        The departments' own accounts (履职情况) whose period overlaps the report's:
        :data:`STATEMENT_REPORT_COLUMNS`, by department (registry order) then period.
    """

    start: date
    end: date
    as_of: date
    town: str
    summary: dict[str, Any]
    departments: pd.DataFrame
    villages: pd.DataFrame
    overdue: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    targets_as_of: date | None = None
    target_states: pd.DataFrame = field(default_factory=pd.DataFrame)
    statements: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=STATEMENT_REPORT_COLUMNS)
    )

    @property
    def active_departments(self) -> pd.DataFrame:
        """The rows of :attr:`departments` with any figure above zero."""
        counts = self.departments[[c.key for c in COLUMNS]]
        return self.departments[counts.sum(axis=1) > 0].reset_index(drop=True)

    @property
    def is_empty(self) -> bool:
        """True when nothing happened in the period: every department figure is zero, no
        village has anything to report and no department wrote a statement."""
        return self.active_departments.empty and self.villages.empty and self.statements.empty

    def title(self, lang: Lang = "zh") -> str:
        if lang == "en":
            return f"{self.town}: departments' report to the forest-chief meeting"
        return f"{self.town}林长制协作部门履职情况汇报"

    def subtitle(self, lang: Lang = "zh") -> str:
        if lang == "en":
            return f"Period {self.start} to {self.end}; figures as of {self.as_of}"
        return (
            f"统计期间：{zh_date(self.start)}至{zh_date(self.end)}　数据截至：{zh_date(self.as_of)}"
        )

    def summary_text(self, lang: Lang = "zh") -> str:
        """The summary paragraph in plain language."""
        if self.is_empty:
            return nothing_happened(self.start, self.end, lang)
        return summary_text(self.summary, self.start, self.end, self.as_of, lang)

    def to_dict(self, lang: Lang = "zh") -> dict[str, Any]:
        """A JSON-ready view (dates as ISO strings, NaN as None)."""
        return {
            "title": self.title(lang),
            "town": self.town,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "targets_as_of": self.targets_as_of.isoformat() if self.targets_as_of else None,
            "summary": self.summary,
            "summary_text": self.summary_text(lang),
            "departments": _records(self.departments),
            "villages": _records(self.villages),
            "target_states": {
                str(code): {k: int(v) for k, v in row.items()}
                for code, row in self.target_states.iterrows()
            },
            "overdue": _records(self.overdue),
            "statements": _records(self.statements),
            "findings": [f.text(lang) for f in self.findings],
            "notes": [n.text(lang) for n in self.notes],
            "empty": self.is_empty,
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.copy()
    for col in clean.columns:
        if pd.api.types.is_datetime64_any_dtype(clean[col]):
            clean[col] = clean[col].dt.strftime("%Y-%m-%d")
    clean = clean.astype(object).where(clean.notna(), None)
    return clean.to_dict("records")


# --- tables -----------------------------------------------------------------------------


def target_states(ws: Workspace) -> pd.DataFrame:
    """Targets per department (lead or cooperating) and state, now: one row per department
    involved in a target (index: department code), one int column per state of
    :data:`~geoservice.analysis.target_register.TARGET_STATES`. Every listed target counts,
    those resolved by analysis included; the report counts them when it counts the
    targets (the analysis run is dated in the period)."""
    counts = state_counts(target_rows(ws)) if "targets" in ws.layer_names() else None
    if counts is None or counts.empty:
        return target_states_empty()
    wide = counts.pivot(index="department", columns="state", values="targets")
    return wide.reindex(columns=list(TARGET_STATES)).fillna(0).astype("int64")


def target_states_empty() -> pd.DataFrame:
    """A :func:`target_states` table without rows."""
    return pd.DataFrame(columns=list(TARGET_STATES), dtype="int64")


def _village_table(flags: pd.DataFrame, patrols: pd.Series) -> pd.DataFrame:
    """Per village with problems: their counts and ``patrols`` (patrol tracks of the
    period, by village code)."""
    level = flags["escalation_reached"].map(LEVELS.index).astype("int64")
    keys = flags[["village_code", "village_name"]].astype("string")
    frame = flags.assign(
        level=level, village_code=keys["village_code"], village_name=keys["village_name"]
    )
    agg = frame.groupby(["village_code", "village_name"], dropna=False)[[*_COUNTS, "level"]].agg(
        {**dict.fromkeys(_COUNTS, "sum"), "level": "max"}
    )
    agg = agg[agg[_COUNTS].sum(axis=1) > 0].reset_index()
    agg = agg.sort_values("village_code", na_position="last", kind="stable")
    out = pd.DataFrame(
        {
            "village_code": agg["village_code"],
            "village_name": agg["village_name"],
            "problems_handed_over": agg["handed"].astype("int64"),
            "closed": agg["closed"].astype("int64"),
            "due": agg["due"].astype("int64"),
            "on_time": agg["on_time"].astype("int64"),
            "overdue": agg["overdue"].astype("int64"),
            "max_escalation": np.asarray(LEVELS, dtype=object)[agg["level"].to_numpy()],
        }
    ).reset_index(drop=True)
    out["on_time_rate"] = rate(out["on_time"], out["due"])
    out["patrols"] = out["village_code"].map(patrols).fillna(0).astype("int64")
    return out[VILLAGE_COLUMNS]


def _overdue_list(flags: pd.DataFrame) -> pd.DataFrame:
    late = flags[flags["overdue"]].sort_values(
        ["days_overdue", "problem_id"], ascending=[False, True]
    )
    cols = ["problem_id", "village_name", "category", "deadline", "days_overdue", "escalation"]
    return late[[*cols, "departments", "village_code"]].reset_index(drop=True)


def _town(ws: Workspace, town: str | None, lang: Lang) -> str:
    if town:
        return town
    code = None
    if "villages" in ws.layer_names():
        villages = ws.read("villages", use_arrow=False, read_geometry=False)
        prefixes = villages["village_code"].astype(str).str.slice(0, 9).value_counts()
        code = str(prefixes.index[0]) if len(prefixes) else None
    if lang == "en":
        return f"Town {code}" if code else "The town"
    return f"本镇（区划代码{code}）" if code else "本镇"


def department_report(
    ws: Workspace,
    start: date,
    end: date,
    as_of: date | None = None,
    *,
    town: str | None = None,
    lang: Lang = "zh",
) -> DepartmentReport:
    """Compute the Article 9 department report for ``[start, end]``.

    Parameters
    ----------
    ws : Workspace
        Needs the problems (workflow store); the ``targets`` layer and the ``villages``
        layer are optional.
    start, end : datetime.date
        The period, both days included; ``start`` must not be after ``end``.
    as_of : datetime.date, optional
        Evaluation date of overdue and escalation; defaults to ``end``; not before
        ``start``.
    town : str, optional
        The town's name for the title; defaults to the administrative code of the
        villages (the first nine digits of the village codes).
    lang : {"zh", "en"}
        Language of the default town label only; every text of the report is available
        in both languages.

    Returns
    -------
    DepartmentReport
        Raises :class:`~geoservice.base.errors.OptionError` for a reversed period or an
        ``as_of`` before ``start``.
    """
    day = check_period(start, end, as_of)
    ws.require()
    flags = problem_flags(ws, start, end, day)
    targets, run_day = period_targets(ws, start, end)
    # outcomes are counted with the targets: when the analysis run is dated in the period
    states = target_states(ws) if len(targets) else target_states_empty()
    data = _period_data(ws, start, end, day, flags, targets, states)
    depts = department_table(data, department_name)
    walked = patrols_between(ws, start, end)
    villages = _village_table(flags, walked["village_code"].dropna().value_counts())
    due, on_time = int(flags["due"].sum()), int(flags["on_time"].sum())
    summary: dict[str, Any] = {
        "targets": len(targets),
        "p1": int((targets["priority"] == "P1").sum()),
        "criminal": int(targets["criminal"].sum()),
        "problems_handed_over": int(flags["handed"].sum()),
        "closed": int(flags["closed"].sum()),
        "due": due,
        "on_time": on_time,
        "on_time_rate": on_time / due if due else None,
        "overdue": int(flags["overdue"].sum()),
        "escalated": int(flags["escalation"].isin(["supervision", "listed"]).sum()),
        "awaiting_verification": int(flags["awaiting"].sum()),
        "ledger_entries": len(data.entries),
        "target_actions": len(data.actions),
        "patrols": len(walked),
    }
    counted = run_day if run_day is not None and start <= run_day <= end else None
    overdue = _overdue_list(flags)
    counts = depts[[c.key for c in COLUMNS]]
    active = depts[counts.sum(axis=1) > 0].reset_index(drop=True)
    return DepartmentReport(
        start=start,
        end=end,
        as_of=day,
        town=_town(ws, town, lang),
        summary=summary,
        departments=depts,
        villages=villages,
        overdue=overdue,
        findings=findings(summary, active, villages, overdue, targets),
        notes=notes(run_day, counted, start, end),
        targets_as_of=counted,
        target_states=states,
        statements=_statements(ws, start, end),
    )


def _period_data(
    ws: Workspace,
    start: date,
    end: date,
    as_of: date,
    flags: pd.DataFrame,
    targets: pd.DataFrame,
    states: pd.DataFrame,
) -> PeriodData:
    return PeriodData(
        ws=ws,
        start=start,
        end=end,
        as_of=as_of,
        flags=flags,
        targets=targets,
        states=states,
        entries=read_entries(ws, first=start, last=end),
        actions=read_target_actions(ws, first=start, last=end),
        closures=led_closures(ws, start, end),
    )


def _statements(ws: Workspace, start: date, end: date) -> pd.DataFrame:
    frame = read_statements(ws, first=start, last=end)
    order = {code: i for i, code in enumerate(DEPARTMENTS)}
    rank = frame["department"].map(order).fillna(len(order))
    frame = frame.assign(_rank=rank).sort_values(
        ["_rank", "period_start", "period_end"], kind="stable"
    )
    return frame[STATEMENT_REPORT_COLUMNS].reset_index(drop=True)
