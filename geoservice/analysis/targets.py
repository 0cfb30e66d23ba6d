"""Target areas for joint enforcement: flagged parcels grouped, ranked and routed (Art. 8).

:func:`build_targets` groups the flagged parcels of ``parcel_risk`` that lie within the
grouping distance of each other (connected components), counts every piece of evidence
once per target, decides the priority, routes the target to its lead and cooperating
departments and writes the reasons. Sums, counts and lists are computed for all targets
at once (numpy, pandas group-bys, arrow string joins); only routing, the reasons text
and the union of each target's polygons run once per target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geoservice.analysis import lanes
from geoservice.analysis.lanes import Shared
from geoservice.analysis.links import link_pairs
from geoservice.analysis.polygon_pairs import polygon_pairs_within
from geoservice.analysis.reasons import (
    CriminalFacts,
    CriminalFinding,
    PatchFact,
    ProblemFact,
    TargetFacts,
    target_reasons,
)
from geoservice.analysis.routing import route
from geoservice.analysis.rules import Rules
from geoservice.analysis.target_totals import (
    PerTarget,
    group_scores,
    per_target,
    select_parts,
    split_items,
)
from geoservice.analysis.thresholds import legal_basis
from layers.messages import Lang

__all__ = [
    "REASON_COLUMNS",
    "TARGET_COLUMNS",
    "build_targets",
    "build_targets_and_reasons",
    "target_id",
]
REASON_COLUMNS = ["target_id", "reasons_zh", "reasons_en"]

TARGET_COLUMNS = [
    "target_id",
    "priority",
    "score",
    "village_codes",
    "village_names",
    "parcel_ids",
    "parcel_count",
    "area_ha",
    "categories",
    "lead_department",
    "cooperating_departments",
    "criminal_threshold_met",
    "estimated_volume_m3",
    "complaint_count",
    "patch_area_ha",
    "open_problem_count",
    "legal_basis",
    "reasons",
    "geometry",
]


def target_id(parcel_ids: Iterable[str]) -> str:
    """``T-`` + the first 10 hex digits of sha1 of the sorted parcel ids joined by ``;``."""
    key = ";".join(sorted(str(p) for p in parcel_ids))
    return "T-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def _empty(crs: object) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in TARGET_COLUMNS[:-1]})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _same_kind(
    members: pd.DataFrame, i: NDArray[np.int64], j: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Whether parcels ``i`` and ``j`` (positions in ``members``) have the same dominant
    category."""
    dominant = members["dominant_category"].fillna("").astype(str).to_numpy(dtype=object)
    return np.asarray((dominant[i] == dominant[j]) & (dominant[i] != ""), dtype=bool)


def _groups(
    members: pd.DataFrame,
    geoms: NDArray[np.object_],
    distance: float,
    parallel: bool,
    warm: NDArray[np.bool_],
    ties: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> NDArray[np.int64]:
    """Connected components of the graph joining the ``warm`` polygons (flagged, or
    scoring enough to join a target) within ``distance`` metres of each other, and the
    pairs of ``ties`` (parcels one patch or problem lies on). Two flagged parcels always
    join; a parcel that is not flagged joins a neighbour only when both have the same
    dominant category (a wetland fill does not take in sand dredging upstream)."""
    warm_at = np.flatnonzero(warm)
    i, j = polygon_pairs_within(geoms[warm_at], distance, parallel)
    i, j = warm_at[i], warm_at[j]
    hot = members["flagged"].fillna(False).astype(bool).to_numpy()
    joined = (hot[i] & hot[j]) | _same_kind(members, i, j)
    i = np.concatenate([i[joined], ties[0]])
    j = np.concatenate([j[joined], ties[1]])
    n = len(geoms)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def _priority(criminal: bool, score: float, rules: Rules) -> str:
    p = rules.targets.priority
    if criminal or score >= p.p1_score:
        return "P1"
    return "P2" if score >= p.p2_score else "P3"


def _union(geoms: NDArray[np.object_]) -> shapely.MultiPolygon:
    """The parcels dissolved into one MultiPolygon (polygon parts only)."""
    if len(geoms) == 1:
        merged = geoms[0]
    else:
        try:
            merged = shapely.union_all(geoms)
        except shapely.errors.GEOSException:
            merged = shapely.union_all(shapely.make_valid(geoms))
    parts = shapely.get_parts(merged)
    return shapely.MultiPolygon(
        [g for g in parts if shapely.get_type_id(g) == 3 and not g.is_empty]
    )


def build_targets(
    parcel_risk: gpd.GeoDataFrame,
    items: pd.DataFrame,
    rules: Rules,
    lang: Lang = "zh",
    *,
    parallel: bool = False,
) -> gpd.GeoDataFrame:
    """Target areas from the flagged parcels; see :func:`build_targets_and_reasons`."""
    return build_targets_and_reasons(parcel_risk, items, rules, lang, parallel=parallel)[0]


def build_targets_and_reasons(
    parcel_risk: gpd.GeoDataFrame,
    items: pd.DataFrame,
    rules: Rules,
    lang: Lang = "zh",
    *,
    parallel: bool = False,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Target areas from the flagged parcels of ``parcel_risk`` (workspace CRS, metres).

    Flagged parcels and parcels scoring at least ``targets.member_score`` that lie within
    ``targets.group_distance_m`` of each other (touching included) form a group, and a
    change patch or problem brings every parcel it lies on into the group (a target
    covers the whole burn, clearing or quarry; see :mod:`geoservice.analysis.links`). A
    group is a target when it holds a flagged parcel or its score reaches ``flag.score``.
    Evidence is counted once per target: a complaint or problem on several of its parcels
    counts once, at the largest protection multiplier among them;
    patches count by their overlap with each parcel. The target's score is the sum
    (evidence points after protection); its categories are those with at least
    ``targets.category_min_share`` of that sum, heaviest first, the first being dominant.
    A criminal threshold is met when a change patch meets one on its own, or when the
    target's parcels together do.

    Parameters
    ----------
    parcel_risk : geopandas.GeoDataFrame
        As returned in :class:`~geoservice.analysis.scoring.ScoreResult`.
    items : pandas.DataFrame
        The evidence items of its flagged parcels, as returned beside it
        (:func:`~geoservice.analysis.evidence_items.item_table`: ``parcel_row`` is the
        row of ``parcel_risk``).
    rules : Rules
    lang : {"zh", "en"}
        Language of ``reasons``.
    parallel : bool
        Run the polygon unions on a second thread beside the per-target sums, and the
        grouping distance test on two (batch runs; same result). By default everything
        runs in the calling thread.

    Returns
    -------
    targets : geopandas.GeoDataFrame
        Columns :data:`TARGET_COLUMNS` in that order, sorted by priority then score
        descending (then target_id). target_id: :func:`target_id` of the parcel ids
        (stable while the target's parcels are the same); priority P1 (criminal threshold
        met or score >= ``p1_score``), P2 (score >= ``p2_score``) or P3; score in evidence
        points; village_codes, village_names (the known codes and names, in code order; None
        when no parcel has one), parcel_ids (sorted),
        categories (dominant first) and cooperating_departments are ``;``-joined;
        departments are codes; area_ha and patch_area_ha (overlap of illegal, suspected
        and unknown patches) in hectares; estimated_volume_m3 in m³; complaint_count and
        open_problem_count count distinct items; legal_basis: the criminal thresholds
        the target meets and those that concern its categories, each with its figure and
        citation (:func:`~geoservice.analysis.thresholds.legal_basis`; '' when none
        applies), in ``lang``; geometry a MultiPolygon.
    reasons : pandas.DataFrame
        ``target_id``, ``reasons_zh``, ``reasons_en``: the reasons in both languages, in
        the order of ``targets``.
    """
    crs = parcel_risk.crs
    # the parcels scoring hands items over for: the flagged ones, those scoring enough
    # to join a target and those a patch or problem on one of them also lies on
    mask = parcel_risk["flagged"].fillna(False).astype(bool).to_numpy().copy()
    mask[items["parcel_row"].to_numpy(dtype=np.int64)] = True
    flagged = parcel_risk[mask].reset_index(drop=True)
    if flagged.empty:
        return _empty(crs), pd.DataFrame(columns=REASON_COLUMNS)
    geoms = np.asarray(flagged.geometry.array, dtype=object)
    position = np.full(len(parcel_risk), -1, dtype=np.int64)
    position[mask] = np.arange(len(flagged))
    ties = link_pairs(items, position)
    multiplier = flagged["protection_multiplier"].to_numpy(dtype=np.float64)
    hot = flagged["flagged"].fillna(False).astype(bool).to_numpy()
    warm = hot | (flagged["score"].to_numpy(dtype=np.float64) >= rules.targets.member_score)
    # Two lanes when parallel: the items are split by kind while the groups are found;
    # then the unions of the groups' polygons (GEOS, without the GIL) run beside the
    # per-target sums and the reasons.
    with lanes.lane(parallel) as lane:
        items_job = lane.submit(split_items, items, position, multiplier)
        group = _groups(flagged, geoms, rules.targets.group_distance_m, parallel, warm, ties)
        parts = items_job.result()
        keep = _kept(flagged, group, parts, rules)
        if not keep.any():
            return _empty(crs), pd.DataFrame(columns=REASON_COLUMNS)
        if not keep.all():
            flagged = flagged[keep].reset_index(drop=True)
            geoms, parts = geoms[keep], select_parts(parts, keep)
            group = np.unique(group[keep], return_inverse=True)[1].astype(np.int64)
        n = int(group.max()) + 1
        shapes = _submit_unions(lane, geoms, group, n)
        flagged = flagged.assign(group=group)
        table = per_target(flagged, group, n, rules, parts)
        # the table is built and sorted while the lane finishes the unions
        frame = pd.DataFrame(_finish(n, table, rules, lang))
        order = np.lexsort(
            (
                frame["target_id"].to_numpy(dtype=object),
                -frame["score"].to_numpy(dtype=np.float64),
                frame["priority"].to_numpy(dtype=object),
            )
        )
        frame = frame.iloc[order].reset_index(drop=True)
        frame[f"reasons_{lang}"] = frame["reasons"]
        reasons = pd.DataFrame(frame[REASON_COLUMNS])
        frame = frame[TARGET_COLUMNS[:-1]]
        frame["geometry"] = shapes.collect(n)[order]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs), reasons


def _kept(
    members: pd.DataFrame,
    group: NDArray[np.int64],
    parts: dict[str, tuple[pd.DataFrame, NDArray[np.int64]]],
    rules: Rules,
) -> NDArray[np.bool_]:
    """Per member parcel: whether its group is a target (it holds a flagged parcel, or
    its evidence, each item once, reaches ``flag.score``)."""
    n = int(group.max()) + 1
    flagged = np.bincount(group, weights=members["flagged"].astype(float), minlength=n) > 0
    is_target = flagged | (group_scores(parts, group, n) >= rules.flag.score)
    return np.asarray(is_target[group], dtype=bool)


def _criminal(t: PerTarget, g: int, rules: Rules) -> CriminalFacts:
    cr = rules.criminal
    classes = tuple(t.occupied_pw[g])
    findings: list[CriminalFinding] = []
    for row in t.criminal_patches[g]:
        basis = str(row["patch_basis"]).split(",")
        pid = str(row["id"])
        occupation = float(row["patch_occupation_ha"])
        if "area_pw" in basis:
            findings.append(CriminalFinding("area_pw", occupation, pid, classes=classes))
        elif "area" in basis:
            findings.append(CriminalFinding("area", occupation, pid))
        if "volume" in basis:
            volume, felled = float(row["patch_volume_m3"]), float(row["patch_illegal_ha"])
            findings.append(CriminalFinding("volume", volume, pid, felling_ha=felled))
        if "fire" in basis:
            findings.append(CriminalFinding("fire", float(row["patch_fire_ha"]), pid))
    if findings:
        return CriminalFacts(findings)
    pw_ha, all_ha = float(t.occupation_pw[g]), float(t.occupation_all[g])
    if pw_ha >= cr.public_welfare_area_ha:
        findings.append(CriminalFinding("area_pw", pw_ha, classes=classes))
    elif all_ha >= cr.other_area_ha:
        findings.append(CriminalFinding("area", all_ha))
    volume = float(t.volume[g])
    if volume >= cr.felling_volume_m3:
        findings.append(CriminalFinding("volume", volume, felling_ha=float(t.felling[g])))
    return CriminalFacts(findings)


@dataclass
class _Unions:
    """The groups merged in batches on a lane (see :func:`_submit_unions`)."""

    batches: list[NDArray[np.int64]]
    work: Shared[list[NDArray[np.object_]], list[shapely.MultiPolygon]]

    def collect(self, n: int) -> NDArray[np.object_]:
        """The union of each group, by group number; batches the lane has not started
        are merged in the calling thread, smallest first."""
        out = np.empty(n, dtype=object)
        for batch, shapes in zip(self.batches, self.work.results(), strict=True):
            for g, shape in zip(batch.tolist(), shapes, strict=True):
                out[g] = shape
        return out


def _submit_unions(
    lane: Executor, geoms: NDArray[np.object_], group: NDArray[np.int64], n: int
) -> _Unions:
    """Union each group's polygons on ``lane``: groups by size (largest first) in batches."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=n)
    starts = np.cumsum(counts) - counts
    geoms = geoms[order]
    by_size = np.argsort(-counts, kind="stable")
    # batches of about equal parcel count, so the largest groups start first
    cuts = np.searchsorted(np.cumsum(counts[by_size]), np.linspace(0, len(geoms), 9)[1:-1])
    batches = [b for b in np.split(by_size, np.unique(cuts + 1)) if len(b)]
    parts = [[geoms[starts[g] : starts[g] + counts[g]] for g in batch] for batch in batches]
    return _Unions(batches, Shared(lane, _unions, parts))


def _unions(parts: list[NDArray[np.object_]]) -> list[shapely.MultiPolygon]:
    return [_union(geoms) for geoms in parts]


def _finish(n: int, t: PerTarget, rules: Rules, lang: Lang) -> list[dict[str, object]]:
    """Routing and reasons: one pass per target."""
    return [_row(g, t, rules, lang) for g in range(n)]


def _row(g: int, t: PerTarget, rules: Rules, lang: Lang) -> dict[str, object]:
    criminal = _criminal(t, g, rules)
    reserve, wetland = bool(t.reserve[g]), bool(t.wetland[g])
    categories = t.categories[g]
    routing = route(categories, criminal.met, reserve or wetland, rules)
    score = float(t.score[g])
    priority = _priority(criminal.met, score, rules)
    parcel_ids = t.parcel_ids[g]
    facts = TargetFacts(
        parcel_ids=parcel_ids,
        village_codes=t.village_code_list[g],
        village_names=t.village_name_list[g],
        area_ha=float(t.area_ha[g]),
        protection=t.protection[g],
        nature_reserve=reserve,
        wetland=wetland,
        forest=bool(t.forest[g]),
        complaint_count=int(t.complaint_count[g]),
        complaint_statuses=t.status_counts[g],
        complaint_latest=t.latest.get(g, ""),
        complaint_ids=t.complaint_ids[g],
        complaint_categories=t.complaint_cats[g],
        complaints_outside=[
            (str(r["id"]), str(r["parcel_id"]), float(r["distance_m"]))
            for r in t.complaints_outside[g]
        ],
        patches=[_patch_fact(r) for r in t.patches[g]],
        patch_count=int(t.patch_count[g]),
        problems=[_problem_fact(r) for r in t.problems[g]],
        problem_count=int(t.problem_count[g]),
        categories=categories,
        criminal=criminal,
        score=score,
        priority=priority,
    )
    return {
        "target_id": target_id(parcel_ids),
        "priority": priority,
        "score": round(score, 3),
        "village_codes": t.village_codes[g],
        "village_names": t.village_names[g],
        "parcel_ids": ";".join(parcel_ids),
        "parcel_count": len(parcel_ids),
        "area_ha": round(float(t.area_ha[g]), 4),
        "categories": ";".join(categories),
        "lead_department": routing.lead_department,
        "cooperating_departments": ";".join(routing.cooperating_departments),
        "criminal_threshold_met": criminal.met,
        "estimated_volume_m3": round(float(t.volume[g]), 2),
        "complaint_count": int(t.complaint_count[g]),
        "patch_area_ha": round(float(t.patch_area_ha[g]), 4),
        "open_problem_count": int(t.problem_count[g]),
        "legal_basis": legal_basis(categories, criminal.findings, rules, lang),
        "reasons": target_reasons(facts, routing, rules, lang),
        # the other language, stored beside the layer so exports can use either
        "reasons_zh" if lang == "en" else "reasons_en": target_reasons(
            facts, routing, rules, "zh" if lang == "en" else "en"
        ),
    }


def _patch_fact(r: dict[str, Any]) -> PatchFact:
    return PatchFact(
        id=str(r["id"]),
        category=str(r["category"]),
        legality=str(r["legality"]),
        cause=str(r["cause"]),
        overlap_ha=float(r["overlap_ha"]),
        illegal_ha=float(r["illegal_ha"]),
        patch_illegal_ha=float(r["patch_illegal_ha"]),
    )


def _problem_fact(r: dict[str, Any]) -> ProblemFact:
    return ProblemFact(
        id=str(r["id"]),
        category=str(r["category"]),
        status=str(r["status"]),
        deadline=str(r["deadline"]),
        overdue_days=int(float(r["overdue_days"])),
    )
