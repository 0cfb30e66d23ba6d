"""Parcels one piece of evidence ties together: a change patch and the parcels it overlaps,
a problem and the parcel it lies in.

A burn, a clearing or a quarry is one act, whatever parcels it crosses: every parcel it
overlaps belongs to the same target, even one whose own share of the evidence is too
small to flag it. :func:`linked_rows` finds those parcels when scoring (so that their
evidence reaches the targets) and :func:`link_pairs` gives the targets the same ties
from the evidence item table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["LINKING_KINDS", "link_pairs", "linked_rows", "problem_inside"]

# evidence kinds that tie the parcels they lie on together
LINKING_KINDS = ("patch", "problem")
IntArray = NDArray[np.int64]


def _components(n: int, rows: IntArray, nodes: IntArray) -> IntArray:
    """Connected components of ``n`` rows joined through shared item nodes."""
    k = int(nodes.max()) + 1 if len(nodes) else 0
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, n + nodes)), shape=(n + k, n + k))
    _, labels = connected_components(graph, directed=False)
    return labels[:n].astype(np.int64)


def linked_rows(
    seeds: NDArray[np.bool_],
    patch_rows: IntArray,
    patch_ids: NDArray[np.object_],
    problem_rows: IntArray,
    problem_items: IntArray,
    problem_inside: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """The ``seeds`` and every row a patch or problem ties to one of them, directly or
    through other such rows.

    Parameters
    ----------
    seeds : ndarray of bool
        Per row: the rows that may make a target (flagged, or scoring enough to join one).
    patch_rows, patch_ids : ndarray
        One entry per (patch, parcel) overlap: the parcel's row and the patch id.
    problem_rows, problem_items : ndarray of int64
        One entry per (problem, parcel) pair: the parcel's row and the problem.
    problem_inside : ndarray of bool
        Per problem pair: the problem lies in that parcel, or has no location and its
        text names the parcel (a problem merely near a parcel ties nothing).

    Returns
    -------
    ndarray of bool
        Per row.
    """
    n = len(seeds)
    if n == 0:
        return np.zeros(0, dtype=bool)
    # patches without an id tie nothing (they cannot be told apart)
    ids = pd.Series(patch_ids, dtype=object).replace("", None)
    patch_code = pd.factorize(ids)[0].astype(np.int64)
    known = patch_code >= 0
    k = int(patch_code.max()) + 1 if known.any() else 0
    rows = np.concatenate([patch_rows[known], problem_rows[problem_inside]]).astype(np.int64)
    nodes = np.concatenate([patch_code[known], k + problem_items[problem_inside]])
    nodes = nodes.astype(np.int64)
    label = _components(n, rows, nodes)
    hot = np.zeros(int(label.max()) + 1, dtype=bool)
    hot[label[seeds]] = True
    return seeds | hot[label]


def problem_inside(
    locations: NDArray[np.object_], parcels: NDArray[np.object_]
) -> NDArray[np.bool_]:
    """Per (problem location, parcel) pair: the location is in the parcel (boundary
    included), or missing (the problem was placed by the 小班 its text names)."""
    missing = shapely.is_missing(locations) | shapely.is_empty(locations)
    return np.asarray(missing | shapely.intersects(locations, parcels), dtype=bool)


def link_pairs(items: pd.DataFrame, position: IntArray) -> tuple[IntArray, IntArray]:
    """Pairs of target parcels (positions) that one patch or problem ties together.

    ``items`` is the evidence item table
    (:func:`~geoservice.analysis.evidence_items.item_table`), ``position`` maps its
    ``parcel_row`` to the parcel's position among the target parcels (-1: not one). A
    patch ties every parcel it overlaps; a problem the parcel it lies in (``distance_m``
    0, or NaN without a location). Each tie is given as (first parcel, other parcel).
    """
    kind = items["kind"].astype(object).to_numpy()
    distance = items["distance_m"].to_numpy(dtype=np.float64)
    named = items["item_id"].fillna("").astype(str).to_numpy(dtype=object) != ""
    ties = ((kind == "patch") | ((kind == "problem") & ~(distance > 0))) & named
    pos = position[items["parcel_row"].to_numpy(dtype=np.int64)[ties]]
    keep = pos >= 0
    pos = pos[keep]
    key = (kind[ties] + "\x00" + items["item_id"].astype(object).to_numpy()[ties])[keep]
    if len(pos) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code = pd.factorize(pd.Series(key, dtype=object))[0]
    first = np.full(int(code.max()) + 1, -1, dtype=np.int64)
    # the first parcel of each item (reverse assignment keeps the lowest index)
    first[code[::-1]] = pos[::-1]
    anchor = first[code]
    other = anchor != pos
    return anchor[other], pos[other].astype(np.int64)
