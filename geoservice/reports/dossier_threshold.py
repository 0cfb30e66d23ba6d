"""The criminal case-filing threshold a work order states for its target, with its citation.

The threshold is the one the target meets (the criminal basis the analysis stored on its
parcels), else the one its dominant category is measured against: illegal occupation of
public-welfare or other forest land, illegal felling volume, a forest fire's burnt stocked
area, or illegal hunting (a police matter whatever the take). Figures come from
``criminal`` in the rules. Each threshold is cited as the rules cite it
(``criminal.citations``: the judicial interpretation and article,
:func:`geoservice.analysis.thresholds.cite`); a target no threshold concerns cites the
article of the town's rules that sends criminal cases to the police, as the reasons do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geoservice.analysis.labels import category_name, citation, mu
from geoservice.analysis.rules import Rules
from geoservice.analysis.thresholds import cite
from geoservice.reports.dossier_data import DossierFacts, ids_of
from layers.messages import Lang, pick

__all__ = ["Threshold", "applicable_threshold", "threshold_citation"]

# criminal basis stored on parcels -> the key of its citation in ``criminal.citations``
_CITATION_KEY = {"area_pw": "occupation", "area": "occupation", "volume": "felling"}
_ORDER = ("area_pw", "area", "volume", "fire")
_CITED = ("occupation", "felling", "unlicensed_felling", "fire", "hunting")


@dataclass(frozen=True)
class Threshold:
    """The criminal case-filing threshold that applies to a target.

    Attributes
    ----------
    basis : {"area_pw", "area", "volume", "fire", "hunting", "none"}
        Illegal occupation of public-welfare forest land or of other forest land, illegal
        felling volume, burnt stocked forest, illegal hunting, or no threshold in the rules
        for the target's category.
    rule : str
        The threshold in words.
    found : str
        What the target amounts to against it (empty when nothing is measured).
    met : bool
    citation : str
        Where the threshold comes from.
    """

    basis: str
    rule: str
    found: str
    met: bool
    citation: str


def threshold_citation(rules: Rules, lang: Lang = "zh", basis: str = "none") -> str:
    """The citation of the threshold of ``basis`` as the rules give it
    (``criminal.citations``); for a target no threshold concerns, the article of the
    town's rules the reasons cite for criminal cases."""
    key = _CITATION_KEY.get(basis, basis)
    if key in _CITED:
        return cite(rules, key, lang)
    return citation(rules, rules.criminal.article, lang)


def _public_welfare(facts: DossierFacts, rules: Rules) -> bool:
    cr, risk = rules.criminal, facts.risk
    if not len(risk):
        return False
    pw = risk.get("public_welfare", pd.Series(dtype=object)).astype(str)
    reserve = risk.get("nature_reserve", pd.Series(dtype=bool)).fillna(False).astype(bool)
    return bool(
        pw.isin(cr.public_welfare_classes).any()
        or (cr.nature_reserve_is_public_welfare and reserve.any())
    )


def _basis(facts: DossierFacts, rules: Rules) -> str:
    """The basis the target meets, else the one its dominant category concerns."""
    risk = facts.risk
    if len(risk) and "criminal_basis" in risk.columns:
        met = {b for cell in risk["criminal_basis"].fillna("").astype(str) for b in ids_of(cell)}
        for basis in _ORDER:
            if basis in met:
                return basis
    cats = ids_of(facts.target["categories"])
    dominant = cats[0] if cats else "other"
    if dominant in rules.criminal.felling_categories:
        return "volume"
    if dominant in rules.criminal.occupation_categories:
        return "area_pw" if _public_welfare(facts, rules) else "area"
    if dominant in rules.criminal.fire_categories:
        return "fire"
    if dominant in rules.criminal.hunting_categories:
        return "hunting"
    return "none"


def _illegal_ha(facts: DossierFacts) -> float:
    """Established illegal area of the target's patches (hectares)."""
    p = facts.patches
    if not len(p) or "illegal_area_ha" not in p.columns:
        return 0.0
    illegal = p["illegal"].astype(str).str.lower() == "true"
    return float(pd.to_numeric(p.loc[illegal, "illegal_area_ha"], errors="coerce").fillna(0).sum())


def _burnt_ha(facts: DossierFacts, rules: Rules) -> float:
    """Area of the target's burn patches (hectares, every land class)."""
    p = facts.patches
    if not len(p):
        return 0.0
    fire = p["category"].astype(str).isin(rules.criminal.fire_categories)
    return float(pd.to_numeric(p.loc[fire, "area_ha"], errors="coerce").fillna(0).sum())


def _felling(facts: DossierFacts, rules: Rules, lang: Lang) -> tuple[str, str]:
    cr = rules.criminal
    volume = float(pd.to_numeric(facts.target["estimated_volume_m3"], errors="coerce") or 0.0)
    unlicensed = threshold_citation(rules, lang, "unlicensed_felling")
    rule = pick(
        lang,
        f"盗伐林木立木蓄积 {cr.felling_volume_m3:g} 立方米或幼树 {cr.felling_saplings} 株以上；"
        f"如系林木所有者无证采伐（滥伐），立木蓄积 {cr.unlicensed_felling_volume_m3:g} 立方米"
        f"或幼树 {cr.unlicensed_felling_saplings} 株以上（{unlicensed}）",
        f"theft felling of {cr.felling_volume_m3:g} m³ of standing volume or "
        f"{cr.felling_saplings} saplings or more; owners felling without a permit: "
        f"{cr.unlicensed_felling_volume_m3:g} m³ or {cr.unlicensed_felling_saplings} saplings "
        f"or more ({unlicensed})",
    )
    found = pick(
        lang,
        f"本目标估算违法采伐蓄积 {volume:.1f} 立方米",
        f"this target: an estimated {volume:.1f} m³ felled illegally",
    )
    return rule, found


def _occupation(facts: DossierFacts, rules: Rules, basis: str, lang: Lang) -> tuple[str, str]:
    cr = rules.criminal
    ha = cr.public_welfare_area_ha if basis == "area_pw" else cr.other_area_ha
    land = pick(lang, "公益林地", "public-welfare forest land")
    if basis == "area":
        land = pick(lang, "其他林地", "other forest land")
    rule = pick(
        lang,
        f"非法占用{land} {mu(ha)} 亩（{ha:g} 公顷）以上",
        f"illegal occupation of {mu(ha)} mu ({ha:g} ha) or more of {land}",
    )
    illegal = _illegal_ha(facts)
    found = pick(
        lang,
        f"本目标已核定违法面积 {illegal:.2f} 公顷",
        f"this target: {illegal:.2f} ha of established illegal change",
    )
    return rule, found


def _fire(facts: DossierFacts, rules: Rules, lang: Lang) -> tuple[str, str]:
    limit = rules.criminal.fire_stocked_area_ha
    burnt = _burnt_ha(facts, rules)
    rule = pick(
        lang,
        f"失火造成森林火灾，过火有林地 {limit:g} 公顷以上",
        f"a forest fire burning {limit:g} ha or more of stocked forest",
    )
    found = pick(
        lang,
        f"本目标火烧变化图斑面积 {burnt:.2f} 公顷（含非有林地）",
        f"this target: burn patches of {burnt:.2f} ha (all land classes)",
    )
    return rule, found


def applicable_threshold(facts: DossierFacts, rules: Rules, lang: Lang = "zh") -> Threshold:
    """The criminal threshold the target is measured against, where it stands and its
    citation."""
    basis = _basis(facts, rules)
    met = bool(facts.target["criminal_threshold_met"])
    cite = threshold_citation(rules, lang, basis)
    if basis == "volume":
        return Threshold(basis, *_felling(facts, rules, lang), met, cite)
    if basis in ("area_pw", "area"):
        return Threshold(basis, *_occupation(facts, rules, basis, lang), met, cite)
    if basis == "fire":
        return Threshold(basis, *_fire(facts, rules, lang), met, cite)
    if basis == "hunting":
        rule = pick(
            lang,
            "在禁猎区、禁猎期或者使用禁用的工具、方法狩猎的，不论数量，由公安机关立案侦查",
            "hunting in a closed area or season or with banned tools or methods is a police "
            "matter whatever the take",
        )
        return Threshold(basis, rule, "", met, cite)
    cats = ids_of(facts.target["categories"])
    name = category_name(cats[0] if cats else "other", lang)
    rule = pick(
        lang,
        f"研判规则未对“{name}”设定数量化的刑事立案标准，是否涉嫌犯罪由公安机关依法认定",
        f"the rules set no numeric criminal threshold for {name}; the police decide under "
        "the law whether a crime is suspected",
    )
    return Threshold(basis, rule, "", met, cite)
