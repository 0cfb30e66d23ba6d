"""Every rate the product reports, defined once: its word, its definition, its formula.

A rate word means one number everywhere it appears: the department report
(:mod:`geoservice.reports.departments`, its notes), ``geoservice villages status`` and
the help of both commands take the word and the definition from :data:`RATES`, and the
flags behind the numbers from :func:`on_time_flags`. A rate differs between those places
only by the window of deadlines it counts, which each place states: the department
report counts the deadlines within its period, the village status every deadline up to
its evaluation date.

按期整改率 (简称按期率, on-time rate)
    Of the problems *due* in the window (deadline within the window and not after the
    evaluation date, found on or before the window's end), the share *rectified on time*:
    now reported rectified or closed (销号), the last report on or before the deadline. A
    problem imported already reported or closed has no report date and counts as on time.
    Nothing due: no rate ("—"), never 0 % or 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geoservice.workflow.problem_values import day_values
from layers.messages import Lang, pick

__all__ = [
    "ON_TIME_RATE",
    "RATES",
    "Rate",
    "on_time_flags",
    "on_time_values",
    "rate",
    "rate_definitions",
    "rates_help",
]


@dataclass(frozen=True)
class Rate:
    """One rate: the column that holds it, its word and its definition, both languages.

    Attributes
    ----------
    column : str
        The column name in every table that shows it (``on_time_rate``).
    zh, en : str
        The word, as headings show it.
    definition_zh, definition_en : str
        The one definition, as the report's notes and the command help print it.
    """

    column: str
    zh: str
    en: str
    definition_zh: str
    definition_en: str

    def word(self, lang: Lang = "zh") -> str:
        """The rate's word in ``lang``."""
        return pick(lang, self.zh, self.en)

    def definition(self, lang: Lang = "zh") -> str:
        """The rate's definition in ``lang``, starting with its word."""
        return pick(lang, self.definition_zh, self.definition_en)


ON_TIME_RATE = Rate(
    column="on_time_rate",
    zh="按期整改率",
    en="on-time rate",
    definition_zh=(
        "按期整改率（简称按期率）= 按期整改的问题数 ÷ 到期问题数。到期问题：整改期限在统计范围内、"
        "不晚于统计日、且发现日期不晚于统计范围末日的问题（部门报告为统计期间，"
        "villages status 为截至统计日的全部期限）；按期整改：现状为村已报整改或已销号，"
        "且最后一次报整改不晚于整改期限（导入时已是已整改或已销号、无报整改日期的问题视为按期）；"
        "无到期问题时不计比率（显示为“—”）。"
    ),
    definition_en=(
        "On-time rate = problems rectified on time / problems due. Due: the deadline falls in "
        "the window counted, is not after the evaluation date, and the problem was found by the "
        "window's end (the department report counts its period, villages status every deadline "
        "up to its date). Rectified on time: now reported rectified or closed, last reported on "
        "or before the deadline (a problem imported already rectified or closed has no report "
        "date and counts as on time). With nothing due there is no rate (shown as '—')."
    ),
)
RATES: tuple[Rate, ...] = (ON_TIME_RATE,)


def on_time_flags(
    deadline: pd.Series,
    status: pd.Series,
    reported_on: pd.Series,
    found_on: pd.Series,
    first: date | None,
    last: date,
) -> tuple[np.ndarray, np.ndarray]:
    """The *due* and *rectified on time* flags of :data:`ON_TIME_RATE`, per problem.

    Parameters
    ----------
    deadline, found_on, reported_on : pandas.Series
        ``datetime64`` (midnight); ``reported_on`` is the last real report (NaT when none
        is known); all aligned to the problems.
    status : pandas.Series
        Workflow state of each problem.
    first : datetime.date or None
        First day of the window (None: no lower bound).
    last : datetime.date
        Last day counted: the window's end or the evaluation date, whichever is earlier.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``due`` and ``on_time`` booleans aligned to the problems.
    """
    days = day_values(deadline)
    found, reported = day_values(found_on), day_values(reported_on)
    state = status.to_numpy(dtype=object, na_value=None)
    return on_time_values(days, state, reported, found, first, last)


def on_time_values(
    deadline: np.ndarray,
    status: np.ndarray,
    reported_on: np.ndarray,
    found_on: np.ndarray,
    first: date | None,
    last: date,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`on_time_flags` from plain arrays: the dates as numpy ``datetime64[us]``
    (NaT where missing), ``status`` as objects."""
    end = np.datetime64(last, "us")
    due = ~np.isnat(deadline) & (deadline <= end) & (np.isnat(found_on) | (found_on <= end))
    if first is not None:
        due &= deadline >= np.datetime64(first, "us")
    done = np.isin(status, ["reported", "verified"])
    in_time = np.isnat(reported_on) | (reported_on <= deadline)
    return due, due & done & in_time


def rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """``numerator / denominator`` as float, NaN where the denominator is 0 (no rate)."""
    den = denominator.to_numpy(dtype="float64", na_value=np.nan)
    num = numerator.to_numpy(dtype="float64", na_value=np.nan)
    values = np.where(den > 0, num / np.maximum(den, 1.0), np.nan)
    return pd.Series(values, index=denominator.index, dtype="float64")


def rate_definitions(lang: Lang = "zh") -> list[str]:
    """Every rate's definition in ``lang``, in :data:`RATES` order."""
    return [r.definition(lang) for r in RATES]


def rates_help() -> str:
    """The definitions in both languages, for a command's ``--help``."""
    return "\n\n".join(f"{r.definition_zh}\n\n{r.definition_en}" for r in RATES)
