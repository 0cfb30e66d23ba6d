"""The deadline (处置期限) of each joint-enforcement target, set by the analysis.

A target has no deadline of its own in the inputs, so the analysis gives it one and writes
it as the ``deadline`` column (``YYYY-MM-DD`` text) of the ``targets`` layer; the exports,
the work order and the reasons all read that column (``docs/design.md#target-deadlines``):

- a new target: the analysis date (``as_of``) plus ``targets.deadline_days`` of the rules
  for its priority (P1 7, P2 15, P3 30 days by default; a province or workspace rules
  file may change them);
- a target that keeps its id (it was in the previous ``targets`` layer): its previous
  deadline, so a re-analysis does not move the date a department was given; unless its
  priority rose (P3 to P2 or P1, P2 to P1): then the earlier of its previous deadline and
  the new rule deadline;
- the 整改期限 of the target's open inspection problems are the villages' rectification
  deadlines; they stay in the reasons beside each problem and never replace the target's.

A sentence naming the deadline and how it was set ends the reasons in both languages.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geoservice.analysis.rules import Rules
from geoservice.base.workspace import Workspace
from layers.messages import Lang, pick

__all__ = [
    "DEADLINE_COLUMN",
    "PRIORITY_RANK",
    "earlier_deadlines",
    "rule_deadlines",
    "target_deadlines",
    "with_deadlines",
]

DEADLINE_COLUMN = "deadline"
# 1 is the most urgent; a priority "rises" when its rank falls.
PRIORITY_RANK = {"P1": 1, "P2": 2, "P3": 3}
_EARLIER = ["target_id", "priority", DEADLINE_COLUMN]


def _days(values: pd.Series) -> pd.Series:
    """Dates (datetime64, normalised; NaT where missing or not a date) of ``values``."""
    return pd.to_datetime(values, errors="coerce", format="mixed").dt.normalize()


def rule_deadlines(priority: pd.Series, as_of: date, rules: Rules) -> pd.Series:
    """``as_of`` plus the rules' ``targets.deadline_days`` of each priority.

    Parameters
    ----------
    priority : Series of str
        ``P1``, ``P2`` or ``P3`` (an unknown priority gets the P3 days).
    as_of : datetime.date
        The analysis date.
    rules : Rules

    Returns
    -------
    Series of datetime64, aligned to ``priority``'s index.
    """
    days = _rule_days(priority, rules).to_numpy(dtype="int64")
    return pd.Series(pd.Timestamp(as_of) + pd.to_timedelta(days, unit="D"), index=priority.index)


def _rule_days(priority: pd.Series, rules: Rules) -> pd.Series:
    """The rules' days of each priority (P3's for an unknown one), aligned to it."""
    table = rules.targets.deadline_days
    days = priority.astype(str).map({"P1": table.P1, "P2": table.P2})
    return days.fillna(table.P3).astype("int64")


def earlier_deadlines(ws: Workspace) -> pd.DataFrame:
    """``target_id``, ``priority`` and ``deadline`` of the current ``targets`` layer (the
    previous run's), empty when there is none or it has no ``deadline`` column (a layer
    written before deadlines were set by the analysis)."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _EARLIER})
    if not ws.exists() or "targets" not in ws.layer_names():
        return empty
    fields = [str(f) for f in ws.info("targets")["fields"]]
    if not set(_EARLIER) <= set(fields):
        return empty
    layer = ws.read("targets", columns=_EARLIER, read_geometry=False)
    return pd.DataFrame(layer[_EARLIER]).astype(object)


def _sentences(
    deadline: pd.Series, how: np.ndarray, priority: pd.Series, days: pd.Series, as_of: date
) -> tuple[pd.Series, pd.Series]:
    """The closing sentence of the reasons in Chinese and English, one per target."""
    d = deadline.dt.strftime("%Y-%m-%d")
    p = priority.astype(str)
    n = days.astype("int64").astype(str)
    day = as_of.isoformat()
    zh_new = "处置期限 " + d + "（" + p + " 自研判日 " + day + " 起 " + n + " 天）。"
    en_new = "Deadline " + d + " (" + p + ": " + n + " days from the analysis date " + day + ")."
    zh_kept = "处置期限 " + d + "（沿用此前研判所定期限）。"
    en_kept = "Deadline " + d + " (kept from an earlier analysis)."
    zh_rose = (
        "处置期限 "
        + d
        + "（优先级升至 "
        + p
        + "，取此前期限与自研判日 "
        + day
        + " 起 "
        + n
        + " 天中较早者）。"
    )
    en_rose = (
        "Deadline " + d + " (priority rose to " + p + ": the earlier of the previous deadline"
        " and " + n + " days from the analysis date " + day + ")."
    )
    zh = np.select([how == "kept", how == "rose"], [zh_kept, zh_rose], zh_new)
    en = np.select([how == "kept", how == "rose"], [en_kept, en_rose], en_new)
    return pd.Series(zh, index=deadline.index), pd.Series(en, index=deadline.index)


def target_deadlines(
    targets: pd.DataFrame, earlier: pd.DataFrame, as_of: date, rules: Rules
) -> tuple[pd.Series, np.ndarray]:
    """Each target's deadline and how it was set.

    Parameters
    ----------
    targets : DataFrame
        ``target_id`` (the kept ids, after :func:`~geoservice.analysis.target_register.
        identify`) and ``priority``.
    earlier : DataFrame
        :func:`earlier_deadlines`: the previous layer's ``target_id``, ``priority`` and
        ``deadline``.
    as_of : datetime.date
    rules : Rules

    Returns
    -------
    deadline : Series of datetime64, aligned to ``targets``' index
    how : ndarray of str
        ``new`` (the rule deadline), ``kept`` (the previous deadline) or ``rose`` (the
        priority rose: the earlier of the previous and the rule deadline).
    """
    fresh = rule_deadlines(targets["priority"], as_of, rules)
    before = earlier.assign(target_id=earlier["target_id"].astype(str))
    before = before.drop_duplicates("target_id").set_index("target_id")
    ids = targets["target_id"].astype(str)
    old_day = _days(ids.map(before[DEADLINE_COLUMN]))
    old_rank = ids.map(before["priority"].astype(str).map(PRIORITY_RANK)).astype(float)
    new_rank = targets["priority"].astype(str).map(PRIORITY_RANK).astype(float)
    known = old_day.notna().to_numpy()
    rose = known & (new_rank < old_rank).to_numpy()
    deadline = fresh.where(~known, old_day)
    deadline = deadline.where(~rose, np.minimum(old_day, fresh))
    how = np.where(rose, "rose", np.where(known, "kept", "new"))
    return deadline, how


def with_deadlines(
    targets: pd.DataFrame,
    reasons: pd.DataFrame,
    earlier: pd.DataFrame,
    as_of: date,
    rules: Rules,
    lang: Lang = "zh",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``targets`` with a ``deadline`` column (``YYYY-MM-DD``) after ``priority`` and the
    deadline sentence at the end of its ``reasons``; ``reasons`` (``target_id``,
    ``reasons_zh``, ``reasons_en``) with the sentence in both languages; ``lang`` is the
    language of the layer's ``reasons``. Both aligned to their own index. See
    :func:`target_deadlines` for the rule."""
    deadline, how = target_deadlines(targets, earlier, as_of, rules)
    days = _rule_days(targets["priority"], rules)
    zh, en = _sentences(deadline, how, targets["priority"], days, as_of)
    out = targets.copy()
    out.insert(
        int(out.columns.get_loc("priority")) + 1,
        DEADLINE_COLUMN,
        deadline.dt.strftime("%Y-%m-%d").astype(object),
    )
    ids = targets["target_id"].astype(str).to_numpy()
    by_id = pd.DataFrame({"zh": zh.to_numpy(), "en": en.to_numpy()}, index=ids)
    out["reasons"] = _joined(out["reasons"], en if lang == "en" else zh, pick(lang, "", " "))
    told = reasons.copy()
    rows = told["target_id"].astype(str)
    for lang, sep in (("zh", ""), ("en", " ")):
        col = f"reasons_{lang}"
        told[col] = _joined(told[col], rows.map(by_id[lang]), sep)
    return out, told


def _joined(text: pd.Series, sentence: pd.Series, sep: str) -> pd.Series:
    """``text`` followed by ``sentence`` (``sep`` between; the sentence alone when the
    text is empty), aligned to ``text``'s index."""
    base = text.astype(object).fillna("").astype(str)
    tail = pd.Series(sentence.to_numpy(), index=text.index).fillna("").astype(str)
    glue = np.where((base.str.len() > 0) & (tail.str.len() > 0), sep, "")
    return base + glue + tail
