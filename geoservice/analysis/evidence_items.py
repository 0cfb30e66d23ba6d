"""The evidence items of flagged parcels as one long table, and the facts text made from it.

Scoring hands this table to the targets (:func:`item_table`): one row per (flagged
parcel, evidence item), with the item's figures as columns. The ``complaint_facts``,
``patch_facts`` and ``problem_facts`` columns of the stored ``parcel_risk`` layer (read in
QGIS) are written from the same table by :func:`facts_columns`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray

__all__ = [
    "FACT_FIELDS",
    "ITEM_COLUMNS",
    "KINDS",
    "KindPairs",
    "empty_items",
    "facts_columns",
    "item_table",
    "kind_items",
    "safe_ids",
]

KINDS = ("complaint", "patch", "problem")
# the fields of each kind, in the order the stored facts text lists them after the id
FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "complaint": ("status", "received", "category", "points"),
    "patch": (
        "category",
        "legality",
        "cause",
        "overlap_ha",
        "illegal_ha",
        "points",
        "patch_illegal_ha",
        "patch_basis",
        "patch_occupation_ha",
        "patch_volume_m3",
        "patch_fire_ha",
    ),
    "problem": ("category", "status", "deadline", "overdue_days", "points"),
}
_NUMBERS = {
    "points",
    "distance_m",
    "overlap_ha",
    "illegal_ha",
    "patch_illegal_ha",
    "patch_occupation_ha",
    "patch_volume_m3",
    "patch_fire_ha",
    "overdue_days",
}
ITEM_COLUMNS = [
    "parcel_row",
    "parcel_id",
    "kind",
    "item_id",
    "category",
    "points",
    "distance_m",
    "status",
    "received",
    "deadline",
    "overdue_days",
    "legality",
    "cause",
    "overlap_ha",
    "illegal_ha",
    "patch_illegal_ha",
    "patch_basis",
    "patch_occupation_ha",
    "patch_volume_m3",
    "patch_fire_ha",
]
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


@dataclass
class KindPairs:
    """The (parcel, item) pairs of one evidence kind, as :func:`item_table` reads them.

    Attributes
    ----------
    row : ndarray of int64
        Row of the pair's parcel in ``parcel_risk``.
    item : ndarray of int64
        Position of the pair's entry in ``ids`` and ``fields``.
    ids : pyarrow string array
        Item ids as in the input layer ('' where missing).
    fields : dict of str to pyarrow array
        :data:`FACT_FIELDS` of the kind per entry (text '' where missing; numbers rounded
        as stored).
    locations : ndarray of shapely geometries, optional
        Per entry: the item's location; None when every pair overlaps its parcel
        (patches).
    """

    row: NDArray[np.int64]
    item: NDArray[np.int64]
    ids: pa.Array
    fields: dict[str, pa.Array]
    locations: NDArray[np.object_] | None


def _distance(
    pairs: KindPairs, keep: NDArray[np.int64], parcel_geoms: NDArray[np.object_]
) -> NDArray[np.float64]:
    """Metres from each kept pair's item to its parcel (0 inside, and for overlapping
    polygons); NaN where an item has no location."""
    if pairs.locations is None:
        return np.zeros(len(keep), dtype=np.float64)
    item, row = pairs.item[keep], pairs.row[keep]
    return np.asarray(shapely.distance(pairs.locations[item], parcel_geoms[row]), np.float64)


def _text(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    return pd.Series(values, dtype=_TEXT)


def _blank(name: str, n: int) -> pd.Series | NDArray[np.float64]:
    if name in _NUMBERS:
        return np.full(n, np.nan)
    return _text(pa.nulls(n, pa.string()))


def empty_items() -> pd.DataFrame:
    """The item table without rows (columns :data:`ITEM_COLUMNS`)."""
    return _kind_frame("complaint", np.empty(0, np.int64), np.empty(0, object))


def _kind_frame(
    kind: str,
    row: NDArray[np.int64],
    parcel_id: NDArray[np.object_],
    pairs: KindPairs | None = None,
    keep: NDArray[np.int64] | None = None,
    parcel_geoms: NDArray[np.object_] | None = None,
) -> pd.DataFrame:
    n = len(row)
    data: dict[str, object] = {
        "parcel_row": row,
        "parcel_id": pd.Series(parcel_id, dtype=object).astype(_TEXT),
        "kind": _text(pa.array([kind] * n, pa.string())),
    }
    if pairs is None or keep is None or parcel_geoms is None:
        data["item_id"] = _text(pa.array([], pa.string()))
        data["distance_m"] = np.empty(0)
    else:
        take = pa.array(pairs.item[keep])
        data["item_id"] = _text(pairs.ids.take(take))
        data["distance_m"] = _distance(pairs, keep, parcel_geoms)
        # an empty kind may carry no fields: its columns stay blank
        for name in (f for f in FACT_FIELDS[kind] if f in pairs.fields):
            values = pairs.fields[name].take(take)
            data[name] = (
                values.to_numpy(zero_copy_only=False) if name in _NUMBERS else _text(values)
            )
    columns = {name: data[name] if name in data else _blank(name, n) for name in ITEM_COLUMNS}
    return pd.DataFrame(columns)


def item_table(
    pairs: Sequence[KindPairs],
    flagged: NDArray[np.bool_],
    parcel_ids: NDArray[np.object_],
    parcel_geoms: NDArray[np.object_],
) -> pd.DataFrame:
    """One row per (flagged parcel, evidence item): what the targets are built from.

    Parameters
    ----------
    pairs : sequence of KindPairs
        Complaint, patch and problem pairs (in :data:`KINDS` order).
    flagged : ndarray of bool
        Per ``parcel_risk`` row: whether it is flagged (only flagged rows get items).
    parcel_ids, parcel_geoms : ndarray of object
        ``parcel_id`` and polygon per ``parcel_risk`` row (workspace CRS, metres).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ITEM_COLUMNS`, rows by kind, parcel row, then item:

        - parcel_row (row of ``parcel_risk``), parcel_id, kind (complaint, patch,
          problem), item_id (as in the input layer), category, points (evidence points
          before the protection multiplier, rounded to 4 decimals), distance_m (metres
          from the item to the parcel: 0 inside and for patches, NaN without a location);
        - complaints: status, received (``YYYY-MM-DD``);
        - patches (per part on the parcel): legality, cause (change cause), overlap_ha,
          illegal_ha (illegal area on this parcel), patch_illegal_ha, patch_basis
          (criminal basis of the whole patch: area_pw, area, volume, fire,
          comma-joined) and
          patch_occupation_ha, patch_volume_m3 (m³) and patch_fire_ha (burnt stocked
          forest, ha) of the whole patch;
        - problems: status, deadline (``YYYY-MM-DD``), overdue_days;
        - text '' where the input had none; columns of another kind missing.
    """
    frames = []
    for kind, kp in zip(KINDS, pairs, strict=True):
        keep = np.flatnonzero(flagged[kp.row])
        keep = keep[np.lexsort((kp.item[keep], kp.row[keep]))]
        row = kp.row[keep]
        frames.append(_kind_frame(kind, row, parcel_ids[row], kp, keep, parcel_geoms))
    return pd.concat(frames, ignore_index=True)


def kind_items(items: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of one kind with ``id`` and that kind's :data:`FACT_FIELDS`, ``parcel_row``
    and ``distance_m``."""
    sub = items[(items["kind"] == kind).to_numpy(dtype=bool, na_value=False)]
    names = ["parcel_row", "item_id", *FACT_FIELDS[kind], "distance_m"]
    return pd.DataFrame(sub[names]).rename(columns={"item_id": "id"}).reset_index(drop=True)


def _number_text(values: pd.Series) -> pa.Array:
    return pc.cast(pa.array(values.to_numpy(dtype=np.float64), pa.float64()), pa.string())


def _field_text(values: pd.Series) -> pa.Array:
    text = pa.array(values, pa.string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text


def safe_ids(ids: pa.Array) -> pa.Array:
    """Ids with the list separators ``;`` and ``|`` written as ``/`` (for joined lists)."""
    if len(ids) and pc.any(pc.match_substring_regex(ids, r"[;|]")).as_py():
        return pc.replace_substring_regex(ids, r"[;|]", "/")
    return ids


def facts_columns(items: pd.DataFrame, m: int) -> dict[str, pd.Series]:
    """The stored facts text of ``parcel_risk`` (``m`` rows) from :func:`item_table`.

    Per row and kind: the items ``;``-joined, each ``id|field|...`` in :data:`FACT_FIELDS`
    order (ids with ``;`` and ``|`` written as ``/``); '' for rows without items.
    """
    out: dict[str, pd.Series] = {}
    for kind in KINDS:
        sub = kind_items(items, kind)
        ids = safe_ids(_field_text(sub["id"]))
        parts = [
            _number_text(sub[name]) if name in _NUMBERS else _field_text(sub[name])
            for name in FACT_FIELDS[kind]
        ]
        facts = pc.binary_join_element_wise(ids, *parts, "|")
        row = sub["parcel_row"].to_numpy(dtype=np.int64)
        counts = np.bincount(row, minlength=m)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), facts)
        out[f"{kind}_facts"] = _text(pc.binary_join(lists, ";"))
    return out
