"""Words for the rules: article citations, category names and the printable rules table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from layers.codes import CATEGORIES, PRIORITY_WORDS, PROBLEM_STATE_LABELS
from layers.messages import Lang, pick

if TYPE_CHECKING:
    from geoservice.analysis.rules import Rules

_ZH_DIGITS = "零一二三四五六七八九"
_STATUS_WORDS = {
    "verified": ("属实", "verified"),
    "new": ("待核实", "not yet verified"),
    "closed": ("已办结", "closed"),
    "unfounded": ("不属实", "unfounded"),
}
_LEGALITY_WORDS = {
    "true": ("违法", "illegal"),
    "suspected": ("疑似违法（违法面积未核定）", "suspected illegal (illegal area not established)"),
    "unknown": ("待核实", "legality not yet verified"),
    "false": ("合法", "legal"),
}
_PROBLEM_WORDS = PROBLEM_STATE_LABELS
_PW_WORDS = {
    "national_1": ("国家一级公益林", "national level-1 public-welfare forest"),
    "national_2": ("国家二级公益林", "national level-2 public-welfare forest"),
    "local_key": ("地方重点公益林", "local key public-welfare forest"),
    "local_general": ("地方一般公益林", "local general public-welfare forest"),
    "none": ("商品林", "commercial forest"),
}


def priority_word(priority: str, lang: Lang = "zh") -> str:
    return pick(lang, *PRIORITY_WORDS.get(priority, (priority, priority)))


def status_word(status: str, lang: Lang = "zh") -> str:
    """Complaint status in words (核实结果)."""
    return pick(lang, *_STATUS_WORDS.get(status, (status, status)))


def legality_word(legality: str, lang: Lang = "zh") -> str:
    """Patch legality in words."""
    return pick(lang, *_LEGALITY_WORDS.get(legality, (legality, legality)))


def problem_status_word(status: str, lang: Lang = "zh") -> str:
    """Problem status in words (整改状态)."""
    return pick(lang, *_PROBLEM_WORDS.get(status, (status, status)))


def protection_word(public_welfare: str, lang: Lang = "zh") -> str:
    """Public-welfare class in words."""
    return pick(lang, *_PW_WORDS.get(public_welfare, (public_welfare, public_welfare)))


def article_label(article: int, lang: Lang = "zh") -> str:
    """``第十条`` / ``Article 10``."""
    if lang == "en":
        return f"Article {article}"
    tens, ones = divmod(article, 10)
    if article < 10:
        text = _ZH_DIGITS[ones]
    elif article < 100:
        text = ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[ones] if ones else "")
    else:
        text = str(article)
    return f"第{text}条"


def citation(rules: Rules, article: int, lang: Lang = "zh") -> str:
    """``《部门协作制度》第十条`` / ``Article 10 of the Collaboration Rules``."""
    if lang == "en":
        return f"{article_label(article, 'en')} of the {rules.policy.short_en}"
    return f"《{rules.policy.short_zh}》{article_label(article)}"


def category_name(code: str, lang: Lang = "zh") -> str:
    """The category's name in ``lang`` (the code itself if unknown)."""
    return pick(lang, *CATEGORIES.get(code, (code, code)))


def mu(hectares: float) -> str:
    """Hectares as 亩 (15 mu = 1 ha), at most one decimal: ``0.3333`` -> ``"5"``."""
    return f"{round(hectares * 15, 1):g}"


def _row(key: str, zh: str, en: str, value: Any, unit: str, lang: Lang) -> dict[str, Any]:
    return {"key": key, "label": pick(lang, zh, en), "value": value, "unit": unit}


def display_sections(rules: Rules, lang: Lang) -> list[dict[str, Any]]:
    """Every weight, buffer, half-life and threshold, grouped, labelled in ``lang``."""
    c, p, q, k = rules.complaints, rules.patches, rules.problems, rules.criminal
    t = rules.targets

    def section(key: str, zh: str, en: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"key": key, "title": pick(lang, zh, en), "rows": rows}

    complaints = [
        _row(
            "complaints.buffer_m",
            "计入范围（小班内或周边）",
            "buffer around parcels",
            c.buffer_m,
            "m",
            lang,
        ),
        _row(
            "complaints.half_distance_m",
            "小班外举报按距离折半的距离",
            "distance that halves a complaint outside the parcel",
            c.half_distance_m,
            "m",
            lang,
        ),
        _row(
            "complaints.half_life_days",
            "时间衰减半衰期",
            "age half-life",
            c.half_life_days,
            "d",
            lang,
        ),
    ] + [
        _row(
            f"complaints.status_weights.{s}",
            f"核实结果权重：{status_word(s)}",
            f"status weight: {status_word(s, 'en')}",
            getattr(c.status_weights, s),
            "",
            lang,
        )
        for s in ("verified", "new", "closed", "unfounded")
    ]
    patches = [
        _row(
            "patches.points_per_ha",
            "每公顷图斑分值",
            "points per hectare of overlap",
            p.points_per_ha,
            "/ha",
            lang,
        )
    ] + [
        _row(
            f"patches.legality_weights.{s}",
            f"合法性权重：{legality_word(s)}",
            f"legality weight: {legality_word(s, 'en')}",
            getattr(p.legality_weights, s),
            "",
            lang,
        )
        for s in ("true", "suspected", "unknown", "false")
    ]
    problems = [
        _row("problems.buffer_m", "计入范围", "buffer around parcels", q.buffer_m, "m", lang),
        _row(
            "problems.open_points",
            "未办结问题分值",
            "points per open problem",
            q.open_points,
            "",
            lang,
        ),
        _row(
            "problems.overdue_points",
            "逾期问题分值",
            "points per overdue problem",
            q.overdue_points,
            "",
            lang,
        ),
    ]
    severity = [
        _row(f"severity.{cat}", category_name(cat), category_name(cat, "en"), v, "", lang)
        for cat, v in rules.severity.items()
    ]
    protection = [
        _row(
            f"protection.public_welfare.{cls}",
            protection_word(cls),
            protection_word(cls, "en"),
            v,
            "x",
            lang,
        )
        for cls, v in rules.protection.public_welfare.items()
    ] + [
        _row(
            "protection.nature_reserve",
            "自然保护区",
            "nature reserve",
            rules.protection.nature_reserve,
            "x",
            lang,
        ),
        _row(
            "protection.wetland",
            "重要湿地",
            "important wetland",
            rules.protection.wetland,
            "x",
            lang,
        ),
    ]
    criminal = [
        _row(
            "criminal.public_welfare_area_ha",
            f"违法占用公益林地（{mu(k.public_welfare_area_ha)} 亩）",
            f"illegal occupation of public-welfare forest land ({mu(k.public_welfare_area_ha)} mu)",
            k.public_welfare_area_ha,
            "ha",
            lang,
        ),
        _row(
            "criminal.other_area_ha",
            f"违法占用其他林地（{mu(k.other_area_ha)} 亩）",
            f"illegal occupation of other forest land ({mu(k.other_area_ha)} mu)",
            k.other_area_ha,
            "ha",
            lang,
        ),
        _row(
            "criminal.felling_volume_m3",
            "盗伐林木立木蓄积",
            "theft felling, standing volume",
            k.felling_volume_m3,
            "m3",
            lang,
        ),
        _row(
            "criminal.unlicensed_felling_volume_m3",
            "滥伐林木立木蓄积",
            "felling without a permit, standing volume",
            k.unlicensed_felling_volume_m3,
            "m3",
            lang,
        ),
        _row(
            "criminal.fire_stocked_area_ha",
            "森林火灾过火有林地面积",
            "stocked forest burnt by a forest fire",
            k.fire_stocked_area_ha,
            "ha",
            lang,
        ),
    ]
    flags = [
        _row(
            "flag.score",
            "标记为严重破坏风险的分值",
            "score that flags a parcel",
            rules.flag.score,
            "",
            lang,
        ),
        _row(
            "targets.group_distance_m",
            "合并为同一目标区域的距离",
            "grouping distance",
            t.group_distance_m,
            "m",
            lang,
        ),
        _row(
            "targets.member_score",
            "参与合并为目标区域的小班最低分值",
            "score that lets a parcel join a target group",
            t.member_score,
            "",
            lang,
        ),
        _row(
            "targets.priority.p1_score",
            f"P1（{PRIORITY_WORDS['P1'][0]}）分值",
            f"P1 ({PRIORITY_WORDS['P1'][1]}) score",
            t.priority.p1_score,
            "",
            lang,
        ),
        _row(
            "targets.priority.p2_score",
            f"P2（{PRIORITY_WORDS['P2'][0]}）分值",
            f"P2 ({PRIORITY_WORDS['P2'][1]}) score",
            t.priority.p2_score,
            "",
            lang,
        ),
    ] + [
        _row(
            f"targets.deadline_days.{level}",
            f"{level}（{PRIORITY_WORDS[level][0]}）处置期限（自研判日起）",
            f"{level} ({PRIORITY_WORDS[level][1]}) deadline after the analysis date",
            getattr(t.deadline_days, level),
            "d",
            lang,
        )
        for level in ("P1", "P2", "P3")
    ]
    return [
        section("complaints", "举报投诉", "complaints", complaints),
        section("patches", "变化图斑", "change patches", patches),
        section("problems", "督查问题", "inspection problems", problems),
        section("severity", "违法类别严重程度", "category severity", severity),
        section("protection", "保护价值系数", "protection multipliers", protection),
        section("criminal", "刑事立案标准", "criminal thresholds", criminal),
        section("targets", "标记与优先级", "flags and priorities", flags),
    ]


def escalation_rows(rules: Rules, lang: Lang) -> list[dict[str, Any]]:
    """The escalation rules in words, each citing its article."""
    esc = rules.escalations
    cats = "、".join(category_name(cat) for cat in esc.environment.categories)
    cats_en = ", ".join(category_name(cat, "en") for cat in esc.environment.categories)
    items = [
        (
            "criminal",
            esc.criminal,
            "达到刑事立案标准：由该部门牵头，原牵头部门配合",
            "a criminal threshold is met: this department leads, the previous lead cooperates",
        ),
        (
            "protected_area",
            esc.protected_area,
            "位于自然保护区或湿地：该部门参与",
            "in a nature reserve or on wetland: this department takes part",
        ),
        (
            "environment",
            esc.environment,
            f"涉及{cats}：该部门参与",
            f"with {cats_en}: this department takes part",
        ),
    ]
    return [
        {
            "rule": name,
            "description": pick(lang, zh, en),
            "department": rule.department,
            "department_name": rules.department_name(rule.department, lang),
            "article": rule.article,
            "citation": citation(rules, rule.article, lang),
        }
        for name, rule, zh, en in items
    ]
