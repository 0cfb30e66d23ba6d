"""Totals per target: the evidence items of the flagged parcels, each item counted once.

The item table scoring hands over (:mod:`geoservice.analysis.evidence_items`) is split by
kind, deduplicated per target and summed with numpy and pandas group-bys, for all
targets at once. :func:`per_target` returns plain per-target
lists and arrays that :mod:`geoservice.analysis.targets` turns into rows and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from geoservice.analysis.evidence_items import FACT_FIELDS, KINDS, kind_items
from geoservice.analysis.rules import Rules

__all__ = ["PW_ORDER", "PerTarget", "group_scores", "per_target", "select_parts", "split_items"]

PW_ORDER = ("national_1", "national_2", "local_key", "local_general", "none")
_LISTED = 5
_MAX_IDS = 10


def split_items(
    items: pd.DataFrame, position: NDArray[np.int64], multiplier: NDArray[np.float64]
) -> dict[str, tuple[pd.DataFrame, NDArray[np.int64]]]:
    """Per evidence kind: its items on target parcels and each item's parcel.

    ``items`` is the table of :func:`~geoservice.analysis.evidence_items.item_table`;
    ``position`` maps its ``parcel_row`` to the parcel's position among the target
    parcels (-1: not one of them); ``multiplier`` is the protection multiplier per
    position. Each frame has ``id``, the kind's fields (missing numbers as 0) and
    ``effective``: the item's points times its parcel's multiplier. The target group is
    added later (:func:`per_target`), so that this can run while the groups are found.
    """
    out: dict[str, tuple[pd.DataFrame, NDArray[np.int64]]] = {}
    for kind in KINDS:
        sub = kind_items(items, kind)
        parent = position[sub["parcel_row"].to_numpy(dtype=np.int64)]
        keep = parent >= 0
        frame = pd.DataFrame(sub.loc[keep, ["id", *FACT_FIELDS[kind]]]).reset_index(drop=True)
        for name in FACT_FIELDS[kind]:
            if not isinstance(frame[name].dtype, pd.StringDtype):
                values = frame[name].to_numpy(dtype=np.float64)
                frame[name] = np.where(np.isnan(values), 0.0, values)
        if kind == "complaint":
            # where a complaint counted from: its parcel and the metres to it (0 inside)
            of_kind = (items["kind"] == kind).to_numpy(dtype=bool, na_value=False)
            frame["parcel_id"] = items.loc[of_kind, "parcel_id"].astype(object).to_numpy()[keep]
            frame["distance_m"] = np.nan_to_num(sub["distance_m"].to_numpy(dtype=np.float64))[keep]
        parent = parent[keep]
        frame["effective"] = frame["points"].to_numpy(dtype=np.float64) * multiplier[parent]
        out[kind] = (frame, parent.astype(np.int64))
    return out


def _grouped(
    exploded: tuple[pd.DataFrame, NDArray[np.int64]], group: NDArray[np.int64]
) -> pd.DataFrame:
    frame, parent = exploded
    frame.insert(0, "group", group[parent])
    return frame


def _once(items: pd.DataFrame) -> pd.DataFrame:
    """Each item once per target, at the largest protection it touches.

    Rows ordered by group, id and effective points (largest first), as a stable sort on
    those columns orders them; the first row of each (group, id) is kept.
    """
    if items.empty:
        return items.reset_index(drop=True)
    group = items["group"].to_numpy(dtype=np.int64)
    ids = pd.factorize(items["id"], sort=True)[0]
    order = np.lexsort((-items["effective"].to_numpy(dtype=np.float64), ids, group))
    g, i = group[order], ids[order]
    first = np.r_[True, (g[1:] != g[:-1]) | (i[1:] != i[:-1])]
    return items.take(order[first]).reset_index(drop=True)


def _patch_items(items: pd.DataFrame) -> pd.DataFrame:
    """Each patch once per target: overlap, illegal area and points summed over parcels."""
    if items.empty:
        return items.assign(effective=pd.Series(dtype=float))
    agg = items.groupby(["group", "id"], sort=True, as_index=False).agg(
        category=("category", "first"),
        legality=("legality", "first"),
        cause=("cause", "first"),
        overlap_ha=("overlap_ha", "sum"),
        illegal_ha=("illegal_ha", "sum"),
        effective=("effective", "sum"),
        patch_illegal_ha=("patch_illegal_ha", "first"),
        patch_basis=("patch_basis", "first"),
        patch_occupation_ha=("patch_occupation_ha", "first"),
        patch_volume_m3=("patch_volume_m3", "first"),
        patch_fire_ha=("patch_fire_ha", "first"),
    )
    return agg


def _per_group_lists(frame: pd.DataFrame, value: str, n: int) -> list[list[str]]:
    """``frame[value]`` gathered per group (0..n-1); ``frame`` must be sorted by group."""
    if frame.empty:
        return [[] for _ in range(n)]
    counts = np.bincount(frame["group"].to_numpy(dtype=np.int64), minlength=n)
    ends = np.cumsum(counts).tolist()
    values = frame[value].astype(str).tolist()
    return [values[e - c : e] for e, c in zip(ends, counts.tolist(), strict=True)]


def _joined(frame: pd.DataFrame, value: str, n: int) -> NDArray[np.object_]:
    """``;``-join ``frame[value]`` per group (frame sorted by group), '' for empty groups."""
    counts = np.bincount(frame["group"].to_numpy(dtype=np.int64), minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    values = pa.array(frame[value].fillna("").astype(str).to_numpy(dtype=object), pa.string())
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, values), ";")
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


def _villages(flagged: pd.DataFrame) -> pd.DataFrame:
    """The villages of each target (``group``, ``village_code``, ``village_name``), sorted
    by group and code (rows without a code last).

    One row per code; parcels without a code give one row per name, and one row without
    either when some have no village at all. Missing codes and names stay missing.
    """
    frame = flagged[["group", "village_code", "village_name"]].astype(
        {"village_code": "string", "village_name": "string"}
    )
    key = frame["village_code"].fillna("\x00" + frame["village_name"].fillna(""))
    return (
        frame.assign(key=key)
        .drop_duplicates(["group", "key"])
        .sort_values(["group", "village_code"], na_position="last", kind="stable")
        .drop(columns="key")
    )


def _known_joined(frame: pd.DataFrame, value: str, n: int) -> NDArray[np.object_]:
    """``;``-join the known ``frame[value]`` per group; None where a group has none."""
    joined = _joined(frame[frame[value].notna()], value, n)
    joined[joined == ""] = None
    return joined


def _per_group_values(frame: pd.DataFrame, value: str, n: int) -> list[list[str | None]]:
    """``frame[value]`` per group (frame sorted by group), None for missing values."""
    counts = np.bincount(frame["group"].to_numpy(dtype=np.int64), minlength=n)
    ends = np.cumsum(counts).tolist()
    values = frame[value].astype(object).where(frame[value].notna(), None).tolist()
    return [values[e - c : e] for e, c in zip(ends, counts.tolist(), strict=True)]


def _categories(
    weights: pd.DataFrame, total: NDArray[np.float64], rules: Rules, n: int
) -> list[list[str]]:
    """Per target: categories holding at least the minimum share, heaviest first."""
    if weights.empty:
        return [["other"] for _ in range(n)]
    ranked = weights.sort_values(["group", "effective", "category"], ascending=[True, False, True])
    share = rules.targets.category_min_share
    group = ranked["group"].to_numpy(dtype=np.int64)
    eff = ranked["effective"].to_numpy(dtype=np.float64)
    first = np.r_[True, group[1:] != group[:-1]]
    keep = first | ((eff > 0) & (eff >= share * total[group]))
    lists = _per_group_lists(ranked[keep], "category", n)
    return [cats or ["other"] for cats in lists]


def _sum(
    group: NDArray[np.int64], values: pd.Series | NDArray[np.float64], n: int
) -> NDArray[np.float64]:
    weights = (
        pd.to_numeric(pd.Series(values), errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    )
    return np.bincount(group, weights=weights, minlength=n).astype(np.float64)


def group_scores(
    parts: dict[str, tuple[pd.DataFrame, NDArray[np.int64]]], group: NDArray[np.int64], n: int
) -> NDArray[np.float64]:
    """The score of each group as :func:`per_target` computes it (each complaint and
    problem once, at the largest protection it touches; patches by their parts), without
    changing ``parts``."""
    total = np.zeros(n, dtype=np.float64)
    for kind, (frame, parent) in parts.items():
        view = pd.DataFrame(
            {
                "group": group[parent],
                "id": frame["id"].to_numpy(),
                "effective": frame["effective"].to_numpy(dtype=np.float64),
            }
        )
        counted = view if kind == "patch" else _once(view)
        total += _sum(counted["group"].to_numpy(dtype=np.int64), counted["effective"], n)
    return total


def select_parts(
    parts: dict[str, tuple[pd.DataFrame, NDArray[np.int64]]], keep: NDArray[np.bool_]
) -> dict[str, tuple[pd.DataFrame, NDArray[np.int64]]]:
    """``parts`` of :func:`split_items` for the parcels ``keep`` only, parents renumbered
    to the kept parcels' positions."""
    new_position = np.cumsum(keep) - 1
    out = {}
    for kind, (frame, parent) in parts.items():
        rows = keep[parent]
        out[kind] = (
            frame[rows].reset_index(drop=True),
            new_position[parent[rows]].astype(np.int64),
        )
    return out


@dataclass
class PerTarget:
    """Per-target values computed for all targets at once (lists indexed by group)."""

    score: NDArray[np.float64]
    categories: list[list[str]]
    parcel_ids: list[list[str]]
    village_codes: NDArray[np.object_]
    village_names: NDArray[np.object_]
    village_code_list: list[list[str | None]]
    village_name_list: list[list[str | None]]
    protection: list[list[str]]
    occupied_pw: list[list[str]]
    area_ha: NDArray[np.float64]
    patch_area_ha: NDArray[np.float64]
    volume: NDArray[np.float64]
    felling: NDArray[np.float64]
    occupation_pw: NDArray[np.float64]
    occupation_all: NDArray[np.float64]
    reserve: NDArray[np.bool_]
    wetland: NDArray[np.bool_]
    forest: NDArray[np.bool_]
    parcel_criminal: NDArray[np.bool_]
    complaint_count: NDArray[np.int64]
    problem_count: NDArray[np.int64]
    patch_count: NDArray[np.int64]
    status_counts: list[dict[str, int]]
    latest: dict[int, str]
    complaint_ids: list[list[str]]
    complaint_cats: list[list[str]]
    complaints_outside: list[list[dict[str, Any]]]
    patches: list[list[dict[str, Any]]]
    problems: list[list[dict[str, Any]]]
    criminal_patches: list[list[dict[str, Any]]]


def per_target(
    flagged: pd.DataFrame,
    group: NDArray[np.int64],
    n: int,
    rules: Rules,
    parts: dict[str, tuple[pd.DataFrame, NDArray[np.int64]]],
) -> PerTarget:
    """Everything per target that does not need a Python loop.

    ``parts`` is :func:`split_items` for the parcels of ``flagged`` (its frames are
    completed in place).
    """
    complaints = _once(_grouped(parts["complaint"], group))
    problems = _once(_grouped(parts["problem"], group))
    patch_parts = _grouped(parts["patch"], group)
    patches = _patch_items(patch_parts)
    # Scores and category weights use each patch's part on each parcel: a patch crossing
    # wetland and forest parcels weighs as wetland damage on one and clearing on the other.
    evidence = pd.concat(
        [
            f[["group", "category", "effective"]]
            for f in (complaints, patch_parts, problems)
            if not f.empty
        ]
        or [pd.DataFrame({"group": pd.Series(dtype=np.int64), "category": [], "effective": []})]
    )
    score = _sum(evidence["group"].to_numpy(dtype=np.int64), evidence["effective"], n)
    weights = evidence.groupby(["group", "category"], as_index=False)["effective"].sum()

    by_parcel = flagged[["group", "parcel_id"]].sort_values(["group", "parcel_id"])
    villages = _villages(flagged)
    pw = flagged["public_welfare_land"].astype(bool).to_numpy()
    occupation = flagged["occupation_area_ha"].to_numpy(dtype=np.float64)
    protection = (
        flagged[["group", "public_welfare"]]
        .astype({"public_welfare": str})
        .drop_duplicates()
        .assign(rank=lambda f: f["public_welfare"].map({c: i for i, c in enumerate(PW_ORDER)}))
        .dropna(subset=["rank"])
        .sort_values(["group", "rank"])
    )
    occupied_pw = (
        flagged.loc[pw & (occupation > 0), ["group", "public_welfare"]]
        .astype({"public_welfare": str})
        .drop_duplicates()
        .assign(rank=lambda f: f["public_welfare"].map({c: i for i, c in enumerate(PW_ORDER)}))
        .sort_values(["group", "rank"])
    )
    counted = complaints[complaints["status"].isin(["verified", "new"])]
    complaint_cats = (
        counted.groupby(["group", "category"], as_index=False)["effective"]
        .sum()
        .sort_values(["group", "effective"], ascending=[True, False])
    )
    listed = (
        complaints[["group", "received", "id"]]
        .assign(counted=complaints["status"].isin(["verified", "new"]))
        .sort_values(["group", "counted", "received", "id"], ascending=[True, False, False, False])
    )
    status_counts = _status_counts(complaints, n)
    latest = complaints.groupby("group")["received"].max()
    ordered_patches = patches.sort_values(["group", "effective"], ascending=[True, False])
    ordered_problems = problems.sort_values(
        ["group", "overdue_days", "deadline", "id"], ascending=[True, False, True, True]
    )
    criminal_patches = patches[patches["patch_basis"].fillna("").astype(str) != ""]
    return PerTarget(
        score=score,
        categories=_categories(weights, score, rules, n),
        parcel_ids=_per_group_lists(by_parcel, "parcel_id", n),
        village_codes=_known_joined(villages, "village_code", n),
        village_names=_known_joined(villages, "village_name", n),
        village_code_list=_per_group_values(villages, "village_code", n),
        village_name_list=_per_group_values(villages, "village_name", n),
        protection=_per_group_lists(protection, "public_welfare", n),
        occupied_pw=_per_group_lists(occupied_pw, "public_welfare", n),
        area_ha=_sum(group, flagged["area_ha"], n),
        patch_area_ha=_sum(group, flagged["patch_area_ha"], n),
        volume=_sum(group, flagged["estimated_volume_m3"], n),
        felling=_sum(group, flagged["felling_area_ha"], n),
        occupation_pw=_sum(group, np.where(pw, occupation, 0.0), n),
        occupation_all=_sum(group, occupation, n),
        reserve=_sum(group, flagged["nature_reserve"].fillna(False).astype(float), n) > 0,
        wetland=_sum(group, (flagged["kind"].astype(str) == "wetland").astype(float), n) > 0,
        forest=_sum(group, (flagged["kind"].astype(str) != "wetland").astype(float), n) > 0,
        parcel_criminal=_sum(group, flagged["criminal_threshold_met"].astype(float), n) > 0,
        complaint_count=np.bincount(complaints["group"].to_numpy(dtype=np.int64), minlength=n),
        problem_count=np.bincount(problems["group"].to_numpy(dtype=np.int64), minlength=n),
        patch_count=np.bincount(patches["group"].to_numpy(dtype=np.int64), minlength=n),
        status_counts=status_counts,
        latest={int(k): str(v) for k, v in latest.items()},
        complaint_ids=_per_group_lists(listed.groupby("group").head(_MAX_IDS), "id", n),
        complaint_cats=_per_group_lists(complaint_cats, "category", n),
        complaints_outside=_records(_outside(complaints), n),
        patches=_records(ordered_patches, n),
        problems=_records(ordered_problems, n),
        criminal_patches=_records(criminal_patches, n, limit=None),
    )


def _outside(complaints: pd.DataFrame) -> pd.DataFrame:
    """The complaints a target counts from outside the parcel they count for (``id``,
    ``parcel_id``, ``distance_m`` in metres), nearest first."""
    if complaints.empty or "distance_m" not in complaints.columns:
        return pd.DataFrame(columns=["group", "id", "parcel_id", "distance_m"])
    away = complaints[complaints["distance_m"].to_numpy(dtype=np.float64) > 0]
    return away[["group", "id", "parcel_id", "distance_m"]].sort_values(
        ["group", "distance_m", "id"]
    )


def _status_counts(complaints: pd.DataFrame, n: int) -> list[dict[str, int]]:
    """Per target: complaints by status (statuses in sorted order, missing ones left out)."""
    out: list[dict[str, int]] = [{} for _ in range(n)]
    if complaints.empty:
        return out
    codes, statuses = pd.factorize(complaints["status"], sort=True)
    known = codes >= 0
    k = max(len(statuses), 1)
    group = complaints["group"].to_numpy(dtype=np.int64)[known]
    counts = np.bincount(group * k + codes[known], minlength=n * k).reshape(n, k)
    names = [str(s) for s in statuses]
    rows, cols = np.nonzero(counts)
    for g, c, count in zip(rows.tolist(), cols.tolist(), counts[rows, cols].tolist(), strict=True):
        out[g][names[c]] = count
    return out


def _records(
    frame: pd.DataFrame, n: int, limit: int | None = _LISTED
) -> list[list[dict[str, Any]]]:
    """Up to ``limit`` rows per group as dicts (a bounded number of rows per target)."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    if frame.empty:
        return out
    head = frame.groupby("group", sort=False).head(limit) if limit else frame
    names = list(head.columns)
    rows = zip(*(head[c].tolist() for c in names), strict=True)
    for g, values in zip(head["group"].tolist(), rows, strict=True):
        out[int(g)].append(dict(zip(names, values, strict=True)))
    return out
