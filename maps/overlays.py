"""Overlay layers of the map products: flagged parcels, change patches, complaints, problems.

Each ``add_*`` function takes a layers-schema GeoDataFrame (any CRS with a defined CRS;
shown in EPSG:4326), adds one named layer with a popup to the map and adds nothing for an
empty frame.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
from folium.plugins import MarkerCluster

from layers.codes import CATEGORIES
from layers.messages import Lang, pick
from maps import styles
from maps.popups import (
    code_names,
    colour_style,
    day_text,
    escaped,
    escaped_or_missing,
    number_text,
    popup_layer,
    village_text,
)
from maps.render import display_frame

__all__ = ["add_complaints", "add_flagged", "add_patches", "add_problems", "state_legend"]


def add_flagged(m: folium.Map, parcels: gpd.GeoDataFrame, lang: Lang) -> None:
    """The flagged parcels (rows of ``parcel_risk``) with their risk score."""
    if not len(parcels):
        return
    shown = display_frame(
        parcels,
        {
            "pid": escaped(parcels["parcel_id"]),
            "vil": village_text(parcels, "village_code", "village_name", lang),
            "score": number_text(parcels["score"], ".1f"),
            "ha": number_text(parcels["area_ha"], ".2f"),
        },
        "parcel_risk",
    )
    aliases = {
        "pid": pick(lang, "小班/图斑号", "Parcel"),
        "vil": pick(lang, "村", "Village"),
        "score": pick(lang, "风险评分", "Risk score"),
        "ha": pick(lang, "面积(公顷)", "Area (ha)"),
    }
    style = lambda f: {"color": "#1565c0", "weight": 1, "fillOpacity": 0.15}  # noqa: E731
    popup_layer(shown, pick(lang, "高风险小班", "Flagged parcels"), aliases, style).add_to(m)


def add_patches(m: folium.Map, patches: gpd.GeoDataFrame, lang: Lang) -> None:
    """The forest-inspection change patches."""
    if not len(patches):
        return
    shown = display_frame(
        patches,
        {
            "pid": escaped(patches["patch_id"]),
            "year": escaped_or_missing(patches["year"], "value", lang),
            "cause": escaped_or_missing(patches["change_cause"], "value", lang),
            "ha": number_text(patches["area_ha"], ".2f"),
        },
        "patches",
    )
    aliases = {
        "pid": pick(lang, "图斑号", "Patch"),
        "year": pick(lang, "年度", "Year"),
        "cause": pick(lang, "变化原因", "Cause"),
        "ha": pick(lang, "面积(公顷)", "Area (ha)"),
    }
    style = lambda f: {"color": "#6a1b9a", "weight": 1.5, "fillOpacity": 0.3}  # noqa: E731
    popup_layer(shown, pick(lang, "森林督查变化图斑", "Change patches"), aliases, style).add_to(m)


def add_complaints(m: folium.Map, complaints: gpd.GeoDataFrame, lang: Lang) -> None:
    """The complaints as clustered points."""
    if not len(complaints):
        return
    shown = display_frame(
        complaints,
        {
            "cid": escaped(complaints["complaint_id"]),
            "at": escaped_or_missing(day_text(complaints["received_at"]), "date", lang),
            "cat": styles.or_missing(
                code_names(complaints["category"], CATEGORIES, lang), "category", lang
            ),
            "txt": escaped_or_missing(complaints["description"], "text", lang),
        },
        "complaints",
    )
    aliases = {
        "cid": pick(lang, "举报编号", "Complaint"),
        "at": pick(lang, "受理日期", "Received"),
        "cat": pick(lang, "类别", "Category"),
        "txt": pick(lang, "内容", "Description"),
    }
    cluster = MarkerCluster(name=pick(lang, "举报投诉", "Complaints"))
    style = lambda f: {"color": "#00838f", "fillColor": "#00838f", "fillOpacity": 0.8}  # noqa: E731
    marker = folium.CircleMarker(radius=6, weight=1)
    popup_layer(shown, pick(lang, "举报投诉", "Complaints"), aliases, style, marker).add_to(cluster)
    cluster.add_to(m)


def add_problems(m: folium.Map, problems: gpd.GeoDataFrame, lang: Lang, name: str) -> None:
    """The inspection problems as points coloured by state, in a layer named ``name``."""
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
            "pid": escaped(problems["problem_id"]),
            "vil": village_text(problems, "village_code", "village_name", lang),
            "cat": styles.or_missing(
                code_names(problems["category"], CATEGORIES, lang), "category", lang
            ),
            "st": state.map(lambda s: styles.label(styles.STATE_LABELS, s, lang)),
            "due": escaped_or_missing(day_text(problems["deadline"]), "deadline", lang),
            "esc": esc.astype(str).map(lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)),
            "c": state.map(styles.state_colour),
        },
        "problems",
    )
    aliases = {
        "pid": pick(lang, "问题编号", "Problem"),
        "vil": pick(lang, "村", "Village"),
        "cat": pick(lang, "类别", "Category"),
        "st": pick(lang, "状态", "State"),
        "due": pick(lang, "整改期限", "Deadline"),
        "esc": pick(lang, "督办", "Escalation"),
    }
    marker = folium.CircleMarker(radius=7, weight=1)
    popup_layer(shown, name, aliases, colour_style("c", 0.9, 1), marker).add_to(m)


def state_legend(lang: Lang) -> str:
    """Legend block of the problem states."""
    return styles.legend_html(
        pick(lang, "督查问题状态", "Problem state"),
        [(c, styles.label(styles.STATE_LABELS, s, lang)) for s, c in styles.STATE_COLOURS.items()],
        kind="dot",
    )
