"""Overlay layers of the map products: flagged parcels, change patches, complaints, problems.

Each ``add_*`` function takes a layers-schema GeoDataFrame (any CRS with a defined CRS;
shown in EPSG:4326), adds named layers with a popup to the map and adds nothing for an
empty frame. Change patches are coloured by legality and verification
(:func:`maps.styles.patch_class`); complaints are clustered below
:data:`CLUSTER_UNTIL_ZOOM` only, closed and unfounded ones in a layer hidden by default;
problem markers have a white ring so they read on any village fill.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from layers.codes import CATEGORIES
from layers.messages import Lang, pick
from maps import styles
from maps.popups import (
    code_names,
    day_text,
    escaped,
    escaped_or_missing,
    number_text,
    popup_layer,
    village_text,
)
from maps.render import display_frame

__all__ = [
    "CLUSTER_UNTIL_ZOOM",
    "add_complaints",
    "add_flagged",
    "add_patches",
    "add_problems",
    "complaint_legend",
    "patch_legend",
    "state_legend",
]

# Complaints are clustered below this zoom (about 1:17,000) and drawn one by one from it.
CLUSTER_UNTIL_ZOOM = 15


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
    """The forest-inspection change patches, filled by :func:`maps.styles.patch_class`
    and edged by their workflow stage (:func:`maps.styles.patch_stage`, from ``state``;
    ``state_text``, the state in words, is shown in the popup when given)."""
    if not len(patches):
        return
    klass = styles.patch_class(patches)
    columns = {
        "pid": escaped(patches["patch_id"]),
        "year": escaped_or_missing(patches["year"], "value", lang),
        "cause": escaped_or_missing(patches["change_cause"], "value", lang),
        "ha": number_text(patches["area_ha"], ".2f"),
        "leg": klass.map(lambda k: styles.label(styles.PATCH_LABELS, k, lang)),
        "k": klass,
        "stage": styles.patch_stage(patches),
    }
    if "state_text" in patches:
        columns["st"] = escaped_or_missing(patches["state_text"], "value", lang)
    shown = display_frame(patches, columns, "patches")
    aliases = {
        "pid": pick(lang, "图斑号", "Patch"),
        "year": pick(lang, "年度", "Year"),
        "cause": pick(lang, "变化原因", "Cause"),
        "ha": pick(lang, "面积(公顷)", "Area (ha)"),
        "leg": pick(lang, "合法性", "Legality"),
    }
    if "st" in columns:
        aliases["st"] = pick(lang, "办理环节", "Workflow state")
    style = lambda f: styles.patch_style(f["properties"]["k"], f["properties"]["stage"])  # noqa: E731
    popup_layer(shown, pick(lang, "森林督查变化图斑", "Change patches"), aliases, style).add_to(m)


def patch_legend(lang: Lang) -> str:
    """Legend blocks of the change patches by legality and verification, then by
    workflow stage."""
    return styles.legend_html(
        pick(lang, "森林督查变化图斑", "Change patches"),
        [
            (styles.PATCH_COLOURS[k], styles.label(styles.PATCH_LABELS, k, lang))
            for k in styles.PATCH_CLASSES
        ],
    ) + styles.legend_html(
        pick(lang, "图斑办理环节", "Patch workflow stage"),
        [
            (styles.PATCH_STAGE_SWATCHES[k], styles.label(styles.PATCH_STAGE_LABELS, k, lang))
            for k in styles.PATCH_STAGES
        ],
    )


def _complaint_frame(complaints: gpd.GeoDataFrame, lang: Lang) -> gpd.GeoDataFrame:
    status = styles.column_text(complaints, "status").map(
        lambda s: styles.label(styles.COMPLAINT_STATE_LABELS, s, lang), na_action="ignore"
    )
    return display_frame(
        complaints,
        {
            "cid": escaped(complaints["complaint_id"]),
            "at": escaped_or_missing(day_text(complaints["received_at"]), "date", lang),
            "cat": styles.or_missing(
                code_names(complaints["category"], CATEGORIES, lang), "category", lang
            ),
            "st": escaped_or_missing(status, "value", lang),
            "txt": escaped_or_missing(complaints["description"], "text", lang),
        },
        "complaints",
    )


def add_complaints(m: folium.Map, complaints: gpd.GeoDataFrame, lang: Lang) -> None:
    """The complaints as points clustered below :data:`CLUSTER_UNTIL_ZOOM`.

    New and verified complaints are shown; closed and unfounded ones are in a second layer
    of the layer switch, hidden until switched on.
    """
    if not len(complaints):
        return
    hidden = styles.complaint_hidden(complaints).to_numpy()
    aliases = {
        "cid": pick(lang, "举报编号", "Complaint"),
        "at": pick(lang, "受理日期", "Received"),
        "cat": pick(lang, "类别", "Category"),
        "st": pick(lang, "核实结果", "Verification"),
        "txt": pick(lang, "内容", "Description"),
    }
    parts = [
        ("open", complaints[~hidden], pick(lang, "举报投诉", "Complaints"), True),
        (
            "hidden",
            complaints[hidden],
            pick(lang, "已办结、不属实举报", "Closed or unfounded complaints"),
            False,
        ),
    ]
    for key, part, name, show in parts:
        if not len(part):
            continue
        colour = styles.COMPLAINT_COLOURS[key]
        style = lambda f, c=colour: {"color": "#ffffff", "fillColor": c, "fillOpacity": 0.85}  # noqa: E731
        cluster = MarkerCluster(
            name=f"{name} ({len(part)})",
            show=show,
            disableClusteringAtZoom=CLUSTER_UNTIL_ZOOM,
            spiderfyOnMaxZoom=False,
        )
        marker = folium.CircleMarker(radius=6, weight=1.5, fill=True)
        layer = popup_layer(_complaint_frame(part, lang), name, aliases, style, marker)
        layer.add_to(cluster)
        cluster.add_child(_PopupOnEachMarker(layer.get_name()))
        cluster.add_to(m)


class _PopupOnEachMarker(MacroElement):
    """Moves a GeoJSON layer's popup onto each of its markers.

    A marker cluster takes the markers out of their GeoJSON layer, which is never on the
    map itself, so a popup bound to that layer would never open on a click.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
          var layer = {{ this.layer }};
          var popup = layer.getPopup();
          if (!popup) { return; }
          layer.eachLayer(function(marker){ marker.bindPopup(popup._content, popup.options); });
          layer.unbindPopup();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer: str) -> None:
        super().__init__()
        self._name = "PopupOnEachMarker"
        self.layer = layer


def complaint_legend(lang: Lang) -> list[tuple[str, str]]:
    """Legend entries (colour, label) of the shown and the hidden complaints."""
    return [
        (styles.COMPLAINT_COLOURS[k], styles.label(styles.COMPLAINT_LABELS, k, lang))
        for k in ("open", "hidden")
    ]


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
    marker = folium.CircleMarker(radius=7, weight=2.5, fill=True)
    popup_layer(shown, name, aliases, _problem_style, marker).add_to(m)


def _problem_style(feature: Any) -> dict[str, Any]:
    """A state-coloured dot in a white ring (:data:`maps.styles.PROBLEM_OUTLINE`)."""
    return {
        "color": styles.PROBLEM_OUTLINE,
        "fillColor": feature["properties"]["c"],
        "weight": 2.5,
        "opacity": 1,
        "fillOpacity": 0.95,
    }


def state_legend(lang: Lang) -> str:
    """Legend block of the problem states."""
    return styles.legend_html(
        pick(lang, "督查问题状态", "Problem state"),
        [(c, styles.label(styles.STATE_LABELS, s, lang)) for s, c in styles.STATE_COLOURS.items()],
        kind="dot",
    )
