"""Popup text of the map products: escaped display columns and the GeoJson popup layer.

The helpers take frames in the layers schema and return text aligned to their index, ready
for :func:`maps.render.display_frame`; every value shown in a popup is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from layers.messages import Lang
from maps import styles
from maps.render import geojson

__all__ = [
    "Names",
    "code_names",
    "colour_style",
    "day_text",
    "escaped",
    "escaped_or_missing",
    "number_text",
    "popup_layer",
    "split_codes",
    "village_text",
]

# Code → (Chinese, English) name.
Names = dict[str, tuple[str, str]]


def escaped(values: pd.Series) -> pd.Series:
    """Values as escaped display text ('' for missing)."""
    s = values.astype(object).where(values.notna(), "")
    return s.astype(str).map(html.escape)


def escaped_or_missing(values: pd.Series, key: str, lang: Lang) -> pd.Series:
    """Escaped display text; the plain word for a missing ``key`` value where missing."""
    return styles.or_missing(values, key, lang).map(html.escape)


def day_text(values: pd.Series) -> pd.Series:
    """Dates as ``YYYY-MM-DD`` text (missing stays missing)."""
    return values.astype("string").str.slice(0, 10)


def village_text(frame: pd.DataFrame, code: str, name: str, lang: Lang) -> pd.Series:
    """Escaped village names of ``frame``, in plain words where missing (no village)."""
    codes = frame[code] if code in frame else pd.Series(pd.NA, index=frame.index)
    return styles.village_labels(codes, frame[name], lang).map(html.escape)


def split_codes(values: pd.Series, sep: str = ";") -> pd.Series:
    """Lists of codes from ``,``- or ``sep``-joined text (empty list for missing)."""
    s = values.astype(object).where(values.notna(), "").astype(str)
    return s.str.replace(",", sep).str.split(sep).map(lambda xs: [x.strip() for x in xs if x])


def code_names(values: pd.Series, table: Names, lang: Lang) -> pd.Series:
    """Escaped names (``table``: code → (Chinese, English)) of joined codes, joined by 、."""
    idx = 1 if lang == "en" else 0
    joined = split_codes(values).map(
        lambda codes: "、".join(table.get(c, (c, c))[idx] for c in codes)
    )
    return joined.map(html.escape)


def number_text(values: pd.Series, fmt: str) -> pd.Series:
    """Numbers formatted with ``fmt`` ('' for missing or not numeric)."""
    num = pd.to_numeric(values, errors="coerce")
    return num.map(lambda v: "" if pd.isna(v) else format(v, fmt)).astype(object)


def colour_style(
    colour_key: str, fill_opacity: float, weight: float
) -> Callable[[Any], dict[str, Any]]:
    """A folium style function colouring each feature by its ``colour_key`` property."""

    def style(feature: Any) -> dict[str, Any]:
        colour = feature["properties"][colour_key]
        return {"color": colour, "fillColor": colour, "weight": weight, "fillOpacity": fill_opacity}

    return style


def popup_layer(
    frame: gpd.GeoDataFrame,
    name: str,
    aliases: dict[str, str],
    style: Callable[[Any], dict[str, Any]],
    marker: folium.CircleMarker | None = None,
    show: bool = True,
    **options: Any,
) -> folium.GeoJson:
    """A GeoJson layer with a popup of the ``aliases`` fields (property → label).

    A frame left empty (e.g. every problem of a village lacks a location) still gives its
    named layer, without a popup: folium refuses popup fields absent from the data.
    ``options`` are further Leaflet GeoJSON options (``pane``, ``renderer``)."""
    popup = (
        folium.GeoJsonPopup(fields=list(aliases), aliases=list(aliases.values()))
        if len(frame)
        else None
    )
    return folium.GeoJson(
        geojson(frame),
        name=name,
        style_function=style,
        popup=popup,
        marker=marker,
        show=show,
        **options,
    )
