"""The reasons of a target in plain Chinese or English, to be read out at a meeting.

One paragraph per target: where it is, which complaints, which change patches, which
open inspection problems, which criminal threshold is met and by how much, which
department leads and why (citing the article of the Collaboration Rules), which
departments cooperate and why, and the priority.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geoservice.analysis.labels import (
    PRIORITY_WORDS,
    category_name,
    citation,
    legality_word,
    problem_status_word,
    protection_word,
    status_word,
)
from geoservice.analysis.routing import Assignment, Routing
from geoservice.analysis.rules import Rules
from geoservice.analysis.thresholds import finding_text, hunting_text
from geoservice.base.missing import NO_DEADLINE, village_word, word
from layers.codes import CAUSE_CATEGORY
from layers.messages import Lang, pick

__all__ = [
    "CAUSE_WORDS",
    "CriminalFacts",
    "CriminalFinding",
    "PatchFact",
    "ProblemFact",
    "TargetFacts",
    "target_reasons",
]

# 森林督查 change causes (BHYY) in words.
CAUSE_WORDS: dict[str, tuple[str, str]] = {
    "11": ("人工造林", "afforestation"),
    "12": ("人工更新", "replanting"),
    "20": ("森林采伐", "felling"),
    "21": ("经审批采伐林木", "approved felling"),
    "22": ("未经审批采伐林木", "felling without approval"),
    "41": ("经审批使用林地", "approved use of forest land"),
    "411": ("经审批永久使用林地", "approved permanent use of forest land"),
    "412": ("经审批临时占用林地", "approved temporary use of forest land"),
    "413": ("经审批为林业生产服务使用林地", "approved use for forestry"),
    "42": ("未经审批使用林地", "use of forest land without approval"),
    "421": ("未经审批永久使用林地", "permanent use of forest land without approval"),
    "422": ("未经审批临时占用林地", "temporary use of forest land without approval"),
    "423": ("未经审批为林业生产服务使用林地", "use for forestry without approval"),
    "50": ("毁林开垦", "clearing forest for cultivation"),
    "51": ("毁林开垦种植", "clearing forest for planting"),
    "52": ("毁林开垦土地整理", "clearing forest for land consolidation"),
    "60": ("森林抚育", "tending"),
    "71": ("火灾", "fire"),
    "72": ("地质灾害", "geological hazard"),
    "73": ("其他灾害", "other disaster"),
    "82": ("其他自然因素", "other natural causes"),
    "99": ("地类未变化", "no change of land class"),
}
_MAX_IDS = 10


@dataclass(frozen=True)
class CriminalFinding:
    """One criminal threshold met.

    Attributes
    ----------
    basis : {"area_pw", "area", "volume", "fire"}
        Illegal occupation of public-welfare forest land, of forest land, illegal
        felling volume, or stocked forest burnt by a forest fire.
    amount : float
        Hectares (area bases, fire) or cubic metres (volume).
    patch_id : str or None
        The change patch that meets it on its own; None when the target's parcels
        together meet it.
    felling_ha : float
        Illegal felling area behind a volume (hectares).
    classes : tuple of str
        Public-welfare classes of the land concerned (area_pw).
    """

    basis: str
    amount: float
    patch_id: str | None = None
    felling_ha: float = 0.0
    classes: tuple[str, ...] = ()


@dataclass
class CriminalFacts:
    """The criminal thresholds a target meets."""

    findings: list[CriminalFinding] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return bool(self.findings)


@dataclass(frozen=True)
class PatchFact:
    """One change patch of a target (areas in hectares, within the target unless noted)."""

    id: str
    category: str
    legality: str
    cause: str
    overlap_ha: float
    illegal_ha: float
    patch_illegal_ha: float


@dataclass(frozen=True)
class ProblemFact:
    """One open inspection problem of a target."""

    id: str
    category: str
    status: str
    deadline: str
    overdue_days: int


@dataclass
class TargetFacts:
    """What the reasons of one target are built from (plain values, no frames).

    Complaint figures count each complaint once: ``complaint_statuses`` maps status to
    count, ``complaint_ids`` lists up to 10 ids (verified and new first, newest first),
    ``complaint_categories`` the categories of the counted complaints, heaviest first.
    ``patches`` and ``problems`` hold up to five items each, heaviest or most urgent
    first; ``patch_count`` and ``problem_count`` give the totals. ``village_codes`` and
    ``village_names`` are parallel, None where the parcels do not say.
    """

    parcel_ids: list[str]
    village_codes: list[str | None]
    village_names: list[str | None]
    area_ha: float
    protection: list[str]
    nature_reserve: bool
    wetland: bool
    forest: bool
    complaint_count: int
    complaint_statuses: dict[str, int]
    complaint_latest: str
    complaint_ids: list[str]
    complaint_categories: list[str]
    patches: list[PatchFact]
    patch_count: int
    problems: list[ProblemFact]
    problem_count: int
    categories: list[str]
    criminal: CriminalFacts
    score: float
    priority: str
    complaints_outside: list[tuple[str, str, float]] = field(default_factory=list)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _parcel_noun(f: TargetFacts) -> str:
    """小班 (forest sub-compartments), 湿地图斑 (wetland parcels) or both."""
    if f.wetland and f.forest:
        return "小班和湿地图斑"
    return "湿地图斑" if f.wetland else "小班"


def _ids(values: list[str], total: int, lang: Lang) -> str:
    text = pick(lang, "、", ", ").join(values[:_MAX_IDS])
    if total > min(len(values), _MAX_IDS):
        text += pick(lang, f" 等 {total} 件", f" and {total - min(len(values), _MAX_IDS)} more")
    return text


def _place(f: TargetFacts, lang: Lang) -> str:
    villages = pick(lang, "、", ", ").join(
        village_word(code, name, lang)
        for code, name in zip(f.village_codes, f.village_names, strict=True)
    )
    parcels = pick(lang, "、", ", ").join(f.parcel_ids[:5])
    if len(f.parcel_ids) > 5:
        parcels += pick(lang, f" 等 {len(f.parcel_ids)} 个", f" and {len(f.parcel_ids) - 5} more")
    marks = [protection_word(p, lang) for p in f.protection if p != "none"]
    if f.nature_reserve:
        marks.append(pick(lang, "自然保护区", "nature reserve"))
    if f.wetland:
        marks.append(pick(lang, "湿地", "wetland"))
    extra = pick(lang, f"，含{'、'.join(marks)}", f"; includes {', '.join(marks)}") if marks else ""
    return pick(
        lang,
        f"位置：{villages}，{_parcel_noun(f)} {parcels}（共 {f.area_ha:.2f} 公顷{extra}）。",
        f"Where: {villages}, {_plural(len(f.parcel_ids), 'parcel')} {parcels} ({f.area_ha:.2f} ha{extra}).",
    )


def _complaints(f: TargetFacts, lang: Lang) -> str:
    if f.complaint_count == 0:
        return ""
    parts = [
        pick(lang, f"{status_word(s)} {n} 件", f"{n} {status_word(s, 'en')}")
        for s in ("verified", "new", "closed", "unfounded")
        if (n := f.complaint_statuses.get(s, 0))
    ]
    cats = pick(lang, "、", ", ").join(category_name(c, lang) for c in f.complaint_categories)
    about = pick(lang, f"，反映{cats}", f", about {cats}") if cats else ""
    return pick(
        lang,
        f"收到举报投诉 {f.complaint_count} 件（{'，'.join(parts)}），最近一次受理于 "
        f"{f.complaint_latest}：{_ids(f.complaint_ids, f.complaint_count, lang)}{about}。",
        f"{_plural(f.complaint_count, 'complaint')} ({', '.join(parts)}), the latest received on "
        f"{f.complaint_latest}: {_ids(f.complaint_ids, f.complaint_count, lang)}{about}.",
    )


def _outside(f: TargetFacts, lang: Lang) -> str:
    """Where the complaints counted from outside their parcel lie: ``JB… 距小班 0080-004
    66 米``."""
    if not f.complaints_outside:
        return ""
    noun = "图斑" if f.wetland else "小班"
    lines = [
        pick(
            lang,
            f"{cid} 距{noun} {pid} {max(d, 1.0):.0f} 米",
            f"{cid} {max(d, 1.0):.0f} m from {pid}",
        )
        for cid, pid, d in f.complaints_outside
    ]
    return pick(
        lang,
        "不在本小班内、按距离折算计入的举报：" + "，".join(lines) + "。",
        "Counted from outside the parcel, by distance: " + ", ".join(lines) + ".",
    )


def _patch_line(p: PatchFact, lang: Lang) -> str:
    words = CAUSE_WORDS.get(p.cause)
    what = (words[1] if lang == "en" else words[0]) if words else category_name(p.category, lang)
    legal = legality_word(p.legality, lang)
    base = CAUSE_CATEGORY.get(p.cause)
    if words and base is not None and base != p.category:
        what += pick(
            lang,
            f"，按{category_name(p.category)}计",
            f", counted as {category_name(p.category, 'en')}",
        )
    if p.legality == "true":
        area = pick(
            lang,
            f"违法面积 {p.patch_illegal_ha:.2f} 公顷",
            f"illegal area {p.patch_illegal_ha:.2f} ha",
        )
        if p.patch_illegal_ha - p.illegal_ha >= 0.005:
            area += pick(
                lang,
                f"，其中本区域内 {p.illegal_ha:.2f} 公顷",
                f", {p.illegal_ha:.2f} ha of it here",
            )
    else:
        area = pick(lang, f"本区域内面积 {p.overlap_ha:.2f} 公顷", f"{p.overlap_ha:.2f} ha here")
    return pick(
        lang,
        f"变化图斑 {p.id}（{what}，{legal}，{area}）",
        f"change patch {p.id} ({what}, {legal}, {area})",
    )


def _patches(f: TargetFacts, lang: Lang) -> str:
    if not f.patches:
        return ""
    lines = [_patch_line(p, lang) for p in f.patches]
    more = f.patch_count - len(lines)
    tail = pick(lang, f"等 {f.patch_count} 个图斑", f" and {more} more") if more > 0 else ""
    return pick(
        lang, "发现" + "；".join(lines) + tail + "。", "Found " + "; ".join(lines) + tail + "."
    )


def _problems(f: TargetFacts, lang: Lang) -> str:
    if not f.problems:
        return ""
    lines = []
    for q in f.problems:
        status = problem_status_word(q.status, lang)
        name = category_name(q.category, lang)
        late = q.overdue_days
        tail = pick(lang, f"，已逾期 {late} 天", f", overdue by {late} days") if late > 0 else ""
        due = (
            pick(lang, f"整改期限 {q.deadline}", f"deadline {q.deadline}")
            if q.deadline
            else word(NO_DEADLINE, lang)
        )
        lines.append(
            pick(
                lang,
                f"{q.id}（{name}，{status}，{due}{tail}）",
                f"{q.id} ({name}, {status}, {due}{tail})",
            )
        )
    more = f.problem_count - len(lines)
    tail = pick(lang, f"等 {f.problem_count} 个", f" and {more} more") if more > 0 else ""
    return pick(
        lang,
        f"督查问题 {f.problem_count} 个未办结：" + "；".join(lines) + tail + "。",
        f"{_plural(f.problem_count, 'open inspection problem')}: " + "; ".join(lines) + tail + ".",
    )


def _criminal(f: TargetFacts, rules: Rules, lang: Lang) -> str:
    lines = [finding_text(c, rules, lang) for c in f.criminal.findings]
    hunting = hunting_text(f.categories, rules, lang)
    if hunting:
        lines.append(hunting)
    if not lines:
        return ""
    text = pick(lang, "；".join(lines) + "。", "; ".join(lines) + ".")
    return text[:1].upper() + text[1:]


def _duty(rules: Rules, code: str, lang: Lang) -> str:
    dep = rules.departments.get(code)
    if dep is None:
        return ""
    return dep.duty_en if lang == "en" else dep.duty_zh


def _lead(f: TargetFacts, routing: Routing, rules: Rules, lang: Lang) -> str:
    a = routing.lead
    name = rules.department_name(a.department, lang)
    cite = citation(rules, a.article, lang)
    duty = _duty(rules, a.department, lang)
    if a.why == "criminal":
        return pick(
            lang,
            f"已达刑事立案标准，依据{cite}，{name}{duty}，由{name}牵头。",
            f"A criminal threshold is met; under {cite}, the {name} {duty}, so the {name} leads.",
        )
    cat = category_name(a.category, lang)
    return pick(
        lang,
        f"主要问题为{cat}，依据{cite}，{name}{duty}，由{name}牵头。",
        f"The main problem is {cat}; under {cite}, the {name} {duty}, so the {name} leads.",
    )


def _coop_line(a: Assignment, f: TargetFacts, rules: Rules, lang: Lang) -> str:
    name = rules.department_name(a.department, lang)
    duty = _duty(rules, a.department, lang)
    cat = category_name(a.category, lang)
    if a.why == "previous_lead":
        why = pick(
            lang, f"{cat}问题的主责部门", f"the lead for {cat} before the criminal escalation"
        )
    elif a.why == "protected_area":
        where = [
            w
            for w, on in (
                (pick(lang, "自然保护区", "a nature reserve"), f.nature_reserve),
                (pick(lang, "湿地", "wetland"), f.wetland),
            )
            if on
        ]
        why = pick(lang, f"区域涉及{'、'.join(where)}", f"the area includes {' and '.join(where)}")
    elif a.why == "environment":
        why = pick(lang, f"涉及{cat}", f"{cat} is involved")
    else:
        why = pick(lang, f"{cat}问题的配合部门", f"cooperates on {cat}")
    return pick(lang, f"{name}（{why}；{duty}）", f"the {name} ({why}; it {duty})")


def _cooperating(f: TargetFacts, routing: Routing, rules: Rules, lang: Lang) -> str:
    if not routing.cooperating:
        return ""
    articles = sorted({a.article for a in routing.cooperating})
    cites = pick(lang, "、", ", ").join(citation(rules, n, lang) for n in articles)
    lines = [_coop_line(a, f, rules, lang) for a in routing.cooperating]
    return pick(
        lang,
        f"配合部门（依据{cites}）：" + "；".join(lines) + "。",
        f"Cooperating (under {cites}): " + "; ".join(lines) + ".",
    )


def _priority(f: TargetFacts, rules: Rules, lang: Lang) -> str:
    p = rules.targets.priority
    words = PRIORITY_WORDS[f.priority]
    if f.priority == "P1":
        why = pick(
            lang,
            f"评分不低于 {p.p1_score:g} 或达到刑事立案标准",
            f"score at least {p.p1_score:g} or a criminal threshold met",
        )
    elif f.priority == "P2":
        why = pick(lang, f"评分不低于 {p.p2_score:g}", f"score at least {p.p2_score:g}")
    else:
        why = pick(lang, f"评分低于 {p.p2_score:g}", f"score below {p.p2_score:g}")
    return pick(
        lang,
        f"风险评分 {f.score:.1f}，列为 {f.priority}（{words[0]}：{why}）。",
        f"Risk score {f.score:.1f}: {f.priority} ({words[1]}: {why}).",
    )


def target_reasons(facts: TargetFacts, routing: Routing, rules: Rules, lang: Lang = "zh") -> str:
    """The reasons of one target as one paragraph in ``lang``."""
    parts = [
        _place(facts, lang),
        _complaints(facts, lang),
        _outside(facts, lang),
        _patches(facts, lang),
        _problems(facts, lang),
        _criminal(facts, rules, lang),
        _lead(facts, routing, rules, lang),
        _cooperating(facts, routing, rules, lang),
        _priority(facts, rules, lang),
    ]
    return pick(lang, "", " ").join(p for p in parts if p)
