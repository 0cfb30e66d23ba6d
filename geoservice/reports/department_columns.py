"""The columns of the department table of the Article 9 report, one small function each.

Every registered department (:data:`layers.codes.DEPARTMENTS`, 14) gets a row, zeros
included. A column is a :class:`Column`: its key, its heading in Chinese and English, the
group it is printed in (:data:`GROUPS`) and a function from the period's data
(:class:`PeriodData`) to a count per department code. :data:`COLUMNS` lists them in
printed order; a new figure is one more function and one more :class:`Column` in that list
(:func:`department_table` builds the table from it, the HTML and XLSX print every column
of their group).

What each figure measures, for the period ``[start, end]`` (both days included):

- ledger (what the department did): its ledger entries by kind, dated in the period
  (:mod:`geoservice.workflow.ledger`); its action records on enforcement targets dated in
  the period (``target_actions``, counted here, not copied into the ledger); people
  deployed (人次) by both; patrol tracks (巡护) its officers recorded in the period
  (:func:`~geoservice.workflow.patrols.patrols_between`);
- targets: targets of the period's analysis it leads / cooperates on, those it is
  involved in by outcome now (待立案, 已立案, 已办结: every state is in the report's
  ``target_states``), and the targets it leads that were closed (已结案) in the period;
- problems copied to it (抄送, Art. 7): handed over in the period, closed in the period,
  due in the period, rectified on time (by the villages, :data:`~geoservice.workflow.rates.ON_TIME_RATE`),
  overdue at the evaluation date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import has_table
from geoservice.reports.period_flags import split_codes
from geoservice.workflow.ledger import ENTRY_KINDS
from geoservice.workflow.patrols import patrols_between
from layers.codes import DEPARTMENTS

__all__ = [
    "COLUMNS",
    "GROUPS",
    "TARGET_GROUPS",
    "Column",
    "PeriodData",
    "department_table",
    "group_columns",
    "led_closures",
]

GROUPS: dict[str, tuple[str, str]] = {
    "ledger": ("本部门履职台账", "What the department did"),
    "targets": ("联合执法目标", "Joint-enforcement targets"),
    "problems": ("抄送本部门的督查问题", "Inspection problems copied to the department"),
}
# Target states grouped for the department table (every state is in ``target_states``).
TARGET_GROUPS: dict[str, tuple[str, ...]] = {
    "targets_open": ("new", "dispatched", "in_action"),
    "targets_case": ("case_opened", "penalised", "transferred"),
    "targets_done": ("closed", "dismissed", "resolved_by_analysis"),
}


@dataclass(frozen=True)
class PeriodData:
    """What the department columns are computed from.

    Attributes
    ----------
    ws : Workspace
        For a column that reads more than what is gathered here.
    start, end, as_of : datetime.date
    flags : pandas.DataFrame
        Per-problem flags (:func:`geoservice.reports.period_flags.problem_flags`).
    targets : pandas.DataFrame
        The period's targets (:func:`geoservice.reports.period_flags.period_targets`).
    states : pandas.DataFrame
        Targets per department and state (index: department code).
    entries : pandas.DataFrame
        Ledger entries acted on in the period (``department``, ``kind``, ``people``).
    actions : pandas.DataFrame
        Target action records acted on in the period (``department``, ``people``).
    closures : pandas.DataFrame
        Targets closed in the period with their lead department (:func:`led_closures`).
    """

    ws: Workspace
    start: date
    end: date
    as_of: date
    flags: pd.DataFrame
    targets: pd.DataFrame
    states: pd.DataFrame
    entries: pd.DataFrame
    actions: pd.DataFrame
    closures: pd.DataFrame


@dataclass(frozen=True)
class Column:
    """One figure per department: ``values`` gives a count per department code (codes
    missing from its index count 0)."""

    key: str
    zh: str
    en: str
    group: str
    values: Callable[[PeriodData], pd.Series]


def _count(codes: pd.Series) -> pd.Series:
    return codes.dropna().astype(str).value_counts()


def _entries_of(kind: str) -> Callable[[PeriodData], pd.Series]:
    def values(data: PeriodData) -> pd.Series:
        return _count(data.entries.loc[data.entries["kind"] == kind, "department"])

    return values


def _target_actions(data: PeriodData) -> pd.Series:
    return _count(data.actions["department"])


def _people(data: PeriodData) -> pd.Series:
    both = pd.concat(
        [data.entries[["department", "people"]], data.actions[["department", "people"]]],
        ignore_index=True,
    )
    people = pd.to_numeric(both["people"], errors="coerce").fillna(0)
    return people.groupby(both["department"].astype(str)).sum()


def _patrols(data: PeriodData) -> pd.Series:
    return _count(patrols_between(data.ws, data.start, data.end)["department"].dropna())


def _led(data: PeriodData) -> pd.Series:
    return _count(data.targets["lead_department"])


def _cooperating(data: PeriodData) -> pd.Series:
    return _count(split_codes(data.targets["cooperating_departments"]).explode())


def _state_group(name: str) -> Callable[[PeriodData], pd.Series]:
    def values(data: PeriodData) -> pd.Series:
        return data.states[list(TARGET_GROUPS[name])].sum(axis=1)

    return values


def _led_closed(data: PeriodData) -> pd.Series:
    return _count(data.closures["lead_department"])


def _copied(flag: str) -> Callable[[PeriodData], pd.Series]:
    def values(data: PeriodData) -> pd.Series:
        per = data.flags[["departments", flag]].explode("departments")
        per = per.dropna(subset=["departments"])
        return per.groupby("departments")[flag].sum()

    return values


COLUMNS: list[Column] = [
    *(
        Column(f"entries_{kind}", zh, en, "ledger", _entries_of(kind))
        for kind, (zh, en) in ENTRY_KINDS.items()
    ),
    Column("target_actions", "目标处置记录", "target action records", "ledger", _target_actions),
    Column("people", "出动人次", "people deployed", "ledger", _people),
    Column("patrols", "巡护", "patrols", "ledger", _patrols),
    Column("targets_led", "牵头目标", "targets led", "targets", _led),
    Column("targets_cooperating", "配合目标", "targets cooperated on", "targets", _cooperating),
    Column("targets_open", "目标待立案", "targets open", "targets", _state_group("targets_open")),
    Column(
        "targets_case", "目标已立案", "targets with a case", "targets", _state_group("targets_case")
    ),
    Column("targets_done", "目标已办结", "targets done", "targets", _state_group("targets_done")),
    Column("targets_led_closed", "牵头目标期内结案", "led targets closed", "targets", _led_closed),
    Column("problems_copied", "抄送问题", "problems copied", "problems", _copied("handed")),
    Column("closed", "已销号", "closed", "problems", _copied("closed")),
    Column("due", "期内到期", "due", "problems", _copied("due")),
    Column("on_time", "按期整改", "rectified on time", "problems", _copied("on_time")),
    Column("overdue", "逾期未整改", "overdue", "problems", _copied("overdue")),
]


def group_columns(group: str) -> list[str]:
    """The keys of the columns printed in ``group``, in order."""
    return [c.key for c in COLUMNS if c.group == group]


def led_closures(ws: Workspace, start: date, end: date) -> pd.DataFrame:
    """Targets whose change to ``closed`` (已结案) is dated in ``[start, end]``, with their
    lead department as the target register holds it: ``target_id``, ``lead_department``;
    one row per target."""
    with ws.read_connection() as con:
        if not (has_table(con, "target_history") and has_table(con, "target_state")):
            return pd.DataFrame({"target_id": [], "lead_department": []}, dtype=object)
        return pd.read_sql_query(
            "SELECT DISTINCT h.target_id, s.lead_department FROM target_history h "
            "JOIN target_state s ON s.target_id = h.target_id WHERE h.to_state = 'closed' "
            "AND substr(h.at, 1, 10) BETWEEN ? AND ?",
            con,
            params=[start.isoformat(), end.isoformat()],
        )


def department_table(data: PeriodData, names: Callable[[str], str]) -> pd.DataFrame:
    """One row per registered department (registry order): ``department``,
    ``department_name`` (``names(code)``), then one int column per :data:`COLUMNS`."""
    codes = list(DEPARTMENTS)
    table = pd.DataFrame({"department": codes, "department_name": [names(c) for c in codes]})
    for column in COLUMNS:
        values = column.values(data).reindex(codes).fillna(0)
        table[column.key] = np.asarray(values, dtype="int64")
    return table
