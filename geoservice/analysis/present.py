"""Targets as a department clerk reads them: one row per target, Chinese headers, names.

``present_targets`` filters and sorts the ``targets`` layer and turns codes into words;
the exporters write the result as XLSX/CSV (headers in the chosen language) or keep the
canonical columns for GIS formats.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from geoservice.errors import OptionError, message
from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Lang

PRIORITIES = ("P1", "P2", "P3")
PRIORITY_WORDS = {
    "P1": ("P1 立即行动", "P1 act now"),
    "P2": ("P2 安排检查", "P2 inspect"),
    "P3": ("P3 持续关注", "P3 watch"),
}
# Canonical column → (Chinese header, English header), in the order a clerk reads them.
HEADERS: dict[str, tuple[str, str]] = {
    "target_id": ("目标编号", "target id"),
    "priority": ("优先级", "priority"),
    "score": ("风险分值", "risk score"),
    "village_names": ("所在村", "villages"),
    "village_codes": ("村代码", "village codes"),
    "categories": ("问题类别", "categories"),
    "lead_department": ("牵头部门", "lead department"),
    "cooperating_departments": ("配合部门", "cooperating departments"),
    "criminal_threshold_met": ("达到刑事立案标准", "criminal threshold met"),
    "area_ha": ("面积(公顷)", "area (ha)"),
    "parcel_count": ("小班数", "parcels"),
    "parcel_ids": ("小班号", "parcel ids"),
    "estimated_volume_m3": ("估算蓄积(立方米)", "estimated volume (m³)"),
    "complaint_count": ("举报投诉数", "complaints"),
    "patch_area_ha": ("变化图斑面积(公顷)", "change patch area (ha)"),
    "open_problem_count": ("未整改问题数", "open problems"),
    "reasons": ("理由", "reasons"),
}


def _split(value: object) -> list[str]:
    return [v for v in str(value).split(";") if v] if isinstance(value, str) else []


def _names(codes: object, table: dict[str, tuple[str, str]], lang: Lang) -> str:
    idx = 1 if lang == "en" else 0
    sep = "; " if lang == "en" else "、"
    return sep.join(table.get(c, (c, c))[idx] for c in _split(codes))


def filter_targets(
    targets: gpd.GeoDataFrame,
    *,
    department: str | None = None,
    village: str | None = None,
    priorities: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Targets a department leads or cooperates on, in a village, of some priorities.

    Sorted by priority, then score descending.
    """
    keep = pd.Series(True, index=targets.index)
    if department is not None:
        if department not in DEPARTMENTS:
            raise OptionError(
                message(
                    "targets.bad_department",
                    f"--department 为“{department}”，应为部门代码之一：{', '.join(DEPARTMENTS)}。",
                    f"`department` was {department!r} but is expected to be one of: "
                    f"{', '.join(DEPARTMENTS)}.",
                )
            )
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


def present_targets(targets: gpd.GeoDataFrame, lang: Lang = "zh") -> pd.DataFrame:
    """One row per target with headers and words in ``lang`` (no geometry)."""
    idx = 1 if lang == "en" else 0
    yes, no = (("是", "否"), ("yes", "no"))[idx]
    table = pd.DataFrame(index=targets.index)
    for col, heads in HEADERS.items():
        if col not in targets.columns:
            continue
        values = targets[col]
        if col == "priority":
            values = values.map(lambda p: PRIORITY_WORDS.get(p, (p, p))[idx])
        elif col in ("lead_department", "cooperating_departments"):
            values = values.map(lambda v: _names(v, DEPARTMENTS, lang))
        elif col == "categories":
            values = values.map(lambda v: _names(v, CATEGORIES, lang))
        elif col == "criminal_threshold_met":
            values = values.map(lambda v: yes if bool(v) else no)
        elif col in ("village_names", "village_codes", "parcel_ids"):
            values = values.map(lambda v: ("; " if lang == "en" else "、").join(_split(v)))
        elif col in ("score", "area_ha", "estimated_volume_m3", "patch_area_ha"):
            values = pd.to_numeric(values, errors="coerce").round(2)
        table[heads[idx]] = values
    return table.reset_index(drop=True)
