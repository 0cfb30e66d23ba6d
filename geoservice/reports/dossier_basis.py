"""The legal basis, the departments and the deadline of a joint-enforcement work order.

- the town's articles: Article 8 (the office organises joint enforcement where forest and
  wetland resources may suffer serious damage) and the article every routing rule cites
  for each department's duties (Article 10 by default), named as the reasons name them
  (:func:`geoservice.analysis.labels.citation`);
- the criminal threshold that applies to the target (the one it meets, else the one its
  dominant category would be measured against) with its citation;
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

from geoservice.analysis.labels import category_name, citation, mu
from geoservice.analysis.routing import Assignment, route
from geoservice.analysis.rules import Rules
from geoservice.reports.dossier_data import DossierFacts, ids_of
from layers.messages import Lang, pick

__all__ = [
    "JOINT_ENFORCEMENT_ARTICLE",
    "DepartmentDuty",
    "Threshold",
    "applicable_threshold",
    "deadline",
    "deadline_days",
    "department_duties",
    "threshold_citation",
]

# Article 8 of the Collaboration Rules: joint enforcement (联合执法).
JOINT_ENFORCEMENT_ARTICLE = 8


@dataclass(frozen=True)
class Threshold:
    """The criminal case-filing threshold that applies to a target.

    Attributes
    ----------
    basis : {"area_pw", "area", "volume", "none"}
        Illegal occupation of public-welfare forest land, of other forest land, illegal
        felling volume, or no numeric threshold in the rules for the target's category.
    rule : str
        The threshold in words.
    found : str
        What the target amounts to against it (empty when nothing is measured).
    met : bool
    citation : str
    """

    basis: str
    rule: str
    found: str
    met: bool
    citation: str


@dataclass(frozen=True)
class DepartmentDuty:
    """One department on a work order."""

    code: str
    name: str
    lead: bool
    duty: str
    why: str


def threshold_citation(rules: Rules, lang: Lang = "zh") -> str:
    """The citation of the criminal thresholds, as the reasons give it."""
    return citation(rules, rules.criminal.article, lang)


def _public_welfare(facts: DossierFacts, rules: Rules) -> bool:
    cr = rules.criminal
    risk = facts.risk
    if not len(risk):
        return False
    pw = (
        risk.get("public_welfare", pd.Series(dtype=object))
        .astype(str)
        .isin(cr.public_welfare_classes)
    )
    reserve = risk.get("nature_reserve", pd.Series(dtype=bool)).fillna(False).astype(bool)
    return bool(pw.any() or (cr.nature_reserve_is_public_welfare and reserve.any()))


def _basis(facts: DossierFacts, rules: Rules) -> str:
    risk = facts.risk
    if len(risk) and "criminal_basis" in risk.columns:
        met = [b for b in risk["criminal_basis"].fillna("").astype(str) if b]
        for basis in ("area_pw", "area", "volume"):
            if basis in met:
                return basis
    cats = ids_of(facts.target["categories"])
    dominant = cats[0] if cats else "other"
    if dominant in rules.criminal.felling_categories:
        return "volume"
    if dominant in rules.criminal.occupation_categories:
        return "area_pw" if _public_welfare(facts, rules) else "area"
    return "none"


def _illegal_ha(facts: DossierFacts) -> float:
    p = facts.patches
    if not len(p) or "illegal_area_ha" not in p.columns:
        return 0.0
    illegal = p["illegal"].astype(str).str.lower() == "true"
    return float(pd.to_numeric(p.loc[illegal, "illegal_area_ha"], errors="coerce").sum())


def applicable_threshold(facts: DossierFacts, rules: Rules, lang: Lang = "zh") -> Threshold:
    """The criminal threshold the target is measured against, and where it stands."""
    cr = rules.criminal
    basis = _basis(facts, rules)
    met = bool(facts.target["criminal_threshold_met"])
    cite = threshold_citation(rules, lang)
    if basis == "volume":
        volume = float(pd.to_numeric(facts.target["estimated_volume_m3"], errors="coerce") or 0)
        rule = pick(
            lang,
            f"盗伐、滥伐林木蓄积 {cr.felling_volume_m3:g} 立方米以上",
            f"illegal felling of {cr.felling_volume_m3:g} m³ or more of standing volume",
        )
        found = pick(
            lang,
            f"本目标估算违法采伐蓄积 {volume:.1f} 立方米",
            f"this target: an estimated {volume:.1f} m³ felled illegally",
        )
        return Threshold(basis, rule, found, met, cite)
    if basis in ("area_pw", "area"):
        ha = cr.public_welfare_area_ha if basis == "area_pw" else cr.other_area_ha
        land = pick(lang, "公益林地", "public-welfare forest land")
        if basis == "area":
            land = pick(lang, "其他林地", "other forest land")
        rule = pick(
            lang,
            f"非法占用{land} {mu(ha)} 亩（{ha:g} 公顷）以上",
            f"illegal occupation of {mu(ha)} mu ({ha:g} ha) or more of {land}",
        )
        found = pick(
            lang,
            f"本目标已核定违法面积 {_illegal_ha(facts):.2f} 公顷",
            f"this target: {_illegal_ha(facts):.2f} ha of established illegal change",
        )
        return Threshold(basis, rule, found, met, cite)
    cats = ids_of(facts.target["categories"])
    name = category_name(cats[0] if cats else "other", lang)
    rule = pick(
        lang,
        f"研判规则未对“{name}”设定数量化的刑事立案标准，是否涉嫌犯罪由公安机关依法认定",
        f"the rules set no numeric criminal threshold for {name}; the police decide "
        "under the law whether a crime is suspected",
    )
    return Threshold(basis, rule, "", met, cite)


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
