"""The areas drawn on the phone's map when a problem or target was captured, as map
features of its page."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely

from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import has_table
from geoservice.workflow.field_scope import metric_crs

__all__ = ["captured_areas"]


def captured_areas(ws: Workspace, kind: str, object_id: str) -> list[dict[str, Any]]:
    """GeoJSON features (degrees, WGS 84) of the areas drawn when ``object_id`` (of
    ``kind``: ``problem``, ``target`` or ``patch``) was captured, oldest first; properties
    ``kind`` (``"area"``), ``area_m2`` (square metres, measured in the workspace CRS) and
    ``at`` (when it was captured). ``[]`` when none was drawn."""
    with ws.read_connection() as con:
        if not has_table(con, "field_captures"):
            return []
        rows = con.execute(
            "SELECT area, area_m2, at FROM field_captures WHERE kind = ? AND object_id = ? "
            "AND area IS NOT NULL ORDER BY id",
            (kind, object_id),
        ).fetchall()
    if not rows:
        return []
    shapes = gpd.GeoSeries(shapely.from_wkb([r[0] for r in rows]), crs=metric_crs(ws))
    degrees = shapes.to_crs(4326)
    return [
        {
            "type": "Feature",
            "properties": {"kind": "area", "area_m2": row[1], "at": row[2]},
            "geometry": shape.__geo_interface__,
        }
        for row, shape in zip(rows, degrees, strict=True)
    ]
