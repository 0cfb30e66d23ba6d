"""Complaint evidence: which complaints count for which parcel, and how much.

Split in two so that the part that needs no geometry (:func:`complaint_items`: dates,
categories, weights) can run while the parcel index is built, and the
buffer join (:func:`complaint_pairs`) after it; :func:`complaint_evidence` does both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from numpy.typing import NDArray

from geoservice.analysis.evidence_pairs import (
    _CAT_INDEX,
    CATEGORY_CODES,
    UNMATCHED_COMPLAINT_COLUMNS,
    Evidence,
    _arrow_text,
    _category_text,
    _day,
    _days,
    _decay,
    _ids,
    _num,
    category_index,
    column,
    geometries,
    lookup,
)
from geoservice.analysis.parcel_names import named_pairs
from geoservice.analysis.rules import Rules, classify_text
from geoservice.analysis.spatial import PolygonIndex, nearest, points_within

__all__ = [
    "COMPLAINT_COLUMNS",
    "ComplaintItems",
    "complaint_evidence",
    "complaint_items",
    "complaint_pairs",
    "distance_shares",
]

# the columns of the complaints layer this module reads (besides the geometry)
COMPLAINT_COLUMNS = (
    "complaint_id",
    "received_at",
    "category",
    "description",
    "status",
    "village_name",
)


@dataclass
class ComplaintItems:
    """The complaints that count (received by ``as_of``) with their weights and figures.

    Everything about them that does not depend on the parcels, so that it can be computed
    while the parcel index is built.

    Attributes
    ----------
    frame : pandas.DataFrame
        The complaints received by ``as_of`` (a row subset of the layer).
    received : pandas.Series
        Their reception time (datetime64).
    cat_idx : ndarray of int64
        Category (index into :data:`CATEGORY_CODES`, keywords applied to ``other``).
    weight : ndarray of float64
        Evidence points before the protection multiplier.
    ids : pyarrow string array
        Id per complaint.
    fields : dict of str to pyarrow array
        Status, received day, category and points per complaint.
    geoms : ndarray of shapely geometries
    """

    frame: pd.DataFrame
    received: pd.Series
    cat_idx: NDArray[np.int64]
    weight: NDArray[np.float64]
    ids: pa.Array
    fields: dict[str, pa.Array]
    geoms: NDArray[np.object_]


def complaint_items(complaints: pd.DataFrame, rules: Rules, as_of: date) -> ComplaintItems | None:
    """The complaints received by ``as_of`` and their weights (None when there are none).

    Weight = severity[category] x status weight x 0.5 ** (age_days / half_life_days).
    """
    cr = rules.complaints
    as_of_ts = pd.Timestamp(as_of)
    received_all = pd.to_datetime(column(complaints, "received_at"), errors="coerce")
    keep = (received_all.notna() & (received_all <= as_of_ts)).to_numpy()
    if not keep.any():
        return None
    # no copy when every complaint counts
    c = complaints if keep.all() else complaints[keep]
    received = received_all if keep.all() else received_all[keep]
    cat_idx = category_index(column(c, "category"))
    if cr.reclassify_other:
        todo = np.flatnonzero(cat_idx == _CAT_INDEX["other"])
        if len(todo):
            text = column(c, "description").iloc[todo]
            cat_idx[todo] = category_index(classify_text(text, rules))
    category = _category_text(cat_idx)
    status = column(c, "status")
    status_w = lookup(status, cr.status_weights.model_dump(), 0.0)
    severity = np.array([rules.severity[code] for code in CATEGORY_CODES])[cat_idx]
    age = np.maximum(_days(as_of_ts, received), 0.0)
    weight = severity * status_w * _decay(age, cr.half_life_days)
    fields = {
        "status": _arrow_text(status),
        "received": _day(received),
        "category": category,
        "points": _num(weight),
    }
    ids = _ids(column(c, "complaint_id"))
    return ComplaintItems(c, received, cat_idx, weight, ids, fields, geometries(c))


def complaint_evidence(
    complaints: pd.DataFrame,
    index: PolygonIndex,
    parcel_ids: NDArray[np.object_],
    rules: Rules,
    as_of: date,
    parallel: bool = False,
) -> tuple[Evidence, pd.DataFrame]:
    """Complaints counted for the parcels they lie in or near, and those near no parcel.

    A complaint counts in full for the parcel that contains it (every parcel, where it
    lies on a shared boundary). A parcel near it, within ``complaints.buffer_m``, gets a
    share that halves every ``complaints.half_distance_m`` metres of distance, and only
    when the complaint lies in no parcel (a location given as a place name, or between
    parcels) or its text names that parcel's 小班 ("0080-004", "林班0080小班004",
    "80林班4小班"; see :mod:`geoservice.analysis.parcel_names`): the parcels next to the
    one a complaint lies in are not reported on. Targets count each complaint once (see
    :func:`geoservice.analysis.targets.build_targets`). Complaints received after
    ``as_of`` (or with no date) are ignored.

    Weight = severity[category] x status weight x 0.5 ** (age_days / half_life_days),
    times the parcel's share. ``parallel``: the buffer join may use threads (see
    :func:`~geoservice.analysis.spatial.points_within`).
    """
    items = complaint_items(complaints, rules, as_of)
    return complaint_pairs(items, index, parcel_ids, rules, parallel)


def distance_shares(
    items: ComplaintItems,
    item: NDArray[np.int64],
    parcel: NDArray[np.int64],
    index: PolygonIndex,
    parcel_ids: NDArray[np.object_],
    rules: Rules,
) -> NDArray[np.float64]:
    """The share of each (complaint, parcel) pair within the buffer (see
    :func:`complaint_evidence`): 1 inside, ``0.5 ** (metres / half_distance_m)`` for a
    parcel nearby that may count, 0 for one that may not."""
    cr = rules.complaints
    share = np.zeros(len(item), dtype=np.float64)
    if len(item) == 0:
        return share
    geoms = items.geoms
    n_poly = len(index.geoms)
    src, dst = index.tree.query(geoms, predicate="intersects")
    inside = np.isin(item * n_poly + parcel, src.astype(np.int64) * n_poly + dst)
    share[inside] = 1.0
    in_some = np.bincount(src, minlength=len(geoms)) > 0
    outside = np.flatnonzero(~inside)
    may = ~in_some[item[outside]]
    ask = np.flatnonzero(~may)
    if len(ask):
        # only the complaints that lie in a parcel and are near others are read
        asked = item[outside[ask]]
        texts, local = np.unique(asked, return_inverse=True)
        text = column(items.frame, "description").iloc[texts]
        may[ask] = named_pairs(text, local.astype(np.int64), parcel[outside[ask]], parcel_ids)
    counted = outside[may]
    metres = shapely.distance(geoms[item[counted]], index.geoms[parcel[counted]])
    share[counted] = np.where(
        metres <= cr.buffer_m, np.power(0.5, metres / cr.half_distance_m), 0.0
    )
    return share


def complaint_pairs(
    items: ComplaintItems | None,
    index: PolygonIndex,
    parcel_ids: NDArray[np.object_],
    rules: Rules,
    parallel: bool = False,
) -> tuple[Evidence, pd.DataFrame]:
    """:func:`complaint_evidence` for complaints already weighed by :func:`complaint_items`.

    The evidence has one entry per counted (complaint, parcel) pair (``item`` is
    ``arange``): ids, fields and locations are per pair, ``points`` the pair's share of
    the complaint's weight.
    """
    if items is None:
        return Evidence.empty(), pd.DataFrame(columns=UNMATCHED_COMPLAINT_COLUMNS)
    c, geoms, cat_idx = items.frame, items.geoms, items.cat_idx
    item, parcel = points_within(geoms, index, rules.complaints.buffer_m, parallel)
    share = distance_shares(items, item, parcel, index, parcel_ids, rules)
    keep = share > 0
    item, parcel, share = item[keep], parcel[keep], share[keep]
    weight = items.weight[item] * share
    take = pa.array(item)
    fields = {name: values.take(take) for name, values in items.fields.items()}
    fields["points"] = _num(weight)
    evidence = Evidence(
        parcel=parcel,
        item=np.arange(len(item), dtype=np.int64),
        weight=weight,
        category=cat_idx[item],
        ids=items.ids.take(take),
        fields=fields,
        extra={},
        geoms=geoms[item],
    )
    matched = np.bincount(item, minlength=len(c)) > 0
    lost = np.flatnonzero(~matched)
    near_poly, near_dist = nearest(geoms[lost], index)
    near_id = np.full(len(lost), None, dtype=object)
    found = near_poly >= 0
    near_id[found] = parcel_ids[near_poly[found]]
    gone = c.iloc[lost]
    unmatched = pd.DataFrame(
        {
            "complaint_id": column(gone, "complaint_id").to_numpy(),
            "category": np.asarray(CATEGORY_CODES, dtype=object)[cat_idx[lost]],
            "status": column(gone, "status").to_numpy(),
            "received_at": items.received.iloc[lost].to_numpy(),
            "village_name": column(gone, "village_name").to_numpy(),
            "nearest_parcel_id": near_id,
            "distance_m": np.round(near_dist, 1),
        },
        columns=UNMATCHED_COMPLAINT_COLUMNS,
    )
    return evidence, unmatched
