"""A target's map as a still image for print (the 联合执法任务书), drawn offline.

matplotlib with the Agg renderer draws the image from the layers alone: no network, no
tiles, no browser. The map shows the target's parcels with their 小班 numbers, the change
patches by legality, the complaints by verification status, the village boundaries, other
parcels nearby for orientation, a metric scale bar, a north arrow turned by the grid
convergence of the projection, and the lon/lat of the target's centre.

Every frame is in one projected CRS in metres (the workspace CRS, e.g. CGCS2000 /
3-degree Gauss-Kruger, EPSG:4546); a geographic CRS is refused.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pyproj
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle
from shapely.plotting import patch_from_polygon

from layers.messages import Lang, Message, pick
from maps.fonts import CHINESE_FONTS, know_chinese_fonts
from maps.render import MapInputError

__all__ = [
    "LEGALITY_COLOURS",
    "TargetMap",
    "TargetMapLayers",
    "grid_north_deg",
    "scale_length_m",
    "short_labels",
    "target_map_png",
]

_FONTS = [*CHINESE_FONTS, "DejaVu Sans"]
LEGALITY_COLOURS = {
    "true": "#c62828",
    "suspected": "#ef6c00",
    "unknown": "#f9a825",
    "false": "#2e7d32",
}
_STATUS_COLOURS = {
    "verified": "#b71c1c",
    "new": "#ff6f00",
    "closed": "#607d8b",
    "unfounded": "#bdbdbd",
}
_MIN_SPAN_M = 400.0


@dataclass(frozen=True)
class TargetMapLayers:
    """What a target map draws, every frame in the same projected CRS (metres).

    Attributes
    ----------
    parcels : GeoDataFrame
        The target's parcels, with ``parcel_id`` (the 小班 number shown on the map).
    patches : GeoDataFrame
        Change patches, with ``legality`` (``true``, ``suspected``, ``unknown``, ``false``).
    complaints : GeoDataFrame
        Complaint points, with ``status`` (``verified``, ``new``, ``closed``, ``unfounded``).
    villages : GeoDataFrame
        Village polygons whose boundaries are drawn, with ``village_name``.
    context : GeoDataFrame or None
        Other parcels around the target, drawn in grey for orientation.
    centre : shapely.Point or None
        The point given as the target's centre; None: a point inside the parcels
        (``representative_point`` of their union, which a U-shaped target's centroid is
        not).
    """

    parcels: gpd.GeoDataFrame
    patches: gpd.GeoDataFrame
    complaints: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    context: gpd.GeoDataFrame | None = None
    centre: shapely.Point | None = None


@dataclass(frozen=True)
class TargetMap:
    """A rendered target map.

    Attributes
    ----------
    png : bytes
        The image (PNG).
    centre_lon, centre_lat : float
        The target's centre in degrees (EPSG:4326; CGCS2000 and WGS 84 agree to well
        under a metre).
    scale_m : float
        Length of the scale bar in metres.
    north_deg : float
        Angle of true north from grid north at the centre, degrees clockwise.
    """

    png: bytes
    centre_lon: float
    centre_lat: float
    scale_m: float
    north_deg: float

    def centre_text(self, lang: Lang = "zh") -> str:
        """``112.43105°E, 24.81752°N`` (five decimals: about a metre)."""
        ew = "E" if self.centre_lon >= 0 else "W"
        ns = "N" if self.centre_lat >= 0 else "S"
        return f"{abs(self.centre_lon):.5f}°{ew}, {abs(self.centre_lat):.5f}°{ns}"


def scale_length_m(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) of at most a quarter of
    ``span_m`` metres; 10 m for tiny spans."""
    if not math.isfinite(span_m) or span_m <= 40.0:
        return 10.0
    target = span_m / 4.0
    power = 10.0 ** math.floor(math.log10(target))
    best = power
    for step in (1.0, 2.0, 5.0):
        if step * power <= target:
            best = step * power
    return best


def grid_north_deg(crs: pyproj.CRS, x: float, y: float) -> float:
    """The direction of true north at ``(x, y)`` in the projected ``crs``, in degrees
    clockwise from grid north (the map's up); negative east of the central meridian."""
    to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    to_map = pyproj.Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    x2, y2 = to_map.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(x2 - x, y2 - y))


def _projected(layers: TargetMapLayers) -> pyproj.CRS:
    crs = layers.parcels.crs
    if crs is None or not pyproj.CRS.from_user_input(crs).is_projected:
        raise MapInputError(
            Message(
                "maps.figure_crs",
                f"目标图的图层坐标系为“{crs}”，应为以米为单位的投影坐标系（如 EPSG:4546）；"
                "请先把图层投影到工作空间坐标系。",
                f"The target map's layers are in {crs!s}, but a projected CRS in metres (e.g. "
                "EPSG:4546) is expected; project them to the workspace CRS first.",
            )
        )
    return pyproj.CRS.from_user_input(crs)


def _extent(layers: TargetMapLayers, aspect: float) -> tuple[float, float, float, float]:
    """The view: everything of the target padded by 12 %, at least 400 m across, widened
    to the image's aspect (width / height)."""
    frames = [layers.parcels, layers.patches, layers.complaints]
    boxes = np.array([f.total_bounds for f in frames if len(f) and not f.geometry.is_empty.all()])
    if not len(boxes):
        raise MapInputError(
            Message(
                "maps.figure_empty",
                "目标图没有可绘制的小班、图斑或举报点；请检查目标的小班是否仍在小班图层中。",
                "The target map has no parcel, patch or complaint to draw; check that the "
                "target's parcels are still in the parcels layer.",
            )
        )
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max((x1 - x0) * 1.24, _MIN_SPAN_M)
    h = max((y1 - y0) * 1.24, _MIN_SPAN_M / aspect)
    w, h = max(w, h * aspect), max(h, w / aspect)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _collection(geoms: gpd.GeoSeries, **style: Any) -> PatchCollection:
    polys = shapely.get_parts(geoms[~geoms.is_empty & geoms.notna()].to_numpy())
    polys = polys[shapely.get_type_id(polys) == 3]
    return PatchCollection([patch_from_polygon(p) for p in polys], **style)


def _boundaries(ax: Axes, villages: gpd.GeoDataFrame) -> None:
    if not len(villages):
        return
    ax.add_collection(
        _collection(
            villages.geometry,
            facecolor="none",
            edgecolor="#37474f",
            linewidth=1.4,
            linestyle=(0, (6, 2, 1, 2)),
            zorder=4,
        )
    )


def short_labels(ids: pd.Series) -> tuple[pd.Series, str]:
    """Labels for long parcel ids (wetland 图斑 numbers of 18 digits): the part after the
    prefix all of them share, and that prefix (empty when the ids are short or differ
    from the start). ``0139-003`` stays as it is."""
    text = ids.astype(str)
    if not len(text) or text.str.len().min() <= 10:
        return text, ""
    shortest, first = int(text.str.len().min()), text.iloc[0]
    same = 0
    while same < shortest - 3 and (text.str[same] == first[same]).all():
        same += 1
    prefix = first[:same]
    if len(prefix) < 6:
        return text, ""
    return text.str.slice(len(prefix)), prefix


def _parcel_labels(ax: Axes, parcels: gpd.GeoDataFrame, fontsize: float) -> None:
    points = parcels.geometry.representative_point()
    xs, ys = points.x.to_numpy(), points.y.to_numpy()
    labels, _ = short_labels(parcels["parcel_id"])
    # Just above the point inside each parcel, so the target's centre cross (a point
    # inside the target, often the same point) stays visible.
    for x, y, text in zip(xs, ys, labels, strict=True):
        ax.annotate(
            text,
            (x, y),
            xytext=(0, 5),
            textcoords="offset points",
            fontsize=fontsize,
            ha="center",
            va="bottom",
            zorder=8,
            color="#1a237e",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )


def _scale_bar(ax: Axes, extent: tuple[float, float, float, float], lang: Lang) -> float:
    x0, y0, x1, y1 = extent
    length = scale_length_m(x1 - x0)
    left, base = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.05
    height = (y1 - y0) * 0.012
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (left + i * length / 4, base),
                length / 4,
                height,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                linewidth=0.6,
                zorder=9,
            )
        )
    unit = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left, base + height * 1.6, "0", fontsize=6.5, ha="center", zorder=9)
    ax.text(left + length, base + height * 1.6, unit, fontsize=6.5, ha="center", zorder=9)
    ax.text(
        left + length / 2,
        base - height * 2.4,
        pick(lang, "比例尺", "scale"),
        fontsize=6,
        ha="center",
        zorder=9,
    )
    return length


def _north_arrow(ax: Axes, angle_deg: float) -> None:
    """An arrow in the top-right corner pointing to true north, with an N."""
    cx, cy, r = 0.93, 0.86, 0.06
    a = math.radians(angle_deg)
    ux, uy = math.sin(a), math.cos(a)
    px, py = -uy, ux
    tip = (cx + ux * r, cy + uy * r)
    tail = (cx - ux * r * 0.6, cy - uy * r * 0.6)
    left = (tail[0] + px * r * 0.35, tail[1] + py * r * 0.35)
    right = (tail[0] - px * r * 0.35, tail[1] - py * r * 0.35)
    kw = {"transform": ax.transAxes, "zorder": 10, "edgecolor": "black", "linewidth": 0.6}
    ax.add_patch(Polygon([tip, left, (cx, cy)], closed=True, facecolor="black", **kw))
    ax.add_patch(Polygon([tip, right, (cx, cy)], closed=True, facecolor="white", **kw))
    ax.text(
        cx + ux * r * 1.45,
        cy + uy * r * 1.45,
        "N",
        transform=ax.transAxes,
        fontsize=9,
        fontweight="bold",
        ha="center",
        va="center",
        zorder=10,
    )


def _legend(
    ax: Axes, layers: TargetMapLayers, lang: Lang, extent: tuple[float, float, float, float]
) -> None:
    _, prefix = short_labels(layers.parcels["parcel_id"])
    parcels = pick(lang, "目标小班", "target parcels")
    if prefix:
        parcels += pick(lang, f"（图斑号 {prefix}…）", f" (ids {prefix}…)")
    handles: list[object] = [Patch(facecolor="#ffe0b2", edgecolor="#e65100", label=parcels)]
    seen = set(layers.patches["legality"].astype(str)) if len(layers.patches) else set()
    words = {
        "true": ("违法图斑", "illegal patch"),
        "suspected": ("疑似违法图斑", "suspected illegal patch"),
        "unknown": ("待核实图斑", "patch, legality not verified"),
        "false": ("合法图斑", "legal patch"),
    }
    for key, colour in LEGALITY_COLOURS.items():
        if key in seen:
            handles.append(
                Patch(facecolor=colour, alpha=0.45, edgecolor=colour, label=pick(lang, *words[key]))
            )
    if len(layers.complaints):
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color="#b71c1c",
                markeredgecolor="white",
                label=pick(lang, "举报点", "complaints"),
            )
        )
    view = shapely.box(*extent)
    if len(layers.villages) and layers.villages.boundary.intersects(view).any():
        handles.append(
            Line2D(
                [],
                [],
                color="#37474f",
                linestyle=(0, (6, 2, 1, 2)),
                label=pick(lang, "村界", "village boundary"),
            )
        )
    ax.legend(handles=handles, loc="upper left", fontsize=6.5, framealpha=0.85)


def target_map_png(
    layers: TargetMapLayers,
    *,
    lang: Lang = "zh",
    width_mm: float = 176.0,
    height_mm: float = 105.0,
    dpi: int = 200,
) -> TargetMap:
    """Draw the target map as a PNG image.

    Parameters
    ----------
    layers : TargetMapLayers
        Every frame in the same projected CRS in metres.
    lang : {"zh", "en"}
        Language of the legend and labels.
    width_mm, height_mm : float
        Printed size of the image in millimetres.
    dpi : int
        Resolution in dots per inch.

    Returns
    -------
    TargetMap

    Raises
    ------
    MapInputError
        The layers are not in a projected CRS, or hold nothing to draw.
    """
    crs = _projected(layers)
    extent = _extent(layers, width_mm / height_mm)
    fig = Figure(figsize=(width_mm / 25.4, height_mm / 25.4), dpi=dpi)
    fig.set_layout_engine("none")
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    know_chinese_fonts()
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": _FONTS}):
        _draw(ax, layers, extent, lang)
        scale = _scale_bar(ax, extent, lang)
        centre = layers.centre
        if centre is None and len(layers.parcels):
            centre = layers.parcels.geometry.union_all().representative_point()
        cx = centre.x if centre is not None else (extent[0] + extent[2]) / 2
        cy = centre.y if centre is not None else (extent[1] + extent[3]) / 2
        north = grid_north_deg(crs, cx, cy)
        _north_arrow(ax, north)
        lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(cx, cy)
        shown = TargetMap(b"", float(lon), float(lat), scale, north)
        ax.plot([cx], [cy], marker="+", markersize=10, color="black", zorder=9)
        ax.text(
            0.99,
            0.015,
            pick(lang, "中心坐标 ", "Centre ") + shown.centre_text(lang),
            transform=ax.transAxes,
            fontsize=7,
            ha="right",
            va="bottom",
            zorder=10,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#777", "alpha": 0.9},
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return TargetMap(buf.getvalue(), shown.centre_lon, shown.centre_lat, scale, north)


def _draw(
    ax: Axes, layers: TargetMapLayers, extent: tuple[float, float, float, float], lang: Lang
) -> None:
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="#f7f9f4", zorder=0))
    if layers.context is not None and len(layers.context):
        ax.add_collection(
            _collection(
                layers.context.geometry,
                facecolor="#e8efe3",
                edgecolor="#b0bec5",
                linewidth=0.4,
                zorder=1,
            )
        )
    _boundaries(ax, layers.villages)
    ax.add_collection(
        _collection(
            layers.parcels.geometry,
            facecolor="#ffe0b2",
            edgecolor="#e65100",
            linewidth=1.2,
            zorder=2,
        )
    )
    if len(layers.patches):
        colours = layers.patches["legality"].astype(str).map(LEGALITY_COLOURS).fillna("#9e9e9e")
        for legality, group in layers.patches.groupby(colours.to_numpy()):
            ax.add_collection(
                _collection(
                    group.geometry,
                    facecolor=legality,
                    alpha=0.45,
                    edgecolor=legality,
                    linewidth=1.0,
                    hatch="///",
                    zorder=3,
                )
            )
    if len(layers.complaints):
        pts = layers.complaints.geometry
        colours = layers.complaints["status"].astype(str).map(_STATUS_COLOURS).fillna("#b71c1c")
        ax.scatter(
            pts.x, pts.y, s=28, c=colours.tolist(), edgecolors="white", linewidths=0.8, zorder=7
        )
    _parcel_labels(ax, layers.parcels, 6.5 if len(layers.parcels) <= 12 else 5.0)
    _legend(ax, layers, lang, extent)
