"""The legal basis, the departments and the deadline of a joint-enforcement work order.

- the town's articles: Article 8 (the office organises joint enforcement where forest and
  wetland resources may suffer serious damage) and the article every routing rule cites
  for each department's duties (Article 10 by default), named as the reasons name them
  (:func:`geoservice.analysis.labels.citation`);
- lead and cooperating departments with their duties from the rules' department registry
  and why each is there (:func:`geoservice.analysis.routing.route`);
- the deadline: the target's own when it carries one, else the date of issue plus the days
  ``geoservice/reports/dossier.yaml`` gives for its priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

import pandas as pd
import yaml

from geoservice.analysis.labels import category_name
from geoservice.analysis.routing import Assignment, route
from geoservice.analysis.rules import Rules
from geoservice.reports.dossier_data import DossierFacts, ids_of
from layers.messages import Lang, pick

__all__ = [
    "JOINT_ENFORCEMENT_ARTICLE",
    "REPORTING_ARTICLE",
    "DepartmentDuty",
    "deadline",
    "deadline_days",
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


@cache
def deadline_days() -> dict[str, int]:
    """Days from issue to deadline by priority (``geoservice/reports/dossier.yaml``)."""
    text = resources.files("geoservice.reports").joinpath("dossier.yaml").read_text("utf-8")
    days = yaml.safe_load(text)["deadline_days"]
    return {str(k): int(v) for k, v in days.items()}


def deadline(target: pd.Series, issued: date) -> date:
    """The target's own deadline when it carries one, else ``issued`` plus the days of its
    priority (the longest for an unknown priority)."""
    own = target.get("deadline")
    if own is not None and not pd.isna(own) and str(own).strip():
        return date.fromisoformat(str(own)[:10])
    days = deadline_days()
    return issued + timedelta(days=days.get(str(target["priority"]), max(days.values())))
