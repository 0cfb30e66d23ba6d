"""Hints for unused columns that look like fields of the data contract.

An import reports each source column it did not use whose name suggests a contract field,
with the ``--mapping`` line that would map it (:func:`mapping_hints`). Names are compared
folded (:func:`layers.aliases.fold`).
"""

from __future__ import annotations

from collections.abc import Iterable

from layers.aliases import allowed_keys, fold
from layers.messages import Message
from layers.schema import Kind

__all__ = ["mapping_hints"]


# Words that make a column look like a field of the contract: (words, user mapping key,
# layers where that key applies). The first rule whose word is in the folded column name
# and whose key is not mapped yet gives the hint.
_HINTS: tuple[tuple[tuple[str, ...], str, tuple[Kind, ...]], ...] = (
    (
        ("村代码", "村编码", "村级代码", "cundm", "cundaima"),
        "village_code",
        ("parcels", "complaints", "patches", "problems"),
    ),
    (("村", "cun", "社区"), "village_name", ("parcels", "complaints", "patches", "problems")),
    (("乡", "镇", "xiang"), "xiang", ("parcels", "patches", "problems")),
    (("县", "xian"), "xian", ("parcels", "patches", "problems")),
    (("林班", "linban"), "lin_ban", ("parcels",)),
    (("细班", "细斑", "xiban"), "xi_ban", ("parcels",)),
    (("小班", "xiaoban"), "xiao_ban", ("parcels",)),
    (("地类", "dilei", "dlbm"), "land_class", ("parcels",)),
    (("林种", "linzhong"), "forest_type", ("parcels",)),
    (("起源", "qiyuan"), "origin", ("parcels",)),
    (("树种", "shuzhong"), "dominant_species", ("parcels",)),
    (("蓄积", "xuji"), "volume_per_ha", ("parcels",)),
    (("面积", "mianji", "mj"), "area_file_ha", ("parcels", "patches")),
    (("图斑", "tuban", "tb"), "patch_id", ("patches",)),
    (("年度", "年份", "nd"), "year", ("patches",)),
    (("原因", "bhyy"), "change_cause", ("patches",)),
    (("文号", "许可证"), "permit_no", ("patches",)),
    (("批次", "督查"), "campaign", ("problems",)),
    (("期限", "时限", "截止"), "deadline", ("problems",)),
    (("抄送", "部门", "单位"), "cc_departments", ("problems",)),
    (("发现", "检查日期"), "found_on", ("problems",)),
    (("日期", "时间", "date", "time"), "received_at", ("complaints",)),
    (("编号", "号", "id", "bh"), "problem_id", ("problems",)),
    (("编号", "单号", "工单", "id", "bh"), "complaint_id", ("complaints",)),
    (("类别", "类型", "分类", "问题性质"), "category", ("complaints", "problems")),
    (("内容", "描述", "情况", "诉求"), "description", ("complaints", "problems")),
    (("状态", "结果", "进度"), "status", ("complaints", "problems")),
    (("来源", "渠道", "方式"), "channel", ("complaints",)),
    (("地点", "位置", "地址"), "place", ("complaints", "problems")),
)
_COORDINATE_WORDS = ("经度", "纬度", "经纬", "坐标", "lon", "lat", "lng")


def mapping_hints(unused: Iterable[str], kind: Kind, mapped: Iterable[str]) -> list[Message]:
    """Warnings for unused columns that look like fields of the contract.

    Parameters
    ----------
    unused : iterable of str
        Source columns the import did not use.
    kind : str
        Layer kind.
    mapped : iterable of str
        Canonical (or helper) names already fed by a column.

    Returns
    -------
    list of Message
        One warning per such column, giving the ``--mapping`` line that would map it.
    """
    taken = {name.lstrip("_") for name in mapped}
    allowed = allowed_keys(kind)
    out: list[Message] = []
    for column in unused:
        folded = fold(column)
        if any(w in folded for w in _COORDINATE_WORDS):
            out.append(
                Message(
                    "mapping.coordinate_hint",
                    f"字段“{column}”像是坐标，但未被使用；坐标列应命名为“经度/纬度”、lon/lat 或 X/Y，"
                    "请改列名后重新导入。",
                    f"Column {column!r} looks like a coordinate but was not used; name the "
                    "coordinate columns 经度/纬度, lon/lat or X/Y and import again.",
                )
            )
            continue
        for words, key, kinds in _HINTS:
            if (
                kind in kinds
                and key in allowed
                and key not in taken
                and any(w in folded for w in words)
            ):
                out.append(
                    Message(
                        "mapping.hint",
                        f"字段“{column}”像是 {key}，但未被识别、未导入；如确是，请在字段映射文件"
                        f"（--mapping）中写：{key}: {column}",
                        f"Column {column!r} looks like {key} but was not recognised and not "
                        f"imported; if it is, put this line in a --mapping file: "
                        f"{key}: {column}",
                    )
                )
                break
    return out
