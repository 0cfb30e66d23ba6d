"""Positions taken in the field: checked, moved into the workspace CRS and held to the
person's scope.

A phone reports its GPS position in WGS 84 degrees with an accuracy in metres; CGCS2000
(EPSG:4490) and WGS 84 differ by centimetres, far below a phone's accuracy, so the
position is read as CGCS2000 and transformed into the workspace CRS, which is projected
(Gauss-Kruger, metres) for every survey this service imports. Distances are measured there.

The limits (``boundary_tolerance_m``, ``observation_distance_m``, ``max_accuracy_m``,
``visit_distance_m``, ``deadline_days``) live in the ``field`` section of
``geoservice/workflow/workflow.yaml``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
import yaml

from geoservice.base.errors import OptionError, PermissionDeniedError, WorkspaceError, message
from geoservice.base.workspace import Workspace

__all__ = [
    "FieldLimits",
    "Position",
    "check_in_village",
    "check_near",
    "check_near_object",
    "field_limits",
    "lonlat_feature",
    "metric_crs",
    "outlines",
    "parse_area",
    "position",
    "to_metric",
    "village_at",
    "village_outline",
]

GEOGRAPHIC = 4490  # CGCS2000 degrees, what a phone's WGS 84 position is read as
AREA_MARGIN_DEG = 1.0  # how far outside its area of use the workspace CRS still measures


@dataclass(frozen=True)
class FieldLimits:
    """The ``field`` section of ``workflow.yaml`` (metres and days)."""

    boundary_tolerance_m: float
    observation_distance_m: float
    max_accuracy_m: float
    visit_distance_m: float
    deadline_days: int


@functools.cache
def field_limits() -> FieldLimits:
    """The packaged field limits."""
    text = (resources.files("geoservice.workflow") / "workflow.yaml").read_text("utf-8")
    values = dict(yaml.safe_load(text)["field"])
    return FieldLimits(
        boundary_tolerance_m=float(values["boundary_tolerance_m"]),
        observation_distance_m=float(values["observation_distance_m"]),
        max_accuracy_m=float(values["max_accuracy_m"]),
        visit_distance_m=float(values["visit_distance_m"]),
        deadline_days=int(values["deadline_days"]),
    )


@dataclass(frozen=True)
class Position:
    """A phone's position: ``lon``/``lat`` in degrees, ``accuracy_m`` in metres (None when
    the phone gave none), ``point`` the same place in the workspace CRS (metres)."""

    lon: float
    lat: float
    accuracy_m: float | None
    point: shapely.Point

    def text(self, lang: str = "zh") -> str:
        """``纬度 24.80123，经度 112.40456（精度 ±12 m）`` or its English form."""
        acc = f"{self.accuracy_m:.0f}" if self.accuracy_m is not None else "?"
        if lang == "en":
            return f"lat {self.lat:.5f}, lon {self.lon:.5f} (accuracy ±{acc} m)"
        return f"纬度 {self.lat:.5f}，经度 {self.lon:.5f}（精度 ±{acc} m）"


def metric_crs(ws: Workspace) -> pyproj.CRS:
    """The workspace CRS when it is projected (metres); WorkspaceError otherwise."""
    crs = ws.crs()
    if crs is None or not crs.is_projected:
        raise WorkspaceError(
            message(
                "field.no_metric_crs",
                f"工作空间的坐标系为 {crs.name if crs else '无'}，不是投影坐标系，无法以米计算"
                "距离；请先导入村界等调查图层（高斯-克吕格投影）。",
                f"The workspace CRS is {crs.name if crs else 'none'}, not a projected CRS, so "
                "distances in metres cannot be measured; import the survey layers (villages, "
                "a Gauss-Kruger projection) first.",
            )
        )
    return crs


@functools.cache
def _transformer(crs_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(GEOGRAPHIC, pyproj.CRS.from_wkt(crs_wkt), always_xy=True)


def to_metric(ws: Workspace, geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` given in degrees (lon, lat) in the workspace CRS (metres).

    Raises
    ------
    OptionError
        A coordinate more than :data:`AREA_MARGIN_DEG` outside the area the workspace CRS
        is meant for (a Gauss-Kruger zone is 3 or 6 degrees wide), where it cannot be
        measured in metres.
    """
    crs = metric_crs(ws)
    coords = shapely.get_coordinates(geom)
    area = crs.area_of_use
    if area is not None and len(coords):
        m = AREA_MARGIN_DEG
        lon, lat = coords[:, 0], coords[:, 1]
        out = (lon < area.west - m) | (lon > area.east + m) | (lat < area.south - m)
        out |= lat > area.north + m
        if out.any():
            x, y = coords[int(np.argmax(out))]
            raise OptionError(
                message(
                    "field.outside_crs",
                    f"位置（经度 {x:g}，纬度 {y:g}）不在本镇调查坐标系（{crs.name}，经度 "
                    f"{area.west:g}~{area.east:g}）的范围内；请检查手机定位。",
                    f"The position (lon {x:g}, lat {y:g}) is outside the area of the town's "
                    f"survey CRS ({crs.name}, lon {area.west:g} to {area.east:g}); check the "
                    "phone's location.",
                )
            )
    transformer = _transformer(crs.to_wkt())
    return shapely.transform(geom, lambda xy: _pairs(transformer, xy))


def _pairs(transformer: pyproj.Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _number(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise OptionError(
            message(
                "field.bad_position",
                f"位置的 {name} 为“{value}”，应为 {low:g} 到 {high:g} 之间的数；请在手机上允许"
                "定位后重新获取位置。",
                f"The position's `{name}` was {value!r} but is expected to be a number from "
                f"{low:g} to {high:g}; allow location on the phone and take the position again.",
            )
        )
    return number


def position(ws: Workspace, lon: Any, lat: Any, accuracy_m: Any = None) -> Position:
    """A phone's position checked (ranges, accuracy within ``max_accuracy_m``) and placed
    in the workspace CRS.

    Raises
    ------
    OptionError
        A missing or out-of-range coordinate, or an accuracy worse than the limit.
    """
    x = _number(lon, "lon", -180, 180)
    y = _number(lat, "lat", -90, 90)
    acc = None if accuracy_m in (None, "") else _number(accuracy_m, "accuracy", 0, 1e6)
    limit = field_limits().max_accuracy_m
    if acc is not None and acc > limit:
        raise OptionError(
            message(
                "field.poor_accuracy",
                f"手机定位精度为 ±{acc:.0f} m，超过允许的 ±{limit:.0f} m；请到开阔处等待 GPS "
                "定位精度提高后再获取位置。",
                f"The phone's position is accurate to ±{acc:.0f} m, worse than the ±{limit:.0f} m "
                "allowed; move into the open and wait for a better GPS fix.",
            )
        )
    return Position(x, y, acc, to_metric(ws, shapely.Point(x, y)))


def parse_area(ws: Workspace, text: str | None) -> shapely.Geometry | None:
    """A polygon drawn on the map (GeoJSON geometry or feature, lon/lat degrees) in the
    workspace CRS; None for empty text.

    Raises
    ------
    OptionError
        Text that is not a GeoJSON polygon, or a polygon that encloses no area.
    """
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
        data = data.get("geometry", data) if isinstance(data, dict) else data
        shape = shapely.geometry.shape(data)
    except (ValueError, TypeError, AttributeError, KeyError):
        shape = None
    if shape is None or shape.geom_type not in ("Polygon", "MultiPolygon"):
        raise OptionError(
            message(
                "field.bad_area",
                "地图上画的范围不是多边形（GeoJSON Polygon）；请在地图上重新画出范围，或不画。",
                "The area drawn on the map is not a polygon (GeoJSON Polygon); draw it again "
                "on the map, or leave it out.",
            )
        )
    metric = shapely.make_valid(to_metric(ws, shape))
    if metric.area <= 0:
        raise OptionError(
            message(
                "field.empty_area",
                "地图上画的范围面积为 0；请至少画三个不共线的点。",
                "The area drawn on the map has no area; draw at least three points that are "
                "not on one line.",
            )
        )
    return metric


def village_outline(ws: Workspace, village_code: str) -> tuple[str, shapely.Geometry]:
    """The name and outline (workspace CRS) of a village of the ``villages`` layer."""
    villages = ws.read("villages", columns=["village_code", "village_name"])
    hit = villages[villages["village_code"].astype(str) == str(village_code)]
    if hit.empty:
        raise WorkspaceError(
            message(
                "field.village_missing",
                f"村界图层中没有村代码 {village_code}；请重新导入村界图层或联系镇林长办。",
                f"The villages layer has no village {village_code}; import the villages layer "
                "again or ask the forest-chief office.",
            )
        )
    return str(hit["village_name"].iloc[0]), shapely.union_all(hit.geometry.to_numpy())


def village_at(ws: Workspace, geom: shapely.Geometry) -> tuple[str, str] | None:
    """The (code, name) of the village holding ``geom`` (workspace CRS), None outside all."""
    villages = ws.read("villages", columns=["village_code", "village_name"])
    inside = villages[shapely.intersects(villages.geometry.to_numpy(), geom)]
    if inside.empty:
        return None
    share = shapely.area(shapely.intersection(inside.geometry.to_numpy(), geom.buffer(1)))
    best = inside.iloc[int(share.argmax())]
    return str(best["village_code"]), str(best["village_name"])


def check_in_village(
    ws: Workspace, village_code: str, geom: shapely.Geometry, what: Any, whole: bool = False
) -> str:
    """The village name when ``geom`` (workspace CRS) reaches the village (``whole``:
    lies wholly in it), up to ``boundary_tolerance_m`` outside it.

    ``what`` is a :class:`Position` or a ``(zh, en)`` description of the place. With
    ``whole`` the distance is that of the vertex farthest from the village.

    Raises
    ------
    PermissionDeniedError
        Naming the village and the distance to it in metres.
    """
    name, outline = village_outline(ws, village_code)
    if whole:
        corners = shapely.points(shapely.get_coordinates(geom))
        distance = float(np.max(shapely.distance(outline, corners), initial=0.0))
    else:
        distance = float(shapely.distance(outline, geom))
    if distance <= field_limits().boundary_tolerance_m:
        return name
    zh, en = (what.text("zh"), what.text("en")) if isinstance(what, Position) else what
    raise PermissionDeniedError(
        message(
            "field.outside_village",
            f"{zh}在{name}之外，距村界 {distance:,.0f} m；村干部只能记录本村（{name}）的情况。"
            "请到本村范围内重新获取位置；别村的问题请报镇林长办。",
            f"{en} is outside {name}, {distance:,.0f} m from its boundary; a village cadre "
            f"records only what is in their own village ({name}). Take the position again "
            "inside the village, or report another village's problem to the forest-chief office.",
        )
    )


def check_near(
    geom: shapely.Geometry, outline: shapely.Geometry | None, what: Position, label: tuple[str, str]
) -> float:
    """The distance in metres from ``geom`` to ``outline`` (workspace CRS) when within
    ``observation_distance_m``; ``label`` names the object (zh, en).

    Raises
    ------
    PermissionDeniedError
        The position is farther, naming the object and the distance.
    """
    if outline is None or outline.is_empty:
        return math.nan
    distance = float(shapely.distance(outline, geom))
    limit = field_limits().observation_distance_m
    if distance <= limit:
        return distance
    raise PermissionDeniedError(
        message(
            "field.too_far",
            f"{what.text('zh')}距{label[0]} {distance:,.0f} m，超过 {limit:,.0f} m；现场核查记录"
            "须在现场填写，请到达现场后重新获取位置。",
            f"{what.text('en')} is {distance:,.0f} m from {label[1]}, farther than "
            f"{limit:,.0f} m; an observation is recorded on the spot: take the position again "
            "once there.",
        )
    )


def outlines(ws: Workspace, layer: str, key: str, ids: Any) -> gpd.GeoSeries:
    """Geometries (workspace CRS) of ``layer`` rows whose ``key`` is in ``ids``, by id."""
    if layer not in ws.layer_names():
        return gpd.GeoSeries([], dtype="geometry")
    frame = ws.read(layer, columns=[key])
    frame = frame[frame[key].astype(str).isin([str(i) for i in ids])]
    return gpd.GeoSeries(frame.geometry.to_numpy(), index=frame[key].astype(str).to_numpy())


def check_near_object(
    ws: Workspace, where: Position, obj: tuple[str, str, str], label: tuple[str, str]
) -> float:
    """:func:`check_near` from ``where`` to the outline of the object ``(layer, id column,
    id)``; NaN when the layer has no such row."""
    shapes = outlines(ws, obj[0], obj[1], [obj[2]])
    return check_near(where.point, shapes.iloc[0] if len(shapes) else None, where, label)


def lonlat_feature(ws: Workspace, geom: shapely.Geometry, kind: str) -> dict[str, Any]:
    """A GeoJSON feature (degrees, WGS 84) of ``geom`` (workspace CRS) with ``kind``."""
    shape = gpd.GeoSeries([geom], crs=metric_crs(ws)).to_crs(4326).iloc[0]
    return {"type": "Feature", "properties": {"kind": kind}, "geometry": shape.__geo_interface__}
