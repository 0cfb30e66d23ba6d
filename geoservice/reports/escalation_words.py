"""The fixed words of the escalation documents in Chinese and English, what each level asks
of the village, and the town's articles they rest on.

The articles are quoted word for word from the Collaboration Rules
(连州镇全面推行林长制部门协作制度（试行）), in part: Article 4 (the office organises and
coordinates the forest-chief work) and Article 7 (problems found by inspections are handed
over, and villages report their rectification within the time limits).
"""

from __future__ import annotations

from layers.messages import Lang, pick

__all__ = ["ACTIONS", "ARTICLES", "WORDS", "action_text"]

ARTICLES: dict[int, tuple[str, str]] = {
    4: (
        "镇林长办负责组织协调全镇林长制各项工作，协助市各有关部门加强协调联动，"
        "将工作任务落到实处。",
        "The town forest-chief office organises and coordinates all forest-chief work in the "
        "town, helps the city's departments work together, and sees that the tasks are "
        "carried out.",
    ),
    7: (
        "督查结束后，镇林长办应及时将督查结果和发现的问题交办给镇政府，并抄送镇有关部门。"
        "各村（居）要按时限要求将问题整改落实情况报镇林长办及相关部门。",
        "After an inspection, the forest-chief office promptly hands its results and the "
        "problems found to the town government and copies them to the departments "
        "concerned. Each village (residents' committee) reports how the problems were "
        "rectified to the forest-chief office and the departments concerned within the "
        "time limits.",
    ),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "letter": (
        "请你村抓紧整改，并于{reply}前将整改落实情况书面报镇林长办及相关部门。",
        "Rectify them without delay and report in writing how they were rectified to the "
        "forest-chief office and the departments concerned by {reply}.",
    ),
    "supervision": (
        "请你村主要负责人亲自部署，落实整改责任人和措施，于{reply}前将整改落实情况书面报"
        "镇林长办及相关部门；逾期仍未整改到位的，将予挂牌督办。",
        "The head of the village is to direct the work in person, name who is responsible "
        "and what will be done, and report in writing to the forest-chief office and the "
        "departments concerned by {reply}; items still not rectified will be listed for "
        "supervision.",
    ),
    "listed": (
        "请你村制定整改方案，明确责任人和完成时限，于{reply}前将整改方案及进展书面报"
        "镇林长办及相关部门；镇林长办将会同有关部门跟踪督导，直至整改销号。",
        "Draw up a rectification plan naming who is responsible and by when, and send the "
        "plan and its progress in writing to the forest-chief office and the departments "
        "concerned by {reply}; the office and the departments will follow it up until each "
        "item is closed.",
    ),
}

WORDS: dict[str, tuple[str, str]] = {
    "number": ("文号", "No."),
    "to": ("主送", "To"),
    "intro_letter": (
        "经查，你村下列 {n} 项{what}已超过期限，尚{pending}，现予提醒。",
        "The following {n} item(s) of your village are past their deadline and not yet "
        "{pending}; this letter reminds you of them.",
    ),
    "intro_supervision": (
        "经查，你村下列 {n} 项{what}逾期{pending}，现予督办。",
        "The following {n} item(s) of your village are overdue and not {pending}; they are "
        "now under supervision.",
    ),
    "intro_listed": (
        "经查，你村下列 {n} 项{what}长期逾期{pending}，现予挂牌督办。",
        "The following {n} item(s) of your village have long been overdue and not "
        "{pending}; they are now listed for supervision.",
    ),
    "items": ("一、逾期事项", "1. Overdue items"),
    "col_no": ("序号", "#"),
    "col_kind": ("类型", "Type"),
    "col_id": ("编号", "Id"),
    "col_what": ("内容", "What"),
    "col_status": ("当前状态", "State"),
    "col_deadline": ("期限", "Deadline"),
    "col_days": ("逾期天数", "Days overdue"),
    "kind_problem": ("督查问题", "problem"),
    "what_problem": ("问题", "item"),
    "what_patch": ("变化图斑", "item"),
    "what_both": ("问题和变化图斑", "item"),
    # What is still pending: a problem waits for its rectification; a change patch may be
    # overdue at any stage (field check, investigation, rectification, acceptance).
    "pending_problem": ("未整改到位", "rectified"),
    "pending_patch": ("未办结", "completed"),
    "pending_both": ("未办结", "completed"),
    "kind_patch": ("变化图斑", "change patch"),
    "action": ("二、整改要求", "2. What is required"),
    "reply_by": ("回复期限", "Reply by"),
    "basis": ("三、依据", "3. Basis"),
    "excerpt": ("（节选）", " (excerpt)"),
    "cc": ("抄送", "Copied to"),
    "none": ("无", "none"),
    "issued": ("签发记录", "Issued"),
    "by": ("签发人", "by"),
}


def action_text(level: str, reply_by: str, lang: Lang = "zh") -> str:
    """What a document of ``level`` asks of the village, with its reply date."""
    return pick(lang, *ACTIONS[level]).format(reply=reply_by)
