"""The criminal case-filing thresholds in words, each with its citation.

What a target's reasons say about a threshold it meets (:func:`finding_text`) and the
thresholds that apply to it whether met or not (:func:`legal_basis`, the ``legal_basis``
column of the targets layer that the 联合执法任务书 prints). Figures and citations come from
``criminal`` in the rules file, so a province's override changes both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geoservice.analysis.labels import mu, protection_word
from geoservice.analysis.rules import Rules
from layers.messages import Lang, pick

if TYPE_CHECKING:
    from geoservice.analysis.reasons import CriminalFinding

__all__ = ["cite", "finding_text", "hunting_text", "legal_basis", "threshold_lines"]

# the order the legal basis lists the thresholds in
KINDS = ("occupation", "felling", "fire", "hunting")


def cite(rules: Rules, key: str, lang: Lang = "zh") -> str:
    """The citation of one threshold (``occupation``, ``felling``, ``unlicensed_felling``,
    ``fire``, ``hunting``) in ``lang``."""
    c = getattr(rules.criminal.citations, key)
    return str(c.en if lang == "en" else c.zh)


def _pw_land(cls: str, rules: Rules, lang: Lang = "zh") -> str:
    """``国家一级公益林地``; land counted as public welfare for being in a reserve otherwise."""
    if cls in rules.criminal.public_welfare_classes:
        return protection_word(cls, lang) + (" land" if lang == "en" else "地")
    return "nature-reserve forest land" if lang == "en" else "自然保护区林地"


def _unlicensed(rules: Rules, lang: Lang) -> str:
    cr = rules.criminal
    return pick(
        lang,
        f"如系林木所有者无证采伐（滥伐林木），标准为 {cr.unlicensed_felling_volume_m3:g} 立方米"
        f"或幼树 {cr.unlicensed_felling_saplings} 株（{cite(rules, 'unlicensed_felling')}）",
        f"if owners felled their own trees without a permit, the threshold is "
        f"{cr.unlicensed_felling_volume_m3:g} m³ or {cr.unlicensed_felling_saplings} saplings "
        f"({cite(rules, 'unlicensed_felling', 'en')})",
    )


def finding_text(c: CriminalFinding, rules: Rules, lang: Lang) -> str:
    """One threshold a target meets, with the figure, the threshold and its citation."""
    cr = rules.criminal
    who = (
        pick(lang, f"变化图斑 {c.patch_id} ", f"change patch {c.patch_id}: ")
        if c.patch_id
        else pick(lang, "区域内合计", "in total: ")
    )
    if c.basis in ("area_pw", "area"):
        if c.basis == "area_pw":
            land = pick(lang, "、", ", ").join(_pw_land(p, rules, lang) for p in c.classes)
            land = land or pick(lang, "公益林地", "public-welfare forest land")
            limit = cr.public_welfare_area_ha
        else:
            land, limit = pick(lang, "林地", "forest land"), cr.other_area_ha
        source = cite(rules, "occupation", lang)
        return pick(
            lang,
            f"{who}违法占用{land} {c.amount:.2f} 公顷，超过 {mu(limit)} 亩（{limit:g} 公顷）"
            f"刑事立案标准（{source}）",
            f"{who}illegal occupation of {land} of {c.amount:.2f} ha, over the criminal "
            f"threshold of {mu(limit)} mu ({limit:g} ha) ({source})",
        )
    if c.basis == "fire":
        limit = cr.fire_stocked_area_ha
        return pick(
            lang,
            f"{who}过火有林地 {c.amount:.2f} 公顷，超过失火案 {limit:g} 公顷立案追诉标准"
            f"（{cite(rules, 'fire')}）",
            f"{who}a forest fire burnt {c.amount:.2f} ha of stocked forest, over the "
            f"case-filing threshold of {limit:g} ha ({cite(rules, 'fire', 'en')})",
        )
    per_ha = c.amount / c.felling_ha if c.felling_ha > 0 else 0.0
    return pick(
        lang,
        f"{who}违法采伐 {c.felling_ha:.2f} 公顷，按每公顷蓄积 {per_ha:.1f} 立方米估算林木蓄积 "
        f"{c.amount:.1f} 立方米，超过盗伐林木 {cr.felling_volume_m3:g} 立方米刑事立案标准"
        f"（{cite(rules, 'felling')}）；{_unlicensed(rules, lang)}",
        f"{who}illegal felling of {c.felling_ha:.2f} ha at {per_ha:.1f} m³/ha, an estimated "
        f"{c.amount:.1f} m³ of standing volume, over the criminal threshold for theft "
        f"felling of {cr.felling_volume_m3:g} m³ ({cite(rules, 'felling', 'en')}); "
        f"{_unlicensed(rules, lang)}",
    )


def _kinds(categories: list[str], rules: Rules) -> list[str]:
    """The thresholds that concern a target of these categories, in :data:`KINDS` order."""
    cr = rules.criminal
    by_kind = {
        "occupation": cr.occupation_categories,
        "felling": cr.felling_categories,
        "fire": cr.fire_categories,
        "hunting": cr.hunting_categories,
    }
    return [k for k in KINDS if set(categories) & set(by_kind[k])]


def _threshold(kind: str, rules: Rules, lang: Lang) -> str:
    cr = rules.criminal
    if kind == "occupation":
        pw, other = cr.public_welfare_area_ha, cr.other_area_ha
        return pick(
            lang,
            f"非法占用农用地罪：非法占用并毁坏公益林地 {mu(pw)} 亩（{pw:g} 公顷）或其他林地 "
            f"{mu(other)} 亩（{other:g} 公顷）以上（{cite(rules, 'occupation')}）",
            f"illegal occupation of farmland: {mu(pw)} mu ({pw:g} ha) of public-welfare or "
            f"{mu(other)} mu ({other:g} ha) of other forest land occupied and destroyed "
            f"({cite(rules, 'occupation', 'en')})",
        )
    if kind == "felling":
        return pick(
            lang,
            f"盗伐林木罪：立木蓄积 {cr.felling_volume_m3:g} 立方米或幼树 {cr.felling_saplings} "
            f"株以上（{cite(rules, 'felling')}）；滥伐林木罪：立木蓄积 "
            f"{cr.unlicensed_felling_volume_m3:g} 立方米或幼树 "
            f"{cr.unlicensed_felling_saplings} 株以上（{cite(rules, 'unlicensed_felling')}）",
            f"theft felling: {cr.felling_volume_m3:g} m³ of standing volume or "
            f"{cr.felling_saplings} saplings ({cite(rules, 'felling', 'en')}); felling without "
            f"a permit: {cr.unlicensed_felling_volume_m3:g} m³ or "
            f"{cr.unlicensed_felling_saplings} saplings "
            f"({cite(rules, 'unlicensed_felling', 'en')})",
        )
    if kind == "fire":
        return pick(
            lang,
            f"失火案：造成森林火灾，过火有林地 {cr.fire_stocked_area_ha:g} 公顷以上应予立案追诉"
            f"（{cite(rules, 'fire')}）",
            f"negligently causing a fire: a forest fire burning {cr.fire_stocked_area_ha:g} ha "
            f"or more of stocked forest is filed as a case ({cite(rules, 'fire', 'en')})",
        )
    return pick(
        lang,
        f"非法狩猎罪：在禁猎区、禁猎期或者使用禁用的工具、方法狩猎，由公安机关立案侦查"
        f"（{cite(rules, 'hunting')}）",
        f"illegal hunting: hunting in a closed area or season or with banned tools or methods "
        f"is a police matter ({cite(rules, 'hunting', 'en')})",
    )


def hunting_text(categories: list[str], rules: Rules, lang: Lang = "zh") -> str:
    """The illegal-hunting rule with its citation when a target concerns hunting, else ''."""
    if not set(categories) & set(rules.criminal.hunting_categories):
        return ""
    return _threshold("hunting", rules, lang)


def threshold_lines(categories: list[str], rules: Rules, lang: Lang = "zh") -> list[str]:
    """The criminal thresholds that concern a target of these categories, each with its
    figure and citation (none for categories no threshold concerns)."""
    return [_threshold(k, rules, lang) for k in _kinds(categories, rules)]


def legal_basis(
    categories: list[str], findings: list[CriminalFinding], rules: Rules, lang: Lang = "zh"
) -> str:
    """A target's legal basis: the thresholds it meets (figure, threshold and citation),
    then those that concern its categories, ``；``-joined ('' when none applies)."""
    met = [finding_text(c, rules, lang) for c in findings]
    kinds = _kinds(categories, rules)
    basis_kind = {"area_pw": "occupation", "area": "occupation", "volume": "felling"}
    shown = {basis_kind.get(c.basis, c.basis) for c in findings}
    rest = [_threshold(k, rules, lang) for k in kinds if k not in shown]
    head = pick(lang, "已达到：", "Met: ") if met else ""
    tail = pick(lang, "适用标准：", "Thresholds: ") if rest else ""
    parts = [head + pick(lang, "；", "; ").join(met)] if met else []
    if rest:
        parts.append(tail + pick(lang, "；", "; ").join(rest))
    return pick(lang, "。", ". ").join(parts) + (pick(lang, "。", ".") if parts else "")
