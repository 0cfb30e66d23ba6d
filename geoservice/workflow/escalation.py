"""Overdue days and escalation levels of problems at a date.

Design: ``docs/design.md#workflow-states``.

A problem is overdue when its deadline has passed (the evaluation date is later than the
deadline) and it is not reported or verified. Levels, lowest first:

0. ``none``;
1. ``reminder`` (到期提醒): open, deadline today or within ``reminder_days``;
2. ``letter`` (提醒函): overdue by at least ``letter_days``;
3. ``supervision`` (督办函): overdue by at least ``supervision_days``;
4. ``listed`` (挂牌督办): overdue by at least ``listed_days``.

The thresholds live in ``geoservice/workflow/workflow.yaml`` (key ``escalation``) and can be
overridden by a YAML file with the same key.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml

from geoservice.base.errors import OptionError, message
from geoservice.workflow.problem_values import day_values
from geoservice.workflow.states import OPEN_STATES
from layers.codes import ESCALATION_LABELS
from layers.messages import Lang, pick

__all__ = [
    "LEVELS",
    "LEVEL_LABELS",
    "Escalation",
    "Thresholds",
    "escalate",
    "escalate_one",
    "escalation_arrays",
    "escalation_values",
    "level_label",
    "load_thresholds",
]

LEVELS: tuple[str, ...] = ("none", "reminder", "letter", "supervision", "listed")
LEVEL_LABELS = ESCALATION_LABELS


def level_label(level: str, lang: Lang = "zh") -> str:
    return pick(lang, *LEVEL_LABELS.get(level, (level, level)))


@dataclass(frozen=True)
class Thresholds:
    """Escalation thresholds in days (see the module docstring)."""

    reminder_days: int = 7
    letter_days: int = 1
    supervision_days: int = 15
    listed_days: int = 30

    def __post_init__(self) -> None:
        for name in ("reminder_days", "letter_days", "supervision_days", "listed_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _bad(name, value, "不小于 0 的整数天数", "a whole number of days >= 0")
        if not 1 <= self.letter_days < self.supervision_days < self.listed_days:
            raise _bad(
                "letter_days/supervision_days/listed_days",
                (self.letter_days, self.supervision_days, self.listed_days),
                "递增的天数且 letter_days 至少为 1",
                "increasing day counts with letter_days at least 1",
            )


def _bad(key: str, value: object, zh: str, en: str) -> OptionError:
    return OptionError(
        message(
            "workflow.bad_threshold",
            f"escalation.{key} 为 {value!r}，应为{zh}；请修改 workflow.yaml。",
            f"`escalation.{key}` was {value!r} but is expected to be {en}; fix workflow.yaml.",
        )
    )


def load_thresholds(override: Path | None = None) -> Thresholds:
    """The packaged thresholds, with the ``escalation`` keys of ``override`` applied.

    Read once per version of the two files (path, size, modification time and inode),
    not on every call: a file replaced or edited is read again on the next call.
    """
    over = None if override is None else Path(override)
    if over is not None and not over.is_file():
        raise OptionError(
            message(
                "workflow.missing_file",
                f"督办规则文件 {over} 不存在；请检查路径。",
                f"The escalation file {over} does not exist; check the path.",
            )
        )
    packaged = _packaged()
    if not isinstance(packaged, Path):  # e.g. inside a zip: no file version to key on
        return _read_thresholds(packaged.read_text("utf-8"), over)
    over = None if over is None else over.absolute()
    return _cached_thresholds(packaged, _version(packaged), over, _version(over))


@functools.cache
def _packaged() -> Traversable:
    """The packaged ``workflow.yaml`` (found once: finding it costs more than reading
    the thresholds from the cache, on every problem read of the service)."""
    return resources.files("geoservice.workflow") / "workflow.yaml"


def _version(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=16)
def _cached_thresholds(
    packaged: Path,
    _packaged_version: tuple[int, int, int] | None,
    override: Path | None,
    _override_version: tuple[int, int, int] | None,
) -> Thresholds:
    return _read_thresholds(packaged.read_text("utf-8"), override)


def _read_thresholds(packaged: str, override: Path | None) -> Thresholds:
    values = dict(yaml.safe_load(packaged)["escalation"])
    if override is not None:
        extra = (yaml.safe_load(override.read_text("utf-8-sig")) or {}).get("escalation") or {}
        unknown = set(extra) - set(values)
        if unknown:
            raise _bad(
                ", ".join(sorted(unknown)),
                "?",
                f"以下之一：{', '.join(values)}",
                f"one of {', '.join(values)}",
            )
        values.update(extra)
    return Thresholds(**values)


def _days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Days from ``earlier`` to ``later`` (float, NaN where either is NaT)."""
    return np.asarray((later - earlier) / np.timedelta64(1, "D"), dtype="float64")


def escalate(
    problems: pd.DataFrame,
    as_of: date,
    thresholds: Thresholds | None = None,
    reported_on: pd.Series | None = None,
) -> pd.DataFrame:
    """Overdue days and escalation level of every problem at ``as_of``.

    Parameters
    ----------
    problems : pandas.DataFrame
        ``status`` and ``deadline`` (datetime64, midnight) columns.
    as_of : datetime.date
        The evaluation date.
    thresholds : Thresholds, optional
        Defaults to :func:`load_thresholds`.
    reported_on : pandas.Series, optional
        Date each reported/verified problem was (last) reported, aligned to ``problems``;
        gives the level such a problem had reached when it was reported (its reminder is
        not counted). Unknown dates count as reported in time.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``problems``: ``days_to_deadline`` (float, NaN without deadline),
        ``overdue`` (bool), ``days_overdue`` (int, 0 unless overdue), ``escalation``
        (level now), ``escalation_reached`` (highest level reached by ``as_of``).
    """
    found = escalation_arrays(problems, as_of, thresholds, reported_on)
    return pd.DataFrame(
        {
            "days_to_deadline": found.days_to_deadline,
            "overdue": found.overdue,
            "days_overdue": found.days_overdue,
            "escalation": np.asarray(LEVELS, dtype=object)[found.now],
            "escalation_reached": np.asarray(LEVELS, dtype=object)[found.reached],
        },
        index=problems.index,
    )


class Escalation(NamedTuple):
    """:func:`escalate`'s figures as arrays aligned to the problems: ``now`` and
    ``reached`` are indexes into :data:`LEVELS`."""

    days_to_deadline: np.ndarray
    overdue: np.ndarray
    days_overdue: np.ndarray
    now: np.ndarray
    reached: np.ndarray


def escalation_arrays(
    problems: pd.DataFrame,
    as_of: date,
    thresholds: Thresholds | None = None,
    reported_on: pd.Series | None = None,
) -> Escalation:
    """:func:`escalate` as arrays, without building a frame (the same parameters): for
    callers that need a column or two of a few problems, where the frame costs more than
    the rules."""
    deadline = day_values(problems["deadline"])
    status = problems["status"].to_numpy(dtype=object, na_value=None)
    when = None if reported_on is None else day_values(reported_on)
    return escalation_values(deadline, status, as_of, thresholds, when)


def escalation_values(
    deadline: np.ndarray,
    status: np.ndarray,
    as_of: date,
    thresholds: Thresholds | None = None,
    reported_on: np.ndarray | None = None,
) -> Escalation:
    """:func:`escalation_arrays` from plain arrays: ``deadline`` and ``reported_on`` as
    numpy ``datetime64[us]`` (NaT where missing), ``status`` as objects (None where
    missing)."""
    th = thresholds or load_thresholds()
    day = np.datetime64(as_of, "us")
    to_deadline = _days(deadline, np.full(len(deadline), day))
    is_open = np.isin(status, list(OPEN_STATES))
    overdue, days_overdue, now = _now(to_deadline, is_open, th)
    reached = now.copy()
    if reported_on is not None:
        closed = np.isin(status, ["reported", "verified"])
        at = np.where(
            np.isnat(reported_on) | (reported_on <= day), reported_on, day
        )  # no later than as_of
        late_then = np.nan_to_num(_days(at, deadline), nan=0.0)
        late_days = np.where(closed & (late_then > 0), late_then, 0).astype("int64")
        then = _level(late_days, np.zeros(len(deadline), bool), th)
        reached = np.where(closed, then, now)
    return Escalation(to_deadline, overdue, days_overdue, now, reached)


def escalate_one(
    status: str | None, deadline: date | None, as_of: date, thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """:func:`escalate` for one problem, without building frames (the same rules).

    Returns
    -------
    dict
        ``days_to_deadline`` (int, None without deadline), ``overdue`` (bool),
        ``days_overdue`` (int) and ``escalation`` (level now).
    """
    th = thresholds or load_thresholds()
    to_deadline = np.array([np.nan if deadline is None else (deadline - as_of).days], float)
    is_open = np.array([status in OPEN_STATES])
    overdue, days_overdue, now = _now(to_deadline, is_open, th)
    return {
        "days_to_deadline": None if deadline is None else int(to_deadline[0]),
        "overdue": bool(overdue[0]),
        "days_overdue": int(days_overdue[0]),
        "escalation": LEVELS[int(now[0])],
    }


def _now(
    to_deadline: np.ndarray, is_open: np.ndarray, th: Thresholds
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overdue (bool), days overdue (int) and level index now, from the days to the
    deadline (float, NaN without one) and whether each problem is open."""
    late = np.nan_to_num(-to_deadline, nan=0.0)
    overdue = is_open & (late > 0)
    days_overdue = np.where(overdue, late, 0).astype("int64")
    reminder = is_open & (to_deadline >= 0) & (to_deadline <= th.reminder_days)
    return overdue, days_overdue, _level(days_overdue, reminder, th)


def _level(days_overdue: np.ndarray, reminder: np.ndarray, th: Thresholds) -> np.ndarray:
    level = np.where(reminder, 1, 0)
    level = np.where(days_overdue >= th.letter_days, 2, level)
    level = np.where(days_overdue >= th.supervision_days, 3, level)
    return np.where(days_overdue >= th.listed_days, 4, level).astype("int64")
