"""The evidence drawn with the enforcement targets on the targets map.

:func:`target_evidence` picks the complaints, change patches and flagged parcels shown
with the targets: every row for an unscoped map, and for a caller only the rows of the
layers it may read that are linked to its targets through their parcels
(:mod:`geoservice.webmaps.build`).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = ["Evidence", "target_evidence"]


@dataclass(frozen=True)
class Evidence:
    """The evidence layers drawn with the targets (each in the workspace CRS)."""

    complaints: gpd.GeoDataFrame
    patches: gpd.GeoDataFrame
    flagged: gpd.GeoDataFrame


def _flagged(risk: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows of ``parcel_risk`` marked ``flagged`` (all rows when it has no such column)."""
    return risk[risk["flagged"].astype(bool)] if "flagged" in risk else risk


def _ids(frame: pd.DataFrame, column: str) -> set[str]:
    """Every id of a column of ``a;b`` (or ``a,b``) lists; empty when the column is missing."""
    if column not in frame or not len(frame):
        return set()
    text = frame[column].astype("string").fillna("").str.replace(",", ";")
    parts = text.str.split(";").explode().str.strip()
    return set(parts[parts.fillna("") != ""].astype(str))


def _among(frame: gpd.GeoDataFrame, column: str, ids: set[str]) -> gpd.GeoDataFrame:
    """Rows whose ``column`` is one of ``ids`` (none when the column is missing)."""
    if column not in frame:
        return frame.iloc[:0]
    return frame[frame[column].astype(str).isin(ids).to_numpy()]


def target_evidence(
    targets: gpd.GeoDataFrame,
    risk: gpd.GeoDataFrame,
    complaints: gpd.GeoDataFrame,
    patches: gpd.GeoDataFrame,
    readable: Container[str] | None = None,
) -> Evidence:
    """The evidence drawn with ``targets``.

    Parameters
    ----------
    targets : geopandas.GeoDataFrame
        The targets shown (``parcel_ids``: ``;``-separated parcel ids).
    risk : geopandas.GeoDataFrame
        The ``parcel_risk`` layer (``parcel_id``, ``flagged``, ``complaint_ids``,
        ``patch_ids``).
    complaints, patches : geopandas.GeoDataFrame
        The layers of the same names.
    readable : container of str, optional
        ``None`` (unscoped): every complaint, every patch and every flagged parcel.
        Otherwise the layer names the caller may read (``complaints``, ``patches``,
        ``parcel_risk``): of those only, the rows linked to ``targets`` (the flagged
        parcels of the targets and the complaints and patches those parcels cite).

    Returns
    -------
    Evidence
        Frames unchanged in CRS and columns; a layer not readable is empty.
    """
    flagged = _flagged(risk)
    if readable is None:
        return Evidence(complaints, patches, flagged)
    linked = _among(risk, "parcel_id", _ids(targets, "parcel_ids"))

    def kept(frame: gpd.GeoDataFrame, layer: str, column: str, ids: set[str]) -> Any:
        return _among(frame, column, ids) if layer in readable else frame.iloc[:0]

    return Evidence(
        complaints=kept(complaints, "complaints", "complaint_id", _ids(linked, "complaint_ids")),
        patches=kept(patches, "patches", "patch_id", _ids(linked, "patch_ids")),
        flagged=kept(flagged, "parcel_risk", "parcel_id", _ids(linked, "parcel_id")),
    )
