"""The map products: enforcement targets, rectification status by village, department view.

Every builder takes GeoDataFrames in the layers schema (any CRS with a defined CRS; shown in
EPSG:4326), returns a :class:`folium.Map` without any CDN link once written with
:func:`maps.render.save_standalone`, and draws no basemap unless ``tiles`` (an XYZ URL
template) is given. ``lang`` is ``"zh"`` (default) or ``"en"``; ``village`` (a village code
or name) zooms the map to that village.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import MarkerCluster
from folium.utilities import JsCode

from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Message
from maps import styles
from maps.basemaps import Basemap
from maps.render import (
    MapInputError,
    base_map,
    display_frame,
    fit_to,
    fullscreen,
    geojson,
    legend,
    search,
)

__all__ = ["department_map", "targets_map", "villages_map"]

Names = dict[str, tuple[str, str]]
# A permanent centred label with the village name on each village polygon.
_LABEL = JsCode(
    "function(feature, layer) { layer.bindTooltip(feature.properties.search, "
    "{permanent: true, direction: 'center', className: 'gs-village-label'}); }"
)


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _text(values: pd.Series) -> pd.Series:
    """Values as escaped display text ('' for missing)."""
    s = values.astype(object).where(values.notna(), "")
    return s.astype(str).map(html.escape)


def _or(values: pd.Series, key: str, lang: str) -> pd.Series:
    """Escaped display text; the plain word for a missing ``key`` value where missing."""
    return styles.or_missing(values, key, lang).map(html.escape)


def _day(values: pd.Series) -> pd.Series:
    """Dates as ``YYYY-MM-DD`` text (missing stays missing)."""
    return values.astype("string").str.slice(0, 10)


def _village(frame: pd.DataFrame, code: str, name: str, lang: str) -> pd.Series:
    """Escaped village names of ``frame``, in plain words where missing (no village)."""
    codes = frame[code] if code in frame else pd.Series(pd.NA, index=frame.index)
    return styles.village_labels(codes, frame[name], lang).map(html.escape)


def _split(values: pd.Series, sep: str = ";") -> pd.Series:
    s = values.astype(object).where(values.notna(), "").astype(str)
    return s.str.replace(",", sep).str.split(sep).map(lambda xs: [x.strip() for x in xs if x])


def _names(values: pd.Series, table: Names, lang: str) -> pd.Series:
    idx = 1 if lang == "en" else 0
    joined = _split(values).map(lambda codes: "、".join(table.get(c, (c, c))[idx] for c in codes))
    return joined.map(html.escape)


def _number(values: pd.Series, fmt: str) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    return num.map(lambda v: "" if pd.isna(v) else format(v, fmt)).astype(object)


def _style(colour_key: str, fill_opacity: float, weight: float) -> Callable[[Any], dict[str, Any]]:
    def style(feature: Any) -> dict[str, Any]:
        colour = feature["properties"][colour_key]
        return {"color": colour, "fillColor": colour, "weight": weight, "fillOpacity": fill_opacity}

    return style


def _layer(
    frame: gpd.GeoDataFrame,
    name: str,
    aliases: dict[str, str],
    style: Callable[[Any], dict[str, Any]],
    marker: folium.CircleMarker | None = None,
    show: bool = True,
) -> folium.GeoJson:
    """A GeoJson layer with a popup of the ``aliases`` fields (property → label).

    A frame left empty (e.g. every problem of a village lacks a location) still gives its
    named layer, without a popup: folium refuses popup fields absent from the data."""
    popup = (
        folium.GeoJsonPopup(fields=list(aliases), aliases=list(aliases.values()))
        if len(frame)
        else None
    )
    return folium.GeoJson(
        geojson(frame), name=name, style_function=style, popup=popup, marker=marker, show=show
    )


def _villages_layer(villages: gpd.GeoDataFrame, lang: str) -> tuple[folium.GeoJson, Any]:
    shown = display_frame(
        villages,
        {
            "search": _village(villages, "village_code", "village_name", lang),
            "code": _text(villages["village_code"]),
            "c": ["#555555"] * len(villages),
        },
        "villages",
    )
    layer = folium.GeoJson(
        geojson(shown),
        name=_t(lang, "村界", "Village boundaries"),
        style_function=lambda f: {"color": "#555555", "weight": 1.5, "fillOpacity": 0},
        on_each_feature=_LABEL,
    )
    return layer, shown


def _focus(m: folium.Map, shown_villages: gpd.GeoDataFrame, village: str | None) -> None:
    """Fit to one village (by code or name) or, without one, to every village."""
    if village is None:
        fit_to(m, shown_villages)
        return
    hit = shown_villages[
        (shown_villages["code"] == village) | (shown_villages["search"] == html.escape(village))
    ]
    if not len(hit):
        known = "、".join(shown_villages["search"].head(8).map(html.unescape))
        raise MapInputError(
            Message(
                "maps.unknown_village",
                f"--village 为“{village}”，不在村界图层中；请使用村界图层中的村代码或村名，例如：{known}。",
                f"`village` was {village!r}, which is not in the villages layer; use a "
                f"village code or name of that layer, e.g. {known.replace('、', ', ')}.",
            )
        )
    fit_to(m, hit)


def _targets_frame(targets: gpd.GeoDataFrame, lang: str, depts: Names) -> gpd.GeoDataFrame:
    yes, no = _t(lang, "是", "yes"), _t(lang, "否", "no")
    evidence = (
        _t(lang, "举报 ", "complaints ")
        + _number(targets["complaint_count"], ".0f")
        + _t(lang, "；变化图斑 ", "; change patches ")
        + _number(targets["patch_area_ha"], ".2f")
        + _t(lang, " 公顷；未整改问题 ", " ha; open problems ")
        + _number(targets["open_problem_count"], ".0f")
        + _t(lang, "；小班 ", "; parcels ")
        + _number(targets["parcel_count"], ".0f")
    )
    reasons_col = "reasons_en" if lang == "en" and "reasons_en" in targets else "reasons"
    criminal = targets["criminal_threshold_met"].astype(str).str.lower().isin(["true", "1"])
    priority = targets["priority"].astype(str)
    return display_frame(
        targets,
        {
            "search": _text(targets["target_id"]),
            "pri": priority.map(lambda p: styles.label(styles.PRIORITY_LABELS, p, lang)),
            "vil": _village(targets, "village_codes", "village_names", lang),
            "ha": _number(targets["area_ha"], ".2f"),
            "cat": _names(targets["categories"], CATEGORIES, lang),
            "lead": _names(targets["lead_department"], depts, lang),
            "coop": _names(targets["cooperating_departments"], depts, lang),
            "crim": np.where(criminal, yes, no),
            "ev": evidence,
            "why": _text(targets[reasons_col]).str.replace("\n", "<br>"),
            "c": priority.map(styles.priority_colour),
            "lead_code": targets["lead_department"].astype(str),
        },
        "targets",
    )


def _target_aliases(lang: str) -> dict[str, str]:
    return {
        "search": _t(lang, "目标编号", "Target"),
        "pri": _t(lang, "优先级", "Priority"),
        "vil": _t(lang, "所在村", "Villages"),
        "ha": _t(lang, "面积(公顷)", "Area (ha)"),
        "cat": _t(lang, "问题类别", "Categories"),
        "lead": _t(lang, "牵头部门", "Lead"),
        "coop": _t(lang, "配合部门", "Cooperating"),
        "crim": _t(lang, "达到刑事立案标准", "Criminal threshold met"),
        "ev": _t(lang, "证据", "Evidence"),
        "why": _t(lang, "理由", "Reasons"),
    }


def _add_targets(
    m: folium.Map, targets: gpd.GeoDataFrame, lang: str, depts: Names, prefix: str
) -> list[folium.GeoJson]:
    """One toggleable layer per lead department; returns the layers."""
    shown = _targets_frame(targets, lang, depts)
    layers = []
    idx = 1 if lang == "en" else 0
    for code, part in shown.groupby("lead_code", sort=True):
        name = f"{prefix}{depts.get(str(code), (code, code))[idx]} ({len(part)})"
        layer = _layer(
            part.drop(columns="lead_code"), name, _target_aliases(lang), _style("c", 0.45, 2)
        )
        layer.add_to(m)
        layers.append(layer)
    return layers


def _priority_legend(lang: str) -> str:
    return styles.legend_html(
        _t(lang, "执法目标优先级", "Target priority"),
        [
            (styles.PRIORITY_COLOURS[p], styles.label(styles.PRIORITY_LABELS, p, lang))
            for p in styles.PRIORITY_COLOURS
        ],
    )


def targets_map(
    targets: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    complaints: gpd.GeoDataFrame,
    patches: gpd.GeoDataFrame,
    flagged_parcels: gpd.GeoDataFrame,
    lang: str = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
    departments: Names | None = None,
) -> folium.Map:
    """The enforcement target map.

    Parameters
    ----------
    targets : geopandas.GeoDataFrame
        The ``targets`` layer (columns of ``TARGET_COLUMNS``; optional ``reasons_en``).
    villages, complaints, patches : geopandas.GeoDataFrame
        The layers of the same names.
    flagged_parcels : geopandas.GeoDataFrame
        Rows of ``parcel_risk`` with ``flagged`` true.
    departments : dict, optional
        Department code → (Chinese, English) name (default the code list).
    """
    depts = dict(departments or DEPARTMENTS)
    m = base_map(tiles, attribution)
    village_layer, shown_villages = _villages_layer(villages, lang)
    village_layer.add_to(m)
    _add_flagged(m, flagged_parcels, lang)
    _add_patches(m, patches, lang)
    target_layers = _add_targets(m, targets, lang, depts, _t(lang, "牵头：", "Lead: "))
    _add_complaints(m, complaints, lang)
    search(
        m, [*target_layers, village_layer], _t(lang, "目标编号或村名", "Target id or village"), lang
    )
    legend(
        m,
        [
            _priority_legend(lang),
            styles.legend_html(
                _t(lang, "证据", "Evidence"),
                [
                    ("#6a1b9a", _t(lang, "森林督查变化图斑", "change patches")),
                    ("#1565c0", _t(lang, "高风险小班", "flagged parcels")),
                    ("#00838f", _t(lang, "举报投诉", "complaints")),
                ],
            ),
        ],
    )
    fullscreen(m, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _focus(m, shown_villages, village)
    return m


def _add_flagged(m: folium.Map, parcels: gpd.GeoDataFrame, lang: str) -> None:
    if not len(parcels):
        return
    shown = display_frame(
        parcels,
        {
            "pid": _text(parcels["parcel_id"]),
            "vil": _village(parcels, "village_code", "village_name", lang),
            "score": _number(parcels["score"], ".1f"),
            "ha": _number(parcels["area_ha"], ".2f"),
        },
        "parcel_risk",
    )
    aliases = {
        "pid": _t(lang, "小班/图斑号", "Parcel"),
        "vil": _t(lang, "村", "Village"),
        "score": _t(lang, "风险评分", "Risk score"),
        "ha": _t(lang, "面积(公顷)", "Area (ha)"),
    }
    style = lambda f: {"color": "#1565c0", "weight": 1, "fillOpacity": 0.15}  # noqa: E731
    _layer(shown, _t(lang, "高风险小班", "Flagged parcels"), aliases, style).add_to(m)


def _add_patches(m: folium.Map, patches: gpd.GeoDataFrame, lang: str) -> None:
    if not len(patches):
        return
    shown = display_frame(
        patches,
        {
            "pid": _text(patches["patch_id"]),
            "year": _or(patches["year"], "value", lang),
            "cause": _or(patches["change_cause"], "value", lang),
            "ha": _number(patches["area_ha"], ".2f"),
        },
        "patches",
    )
    aliases = {
        "pid": _t(lang, "图斑号", "Patch"),
        "year": _t(lang, "年度", "Year"),
        "cause": _t(lang, "变化原因", "Cause"),
        "ha": _t(lang, "面积(公顷)", "Area (ha)"),
    }
    style = lambda f: {"color": "#6a1b9a", "weight": 1.5, "fillOpacity": 0.3}  # noqa: E731
    _layer(shown, _t(lang, "森林督查变化图斑", "Change patches"), aliases, style).add_to(m)


def _add_complaints(m: folium.Map, complaints: gpd.GeoDataFrame, lang: str) -> None:
    if not len(complaints):
        return
    shown = display_frame(
        complaints,
        {
            "cid": _text(complaints["complaint_id"]),
            "at": _or(_day(complaints["received_at"]), "date", lang),
            "cat": styles.or_missing(
                _names(complaints["category"], CATEGORIES, lang), "category", lang
            ),
            "txt": _or(complaints["description"], "text", lang),
        },
        "complaints",
    )
    aliases = {
        "cid": _t(lang, "举报编号", "Complaint"),
        "at": _t(lang, "受理日期", "Received"),
        "cat": _t(lang, "类别", "Category"),
        "txt": _t(lang, "内容", "Description"),
    }
    cluster = MarkerCluster(name=_t(lang, "举报投诉", "Complaints"))
    style = lambda f: {"color": "#00838f", "fillColor": "#00838f", "fillOpacity": 0.8}  # noqa: E731
    marker = folium.CircleMarker(radius=6, weight=1)
    _layer(shown, _t(lang, "举报投诉", "Complaints"), aliases, style, marker).add_to(cluster)
    cluster.add_to(m)


def _problem_layer(m: folium.Map, problems: gpd.GeoDataFrame, lang: str, name: str) -> None:
    if not len(problems):
        return
    state = problems["status"].astype(str)
    esc = (
        problems["escalation"]
        if "escalation" in problems
        else pd.Series("none", index=problems.index)
    )
    shown = display_frame(
        problems,
        {
            "pid": _text(problems["problem_id"]),
            "vil": _village(problems, "village_code", "village_name", lang),
            "cat": styles.or_missing(
                _names(problems["category"], CATEGORIES, lang), "category", lang
            ),
            "st": state.map(lambda s: styles.label(styles.STATE_LABELS, s, lang)),
            "due": _or(_day(problems["deadline"]), "deadline", lang),
            "esc": esc.astype(str).map(lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)),
            "c": state.map(styles.state_colour),
        },
        "problems",
    )
    aliases = {
        "pid": _t(lang, "问题编号", "Problem"),
        "vil": _t(lang, "村", "Village"),
        "cat": _t(lang, "类别", "Category"),
        "st": _t(lang, "状态", "State"),
        "due": _t(lang, "整改期限", "Deadline"),
        "esc": _t(lang, "督办", "Escalation"),
    }
    marker = folium.CircleMarker(radius=7, weight=1)
    _layer(shown, name, aliases, _style("c", 0.9, 1), marker).add_to(m)


def _state_legend(lang: str) -> str:
    return styles.legend_html(
        _t(lang, "督查问题状态", "Problem state"),
        [(c, styles.label(styles.STATE_LABELS, s, lang)) for s, c in styles.STATE_COLOURS.items()],
        kind="dot",
    )


def villages_map(
    villages: gpd.GeoDataFrame,
    status: pd.DataFrame,
    problems: gpd.GeoDataFrame,
    lang: str = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
) -> folium.Map:
    """Rectification status by village.

    Parameters
    ----------
    villages : geopandas.GeoDataFrame
        The ``villages`` layer.
    status : pandas.DataFrame
        ``village_status`` output (one row per village code).
    problems : geopandas.GeoDataFrame
        The ``problems`` layer, optionally with an ``escalation`` column (current level).
    """
    m = base_map(tiles, attribution)
    # rows after a code's first (problems of no village in the layer) have no polygon
    status = status[~status["village_code"].duplicated()]
    merged = villages[["village_code", "geometry"]].merge(
        status.drop(columns=["village_name"], errors="ignore"), on="village_code", how="left"
    )
    merged["village_name"] = villages["village_name"].to_numpy()
    counts = ["problems", "open", "overdue", "awaiting_verification", "verified"]
    merged[counts] = merged[counts].fillna(0)
    merged["max_escalation"] = merged["max_escalation"].fillna("none")
    klass = styles.status_class(merged)
    rate = pd.to_numeric(merged["on_time_rate"], errors="coerce")
    shown = display_frame(
        merged,
        {
            "search": _village(merged, "village_code", "village_name", lang),
            "code": _text(merged["village_code"]),
            "cls": klass.map(lambda k: styles.label(styles.STATUS_LABELS, k, lang)),
            **{k: merged[k].astype(int).astype(str) for k in counts},
            "rate": rate.map(lambda v: "—" if pd.isna(v) else f"{v:.0%}"),
            "esc": merged["max_escalation"].map(
                lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)
            ),
            "c": klass.map(styles.status_colour),
        },
        "villages",
    )
    aliases = {
        "search": _t(lang, "村", "Village"),
        "code": _t(lang, "村代码", "Code"),
        "cls": _t(lang, "整改情况", "Status"),
        "problems": _t(lang, "问题数", "Problems"),
        "open": _t(lang, "未整改", "Open"),
        "overdue": _t(lang, "逾期", "Overdue"),
        "awaiting_verification": _t(lang, "待验收", "Awaiting verification"),
        "verified": _t(lang, "已销号", "Verified"),
        "rate": _t(lang, "按期整改率", "On-time rate"),
        "esc": _t(lang, "最高督办级别", "Highest escalation"),
    }
    layer = _layer(shown, _t(lang, "村整改情况", "Village status"), aliases, _style("c", 0.55, 1.5))
    layer.on_each_feature = _LABEL
    layer.add_to(m)
    _problem_layer(m, problems, lang, _t(lang, "督查问题", "Inspection problems"))
    search(m, [layer], _t(lang, "村名", "Village name"), lang)
    status_entries = [
        (styles.STATUS_COLOURS[k], styles.label(styles.STATUS_LABELS, k, lang))
        for k in styles.STATUS_CLASSES
    ]
    legend(
        m,
        [
            styles.legend_html(_t(lang, "村整改情况", "Village status"), status_entries),
            _state_legend(lang),
        ],
    )
    fullscreen(m, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _focus(m, shown, village)
    return m


def department_map(
    code: str,
    targets: gpd.GeoDataFrame,
    problems: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    lang: str = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
    departments: Names | None = None,
) -> folium.Map:
    """One department's view: its targets (as lead or cooperating) and problems copied to it.

    Village outlines are drawn for orientation; no other layer is shown.
    """
    depts = dict(departments or DEPARTMENTS)
    if code not in depts:
        choices = ", ".join(depts)
        raise MapInputError(
            Message(
                "maps.unknown_department",
                f"部门代码为“{code}”，不是已登记的部门；可用：{choices}。",
                f"Department code {code!r} is not a registered department; expected one of: {choices}.",
            )
        )
    lead = targets["lead_department"].astype(str) == code
    coop = _split(targets["cooperating_departments"]).map(lambda xs: code in xs)
    mine = targets[(lead | coop).to_numpy()]
    copied = _split(problems["cc_departments"]).map(lambda xs: code in xs)
    m = base_map(tiles, attribution)
    village_layer, shown_villages = _villages_layer(villages, lang)
    village_layer.add_to(m)
    layers = _add_targets(m, mine, lang, depts, _t(lang, "牵头：", "Lead: ")) if len(mine) else []
    _problem_layer(
        m,
        problems[copied.to_numpy()],
        lang,
        _t(lang, "抄送本部门的督查问题", "Problems copied to this department"),
    )
    search(m, [*layers, village_layer], _t(lang, "目标编号或村名", "Target id or village"), lang)
    legend(m, [_priority_legend(lang), _state_legend(lang)])
    fullscreen(m, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _focus(m, shown_villages, village)
    return m
