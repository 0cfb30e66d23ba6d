"""The tile layers and the attributes each carries for styling and popups, by zoom.

The columns are those the maps style and label by (:mod:`maps.products`,
:mod:`maps.overlays`, :mod:`maps.popups`): ids, village, state, priority, categories,
departments, areas and scores. Below :data:`DETAIL_ZOOM` a feature keeps only the
``overview`` columns (its id and what colours it): at those zooms nobody opens a popup on
one of thousands of parcels, and the tile stays small. Columns a layer lacks (an older
workspace) are left out.

A layer may also carry a column derived from its own (:data:`DERIVED`) at every zoom: the
change patches their legality and verification class (:func:`maps.styles.patch_class`,
from ``illegal`` and ``change_cause``, or the legality their field check recorded), so a
page colours them as the standalone maps do; and columns of its workflow table
(:data:`WORKFLOW`): the change patches their workflow ``state``, which edges them by stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from maps.styles import patch_class

__all__ = ["DERIVED", "DETAIL_ZOOM", "TILE_LAYERS", "WORKFLOW", "TileLayer", "columns_at"]

DETAIL_ZOOM = 12  # full popup attributes from this zoom (a tile is about 10 km wide)


@dataclass(frozen=True)
class TileLayer:
    """A layer served as tiles: its ``overview`` columns (every zoom) and ``detail``
    columns (from :data:`DETAIL_ZOOM`)."""

    name: str
    overview: tuple[str, ...]
    detail: tuple[str, ...]


TILE_LAYERS: dict[str, TileLayer] = {
    spec.name: spec
    for spec in (
        TileLayer("villages", ("village_code", "village_name"), ()),
        TileLayer(
            "parcels",
            ("parcel_id", "kind"),
            (
                "village_code",
                "village_name",
                "land_class",
                "forest_category",
                "public_welfare",
                "protection_grade",
                "forest_type",
                "wetland_type",
                "dominant_species",
                "nature_reserve",
                "area_ha",
            ),
        ),
        TileLayer(
            "parcel_risk",
            ("parcel_id", "score", "flagged"),
            (
                "village_code",
                "village_name",
                "area_ha",
                "dominant_category",
                "complaint_count",
                "patch_count",
                "open_problem_count",
                "criminal_threshold_met",
            ),
        ),
        TileLayer(
            "targets",
            ("target_id", "priority", "lead_department"),
            (
                "score",
                "village_codes",
                "village_names",
                "area_ha",
                "parcel_count",
                "categories",
                "cooperating_departments",
                "criminal_threshold_met",
                "complaint_count",
                "patch_area_ha",
                "open_problem_count",
                "reasons",
            ),
        ),
        TileLayer(
            "patches",
            ("patch_id", "illegal", "change_cause"),
            (
                "year",
                "category",
                "area_ha",
                "illegal_area_ha",
                "permit_no",
                "village_code",
                "village_name",
            ),
        ),
        TileLayer(
            "problems",
            ("problem_id", "status", "village_code"),
            ("village_name", "category", "deadline", "found_on", "campaign"),
        ),
        TileLayer(
            "complaints",
            ("complaint_id", "status", "category"),
            ("received_at", "channel", "village_code", "village_name", "description"),
        ),
    )
}


# Layer → (column, function of the layer's frame returning a Series aligned to it).
DERIVED: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "patches": ("legality", patch_class),
}
# Layer → workflow columns it carries at every zoom (:mod:`geoservice.tiles.workflow`).
WORKFLOW: dict[str, tuple[str, ...]] = {"patches": ("state",)}


def columns_at(spec: TileLayer, z: int, fields: list[str] | tuple[str, ...]) -> list[str]:
    """The columns of ``spec`` a tile at zoom ``z`` carries, among the layer's ``fields``
    (its :data:`DERIVED` and :data:`WORKFLOW` columns too, once the features carry them)."""
    derived: tuple[str, ...] = (DERIVED[spec.name][0],) if spec.name in DERIVED else ()
    derived += WORKFLOW.get(spec.name, ())
    wanted = spec.overview + derived + (spec.detail if z >= DETAIL_ZOOM else ())
    present = set(fields)
    return [c for c in wanted if c in present]
