"""Evidence pairs: which complaint, patch and problem counts for which parcel, and how much.

Each function turns one canonical input layer into an :class:`Evidence` table of
(parcel, item) pairs with the item's weight in evidence points *before* the parcel's
protection multiplier, plus what could not be matched. Weights follow
``docs/design.md#scoring-and-targets``, with every number from
:class:`~geoservice.analysis.rules.Rules`. Complaints are in
:mod:`geoservice.analysis.complaints`; the helpers here are shared with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray

from geoservice.analysis.polygon_pairs import overlaps
from geoservice.analysis.rules import Rules
from geoservice.analysis.spatial import PolygonIndex, PolygonTree, points_within
from layers.codes import CATEGORIES

CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)
_CAT_INDEX = {c: i for i, c in enumerate(CATEGORY_CODES)}
_DESCRIPTION_PARCEL = r"林班\s*([0-9]+)\s*小班\s*([0-9]+)"

UNMATCHED_COMPLAINT_COLUMNS = [
    "complaint_id",
    "category",
    "status",
    "received_at",
    "village_name",
    "nearest_parcel_id",
    "distance_m",
]
UNMATCHED_PROBLEM_COLUMNS = [
    "problem_id",
    "village_code",
    "village_name",
    "category",
    "status",
    "deadline",
]


@dataclass
class Evidence:
    """(parcel, item) pairs of one evidence kind.

    Attributes
    ----------
    parcel : ndarray of int64
        Position of the parcel in the parcels frame.
    item : ndarray of int64
        Position of the pair's entry in ``ids`` and ``fields``.
    weight : ndarray of float64
        Evidence points of the pair before the protection multiplier.
    category : ndarray of int64
        Index into :data:`CATEGORY_CODES`.
    ids : pyarrow string array
        Per item (complaint, problem) or per pair (patch): the id as in the input layer.
    fields : dict of str to pyarrow array
        Per entry of ``ids``: the figures the targets read
        (:data:`~geoservice.analysis.evidence_items.FACT_FIELDS` of the kind).
    extra : dict of str to ndarray
        Per pair numbers a kind adds (overlap and illegal areas, overdue flags).
    geoms : ndarray of shapely geometries, optional
        Per entry of ``ids``: the item's location (None for patches).
    """

    parcel: NDArray[np.int64]
    item: NDArray[np.int64]
    weight: NDArray[np.float64]
    category: NDArray[np.int64]
    ids: pa.Array
    fields: dict[str, pa.Array]
    extra: dict[str, NDArray[np.float64]]
    geoms: NDArray[np.object_] | None = None

    @classmethod
    def empty(cls, *extra: str) -> Evidence:
        return cls(
            parcel=np.empty(0, np.int64),
            item=np.empty(0, np.int64),
            weight=np.empty(0, np.float64),
            category=np.empty(0, np.int64),
            ids=pa.array([], pa.string()),
            fields={},
            extra={name: np.empty(0, np.float64) for name in extra},
        )


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or an all-missing column when the frame lacks it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype=object)


def geometries(frame: pd.DataFrame) -> NDArray[np.object_]:
    """The frame's geometries as an object array (None where missing)."""
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
        return np.asarray(frame.geometry.array, dtype=object)
    return np.full(len(frame), None, dtype=object)


def category_index(values: pd.Series) -> NDArray[np.int64]:
    """Category codes to indices into :data:`CATEGORY_CODES`; unknown ones are ``other``."""
    other = _CAT_INDEX["other"]
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    table = np.array([_CAT_INDEX.get(str(u), other) for u in uniques] + [other], dtype=np.int64)
    return np.asarray(table[codes], dtype=np.int64)


def lookup(values: pd.Series, table: dict[str, float], default: float) -> NDArray[np.float64]:
    """``table[value]`` per value (``default`` when missing), via factorize (fast on text)."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    known = np.array([table.get(str(u), default) for u in uniques] + [default], dtype=np.float64)
    return known[codes]


def _category_text(cat_idx: NDArray[np.int64]) -> pa.Array:
    """Category codes as an arrow string array, from their indices."""
    codes = pa.array(list(CATEGORY_CODES), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(cat_idx), codes).cast(pa.string())


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an arrow string array ('' for missing)."""
    if isinstance(values.dtype, pd.StringDtype):
        text = pa.array(values)
    else:
        text = pa.array(values.astype(object).to_numpy(dtype=object), pa.string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return pc.fill_null(text.cast(pa.string()), "")


def _ids(values: pd.Series) -> pa.Array:
    """Ids as strings ('' for missing)."""
    return _arrow_text(values.astype("string"))


def _num(values: NDArray[np.float64], digits: int = 4) -> pa.Array:
    """Numbers rounded as the stored facts text writes them."""
    return pa.array(np.round(values, digits), pa.float64())


def _day(values: pd.Series) -> pa.Array:
    """Dates as ``YYYY-MM-DD`` strings ('' for missing)."""
    days = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[D]")
    # arrow formats date32 as YYYY-MM-DD without a Python string per row
    text = pa.array(days, mask=np.isnat(days)).cast(pa.string())
    return pc.fill_null(text, "")


def _decay(age_days: NDArray[np.float64], half_life: float) -> NDArray[np.float64]:
    return np.power(0.5, age_days / half_life)


def _days(later: pd.Timestamp, earlier: pd.Series) -> NDArray[np.float64]:
    delta = later - pd.to_datetime(earlier, errors="coerce")
    return (delta.dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64, na_value=np.nan)


# --- patches ----------------------------------------------------------------------------


def patch_legality(patches: pd.DataFrame, rules: Rules) -> pd.Series:
    """``true`` / ``suspected`` / ``unknown`` / ``false`` per patch.

    ``suspected``: marked illegal but with no established illegal area (``illegal_area_ha``
    missing), e.g. an illegal change cause that only the interpreter gave; only while
    ``patches.established_area_only`` is on (otherwise such a patch is ``true`` and its
    whole area counts as illegal).
    """
    flag = column(patches, "illegal").astype("string").str.strip().str.lower()
    legality = flag.where(flag.isin(["true", "false", "unknown"]), "unknown").astype(object)
    if not rules.patches.established_area_only:
        return legality
    no_area = column(patches, "illegal_area_ha").isna().to_numpy()
    return legality.mask((legality == "true").to_numpy() & no_area, "suspected")


@dataclass(frozen=True)
class ParcelTraits:
    """What patch evidence needs to know of every parcel (arrays over the parcels frame).

    Attributes
    ----------
    wetland, forest : ndarray of bool
        Kind is ``wetland`` / ``forest``.
    public_welfare_land : ndarray of bool
        The public-welfare (5-mu) criminal threshold applies.
    volume_per_ha : ndarray of float64
        Standing volume, m³/ha (0 where unknown).
    stocked : ndarray of bool, optional
        Stocked forest (有林地: land class in ``criminal.stocked_land_classes``), what
        the forest-fire threshold counts; none when not given.
    """

    wetland: NDArray[np.bool_]
    forest: NDArray[np.bool_]
    public_welfare_land: NDArray[np.bool_]
    volume_per_ha: NDArray[np.float64]
    stocked: NDArray[np.bool_] | None = None


PATCH_EXTRA = (
    "overlap_ha",
    "illegal_ha",
    "occupation_ha",
    "felling_ha",
    "volume_m3",
    "patch_area_met",
    "patch_volume_met",
    "fire_ha",
    "patch_fire_met",
)


def patch_evidence(
    patches: pd.DataFrame,
    index: PolygonIndex | PolygonTree,
    traits: ParcelTraits,
    rules: Rules,
    as_of: date,
) -> Evidence:
    """Change patches overlapping parcels, by overlap area and legality.

    Weight = overlap_ha x legality weight x severity[category] x points_per_ha. Patches of
    a year after ``as_of`` and patches whose legality weight is 0 (legal) are not
    evidence. On wetland parcels the categories of ``patches.wetland_categories`` are
    renamed (unapproved occupation of wetland is wetland damage).

    ``extra`` (per pair, hectares and m³): ``overlap_ha``; ``illegal_ha``, the patch's
    established illegal area apportioned by overlap share (0 unless legality is
    ``true``); ``occupation_ha`` (illegal_ha of an occupation category on forest land);
    ``felling_ha`` and ``volume_m3`` (illegal_ha of a felling category, times the
    parcel's volume per hectare); ``fire_ha`` (overlap of a burn, a patch of a
    ``criminal.fire_categories`` category, with stocked forest, whatever its legality);
    ``patch_area_met`` / ``patch_volume_met`` / ``patch_fire_met`` (1.0 when the whole
    patch meets a criminal threshold: one act counts as a whole, whatever parcels it
    crosses).
    """
    pr, cr = rules.patches, rules.criminal
    if len(patches) == 0:
        return Evidence.empty(*PATCH_EXTRA)
    year = pd.to_numeric(column(patches, "year"), errors="coerce")
    legality = patch_legality(patches, rules)
    lw = legality.map(pr.legality_weights.model_dump()).fillna(0.0).to_numpy(dtype=np.float64)
    active = np.flatnonzero(((year.isna()) | (year <= as_of.year)).to_numpy() & (lw > 0))
    p = patches.iloc[active]
    geoms = geometries(p)
    item, parcel, area_m2 = overlaps(geoms, index)
    if len(item) == 0:
        return Evidence.empty(*PATCH_EXTRA)
    lw = lw[active]
    legality = legality.iloc[active].to_numpy(dtype=object)
    base_cat = column(p, "category").astype(object)
    base_cat = base_cat.where(base_cat.isin(CATEGORY_CODES), "other").to_numpy(dtype=object)
    cat = base_cat[item]
    renamed = pd.Series(cat).map(pr.wetland_categories).to_numpy(dtype=object)
    cat = np.where(traits.wetland[parcel] & pd.notna(renamed), renamed, cat)
    cat_idx = category_index(pd.Series(cat))
    severity = np.array([rules.severity[c] for c in CATEGORY_CODES])[cat_idx]
    overlap_ha = area_m2 / 10_000.0
    weight = overlap_ha * lw[item] * severity * pr.points_per_ha

    patch_m2 = shapely.area(geoms)
    share = np.minimum(area_m2 / np.maximum(patch_m2[item], 1e-9), 1.0)
    declared = pd.to_numeric(column(p, "illegal_area_ha"), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    # without an established illegal area (only when allowed): the whole patch
    declared = np.where(np.isnan(declared), patch_m2 / 10_000.0, declared)
    is_true = legality == "true"
    illegal_ha = np.where(is_true[item], np.nan_to_num(declared[item]) * share, 0.0)
    occupation = np.where(
        np.isin(cat, cr.occupation_categories) & traits.forest[parcel], illegal_ha, 0.0
    )
    felling = np.where(np.isin(cat, cr.felling_categories), illegal_ha, 0.0)
    volume = felling * traits.volume_per_ha[parcel]
    # burnt stocked forest counts whatever the legality: the fire happened
    stocked = traits.stocked[parcel] if traits.stocked is not None else np.zeros(len(parcel), bool)
    fire = np.where(np.isin(base_cat[item], cr.fire_categories) & stocked, overlap_ha, 0.0)
    # the whole patch against the thresholds
    n = len(p)
    pw = traits.public_welfare_land[parcel]
    occ_pw = np.bincount(item, weights=np.where(pw, occupation, 0.0), minlength=n).astype(float)
    occ_all = np.bincount(item, weights=occupation, minlength=n).astype(np.float64)
    vol_all = np.bincount(item, weights=volume, minlength=n).astype(np.float64)
    area_met = ((occ_pw >= cr.public_welfare_area_ha) | (occ_all >= cr.other_area_ha)) & (
        occ_all > 0
    )
    volume_met = (vol_all >= cr.felling_volume_m3) & (vol_all > 0)
    fire_all = np.bincount(item, weights=fire, minlength=n).astype(np.float64)
    fire_met = (fire_all >= cr.fire_stocked_area_ha) & (fire_all > 0)
    area_name = np.where(occ_pw >= cr.public_welfare_area_ha, "area_pw", "area")
    named = np.stack(
        [
            np.where(area_met, area_name, ""),
            np.where(volume_met, "volume", ""),
            np.where(fire_met, "fire", ""),
        ]
    )
    joined = pd.Series(named[0]).str.cat([pd.Series(named[1]), pd.Series(named[2])], sep=",")
    basis = joined.str.replace(r",+", ",", regex=True).str.strip(",").to_numpy(dtype=object)

    ids = _ids(column(p, "patch_id"))
    cause = column(p, "change_cause").astype("string").fillna("").to_numpy(dtype=object)
    take = pa.array(item)
    fields = {
        "category": pa.array(np.asarray(cat, dtype=object), pa.string()),
        "legality": pa.array(legality[item], pa.string()),
        "cause": pa.array(cause[item], pa.string()),
        "overlap_ha": _num(overlap_ha),
        "illegal_ha": _num(illegal_ha),
        "points": _num(weight),
        "patch_illegal_ha": _num(np.nan_to_num(declared)[item]),
        "patch_basis": pa.array(basis.astype(object)[item], pa.string()),
        "patch_occupation_ha": _num(
            np.where(occ_pw >= cr.public_welfare_area_ha, occ_pw, occ_all)[item]
        ),
        "patch_volume_m3": _num(vol_all[item], 2),
        "patch_fire_ha": _num(fire_all[item]),
    }
    return Evidence(
        parcel=parcel,
        item=np.arange(len(item), dtype=np.int64),
        weight=weight,
        category=cat_idx,
        ids=ids.take(take),
        fields=fields,
        extra={
            "overlap_ha": overlap_ha,
            "illegal_ha": illegal_ha,
            "occupation_ha": occupation,
            "felling_ha": felling,
            "volume_m3": volume,
            "patch_area_met": area_met[item].astype(np.float64),
            "patch_volume_met": volume_met[item].astype(np.float64),
            "fire_ha": fire,
            "patch_fire_met": fire_met[item].astype(np.float64),
        },
    )


# --- problems ---------------------------------------------------------------------------


def problem_evidence(
    problems: pd.DataFrame,
    index: PolygonIndex,
    parcel_ids: NDArray[np.object_],
    rules: Rules,
    as_of: date,
    parallel: bool = False,
) -> tuple[Evidence, pd.DataFrame]:
    """Open inspection problems in or near parcels, and the open problems left unplaced.

    Open: status in ``problems.open_statuses`` and found on or before ``as_of``. A problem
    with a location counts for every parcel containing it or within ``problems.buffer_m``;
    one without (or matching none) counts for the 小班 its description names ("林班0139小班006"
    -> ``0139-006``) when ``problems.match_description`` is on. Weight = severity x
    (``overdue_points`` when the deadline is before ``as_of``, else ``open_points``).
    ``extra`` holds ``overdue`` (1.0 / 0.0) and ``overdue_days``. ``parallel``: the
    buffer join may use threads (see :func:`~geoservice.analysis.spatial.points_within`).
    """
    qr = rules.problems
    names = ("overdue", "overdue_days")
    as_of_ts = pd.Timestamp(as_of)
    status = column(problems, "status").astype(object)
    found = pd.to_datetime(column(problems, "found_on"), errors="coerce")
    is_open = status.isin(qr.open_statuses) & (found.isna() | (found <= as_of_ts))
    q = problems[is_open.to_numpy()]
    if len(q) == 0:
        return Evidence.empty(*names), pd.DataFrame(columns=UNMATCHED_PROBLEM_COLUMNS)
    category = column(q, "category").astype(object)
    category = category.where(category.isin(CATEGORY_CODES), "other")
    late_days = _days(as_of_ts, column(q, "deadline"))
    overdue = np.nan_to_num(late_days, nan=0.0) > 0
    points = np.where(overdue, qr.overdue_points, qr.open_points)
    weight = category.map(rules.severity).to_numpy(dtype=np.float64) * points

    item, parcel = points_within(geometries(q), index, qr.buffer_m, parallel)
    placed = np.bincount(item, minlength=len(q)) > 0
    if qr.match_description and not placed.all():
        rest = np.flatnonzero(~placed)
        found_ids = (
            column(q, "description").astype("string").iloc[rest].str.extract(_DESCRIPTION_PARCEL)
        )
        # Padded as the importer pads ids (林班 4 digits, 小班 3); where the parcel layer
        # spans several townships its ids start with the township code (digits 7-9 of
        # the village code), so that form is tried first.
        lin = found_ids[0].str.lstrip("0").str.zfill(4)
        xiao = found_ids[1].str.lstrip("0").str.zfill(3)
        named = lin + "-" + xiao
        township = column(q, "village_code").astype("string").iloc[rest].str[6:9]
        prefixed = (township + "-" + named).to_numpy(dtype=object, na_value=None)
        positions = pd.Series(np.arange(len(parcel_ids)), index=pd.Index(parcel_ids, dtype=object))
        positions = positions[~positions.index.duplicated()]
        by_prefixed = positions.reindex(prefixed).to_numpy(dtype=np.float64)
        by_plain = positions.reindex(named.to_numpy(dtype=object, na_value=None)).to_numpy(
            dtype=np.float64
        )
        where = np.nan_to_num(np.where(np.isnan(by_prefixed), by_plain, by_prefixed), nan=-1)
        where = where.astype(np.int64)
        hit = where >= 0
        item = np.concatenate([item, rest[hit]])
        parcel = np.concatenate([parcel, where[hit].astype(np.int64)])
        placed[rest[hit]] = True
    status_text = column(q, "status").fillna("").astype(str).to_numpy(dtype=object)
    fields = {
        "category": pa.array(category.to_numpy(dtype=object), pa.string()),
        "status": pa.array(status_text, pa.string()),
        "deadline": _day(column(q, "deadline")),
        "overdue_days": _num(np.where(overdue, np.floor(np.nan_to_num(late_days)), 0.0), 0),
        "points": _num(weight),
    }
    evidence = Evidence(
        parcel=parcel,
        item=item,
        weight=weight[item],
        category=category_index(category)[item],
        ids=_ids(column(q, "problem_id")),
        fields=fields,
        extra={
            "overdue": overdue[item].astype(np.float64),
            "overdue_days": np.where(overdue, late_days, 0.0)[item],
        },
        geoms=geometries(q),
    )
    lost = np.flatnonzero(~placed)
    unmatched = pd.DataFrame(
        {name: column(q, name).to_numpy()[lost] for name in UNMATCHED_PROBLEM_COLUMNS},
        columns=UNMATCHED_PROBLEM_COLUMNS,
    )
    return evidence, unmatched
