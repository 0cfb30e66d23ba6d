"""The map products: enforcement targets, rectification status by village, department view.

Every builder takes GeoDataFrames in the layers schema (any CRS with a defined CRS; shown in
EPSG:4326), returns a :class:`folium.Map` without any CDN link once written with
:func:`maps.render.save_standalone`, and draws no basemap unless ``tiles`` (an XYZ URL
template) is given. ``lang`` is ``"zh"`` (default) or ``"en"``; ``village`` (a village code
or name) zooms the map to that village. The overlay layers (flagged parcels, patches,
complaints, problems) are drawn by :mod:`maps.overlays`; popup text comes from
:mod:`maps.popups`.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.utilities import JsCode

from layers.codes import CATEGORIES, DEPARTMENTS
from layers.messages import Lang, Message, pick
from maps import cartography, styles
from maps.basemaps import Basemap
from maps.overlays import (
    add_complaints,
    add_flagged,
    add_patches,
    add_problems,
    complaint_legend,
    patch_legend,
    state_legend,
)
from maps.popups import (
    Names,
    code_names,
    colour_style,
    escaped,
    number_text,
    popup_layer,
    split_codes,
    village_text,
)
from maps.render import (
    MapInputError,
    base_map,
    display_frame,
    fit_to,
    fullscreen,
    geojson,
    search,
)

__all__ = ["department_map", "targets_map", "villages_map"]

# A permanent centred label with the village name on each village polygon.
_LABEL = JsCode(
    "function(feature, layer) { layer.bindTooltip(feature.properties.search, "
    "{permanent: true, direction: 'center', className: 'gs-village-label'}); }"
)


def _villages_layer(villages: gpd.GeoDataFrame, lang: Lang) -> tuple[folium.GeoJson, Any]:
    shown = display_frame(
        villages,
        {
            "search": village_text(villages, "village_code", "village_name", lang),
            "code": escaped(villages["village_code"]),
            "c": ["#555555"] * len(villages),
        },
        "villages",
    )
    layer = folium.GeoJson(
        geojson(shown),
        name=pick(lang, "村界", "Village boundaries"),
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


def _targets_frame(targets: gpd.GeoDataFrame, lang: Lang, depts: Names) -> gpd.GeoDataFrame:
    yes, no = pick(lang, "是", "yes"), pick(lang, "否", "no")
    evidence = (
        pick(lang, "举报 ", "complaints ")
        + number_text(targets["complaint_count"], ".0f")
        + pick(lang, "；变化图斑 ", "; change patches ")
        + number_text(targets["patch_area_ha"], ".2f")
        + pick(lang, " 公顷；未整改问题 ", " ha; open problems ")
        + number_text(targets["open_problem_count"], ".0f")
        + pick(lang, "；小班 ", "; parcels ")
        + number_text(targets["parcel_count"], ".0f")
    )
    reasons_col = "reasons_en" if lang == "en" and "reasons_en" in targets else "reasons"
    criminal = targets["criminal_threshold_met"].astype(str).str.lower().isin(["true", "1"])
    priority = targets["priority"].astype(str)
    return display_frame(
        targets,
        {
            "search": escaped(targets["target_id"]),
            "pri": priority.map(lambda p: styles.label(styles.PRIORITY_LABELS, p, lang)),
            "vil": village_text(targets, "village_codes", "village_names", lang),
            "ha": number_text(targets["area_ha"], ".2f"),
            "cat": code_names(targets["categories"], CATEGORIES, lang),
            "lead": code_names(targets["lead_department"], depts, lang),
            "coop": code_names(targets["cooperating_departments"], depts, lang),
            "crim": np.where(criminal, yes, no),
            "ev": evidence,
            "why": escaped(targets[reasons_col]).str.replace("\n", "<br>"),
            "c": priority.map(styles.priority_colour),
            "lead_code": targets["lead_department"].astype(str),
        },
        "targets",
    )


def _target_aliases(lang: Lang) -> dict[str, str]:
    return {
        "search": pick(lang, "目标编号", "Target"),
        "pri": pick(lang, "优先级", "Priority"),
        "vil": pick(lang, "所在村", "Villages"),
        "ha": pick(lang, "面积(公顷)", "Area (ha)"),
        "cat": pick(lang, "问题类别", "Categories"),
        "lead": pick(lang, "牵头部门", "Lead"),
        "coop": pick(lang, "配合部门", "Cooperating"),
        "crim": pick(lang, "达到刑事立案标准", "Criminal threshold met"),
        "ev": pick(lang, "证据", "Evidence"),
        "why": pick(lang, "理由", "Reasons"),
    }


def _add_targets(
    m: folium.Map, targets: gpd.GeoDataFrame, lang: Lang, depts: Names, prefix: str
) -> list[folium.GeoJson]:
    """One toggleable layer per lead department, in the targets pane above every other
    layer (:func:`maps.cartography.targets_pane`); returns the layers."""
    shown = _targets_frame(targets, lang, depts)
    layers = []
    idx = 1 if lang == "en" else 0
    cartography.targets_pane(m)
    for code, part in shown.groupby("lead_code", sort=True):
        name = f"{prefix}{depts.get(str(code), (code, code))[idx]} ({len(part)})"
        layer = popup_layer(
            part.drop(columns="lead_code"),
            name,
            _target_aliases(lang),
            colour_style("c", 0.45, 2),
            pane=cartography.TARGETS_PANE,
            renderer=cartography.targets_renderer(),
        )
        layer.add_to(m)
        layers.append(layer)
    return layers


def _priority_legend(lang: Lang) -> str:
    return styles.legend_html(
        pick(lang, "执法目标优先级", "Target priority"),
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
    lang: Lang = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
    departments: Names | None = None,
    as_of: date | str | None = None,
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
    as_of : datetime.date or str, optional
        The as-of date of the analysis that drew the targets (shown under the title;
        日期不详 / date unknown when not given).
    """
    depts = dict(departments or DEPARTMENTS)
    m = base_map(tiles, attribution, lang)
    cartography.caption(
        m,
        pick(lang, "联合执法目标图", "Joint enforcement targets"),
        [(pick(lang, "研判数据截至", "Analysis as of"), as_of)],
        lang,
    )
    village_layer, shown_villages = _villages_layer(villages, lang)
    village_layer.add_to(m)
    add_flagged(m, flagged_parcels, lang)
    add_patches(m, patches, lang)
    target_layers = _add_targets(m, targets, lang, depts, pick(lang, "牵头：", "Lead: "))
    add_complaints(m, complaints, lang)
    search(
        m,
        [*target_layers, village_layer],
        pick(lang, "目标编号或村名", "Target id or village"),
        lang,
    )
    cartography.legend(
        m,
        [
            _priority_legend(lang),
            patch_legend(lang),
            styles.legend_html(
                pick(lang, "其他证据", "Other evidence"),
                [("#1565c0", pick(lang, "高风险小班", "flagged parcels"))],
            ),
            styles.legend_html(
                pick(lang, "举报投诉", "Complaints"), complaint_legend(lang), kind="dot"
            ),
        ],
        lang,
    )
    fullscreen(m, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _focus(m, shown_villages, village)
    return m


def villages_map(
    villages: gpd.GeoDataFrame,
    status: pd.DataFrame,
    problems: gpd.GeoDataFrame,
    lang: Lang = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
    as_of: date | str | None = None,
    extra_fields: dict[str, str] | None = None,
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
    as_of : datetime.date or str, optional
        The day the status is evaluated at (shown under the title).
    extra_fields : dict, optional
        Further columns of ``status`` shown in a village's popup: column → label (e.g. its
        change-patch figures); a village without a value shows ``—``.
    """
    m = base_map(tiles, attribution, lang)
    extra = {k: v for k, v in (extra_fields or {}).items() if k in status}
    cartography.caption(
        m,
        pick(lang, "村整改情况图", "Rectification status by village"),
        [(pick(lang, "整改状态截至", "Status as of"), as_of)],
        lang,
    )
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
            "search": village_text(merged, "village_code", "village_name", lang),
            "code": escaped(merged["village_code"]),
            "cls": klass.map(lambda k: styles.label(styles.STATUS_LABELS, k, lang)),
            **{k: merged[k].astype(int).astype(str) for k in counts},
            "rate": rate.map(lambda v: "—" if pd.isna(v) else f"{v:.0%}"),
            "esc": merged["max_escalation"].map(
                lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)
            ),
            "c": klass.map(styles.status_colour),
            **{k: merged[k].astype("string").fillna("—").astype(object) for k in extra},
        },
        "villages",
    )
    aliases = {
        "search": pick(lang, "村", "Village"),
        "code": pick(lang, "村代码", "Code"),
        "cls": pick(lang, "整改情况", "Status"),
        "problems": pick(lang, "问题数", "Problems"),
        "open": pick(lang, "未整改", "Open"),
        "overdue": pick(lang, "逾期", "Overdue"),
        "awaiting_verification": pick(lang, "待验收", "Awaiting verification"),
        "verified": pick(lang, "已销号", "Verified"),
        "rate": pick(lang, "按期整改率", "On-time rate"),
        "esc": pick(lang, "最高督办级别", "Highest escalation"),
        **extra,
    }
    layer = popup_layer(
        shown, pick(lang, "村整改情况", "Village status"), aliases, colour_style("c", 0.55, 1.5)
    )
    layer.on_each_feature = _LABEL
    layer.add_to(m)
    add_problems(m, problems, lang, pick(lang, "督查问题", "Inspection problems"))
    search(m, [layer], pick(lang, "村名", "Village name"), lang)
    status_entries = [
        (styles.STATUS_COLOURS[k], styles.label(styles.STATUS_LABELS, k, lang))
        for k in styles.STATUS_CLASSES
    ]
    cartography.legend(
        m,
        [
            styles.legend_html(pick(lang, "村整改情况", "Village status"), status_entries),
            state_legend(lang),
        ],
        lang,
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
    lang: Lang = "zh",
    *,
    village: str | None = None,
    tiles: str | Basemap | None = None,
    attribution: str | None = None,
    departments: Names | None = None,
    as_of: date | str | None = None,
    analysis_as_of: date | str | None = None,
) -> folium.Map:
    """One department's view: its targets (as lead or cooperating) and problems copied to it.

    Village outlines are drawn for orientation; no other layer is shown. ``as_of`` is the
    day the problems' states are evaluated at, ``analysis_as_of`` the as-of date of the
    analysis that drew the targets; both are shown under the title.
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
    coop = split_codes(targets["cooperating_departments"]).map(lambda xs: code in xs)
    mine = targets[(lead | coop).to_numpy()]
    copied = split_codes(problems["cc_departments"]).map(lambda xs: code in xs)
    m = base_map(tiles, attribution, lang)
    zh, en = depts[code]
    cartography.caption(
        m,
        pick(lang, f"{zh} 执法目标与督查问题", f"{en[:1].upper()}{en[1:]}: targets and problems"),
        [
            (pick(lang, "研判数据截至", "Analysis as of"), analysis_as_of),
            (pick(lang, "问题状态截至", "Problems as of"), as_of),
        ],
        lang,
    )
    village_layer, shown_villages = _villages_layer(villages, lang)
    village_layer.add_to(m)
    layers = _add_targets(m, mine, lang, depts, pick(lang, "牵头：", "Lead: ")) if len(mine) else []
    add_problems(
        m,
        problems[copied.to_numpy()],
        lang,
        pick(lang, "抄送本部门的督查问题", "Problems copied to this department"),
    )
    search(m, [*layers, village_layer], pick(lang, "目标编号或村名", "Target id or village"), lang)
    cartography.legend(m, [_priority_legend(lang), state_legend(lang)], lang)
    fullscreen(m, lang)
    folium.LayerControl(collapsed=False).add_to(m)
    _focus(m, shown_villages, village)
    return m
