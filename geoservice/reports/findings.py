"""The "problems and suggestions" section of the department report (Art. 7, 8, 9, 10).

Sentences are generated from the numbers, in Chinese and English, each citing the
articles of the collaboration rules it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from geoservice.base.missing import NO_CATEGORY, village_word, word
from geoservice.workflow.rates import RATES
from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Lang, pick

__all__ = [
    "LOW_ON_TIME_RATE",
    "MAX_LISTED_ITEMS",
    "Finding",
    "findings",
    "notes",
    "nothing_happened",
    "summary_text",
    "zh_date",
]

LOW_ON_TIME_RATE = 0.6  # a village below this on-time rate is named
MAX_LISTED_ITEMS = 8  # escalated problems named one by one; the rest are counted
_ZH_NUMBERS = {7: "七", 8: "八", 9: "九", 10: "十"}


@dataclass(frozen=True)
class Finding:
    """One sentence of the report, in both languages.

    Attributes
    ----------
    kind : str
        ``listed``, ``supervision``, ``letter``, ``awaiting``, ``departments``,
        ``villages``, ``criminal``, ``all_on_time``, ``definition``, ...
    zh, en : str
        The sentence.
    articles : tuple of int
        Articles of the collaboration rules cited.
    """

    kind: str
    zh: str
    en: str
    articles: tuple[int, ...] = ()

    def text(self, lang: Lang = "zh") -> str:
        """The sentence with its article citation."""
        if not self.articles:
            return pick(lang, self.zh, self.en)
        if lang == "en":
            return f"{self.en} (Art. {', '.join(str(a) for a in self.articles)})."
        arts = "、".join(f"第{_ZH_NUMBERS.get(a, str(a))}条" for a in self.articles)
        return f"{self.zh}（依据{arts}）。"


def zh_date(day: date) -> str:
    """``2026年11月30日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def _pct(rate: float | None, lang: Lang) -> str:
    if rate is None or pd.isna(rate):
        return "n/a" if lang == "en" else "无（期内无到期问题）"
    return f"{rate:.0%}"


def summary_text(s: dict[str, Any], start: date, end: date, as_of: date, lang: Lang) -> str:
    """The summary paragraph of a period with activity, in plain language."""
    rate = _pct(s["on_time_rate"], lang)
    if lang == "en":
        return (
            f"From {start} to {end} the analysis identified {s['targets']} "
            f"joint-enforcement targets, {s['p1']} of them priority P1 "
            f"({s['criminal']} meeting a criminal threshold). {s['problems_handed_over']} "
            f"inspection problems were handed over and {s['closed']} {_was(s['closed'])} closed. As of "
            f"{as_of}, {s['overdue']} problems are overdue ({s['escalated']} at "
            f"supervision-letter level or above) and {s['awaiting_verification']} reported "
            f"rectifications await verification. Of the {s['due']} problems due in the "
            f"period, {s['on_time']} {_was(s['on_time'])} rectified on time: an on-time rate of {rate}."
        )
    return (
        f"{zh_date(start)}至{zh_date(end)}，全镇研判联合执法目标{s['targets']}处，"
        f"其中P1优先目标{s['p1']}处（达到刑事立案标准{s['criminal']}处）；交办督查问题"
        f"{s['problems_handed_over']}个，已销号{s['closed']}个。截至{zh_date(as_of)}，"
        f"逾期未整改{s['overdue']}个（其中已发督办函或挂牌督办{s['escalated']}个），"
        f"村已报整改待核验{s['awaiting_verification']}个。期内到期问题{s['due']}个，"
        f"按期整改{s['on_time']}个，按期整改率{rate}。"
    )


def notes(run_day: date | None, counted: date | None, start: date, end: date) -> list[Finding]:
    """Caveats printed under the report: every rate's one definition
    (:data:`geoservice.workflow.rates.RATES`), where targets come from."""
    items = [Finding("definition", r.definition_zh, r.definition_en) for r in RATES]
    if run_day is None:
        items.append(
            Finding(
                "no_targets",
                "工作空间中尚无研判结果，执法目标数按 0 计。",
                "The workspace has no analysis results; target counts are zero.",
                (),
            )
        )
    elif counted is None:
        items.append(
            Finding(
                "targets_outside",
                f"工作空间中的执法目标清单为 {run_day} 的研判结果，不在统计期间 {start} 至 {end} "
                "内，未计入本期；如需计入，请在期内重新研判（geoservice analyze --as-of）。",
                f"The target list in the workspace comes from the analysis as of {run_day}, "
                f"outside the period {start} to {end}, and is not counted; re-run "
                "'geoservice analyze --as-of' with a date in the period to count it.",
                (),
            )
        )
    return items


def nothing_happened(start: date, end: date, lang: Lang) -> str:
    """The sentence of a report whose period had no activity."""
    if lang == "en":
        return (
            f"Nothing to report for {start} to {end}: no targets were identified, no "
            "inspection problems were handed over or closed, none fell due and none is "
            "overdue."
        )
    return (
        f"{start}至{end}期间无需汇报事项：未研判联合执法目标，未交办或销号督查问题，"
        "无到期问题，也无逾期未整改问题。"
    )


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _n(count: int) -> str:
    return "1 problem is" if count == 1 else f"{count} problems are"


def _dept(code: str, lang: Lang) -> str:
    return pick(lang, *DEPARTMENTS.get(code, (code, code)))


def _depts(codes: list[str], lang: Lang) -> str:
    if not codes:
        return "none" if lang == "en" else "无"
    return (", " if lang == "en" else "、").join(_dept(c, lang) for c in codes)


def _cat(code: object, lang: Lang) -> str:
    if pd.isna(code):
        return word(NO_CATEGORY, lang)
    return pick(lang, *CATEGORIES.get(str(code), (str(code), str(code))))


def _escalated(overdue: pd.DataFrame, level: str) -> list[Finding]:
    rows = overdue[overdue["escalation"] == level]
    zh_act, en_act = {
        "listed": ("挂牌督办", "list it for supervision (挂牌督办)"),
        "supervision": ("发出督办函", "send a supervision letter (督办函)"),
    }[level]
    items: list[Finding] = []
    for r in rows.head(MAX_LISTED_ITEMS).itertuples():
        depts = list(r.departments)
        lead_zh = _dept(depts[0], "zh") if depts else "镇林长办"
        lead_en = _dept(depts[0], "en") if depts else "the forest-chief office"
        deadline = r.deadline.date().isoformat() if pd.notna(r.deadline) else "—"
        code = r.village_code
        items.append(
            Finding(
                level,
                f"{village_word(code, r.village_name)}问题{r.problem_id}（{_cat(r.category, 'zh')}）"
                f"整改期限{deadline}，已逾期{r.days_overdue}天，抄送{_depts(depts, 'zh')}。建议镇林长办"
                f"{zh_act}，由{lead_zh}牵头会同该村限期整改，并将整改落实情况报镇林长办及相关部门",
                f"{village_word(code, r.village_name, 'en')} problem {r.problem_id} "
                f"({_cat(r.category, 'en')}), deadline {deadline}, is {r.days_overdue} days overdue; copied to "
                f"{_depts(depts, 'en')}. The forest-chief office should {en_act}; {lead_en} "
                "should lead the village to rectify it by a new deadline and report back",
                (7,),
            )
        )
    rest = len(rows) - MAX_LISTED_ITEMS
    if rest > 0:
        items.append(
            Finding(
                level,
                f"另有{rest}个同级别逾期问题，见附表",
                f"{rest} more problems are at this level; see the overdue table",
                (7,),
            )
        )
    return items


def _letters(overdue: pd.DataFrame) -> list[Finding]:
    rows = overdue[overdue["escalation"] == "letter"]
    if rows.empty:
        return []
    pairs = list(zip(rows["village_code"], rows["village_name"], strict=True))
    zh_names = [village_word(c, v) for c, v in pairs]
    en_names = [village_word(c, v, "en") for c, v in pairs]
    per = pd.Series(zh_names).value_counts(sort=False).sort_index()
    per_en = pd.Series(en_names).value_counts(sort=False).sort_index()
    zh = "、".join(f"{v}{n}个" for v, n in per.items())
    en = ", ".join(f"{v} {n}" for v, n in per_en.items())
    return [
        Finding(
            "letter",
            f"{len(rows)}个问题已逾期、处于提醒函阶段：{zh}。建议各村（居）按时限要求"
            "尽快将整改落实情况报镇林长办及相关部门，避免升级为督办",
            f"{_n(len(rows))} overdue at reminder-letter stage: {en}. The villages "
            "should report their rectification to the forest-chief office and the "
            "departments concerned before the problems escalate to supervision",
            (7,),
        )
    ]


def _awaiting(summary: dict[str, Any]) -> list[Finding]:
    n = int(summary["awaiting_verification"])
    if not n:
        return []
    return [
        Finding(
            "awaiting",
            f"{n}个问题村已报整改、尚待核验。建议抄送部门会同镇林长办尽快现场核验，"
            "合格的销号，不合格的退回重新整改",
            f"{_n(n)} reported rectified by the villages and awaiting verification. "
            "The departments copied should verify them on site with the forest-chief "
            "office: close those done, send back the rest",
            (7,),
        )
    ]


def _departments(depts: pd.DataFrame) -> list[Finding]:
    late = depts[depts["overdue"] > 0].sort_values("overdue", ascending=False, kind="stable")
    if late.empty:
        return []
    zh = "、".join(f"{r.department_name}（{r.overdue}个）" for r in late.itertuples())
    en = ", ".join(f"{_dept(str(r.department), 'en')} ({r.overdue})" for r in late.itertuples())
    return [
        Finding(
            "departments",
            f"抄送问题尚有逾期的部门：{zh}。建议上述部门在本次会议上汇报跟进情况，说明存在问题，"
            "提出工作建议，并会后向镇林长办报送工作总结",
            f"Departments with overdue problems copied to them: {en}. They should report at "
            "this meeting how they followed these up, state the difficulties and make "
            "suggestions, and send their work summary to the forest-chief office afterwards",
            (9,),
        )
    ]


def _villages(villages: pd.DataFrame) -> list[Finding]:
    low = villages[villages["on_time_rate"] < LOW_ON_TIME_RATE].sort_values("on_time_rate")
    if low.empty:
        return []
    zh = "、".join(
        f"{village_word(r.village_code, r.village_name)}{r.on_time_rate:.0%}"
        f"（到期{r.due}个，按期{r.on_time}个）"
        for r in low.itertuples()
    )
    en = ", ".join(
        f"{village_word(r.village_code, r.village_name, 'en')} {r.on_time_rate:.0%} "
        f"({r.on_time} of {r.due} on time)"
        for r in low.itertuples()
    )
    return [
        Finding(
            "villages",
            f"按期整改率低于{LOW_ON_TIME_RATE:.0%}的村：{zh}。建议镇林长办对上述村开展重点督导，"
            "跟踪整改时限",
            f"Villages below {LOW_ON_TIME_RATE:.0%} on time: {en}. The forest-chief office "
            "should follow these villages closely and track their deadlines",
            (7,),
        )
    ]


def _criminal(summary: dict[str, Any], targets: pd.DataFrame) -> list[Finding]:
    n = int(summary["criminal"])
    if not n:
        return []
    police = int((targets["criminal"] & (targets["lead_department"] == "police")).sum())
    return [
        Finding(
            "criminal",
            f"本期研判的执法目标中有{n}处达到刑事立案标准（其中{police}处由镇郊派出所牵头）。"
            "建议由镇林长办组织派出所、自然资源、农业农村等部门开展联合执法，依法侦办",
            f"{n} targets of the period meet a criminal threshold ({police} led by the "
            "police station). The forest-chief office should organise joint enforcement "
            "with the police, natural resources and agriculture offices",
            (8, 10),
        )
    ]


def findings(
    summary: dict[str, Any],
    depts: pd.DataFrame,
    villages: pd.DataFrame,
    overdue: pd.DataFrame,
    targets: pd.DataFrame,
) -> list[Finding]:
    """The "problems and suggestions" sentences, most serious first.

    Escalated problems (挂牌督办, then 督办函) are named one by one, up to
    :data:`MAX_LISTED_ITEMS` per level; reminder-letter problems are counted per village;
    then unverified reports, departments with overdue problems, villages below
    :data:`LOW_ON_TIME_RATE` and targets meeting a criminal threshold. A period with work
    but nothing overdue gets one sentence saying so.
    """
    items = [
        *_escalated(overdue, "listed"),
        *_escalated(overdue, "supervision"),
        *_letters(overdue),
        *_awaiting(summary),
        *_departments(depts),
        *_villages(villages),
        *_criminal(summary, targets),
    ]
    busy = not (depts.empty and villages.empty)
    if busy and overdue.empty:
        items.insert(
            0,
            Finding(
                "all_on_time",
                "截至统计日，交办问题均无逾期，各村（居）按时限报送了整改落实情况",
                "As of the evaluation date no handed-over problem is overdue: the villages "
                "reported their rectification within the deadlines",
                (7,),
            ),
        )
    return items
