"""Parcel risk scores: evidence in or near each parcel times its protection value.

Design: ``docs/design.md#scoring-and-targets``.

:func:`score_parcels` joins complaints, change patches and open inspection problems to
parcels (vectorised: STRtree candidate queries, numpy edge distances, bincount sums, arrow
string joins; no Python loop per parcel or per piece of evidence), scores every parcel
with any evidence, flags those at risk of serious damage and reports the evidence it could
not place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geoservice.analysis import lanes
from geoservice.analysis.complaints import complaint_items, complaint_pairs
from geoservice.analysis.evidence_items import (
    KindPairs,
    empty_items,
    facts_columns,
    item_table,
    safe_ids,
)
from geoservice.analysis.evidence_pairs import (
    UNMATCHED_COMPLAINT_COLUMNS,
    UNMATCHED_PROBLEM_COLUMNS,
    Evidence,
    ParcelTraits,
    column,
    geometries,
    lookup,
    patch_evidence,
    problem_evidence,
)
from geoservice.analysis.links import linked_rows, problem_inside
from geoservice.analysis.row_lists import RowLists, decode, ranked_categories
from geoservice.analysis.rules import Rules, classify_text
from geoservice.analysis.spatial import PolygonIndex, PolygonTree

__all__ = [
    "PARCEL_COLUMNS",
    "PARCEL_READ_COLUMNS",
    "PARCEL_RISK_COLUMNS",
    "UNMATCHED_COMPLAINT_COLUMNS",
    "UNMATCHED_PROBLEM_COLUMNS",
    "ScoreResult",
    "classify_text",
    "protection_multiplier",
    "score_parcels",
]

# the parcel columns the scoring reads (the traits) and copies into parcel_risk
PARCEL_COLUMNS = (
    "parcel_id",
    "kind",
    "village_code",
    "village_name",
    "public_welfare",
    "nature_reserve",
    "area_ha",
    "volume_per_ha",
)
# the parcel columns the scoring reads: those it copies and the land class (stocked forest
# for the forest-fire threshold)
PARCEL_READ_COLUMNS = (*PARCEL_COLUMNS, "land_class")
PARCEL_RISK_COLUMNS = [
    *PARCEL_COLUMNS,
    "complaint_score",
    "patch_score",
    "problem_score",
    "protection_multiplier",
    "score",
    "complaint_count",
    "complaint_ids",
    "patch_count",
    "patch_ids",
    "patch_area_ha",
    "illegal_area_ha",
    "open_problem_count",
    "overdue_problem_count",
    "problem_ids",
    "categories",
    "dominant_category",
    "criminal_threshold_met",
    "criminal_basis",
    "estimated_volume_m3",
    "flagged",
    "public_welfare_land",
    "occupation_area_ha",
    "felling_area_ha",
    "complaint_facts",
    "patch_facts",
    "problem_facts",
    "geometry",
]


@dataclass
class ScoreResult:
    """What :func:`score_parcels` returns.

    Attributes
    ----------
    parcel_risk : geopandas.GeoDataFrame
        One row per parcel with any evidence; columns :data:`PARCEL_RISK_COLUMNS`
        (see :func:`score_parcels`), workspace CRS.
    unmatched_complaints : pandas.DataFrame
        Complaints (received by ``as_of``) farther than the buffer from every parcel:
        complaint_id, category, status, received_at, village_name, nearest_parcel_id,
        distance_m (metres to the nearest parcel; NaN with no location or no parcels).
    unmatched_problems : pandas.DataFrame
        Open problems placed on no parcel (no location, or not within the buffer of any
        parcel, and no 小班 named in the description): problem_id, village_code,
        village_name, category, status, deadline.
    items : pandas.DataFrame
        One row per (parcel, evidence item) for the flagged parcels, those scoring at
        least ``targets.member_score``, and the parcels a patch or problem on one of
        those also lies on
        (:func:`~geoservice.analysis.links.linked_rows`), ``parcel_row`` being the row
        of ``parcel_risk``: what the targets are built from (see
        :func:`~geoservice.analysis.evidence_items.item_table`).
    """

    parcel_risk: gpd.GeoDataFrame
    unmatched_complaints: pd.DataFrame
    unmatched_problems: pd.DataFrame
    items: pd.DataFrame


def protection_multiplier(parcels: pd.DataFrame, rules: Rules) -> NDArray[np.float64]:
    """The largest applicable protection multiplier of each parcel (dimensionless).

    Public-welfare class (``protection.public_welfare``; missing or unknown classes get
    ``protection.default``), nature reserve and wetland (kind ``wetland``) each give a
    multiplier; the parcel takes the largest.
    """
    pr = rules.protection
    mult = lookup(column(parcels, "public_welfare"), pr.public_welfare, pr.default)
    reserve = column(parcels, "nature_reserve").fillna(False).astype(bool).to_numpy()
    wetland = (column(parcels, "kind") == "wetland").to_numpy(dtype=bool, na_value=False)
    mult = np.where(reserve, np.maximum(mult, pr.nature_reserve), mult)
    return np.where(wetland, np.maximum(mult, pr.wetland), np.maximum(mult, pr.default))


def public_welfare_land(parcels: pd.DataFrame, rules: Rules) -> NDArray[np.bool_]:
    """Whether the 5-mu (public-welfare) criminal threshold applies to each parcel."""
    cr = rules.criminal
    pw = column(parcels, "public_welfare").isin(cr.public_welfare_classes)
    out = pw.to_numpy(dtype=bool)
    if cr.nature_reserve_is_public_welfare:
        out = out | column(parcels, "nature_reserve").fillna(False).astype(bool).to_numpy()
    return out


def stocked_forest(parcels: pd.DataFrame, rules: Rules) -> NDArray[np.bool_]:
    """Whether each parcel is stocked forest (有林地): its land class, leading zeros
    dropped, is one of ``criminal.stocked_land_classes``."""
    classes = column(parcels, "land_class").astype("string").str.strip().str.lstrip("0")
    known = [c.lstrip("0") for c in rules.criminal.stocked_land_classes]
    return classes.isin(known).to_numpy(dtype=bool, na_value=False)


def _sum(local: NDArray[np.int64], values: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    return np.bincount(local, weights=values, minlength=m).astype(np.float64)


def _empty_risk(crs: object) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in PARCEL_RISK_COLUMNS[:-1]})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def score_parcels(
    parcels: gpd.GeoDataFrame,
    complaints: gpd.GeoDataFrame,
    patches: gpd.GeoDataFrame,
    problems: gpd.GeoDataFrame,
    rules: Rules,
    as_of: date,
    *,
    parallel: bool = False,
) -> ScoreResult:
    """Score every parcel with evidence and flag those at risk of serious damage.

    All layers in one projected CRS in metres (the workspace CRS). Scores are evidence
    points; ``as_of`` fixes every age and deadline so that a run is reproducible.

    Parameters
    ----------
    parcels, complaints, patches, problems : geopandas.GeoDataFrame
        Canonical layers (``layers.schema``); any may be empty.
    rules : Rules
    as_of : datetime.date
    parallel : bool
        Run independent steps on a second thread and the buffer joins on two (batch
        runs; same result). By default everything runs in the calling thread.

    Returns
    -------
    ScoreResult
        ``parcel_risk`` has one row per parcel with any evidence (a complaint received by
        ``as_of`` within the buffer, whatever its status; an overlapping change patch that
        is not legal; an open problem placed on it), sorted by score descending (ties in
        the parcels' order):

        - parcel_id, kind, village_code, village_name, public_welfare, nature_reserve,
          area_ha (ha), volume_per_ha (m³/ha): copied from the parcel;
        - complaint_score, patch_score, problem_score: evidence points before the
          protection multiplier (a complaint counts in full for the parcel it lies in and
          by a share decaying with distance for a parcel nearby when it lies in no parcel
          or names that one, see :func:`~geoservice.analysis.complaints.complaint_evidence`;
          a patch by its overlap with the parcel);
        - protection_multiplier: the largest applicable (public-welfare class, nature
          reserve, wetland); score = (complaint + patch + problem score) x multiplier;
        - complaint_count, complaint_ids; patch_count, patch_ids (patches that are
          illegal, suspected or of unknown legality); patch_area_ha: their overlap with the
          parcel (ha); illegal_area_ha: their established illegal area (WF_MJ) apportioned
          by overlap share (ha); open_problem_count, overdue_problem_count, problem_ids;
          lists are ``;``-joined;
        - categories: ``;``-joined categories with evidence weight, heaviest first;
          dominant_category: the heaviest ('' when no evidence weighs anything);
        - criminal_threshold_met (bool): the parcel's illegal occupation of forest land
          reaches ``criminal.public_welfare_area_ha`` (public-welfare land) or
          ``criminal.other_area_ha``, or its estimated felled volume reaches
          ``criminal.felling_volume_m3``, or a change patch on it does so as a whole (one
          act, whatever parcels it crosses), or a burn on it has burnt
          ``criminal.fire_stocked_area_ha`` of stocked forest as a whole;
          criminal_basis ('area', 'volume', 'fire', ';'-joined, or '');
          estimated_volume_m3 (m³: illegal felling area in the parcel x volume_per_ha);
        - flagged (bool): score >= ``flag.score`` or a criminal threshold met;
        - public_welfare_land (bool: the public-welfare area threshold applies),
          occupation_area_ha (illegal occupation/destruction area on forest land, ha),
          felling_area_ha (illegal felling area, ha);
        - complaint_facts (``id|status|received YYYY-MM-DD|category|points``),
          patch_facts (``id|category|legality|change cause|overlap ha|illegal ha here|
          points|illegal ha of the whole patch|its criminal basis (area_pw, area,
          volume, comma-joined)|its occupation ha|its volume m³``), problem_facts
          (``id|category|status|deadline|days overdue|points``): one entry per item,
          ``;``-joined, points before the multiplier; filled for flagged parcels only
          (written from ``items``, for reading in GIS), '' otherwise;
        - geometry: the parcel polygon.
    """
    crs = parcels.crs if isinstance(parcels, gpd.GeoDataFrame) else None
    geoms = geometries(parcels)
    # Two lanes when parallel: this thread builds the parcel tree, then the edge arrays,
    # then joins the complaints; the other weighs the complaints (no geometry needed),
    # then overlays the patches (the tree is enough) while the edges are computed and the
    # complaints and problems placed. GEOS, numpy and arrow release the GIL for the heavy
    # parts.
    with lanes.lane(parallel) as lane:
        traits_job = lane.submit(_traits, parcels, rules)
        items_job = lane.submit(complaint_items, complaints, rules, as_of)
        ids_job = lane.submit(lambda: column(parcels, "parcel_id").astype(object).to_numpy())
        tree = PolygonTree.build(geoms)
        traits, mult = traits_job.result()
        patch_job = lane.submit(patch_evidence, patches, tree, traits, rules, as_of)
        index = PolygonIndex.build(geoms, tree.tree)
        parcel_ids = ids_job.result()
        comp, lost_c = complaint_pairs(items_job.result(), index, parcel_ids, rules, parallel)
        # The problems are placed after the complaints, not beside them: both settle the
        # close pairs on the prepared parcel polygons, and GEOS builds a prepared polygon's
        # facet index lazily, which is not thread-safe (libgeos/geos#825).
        prob, lost_p = problem_evidence(problems, index, parcel_ids, rules, as_of, parallel)
        patch = patch_job.result()
    # the index (about 100 MB at county scale) is not needed any more: its memory is
    # reused for the per-parcel columns instead of new pages
    del index, tree, patch_job, traits_job, items_job, ids_job
    lost_c = lost_c.reset_index(drop=True)
    lost_p = lost_p.reset_index(drop=True)
    involved = np.zeros(len(geoms), dtype=bool)
    for ev in (comp, patch, prob):
        involved[ev.parcel] = True
    rows = np.flatnonzero(involved)
    if len(rows) == 0:
        return ScoreResult(_empty_risk(crs), lost_c, lost_p, empty_items())
    risk, items = _aggregate(parcels, rows, (comp, patch, prob), traits, mult, rules, parallel)
    return ScoreResult(risk, lost_c, lost_p, items)


def _traits(parcels: pd.DataFrame, rules: Rules) -> tuple[ParcelTraits, NDArray[np.float64]]:
    """What the patch evidence needs of every parcel, and its protection multiplier."""
    kind = column(parcels, "kind")
    traits = ParcelTraits(
        wetland=(kind == "wetland").to_numpy(dtype=bool, na_value=False),
        forest=(kind == "forest").to_numpy(dtype=bool, na_value=False),
        public_welfare_land=public_welfare_land(parcels, rules),
        volume_per_ha=np.nan_to_num(
            pd.to_numeric(column(parcels, "volume_per_ha"), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        ),
        stocked=stocked_forest(parcels, rules),
    )
    return traits, protection_multiplier(parcels, rules)


def _aggregate(
    parcels: gpd.GeoDataFrame,
    rows: NDArray[np.int64],
    evidence: tuple[Evidence, Evidence, Evidence],
    traits: ParcelTraits,
    mult_all: NDArray[np.float64],
    rules: Rules,
    parallel: bool,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """``parcel_risk`` (rows: the parcels ``rows``, in output order) and the item table."""
    comp, patch, prob = evidence
    m = len(rows)
    local = np.full(len(parcels), -1, dtype=np.int64)
    local[rows] = np.arange(m)
    raw = sum(_sum(local[ev.parcel], ev.weight, m) for ev in evidence)
    # rows in output order (score descending, ties in parcel order): every array below
    # is built in that order, so the frame never needs re-sorting
    rows = rows[np.argsort(-(raw * mult_all[rows]), kind="stable")]
    local[rows] = np.arange(m)
    lc, lp, lq = local[comp.parcel], local[patch.parcel], local[prob.parcel]
    scores = _scores(rows, (lc, lp, lq), evidence, traits, mult_all, rules)
    flagged = scores["flagged"]
    geometry = parcels.geometry.array[rows]
    geoms = np.asarray(geometry, dtype=object)
    # the rows whose evidence the targets read: the flagged ones, those whose score lets
    # them join a target, and every row a patch or problem on one of those also lies on
    # (a target covers the whole burn)
    seeds = flagged | (scores["score"] >= rules.targets.member_score)
    included = linked_rows(
        seeds,
        lp,
        np.asarray(patch.ids.to_numpy(zero_copy_only=False), dtype=object)[patch.item],
        lq,
        prob.item,
        problem_inside(_locations(prob), geoms[lq]),
    )
    with lanes.lane(parallel) as lane:
        # the category ranking (rows x categories) and the item table (flagged rows
        # only) run on the lane (when parallel) while this thread copies the parcel attributes and joins
        # the longest lists (complaint ids, about five per row)
        ranking = lane.submit(
            ranked_categories,
            np.concatenate([lc, lp, lq]),
            np.concatenate([comp.category, patch.category, prob.category]),
            np.concatenate([comp.weight, patch.weight, prob.weight]),
            m,
        )
        pairs = [
            KindPairs(rows, ev.item, ev.ids, ev.fields, ev.geoms)
            for rows, ev in zip((lc, lp, lq), evidence, strict=True)
        ]
        ids = column(parcels, "parcel_id").astype(object).to_numpy()[rows]
        table = lane.submit(item_table, pairs, included, ids, geoms)
        data = _columns(parcels, rows, (lp, lq), evidence, scores)
        data["complaint_count"] = np.bincount(lc, minlength=m)
        data["complaint_ids"] = RowLists(lc, comp.item, m).join(safe_ids(comp.ids))
        items = table.result()
        # the facts text is written for the flagged parcels only
        data.update(
            {name: text.where(flagged, "") for name, text in facts_columns(items, m).items()}
        )
        data["categories"], data["dominant_category"] = ranking.result()
    columns = {name: data[name] for name in PARCEL_RISK_COLUMNS[:-1]}
    columns["geometry"] = geometry
    # the columns are new arrays: no copy into consolidated blocks (35 MB at county scale)
    risk = gpd.GeoDataFrame(columns, geometry="geometry", crs=parcels.crs, copy=False)
    return risk, items


def _locations(ev: Evidence) -> NDArray[np.object_]:
    """The location of each pair's item (None where the kind has none)."""
    if ev.geoms is None:
        return np.full(len(ev.item), None, dtype=object)
    return np.asarray(ev.geoms, dtype=object)[ev.item]


def _scores(
    rows: NDArray[np.int64],
    local: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    evidence: tuple[Evidence, Evidence, Evidence],
    traits: ParcelTraits,
    mult_all: NDArray[np.float64],
    rules: Rules,
) -> dict[str, NDArray[Any]]:
    """Scores, criminal thresholds and the flag per row (rows in output order)."""
    comp, patch, prob = evidence
    lc, lp, lq = local
    m = len(rows)
    mult = mult_all[rows]
    complaint_score = _sum(lc, comp.weight, m)
    patch_score = _sum(lp, patch.weight, m)
    problem_score = _sum(lq, prob.weight, m)
    score = (complaint_score + patch_score + problem_score) * mult

    cr = rules.criminal
    pw_land = traits.public_welfare_land[rows]
    occupation = _sum(lp, patch.extra["occupation_ha"], m)
    volume = _sum(lp, patch.extra["volume_m3"], m)
    area_met = np.where(
        pw_land, occupation >= cr.public_welfare_area_ha, occupation >= cr.other_area_ha
    )
    area_met = (area_met & (occupation > 0)) | (_sum(lp, patch.extra["patch_area_met"], m) > 0)
    volume_met = ((volume >= cr.felling_volume_m3) & (volume > 0)) | (
        _sum(lp, patch.extra["patch_volume_met"], m) > 0
    )
    fire_met = _sum(lp, patch.extra["patch_fire_met"], m) > 0
    criminal = area_met | volume_met | fire_met
    return {
        "complaint_score": complaint_score,
        "patch_score": patch_score,
        "problem_score": problem_score,
        "protection_multiplier": mult,
        "score": score,
        "public_welfare_land": pw_land,
        "occupation_area_ha": occupation,
        "estimated_volume_m3": volume,
        "area_met": area_met,
        "volume_met": volume_met,
        "fire_met": fire_met,
        "criminal_threshold_met": criminal,
        "flagged": (score >= rules.flag.score) | criminal,
    }


def _columns(
    parcels: gpd.GeoDataFrame,
    rows: NDArray[np.int64],
    local: tuple[NDArray[np.int64], NDArray[np.int64]],
    evidence: tuple[Evidence, Evidence, Evidence],
    scores: dict[str, NDArray[Any]],
) -> dict[str, object]:
    """The columns of ``parcel_risk`` but the complaint ids, the categories and the facts,
    rows in output order; ``scores`` from :func:`_scores`."""
    _, patch, prob = evidence
    lp, lq = local
    m = len(rows)
    # only the copied attributes are taken (not every column of the parcels layer)
    copied = [name for name in PARCEL_COLUMNS if name in parcels.columns]
    sub = pd.DataFrame(parcels[copied]).iloc[rows].reset_index(drop=True)
    area_met, volume_met = scores["area_met"], scores["volume_met"]
    basis = decode(
        area_met.astype(np.int64) + 2 * volume_met + 4 * scores["fire_met"],
        [
            "",
            "area",
            "volume",
            "area;volume",
            "fire",
            "area;fire",
            "volume;fire",
            "area;volume;fire",
        ],
    )
    volume_per_ha = pd.to_numeric(column(sub, "volume_per_ha"), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )

    def attr(name: str) -> pd.Series:
        return column(sub, name)

    def number(name: str) -> NDArray[np.float64]:
        return pd.to_numeric(attr(name), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )

    data: dict[str, object] = {
        "parcel_id": attr("parcel_id"),
        "kind": attr("kind"),
        "village_code": attr("village_code"),
        "village_name": attr("village_name"),
        "public_welfare": attr("public_welfare"),
        "nature_reserve": attr("nature_reserve").fillna(False).astype(bool),
        "area_ha": number("area_ha"),
        "volume_per_ha": volume_per_ha,
        "patch_count": np.bincount(lp, minlength=m),
        "patch_ids": RowLists(lp, patch.item, m).join(safe_ids(patch.ids)),
        "patch_area_ha": _sum(lp, patch.extra["overlap_ha"], m),
        "illegal_area_ha": _sum(lp, patch.extra["illegal_ha"], m),
        "open_problem_count": np.bincount(lq, minlength=m),
        "overdue_problem_count": _sum(lq, prob.extra["overdue"], m).astype(np.int64),
        "problem_ids": RowLists(lq, prob.item, m).join(safe_ids(prob.ids)),
        "criminal_basis": basis,
        "felling_area_ha": _sum(lp, patch.extra["felling_ha"], m),
    }
    data.update(scores)
    return data
