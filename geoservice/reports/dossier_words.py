"""The fixed words of the joint-enforcement work order, in Chinese and English, and the
text of the town's articles it rests on (连州镇全面推行林长制部门协作制度（试行）)."""

from __future__ import annotations

from layers.messages import Lang, pick

__all__ = ["ARTICLES", "WORDS", "article_text"]

# Articles of the Collaboration Rules a work order quotes: 8 (joint enforcement), 9 (reporting
# at meetings) and 10 (departments' duties; each department's own duty is in its row).
ARTICLES: dict[int, tuple[str, str]] = {
    8: (
        "镇林长办可根据资源保护发展情况及相关举报投诉信息，定期或不定期地组织林业、公安、"
        "自然资源、生态环境、水利、农业农村、应急管理、市场监管等相关部门，对森林、湿地资源"
        "可能遭受严重破坏的地区进行联合执法，严厉打击涉林违法行为，维护森林、湿地资源安全。",
        "The forest-chief office may, from the state of the resources and the reports and "
        "complaints received, organise forestry, police, natural resources, environment, "
        "water, agriculture, emergency management, market supervision and other departments "
        "in joint enforcement in areas where forest and wetland resources may suffer serious "
        "damage, and act firmly against offences concerning forests.",
    ),
    9: (
        "镇有关协作部门在镇林长会议等镇级会议上按要求汇报履职情况，总结工作成效与经验，"
        "提出问题与工作建议，并及时向镇林长办报送相关工作总结。",
        "At the town's forest-chief meetings the cooperating departments report what they "
        "did, their results and problems, and send their summaries to the forest-chief office.",
    ),
    10: (
        "镇全面推行林长制各协作部门按主要工作职责分工协作（各部门职责见“部门分工”）。",
        "Each cooperating department acts within its main duties under the forest-chief "
        "system (each department's duty is given under “Departments”).",
    ),
}

WORDS: dict[str, tuple[str, str]] = {
    "title": ("联合执法任务书", "Joint Enforcement Work Order"),
    "issuer": ("镇林长办", "Town forest-chief office"),
    "number": ("编号", "No."),
    "issued": ("下达日期", "Issued"),
    "as_of": ("研判日期", "Analysis as of"),
    "deadline": ("处置期限", "Deadline"),
    "deadline_note": (
        "请于处置期限前完成处置并将结果报镇林长办",
        "complete the action and report the result to the forest-chief office by the deadline",
    ),
    "overview": ("一、目标概况", "1. The target"),
    "target_id": ("目标编号", "Target"),
    "priority": ("优先级", "Priority"),
    "score": ("风险评分", "Risk score"),
    "villages": ("所在村", "Village"),
    "parcels": ("小班（图斑）号", "Parcels (小班)"),
    "area": ("面积（公顷）", "Area (ha)"),
    "protection": ("保护等级", "Protection"),
    "categories": ("问题类别", "Problems"),
    "criminal": ("达到刑事立案标准", "Criminal threshold met"),
    "lead": ("牵头部门", "Lead department"),
    "cooperating": ("配合部门", "Cooperating departments"),
    "page": ("目标页面", "Target page"),
    "page_no_base": (
        "（在本系统地址后加此路径打开；设置 GEOSERVICE_PUBLIC_URL 后打印完整地址）",
        "(open this path on the service's address; set GEOSERVICE_PUBLIC_URL to print it in full)",
    ),
    "map": ("二、位置图", "2. Map"),
    "map_caption": (
        "目标小班、变化图斑、举报点与村界；中心坐标",
        "Target parcels, change patches, complaints and village boundaries; centre",
    ),
    "scale": ("比例尺", "scale bar"),
    "reasons": ("三、研判理由", "3. Why this target"),
    "evidence": ("四、证据", "4. Evidence"),
    "complaints": ("举报投诉", "Complaints"),
    "no_complaints": ("无", "none"),
    "more_rows": (
        "另有 %d 条未列出，完整内容见目标页面。",
        "%d more not listed; see the target page.",
    ),
    "on_page": ("研判理由全文见目标页面。", "The full reasons are on the target page."),
    "complaint_id": ("编号", "No."),
    "date": ("受理日期", "Received"),
    "status": ("核实状态", "Status"),
    "category": ("类别", "Category"),
    "text": ("举报内容", "Text"),
    "phone": ("举报人电话", "Reporter's phone"),
    "patches": ("变化图斑", "Change patches"),
    "patch_id": ("图斑号", "Patch"),
    "cause": ("变化原因", "Cause"),
    "legality": ("合法性", "Legality"),
    "patch_area": ("面积（公顷）", "Area (ha)"),
    "illegal_area": ("违法面积（公顷）", "Illegal (ha)"),
    "permit": ("审批文号", "Permit"),
    "problems": ("未办结督查问题", "Open inspection problems"),
    "problem_id": ("问题编号", "Problem"),
    "description": ("问题描述", "Description"),
    "problem_deadline": ("整改期限", "Deadline"),
    "problem_status": ("整改状态", "Status"),
    "basis": ("五、执法依据", "5. Legal basis"),
    "threshold": ("适用的刑事立案标准", "Criminal threshold that applies"),
    "threshold_met": ("已达到", "met"),
    "threshold_not_met": ("未达到", "not met"),
    "threshold_cite": ("依据", "Source"),
    "departments": ("六、部门分工", "6. Departments"),
    "role": ("职责分工", "Role"),
    "role_lead": ("牵头", "lead"),
    "role_coop": ("配合", "cooperating"),
    "department": ("部门", "Department"),
    "duty": ("主要职责", "Duty"),
    "why": ("列入原因", "Why"),
    "signoff": ("七、签收", "7. Sign-off"),
    "signoff_note": (
        "各部门签收后按分工开展联合执法，处置情况在镇林长会议上汇报。",
        "Each department signs, acts on its part of the joint enforcement and reports at "
        "the forest-chief meeting.",
    ),
    "signer": ("签收人", "Signed by"),
    "sign_date": ("签收日期", "Date"),
    "seal": ("（盖章）", "(seal)"),
}


def article_text(article: int, lang: Lang = "zh") -> str:
    """The text of an article of the Collaboration Rules (empty for one not quoted)."""
    pair = ARTICLES.get(article)
    return pick(lang, *pair) if pair else ""
