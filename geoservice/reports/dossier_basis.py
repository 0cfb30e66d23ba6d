"""The legal basis, the departments and the deadline of a joint-enforcement work order.

- the town's articles: Article 8 (the office organises joint enforcement where forest and
  wetland resources may suffer serious damage) and the article every routing rule cites
  for each department's duties (Article 10 by default), named as the reasons name them
  (:func:`geoservice.analysis.labels.citation`);
- lead and cooperating departments with their duties from the rules' department registry
  and why each is there (:func:`geoservice.analysis.routing.route`);
- the deadline: the ``deadline`` column the analysis wrote on the ``targets`` layer
  (:mod:`geoservice.analysis.deadlines`), the same date the exports and the reasons give;
  the date of issue does not move it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geoservice.analysis.deadlines import DEADLINE_COLUMN
from geoservice.analysis.labels import category_name
from geoservice.analysis.routing import Assignment, route
from geoservice.analysis.rules import Rules
from geoservice.files.target_columns import NO_TARGET_DEADLINE
from geoservice.reports.dossier_data import DossierFacts, ids_of
from layers.messages import Lang, pick

__all__ = [
    "JOINT_ENFORCEMENT_ARTICLE",
    "REPORTING_ARTICLE",
    "DepartmentDuty",
    "deadline",
    "department_duties",
]

# Article 8 of the Collaboration Rules: joint enforcement (联合执法).
JOINT_ENFORCEMENT_ARTICLE = 8
# Article 9: departments report what they did at the forest-chief meetings.
REPORTING_ARTICLE = 9


@dataclass(frozen=True)
class DepartmentDuty:
    """One department on a work order."""

    code: str
    name: str
    lead: bool
    duty: str
    why: str


def _why(a: Assignment | None, lang: Lang) -> str:
    if a is None:
        return pick(lang, "研判时确定", "set by the analysis")
    cat = category_name(a.category, lang)
    words = {
        "category": (f"{cat}问题的分工", f"routing for {cat}"),
        "criminal": ("已达刑事立案标准", "a criminal threshold is met"),
        "previous_lead": (f"{cat}问题的主责部门", f"the lead for {cat}"),
        "protected_area": ("涉及自然保护区或湿地", "nature reserve or wetland"),
        "environment": (f"涉及{cat}", f"{cat} is involved"),
    }
    return pick(lang, *words[a.why])


def department_duties(facts: DossierFacts, rules: Rules, lang: Lang = "zh") -> list[DepartmentDuty]:
    """The lead department first, then the cooperating ones, each with its duty from the
    department registry and why it is on the target (routing rules and escalations)."""
    risk = facts.risk
    protected = False
    if len(risk):
        reserve = risk.get("nature_reserve", pd.Series(dtype=bool)).fillna(False).astype(bool)
        wetland = risk.get("kind", pd.Series(dtype=object)).astype(str) == "wetland"
        protected = bool(reserve.any() or wetland.any())
    routing = route(
        ids_of(facts.target["categories"]),
        bool(facts.target["criminal_threshold_met"]),
        protected,
        rules,
    )
    why = {a.department: a for a in (routing.lead, *routing.cooperating)}
    lead = str(facts.target["lead_department"])
    codes = [lead, *[c for c in ids_of(facts.target["cooperating_departments"]) if c != lead]]
    out = []
    for code in codes:
        dep = rules.departments.get(code)
        duty = (dep.duty_en if lang == "en" else dep.duty_zh) if dep else ""
        out.append(
            DepartmentDuty(
                code,
                rules.department_name(code, lang),
                code == lead,
                duty,
                _why(why.get(code), lang),
            )
        )
    return out


def deadline(target: pd.Series, lang: Lang = "zh") -> str:
    """The target's deadline as ``YYYY-MM-DD``: its ``deadline`` column, set by the
    analysis; 未定期限 / no deadline set for a layer written before the analysis set
    deadlines (run the analysis again to set them)."""
    day = pd.to_datetime(target.get(DEADLINE_COLUMN), errors="coerce")
    if pd.isna(day):
        return pick(lang, *NO_TARGET_DEADLINE)
    return str(pd.Timestamp(day).strftime("%Y-%m-%d"))
