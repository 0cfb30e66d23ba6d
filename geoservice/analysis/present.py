"""Targets as a department clerk reads them: one row per target, headers and names.

``filter_targets`` selects and sorts the ``targets`` layer; ``present_targets`` turns it
into the flat table written as XLSX or CSV: the columns of the layer in their order,
headers in the chosen language, department and category names instead of codes, lists
``;``-separated. Department names come from the effective rules (a workspace may rename
or add departments).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import geopandas as gpd
import pandas as pd

from geoservice.analysis.labels import priority_word
from geoservice.analysis.rules import Rules
from geoservice.base.errors import OptionError, message
from geoservice.base.missing import village_words
from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Lang

PRIORITIES = ("P1", "P2", "P3")
# Canonical column → (Chinese header, English header), in the order of the layer.
HEADERS: dict[str, tuple[str, str]] = {
    "target_id": ("目标编号", "target id"),
    "priority": ("优先级", "priority"),
    "score": ("风险评分", "risk score"),
    "village_codes": ("村代码", "village codes"),
    "village_names": ("所在村", "villages"),
    "parcel_ids": ("小班/图斑号", "parcel ids"),
    "parcel_count": ("小班/图斑数", "parcels"),
    "area_ha": ("面积(公顷)", "area (ha)"),
    "categories": ("问题类别", "categories"),
    "lead_department": ("牵头部门", "lead department"),
    "cooperating_departments": ("配合部门", "cooperating departments"),
    "criminal_threshold_met": ("达到刑事立案标准", "criminal threshold met"),
    "estimated_volume_m3": ("估算蓄积(立方米)", "estimated volume (m³)"),
    "complaint_count": ("举报投诉数", "complaints"),
    "patch_area_ha": ("变化图斑面积(公顷)", "change patch area (ha)"),
    "open_problem_count": ("未整改问题数", "open problems"),
    "legal_basis": ("法律依据", "legal basis"),
    "reasons": ("理由", "reasons"),
}
Names = Mapping[str, tuple[str, str]]


def department_names(rules: Rules | None) -> dict[str, tuple[str, str]]:
    """Department code → (Chinese, English) name from the effective rules."""
    if rules is None:
        return dict(DEPARTMENTS)
    return {code: (d.zh, d.en) for code, d in rules.departments.items()}


def _split(value: object) -> list[str]:
    return [v for v in str(value).split(";") if v] if isinstance(value, str) else []


def _names(codes: object, table: Names, lang: Lang) -> str:
    idx = 1 if lang == "en" else 0
    return ";".join(table.get(c, (c, c))[idx] for c in _split(codes))


def department_code(value: str, departments: Names = DEPARTMENTS) -> str:
    """The department code for a code or a Chinese/English name (镇郊派出所 → police)."""
    lookup = {code: code for code in departments}
    for code, (zh, en) in departments.items():
        lookup |= {zh: code, zh.removeprefix("镇"): code, en.lower(): code}
    found = lookup.get(value) or lookup.get(value.lower())
    if found is None:
        choices = ", ".join(f"{c} {zh}" for c, (zh, _en) in departments.items())
        raise OptionError(
            message(
                "targets.bad_department",
                f"--department 为“{value}”，不是已登记的部门；可用：{choices}。",
                f"`department` was {value!r}, which is not a registered department; "
                f"expected one of: {choices}.",
            )
        )
    return found


def village_code(value: str, villages: pd.DataFrame | None) -> str:
    """The village code for a code or a name, checked against the villages layer."""
    if villages is None or not len(villages):
        return value
    codes = villages["village_code"].astype(str)
    names = villages["village_name"].astype(str)
    if value in set(codes):
        return value
    by_name = dict(zip(names, codes, strict=False))
    if value in by_name:
        return by_name[value]
    close = difflib.get_close_matches(value, [*names, *codes], n=3, cutoff=0.5)
    hint_zh = f"；是否指：{'、'.join(close)}" if close else ""
    hint_en = f"; did you mean: {', '.join(close)}" if close else ""
    raise OptionError(
        message(
            "targets.bad_village",
            f"--village 为“{value}”，村界图层中没有这个村代码或村名{hint_zh}。",
            f"`village` was {value!r}, which is neither a village code nor a village name of "
            f"the villages layer{hint_en}.",
        )
    )


def filter_targets(
    targets: gpd.GeoDataFrame,
    *,
    department: str | None = None,
    village: str | None = None,
    priorities: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Targets a department leads or cooperates on, in a village, of some priorities.

    ``department`` and ``village`` are codes (see :func:`department_code` and
    :func:`village_code` for names). Sorted by priority, then score descending.
    """
    keep = pd.Series(True, index=targets.index)
    if department is not None:
        coop = targets["cooperating_departments"].map(lambda v: department in _split(v))
        keep &= (targets["lead_department"] == department) | coop.astype(bool)
    if village is not None:
        keep &= targets["village_codes"].map(lambda v: village in _split(v)).astype(bool)
    if priorities is not None:
        wanted = [p.strip().upper() for p in priorities if p.strip()]
        bad = [p for p in wanted if p not in PRIORITIES]
        if bad:
            raise OptionError(
                message(
                    "targets.bad_priority",
                    f"--priority 含有“{','.join(bad)}”，应为 P1、P2、P3 中的一个或多个（逗号分隔）。",
                    f"`priority` had {','.join(bad)!r} but is expected to list some of P1, P2, P3 "
                    "(comma-separated).",
                )
            )
        keep &= targets["priority"].isin(wanted)
    out = targets.loc[keep.to_numpy()]
    return out.sort_values(["priority", "score"], ascending=[True, False], kind="stable")


def present_targets(
    targets: gpd.GeoDataFrame, lang: Lang = "zh", departments: Names = DEPARTMENTS
) -> pd.DataFrame:
    """One row per target, columns in the layer's order, headers and words in ``lang``.

    Lists are ``;``-separated; scores are rounded to one decimal as the reasons say them;
    a target whose parcels name no village reads 未知村 / unknown village.
    """
    idx = 1 if lang == "en" else 0
    yes, no = (("是", "否"), ("yes", "no"))[idx]
    table = pd.DataFrame(index=targets.index)
    for col, heads in HEADERS.items():
        if col not in targets.columns:
            continue
        values = targets[col]
        if col == "priority":
            values = values.map(lambda p: f"{p} {priority_word(p, lang)}")
        elif col in ("lead_department", "cooperating_departments"):
            values = values.map(lambda v: _names(v, departments, lang))
        elif col == "categories":
            values = values.map(lambda v: _names(v, CATEGORIES, lang))
        elif col == "village_names":
            codes = targets.get("village_codes", pd.Series(pd.NA, index=targets.index))
            values = village_words(codes, values, lang)
        elif col == "criminal_threshold_met":
            values = values.map(lambda v: yes if bool(v) else no)
        elif col == "score":
            values = pd.to_numeric(values, errors="coerce").round(1)
        elif col in ("area_ha", "estimated_volume_m3", "patch_area_ha"):
            values = pd.to_numeric(values, errors="coerce").round(2)
        table[heads[idx]] = values
    return table.reset_index(drop=True)
