"""Code lists and vocabularies of the data contract, and their normalisation.

Province-specific lists (tree species, ecological zones) are not here: species codes are
kept as they come. What is here is national (land class, forest category, public-welfare
grades, forest types, wetland classes, status words) or this system's own vocabulary
(violation categories, departments).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# --- violation categories (docs/design.md#data-contract) --------------------------------
CATEGORIES: dict[str, tuple[str, str]] = {
    "illegal_logging": ("盗伐滥伐林木", "illegal logging"),
    "land_occupation": ("非法占用林地湿地", "illegal occupation of forest or wetland"),
    "land_reclamation": ("毁林毁湿开垦", "clearing forest or wetland for cultivation"),
    "illegal_mining": ("非法采矿采砂采石", "illegal mining, sand digging or quarrying"),
    "wildlife_crime": ("非法猎捕收购出售野生动物", "poaching or wildlife trade"),
    "wetland_damage": ("填埋围垦排干湿地", "filling, enclosing or draining wetland"),
    "pollution": ("排污倾倒废弃物", "pollution or dumping"),
    "illegal_construction": ("违法建设", "illegal construction"),
    "fire_hazard": ("野外违规用火火情", "illegal burning or fire"),
    "pest_disease": ("林业有害生物", "forest pests and diseases"),
    "timber_transport": ("非法运输收购木材", "illegal timber transport or purchase"),
    "roadside_trees": ("公路林木损毁", "damage to roadside trees"),
    "other": ("其他", "other"),
}

# Keywords that classify free Chinese text, most specific first: the first category with
# a matching keyword wins. This is the library default; the service uses the table of the
# rules file (geoservice/analysis/rules.yaml), which a test keeps equal to this one.
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "illegal_mining",
        (
            "采石",
            "挖沙",
            "采砂",
            "挖砂",
            "抽沙",
            "采矿",
            "开矿",
            "开采",
            "石场",
            "矿山",
            "取土",
            "放炮",
        ),
    ),
    (
        "wildlife_crime",
        (
            "猎",
            "捕鸟",
            "打鸟",
            "鸟网",
            "网鸟",
            "气枪",
            "下套",
            "夹子",
            "野生动物",
            "野味",
            "穿山甲",
            "电鱼",
            "毒鸟",
        ),
    ),
    ("land_reclamation", ("开垦", "毁林种", "开荒", "种果", "种茶", "种植")),
    ("illegal_construction", ("违建", "违法建设", "建房", "建别墅", "铁皮房", "规划许可")),
    (
        "land_occupation",
        ("占用林地", "占用湿地", "占地", "修路", "推平", "挖掘机", "勾机", "搭建", "占用"),
    ),
    (
        "wetland_damage",
        ("填埋湿地", "填湿地", "围垦", "排干", "倒土", "填塘", "填河", "湿地", "河滩"),
    ),
    ("fire_hazard", ("烧", "火", "烟", "野炊", "祭祀")),
    ("illegal_logging", ("盗伐", "滥伐", "砍", "伐", "锯树", "偷树")),
    (
        "timber_transport",
        ("运输木材", "木材运输", "运木", "收购木材", "木材加工", "拉木头", "拉原木", "原木"),
    ),
    ("roadside_trees", ("公路", "路边树", "行道树")),
    ("pollution", ("排污", "倾倒", "偷倒", "垃圾", "废弃物", "污水", "废渣", "废油", "废料")),
    ("pest_disease", ("虫", "病害", "松材线虫", "枯死", "有害生物")),
)

# 森林督查 change causes (BHYY / PAN_BHYY) → category; approved causes are legal.
CAUSE_CATEGORY: dict[str, str] = {
    "421": "land_occupation",
    "422": "land_occupation",
    "423": "land_occupation",
    "42": "land_occupation",
    "50": "land_reclamation",
    "51": "land_reclamation",
    "52": "land_reclamation",
    "22": "illegal_logging",
    "71": "fire_hazard",
}
APPROVED_CAUSES = frozenset({"411", "412", "413", "41", "21"})
ILLEGAL_CAUSES = frozenset({"421", "422", "423", "42", "50", "51", "52", "22"})

# --- status words (docs/design.md#data-contract) ----------------------------------------
COMPLAINT_STATUS: dict[str, str] = {
    "待核实": "new",
    "未核实": "new",
    "新": "new",
    "核实中": "new",
    "处理中": "new",
    "办理中": "new",
    "属实": "verified",
    "已核实": "verified",
    "情况属实": "verified",
    "基本属实": "verified",
    "部分属实": "verified",
    "不属实": "unfounded",
    "已办结": "closed",
    "办结": "closed",
    "已结案": "closed",
}
PROBLEM_STATUS: dict[str, str] = {
    "未整改": "assigned",
    "已交办": "assigned",
    "交办": "assigned",
    "整改中": "in_progress",
    "正在整改": "in_progress",
    "已整改": "reported",
    "已完成整改": "reported",
    "已销号": "verified",
    "销号": "verified",
    "退回": "rejected",
    "已退回": "rejected",
}
COMPLAINT_STATES = ("new", "verified", "unfounded", "closed")
PROBLEM_STATES = ("assigned", "in_progress", "reported", "verified", "rejected")

# Words for the workflow and target vocabularies, one table each for every product
# (reasons, tables, reports, maps). See docs/design.md#scoring-and-targets and
# docs/design.md#workflow-states.
PROBLEM_STATE_LABELS: dict[str, tuple[str, str]] = {
    "assigned": ("已交办", "assigned"),
    "in_progress": ("整改中", "in progress"),
    "reported": ("已整改待核验", "reported fixed"),
    "verified": ("已销号", "verified"),
    "rejected": ("已退回", "rejected"),
}
ESCALATION_LABELS: dict[str, tuple[str, str]] = {
    "none": ("无", "none"),
    "reminder": ("到期提醒", "reminder"),
    "letter": ("提醒函", "reminder letter"),
    "supervision": ("督办函", "supervision letter"),
    "listed": ("挂牌督办", "listed for supervision"),
}
PRIORITY_WORDS: dict[str, tuple[str, str]] = {
    "P1": ("立即行动", "act now"),
    "P2": ("组织核查", "inspect"),
    "P3": ("持续关注", "watch"),
}

# --- departments (docs/design.md#department-registry-and-routing) -----------------------
DEPARTMENTS: dict[str, tuple[str, str]] = {
    "gov_office": ("镇政府办公室", "town government office"),
    "org_office": ("镇委组织办", "organisation office"),
    "education": ("镇教办", "education office"),
    "police": ("镇郊派出所", "police station"),
    "justice": ("镇司法所", "justice office"),
    "finance": ("镇财经办", "finance and market office"),
    "natural_resources": ("镇自然资源所", "natural resources office"),
    "environment": ("镇环保办", "environment office"),
    "construction": ("镇建设办", "construction office"),
    "agriculture": ("镇农业农村办", "agriculture and rural affairs office"),
    "public_service": ("镇公共服务办", "public service office"),
    "emergency": ("镇应急管理办", "emergency management office"),
    "youth_league": ("镇团委", "youth league"),
    "womens_federation": ("镇妇联", "women's federation"),
}
# Short names seen in real documents, mapped to the department code.
DEPARTMENT_ALIASES: dict[str, str] = {
    "政府办": "gov_office",
    "党政办": "gov_office",
    "组织办": "org_office",
    "教办": "education",
    "派出所": "police",
    "公安": "police",
    "司法所": "justice",
    "财经办": "finance",
    "市场监管": "finance",
    "自然资源所": "natural_resources",
    "自然资源": "natural_resources",
    "国土所": "natural_resources",
    "环保办": "environment",
    "生态环境": "environment",
    "建设办": "construction",
    "农业农村办": "agriculture",
    "农办": "agriculture",
    "林业站": "agriculture",
    "林长办": "agriculture",
    "水利": "agriculture",
    "公共服务办": "public_service",
    "应急管理办": "emergency",
    "应急办": "emergency",
    "团委": "youth_league",
    "妇联": "womens_federation",
}

# --- forestry code lists (survey-data.md §1.1) -----------------------------------------
# 三调 wetland land classes and the 地类 codes that make a parcel a wetland.
WETLAND_LAND_CLASSES = frozenset({"0303", "0304", "0306", "0402", "1105", "1106", "1108"})
RESERVE_FOREST_TYPES = frozenset({"127"})
PROTECTION_GRADE_WORDS = {"I": 1, "II": 2, "III": 3, "IV": 4, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4}

_NUMERIC_CODE = re.compile(r"^\d+(\.0+)?$")


def normalize_code(values: pd.Series, width: int = 0) -> pd.Series:
    """Normalise code values to clean strings.

    Numbers read as floats lose their ``.0``; whitespace is stripped; empty strings and
    missing values become ``<NA>``. With ``width`` > 0, numeric codes lose their leading
    zeros and are left-padded with zeros to that width, so ``131``, ``0131`` and
    ``00131`` are all ``0131``.

    Parameters
    ----------
    values : pandas.Series
        Codes of any dtype.
    width : int, default 0
        Zero-pad numeric codes to this many characters (0: no padding).

    Returns
    -------
    pandas.Series
        String dtype, aligned to ``values.index``.
    """
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    numeric = s.str.fullmatch(_NUMERIC_CODE.pattern).fillna(False).astype(bool)
    s = s.where(~numeric, s.str.replace(r"\.0+$", "", regex=True))
    if width:
        s = s.where(~numeric, s.str.lstrip("0").str.zfill(width))
    return s


def code_key(values: pd.Series) -> pd.Series:
    """Codes with leading zeros removed, for comparing ``131`` with ``0131``."""
    s = normalize_code(values)
    stripped = s.str.lstrip("0")
    return stripped.where(stripped != "", s)


def map_words(values: pd.Series, table: dict[str, str], allowed: tuple[str, ...]) -> pd.Series:
    """Map status or category words to canonical codes.

    Canonical codes pass through (case-insensitive); words of ``table`` map to their code;
    anything else becomes ``<NA>`` (callers decide whether that rejects the row).
    """
    s = values.astype("string").str.strip()
    lower = s.str.lower()
    out = lower.where(lower.isin(allowed))
    mapped = s.map(table, na_action="ignore").astype("string")
    return out.fillna(mapped)


def category_from_text(values: pd.Series) -> pd.Series:
    """Classify Chinese free text into a violation category by keywords.

    Canonical codes and Chinese category names are recognised first; then the keyword
    table, most specific first; text matching nothing becomes ``"other"`` and missing
    text stays ``<NA>``.
    """
    s = values.astype("string").str.strip()
    s = s.where(s != "", pd.NA)
    name_to_code = {zh: code for code, (zh, _en) in CATEGORIES.items()}
    out = map_words(s, name_to_code, tuple(CATEGORIES))
    todo = out.isna() & s.notna()
    for code, words in CATEGORY_KEYWORDS:
        if not todo.any():
            break
        pattern = "|".join(re.escape(w) for w in words)
        hit = todo & s.str.contains(pattern, regex=True).fillna(False).astype(bool)
        out = out.mask(hit, code)
        todo &= ~hit
    return out.mask(todo, "other")


def department_codes(values: pd.Series) -> tuple[pd.Series, set[str]]:
    """Turn lists of department names (split on 、,，;；/ and spaces) into code lists.

    Returns
    -------
    codes : pandas.Series
        Comma-joined department codes aligned to ``values``; ``<NA>`` where empty.
    unknown : set of str
        Names that matched no department (kept out of ``codes``, reported by callers).
    """
    names = {zh: code for code, (zh, _en) in DEPARTMENTS.items()}
    lookup = {**names, **DEPARTMENT_ALIASES, **{c: c for c in DEPARTMENTS}}
    unknown: set[str] = set()
    parts = values.astype("string").str.split(r"[、,，;；/\s]+", regex=True)

    def resolve(items: object) -> object:
        if not isinstance(items, list):
            return pd.NA
        codes: list[str] = []
        for raw in items:
            name = raw.strip()
            if not name:
                continue
            code = lookup.get(name) or lookup.get(name.removeprefix("镇"))
            if code is None:
                code = next((c for alias, c in DEPARTMENT_ALIASES.items() if alias in name), None)
            if code is None:
                unknown.add(name)
            elif code not in codes:
                codes.append(code)
        return ",".join(codes) if codes else pd.NA

    # One call per row over short lists: department lists are per problem, not per feature
    # geometry, and the table holds tens to thousands of rows.
    codes = parts.map(resolve).astype("string")
    return codes, unknown


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dates written the ways Chinese spreadsheets write them.

    Accepts ISO dates, ``2025/3/4``, ``2025年3月4日``, ``20250304``, Excel datetimes and
    Excel serial day numbers.

    Returns
    -------
    dates : pandas.Series
        ``datetime64[ms]`` normalised to midnight, aligned to ``values``.
    bad : pandas.Series of bool
        True where a non-empty value could not be read.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, errors="coerce")
        return parsed.dt.normalize().astype("datetime64[ms]"), pd.Series(False, index=values.index)
    raw = values.astype("string").str.strip()
    raw = raw.where(raw != "", pd.NA)
    text = (
        raw.str.replace(r"[年月/.]", "-", regex=True)
        .str.replace("日", "", regex=False)
        .str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
    )
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    serial = pd.to_numeric(raw, errors="coerce")
    is_serial = parsed.isna() & serial.between(20000, 80000)
    if is_serial.any():
        base = np.datetime64("1899-12-30", "D")
        days = serial[is_serial].to_numpy(dtype="float64").astype("int64")
        parsed = parsed.mask(is_serial, pd.Series(base + days, index=serial[is_serial].index))
    bad = raw.notna() & parsed.isna()
    return parsed.dt.normalize().astype("datetime64[ms]"), bad.astype(bool)
