"""Real survey field names and how they map onto the canonical schema.

Names are matched case-insensitively and ignoring spaces, underscores and hyphens, so
``XIAO_BAN``, ``xiao_ban`` and ``XiaoBan`` are one name. A user mapping file
(YAML: ``{canonical: source}`` or ``{canonical: [source, ...]}``, optionally under a
``fields:`` key) is consulted before the built-in aliases.

Some canonical columns are not a single source field but are derived (parcel ids from
LIN_BAN + XIAO_BAN, village codes from XIAN + XIANG + CUN, public-welfare grade from
SHI_QUAN_D and GJGYL_BHDJ). Their inputs are mapped here under helper names that start
with an underscore; :mod:`layers.normalize` turns them into canonical columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from layers.errors import SchemaError
from layers.messages import Message
from layers.schema import SCHEMAS, Kind

_VILLAGE_CODE = (
    "village_code",
    "XZQDM",
    "CJQYDM",
    "CUN_DM",
    "CUNDM",
    "村代码",
    "村级代码",
    "行政区代码",
    "行政村代码",
    "村编码",
)
_VILLAGE_NAME = (
    "village_name",
    "XZQMC",
    "CJQYMC",
    "CUN_MC",
    "CUNMC",
    "村名",
    "村名称",
    "行政村",
    "行政区名称",
    "所在村",
    "所属村",
    "所属行政村",
    "所在行政村",
    "行政村名称",
    "村委会",
    "村(居)委会",
    "村(社区)",
    "村居",
    "责任村",
    "村名称(社区)",
    "村",
)
# Free text naming a place ("黄岗村石坑组"): the village is found in it when no village
# column is given.
_PLACE = (
    "地点",
    "位置",
    "地址",
    "详细地址",
    "具体位置",
    "具体地点",
    "发生地点",
    "问题地点",
    "所在位置",
)

ALIASES: dict[Kind, dict[str, tuple[str, ...]]] = {
    "villages": {
        "village_code": (*_VILLAGE_CODE, "ZLDWDM", "adcode", "code", "代码"),
        "village_name": (*_VILLAGE_NAME, "ZLDWMC", "name", "名称"),
        "_area_file_ha": ("MIAN_JI", "面积"),
        "_area_file_m2": ("TBMJ", "图斑面积"),
        "_xian": ("XIAN",),
        "_xiang": ("XIANG",),
        "_cun": ("CUN",),
    },
    "parcels": {
        "parcel_id": ("parcel_id", "XBID", "BSM", "XBBH", "小班编号", "唯一编号", "标识码"),
        "kind": ("kind",),
        "village_code": (*_VILLAGE_CODE, "ZLDWDM", "坐落单位代码"),
        "village_name": (*_VILLAGE_NAME, "ZLDWMC", "坐落单位名称"),
        "land_class": ("land_class", "DI_LEI", "DLBM", "地类", "地类编码", "地类代码"),
        "forest_category": ("forest_category", "SEN_LIN_LB", "SLLB", "森林类别", "林地类别"),
        "public_welfare": ("public_welfare", "公益林等级"),
        "protection_grade": ("protection_grade", "BH_DJ", "BHDJ", "林地保护等级", "保护等级"),
        "forest_type": ("forest_type", "LIN_ZHONG", "林种"),
        "wetland_type": ("wetland_type", "SDLX", "湿地类型"),
        "origin": ("origin", "QI_YUAN", "起源"),
        "dominant_species": ("dominant_species", "YOU_SHI_SZ", "YSSZ", "优势树种"),
        "volume_per_ha": ("volume_per_ha", "HUO_LMGQXJ", "MEI_GQ_XJ", "公顷蓄积", "每公顷蓄积"),
        "nature_reserve": ("nature_reserve", "自然保护区", "是否自然保护区"),
        "_area_file_ha": ("area_ha", "MIAN_JI", "XBMJ", "小班面积", "面积"),
        "_area_file_m2": ("TBMJ", "图斑面积"),
        "_lin_ban": ("LIN_BAN", "林班", "林班号"),
        "_xiao_ban": ("XIAO_BAN", "小班", "小班号"),
        "_xi_ban": ("XI_BAN", "细班", "细斑", "细班号"),
        "_xian": ("XIAN",),
        "_xiang": ("XIANG",),
        "_cun": ("CUN",),
        "_shi_quan": ("SHI_QUAN_D", "SQDJ", "事权等级"),
        "_gjgyl": ("GJGYL_BHDJ", "国家级公益林保护等级", "公益林保护等级"),
        "_land_class_name": ("DLMC", "地类名称"),
    },
    "complaints": {
        "complaint_id": (
            "complaint_id",
            "举报编号",
            "投诉编号",
            "工单编号",
            "工单号",
            "案件编号",
            "编号",
            "No",
        ),
        "received_at": (
            "received_at",
            "受理时间",
            "受理日期",
            "举报时间",
            "举报日期",
            "来电时间",
            "报案时间",
            "日期",
            "时间",
        ),
        "category": ("category", "类别", "举报类别", "问题类别", "问题类型", "案件类型", "类型"),
        "description": (
            "description",
            "举报内容",
            "投诉内容",
            "诉求内容",
            "报案内容",
            "内容",
            "问题描述",
        ),
        "channel": ("channel", "来源", "渠道", "举报方式", "报案方式", "举报渠道"),
        "status": ("status", "核实结果", "核查结果", "办理状态", "处理状态", "状态"),
        "village_code": _VILLAGE_CODE,
        "village_name": _VILLAGE_NAME,
        "place": _PLACE,
    },
    "patches": {
        "patch_id": (
            "patch_id",
            "PAN_NO_TB",
            "NO_TB",
            "判读图斑号",
            "判读图斑编号",
            "图斑号",
            "图斑编号",
            "TBBH",
        ),
        "year": ("year", "BHND", "变化年度", "年度"),
        "permit_no": ("permit_no", "SH_WH", "审核文号", "审批文号", "PZWH", "批准文号"),
        # The dates of a patch. 后期影像时间 (sheet 图斑检测验证) and 检查日期 (变化图斑现地核实表,
        # 检查卡片) are the national templates' headers; 下发日期 is not in them but is how
        # county dispatch lists commonly head the day a patch was handed down (common usage,
        # not a documented field), as are the other variants below. A shapefile holds at
        # most 10 bytes of a field name: in GBK 后期影像时间 is cut to 后期影像时.
        "imaged_on": ("imaged_on", "后期影像时间", "后期影像时", "后期影像日期", "后时相影像时间"),
        "dispatched_on": ("dispatched_on", "下发日期", "下发时间", "派发日期"),
        "checked_on": (
            "checked_on",
            "检查日期",
            "核实日期",
            "核查日期",
            "现地核实日期",
            "现地核查日期",
        ),
        "illegal_area_ha": ("illegal_area_ha", "WF_MJ", "违法面积", "违法违规面积"),
        "_area_file_ha": ("area_ha", "MIAN_JI", "判读面积", "面积"),
        "_cause": ("change_cause", "BHYY", "变化原因"),
        "_cause_interpreted": ("PAN_BHYY", "判读变化原因"),
        "_illegal_flag": ("illegal", "SHIFOU_WF", "违法违规", "是否违法", "是否违法违规"),
        "_felling_permit": ("CFZH", "林木采伐许可证号", "采伐许可证号"),
        "_category": ("category", "违法类别"),
        "village_code": (*_VILLAGE_CODE, "ZLDWDM", "坐落单位代码"),
        "village_name": (*_VILLAGE_NAME, "ZLDWMC", "坐落单位名称"),
        "_xian": ("XIAN",),
        "_xiang": ("XIANG",),
        "_cun": ("CUN",),
    },
    "problems": {
        "problem_id": ("problem_id", "问题编号", "编号", "序号编号"),
        "campaign": ("campaign", "督查批次", "批次", "督查名称"),
        "found_on": ("found_on", "发现日期", "督查日期", "发现时间"),
        "village_code": _VILLAGE_CODE,
        "village_name": _VILLAGE_NAME,
        "category": ("category", "问题类别", "问题类型", "类别"),
        "description": ("description", "问题描述", "问题内容", "具体问题"),
        "deadline": ("deadline", "整改期限", "整改时限", "完成时限"),
        "status": ("status", "整改状态", "整改情况", "状态"),
        "cc_departments": ("cc_departments", "抄送部门", "抄送单位", "责任部门"),
        "place": _PLACE,
        "_xian": ("XIAN",),
        "_xiang": ("XIANG",),
        "_cun": ("CUN",),
    },
}

# Columns that hold coordinates in tables (CSV/XLSX); first pair found wins.
COORDINATE_PAIRS: tuple[tuple[str, str], ...] = (
    ("经度", "纬度"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("longitude", "latitude"),
    ("x", "y"),
    ("横坐标", "纵坐标"),
    ("GPS_X", "GPS_Y"),
    ("东坐标", "北坐标"),
)

# Columns that mark a classification level (checked for 涉密/秘密/机密/绝密).
CLASSIFICATION_COLUMNS = ("密级", "保密等级", "涉密等级", "MIJI", "classification", "秘密等级")

_FOLD = re.compile(r"[\s_\-]+")


def fold(name: str) -> str:
    """Fold a field name for matching.

    Case, spaces, underscores and hyphens are ignored and full-width forms are read as
    their ASCII twins (NFKC), so ``村（居）委会`` and ``村(居)委会`` are one name.
    """
    return _FOLD.sub("", unicodedata.normalize("NFKC", str(name))).casefold()


def _mapping_error(code: str, zh: str, en: str) -> SchemaError:
    return SchemaError(Message(code, zh, en))


def _read_yaml(path: Path) -> object:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _mapping_error(
            "mapping.unreadable",
            f"字段映射文件 {path} 无法打开：{exc.strerror}。",
            f"Field mapping file {path} could not be opened: {exc.strerror}.",
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")  # Notepad on Chinese Windows
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())
        raise _mapping_error(
            "mapping.bad_yaml",
            f"字段映射文件 {path} 不是有效的 YAML（{where}）；应形如“parcel_id: XBH”，每行一个字段。",
            f"Field mapping file {path} is not valid YAML ({where}); expected lines such as "
            "'parcel_id: XBH'.",
        ) from exc


def allowed_keys(kind: Kind | None) -> dict[str, str]:
    """User-facing key → internal name: canonical columns and helper inputs (``lin_ban``)."""
    kinds = [kind] if kind is not None else list(SCHEMAS)
    out: dict[str, str] = {}
    for k in kinds:
        out |= {c.name: c.name for c in SCHEMAS[k].columns}
        out |= {name.lstrip("_"): name for name in ALIASES[k]}
    return out


def load_mapping(path: Path, kind: Kind | None = None) -> dict[str, tuple[str, ...]]:
    """Read a user field-mapping YAML file (UTF-8, or GBK as Notepad saves it).

    The file maps canonical names (or the inputs ids and codes are built from, such as
    ``lin_ban`` and ``xiao_ban``) to one source field or a list of them: at the top level,
    under ``fields:``, or under a layer kind so that one file serves several layers::

        parcels:
          parcel_id: XBH
          village_name: [CUNMING, 村名称]
        complaints:
          complaint_id: 工单号

    Parameters
    ----------
    path : Path
    kind : str, optional
        The layer being imported: its section is used and keys are checked against it.

    Raises
    ------
    SchemaError
        If the file is unreadable, not a mapping, or names unknown fields.
    """
    data = _read_yaml(path)
    if isinstance(data, dict) and any(k in SCHEMAS for k in data):
        section = data.get(kind, {}) if kind is not None else {}
        data = section if section is not None else {}
    elif isinstance(data, dict) and "fields" in data:
        data = data["fields"]
    if not isinstance(data, dict):
        raise _mapping_error(
            "mapping.not_a_mapping",
            f"字段映射文件 {path} 的内容为 {type(data).__name__}，应为“标准字段: 源字段”的映射。",
            f"Field mapping file {path} holds a {type(data).__name__}, but is expected to "
            "map canonical field names to source field names.",
        )
    allowed = allowed_keys(kind)
    unknown = sorted(str(k) for k in data if str(k) not in allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        raise _mapping_error(
            "mapping.unknown_canonical",
            f"字段映射文件 {path} 中的 {', '.join(unknown)} 不是{('“' + kind + '”图层的') if kind else ''}"
            f"标准字段名；可用：{names}。",
            f"Field mapping file {path} names {', '.join(unknown)}, which are not canonical "
            f"fields{' of ' + kind if kind else ''}; expected some of: {names}.",
        )
    out: dict[str, tuple[str, ...]] = {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        out[allowed[str(key)]] = tuple(str(v) for v in values if v is not None)
    return out


def match_columns(
    columns: Iterable[str],
    kind: Kind,
    user: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Decide which source column feeds each canonical (or helper) column.

    Parameters
    ----------
    columns : iterable of str
        Source column names, in file order.
    kind : str
        Layer kind.
    user : mapping, optional
        Canonical name → source names from :func:`load_mapping`; tried first.

    Returns
    -------
    dict
        Source column → canonical name. Each source column and each canonical name is
        used at most once; aliases earlier in a list win.

    Raises
    ------
    SchemaError
        If a user mapping names a source field the file does not have.
    """
    cols = [c for c in columns if c != "geometry"]
    by_fold: dict[str, str] = {}
    for c in cols:
        by_fold.setdefault(fold(c), c)
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    missing_user: list[str] = []
    for canonical, sources in (user or {}).items():
        hit = next((by_fold[fold(s)] for s in sources if fold(s) in by_fold), None)
        if hit is None:
            missing_user.append(f"{canonical} ← {'/'.join(sources)}")
            continue
        if hit in chosen:
            raise _mapping_error(
                "mapping.source_twice",
                f"字段映射把源字段 {hit} 同时指定给了 {chosen[hit]} 和 {canonical}；每个源字段只能对应一个标准字段。",
                f"The field mapping gives source field {hit} to both {chosen[hit]} and "
                f"{canonical}; a source field can feed one canonical field only.",
            )
        chosen[hit] = canonical
        taken.add(canonical)
    if missing_user:
        raise SchemaError(
            Message(
                "mapping.source_missing",
                f"字段映射指定的源字段在文件中不存在：{'; '.join(missing_user)}；"
                f"文件中的字段为：{', '.join(cols)}。",
                f"The field mapping names source fields the file does not have: "
                f"{'; '.join(missing_user)}; the file's fields are: {', '.join(cols)}.",
            )
        )
    for canonical, aliases in ALIASES[kind].items():
        if canonical in taken:
            continue
        for alias in aliases:
            source = by_fold.get(fold(alias))
            if source is not None and source not in chosen:
                chosen[source] = canonical
                taken.add(canonical)
                break
    return chosen


def find_coordinate_columns(columns: Iterable[str]) -> tuple[str, str] | None:
    """Return the (x, y) source columns of a table, or None when there are none."""
    by_fold = {fold(c): c for c in columns}
    for x, y in COORDINATE_PAIRS:
        if fold(x) in by_fold and fold(y) in by_fold:
            return by_fold[fold(x)], by_fold[fold(y)]
    return None
