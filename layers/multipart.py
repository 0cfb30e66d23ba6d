"""Multi-part rows: one feature stored as several rows, one row per part.

Boundaries exported from CAD or older desktop GIS, and national files such as bou2_4p,
store a feature with several parts (a village with an exclave, a province with islands)
as several rows carrying the same code and name. Such rows are parts of one feature when
they share the id and every attribute except those that measure the part itself (area
and perimeter fields) and the file's own row numbering (FID, OBJECTID, ArcInfo
``COVER_`` / ``COVER_ID``). They become one MultiPolygon feature; rows that share an id
but differ in an attribute are distinct records and stay duplicates.

Everything here is vectorised: rows are grouped by a hash of their attribute values
(pandas), the parts of each group collected into one multipolygon at once, and only the
groups whose parts overlap or touch are unioned (``make_valid`` with the ``structure``
method, which unions the polygons of a multipolygon).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.aliases import fold
from layers.messages import Message
from layers.normalize import area_hectares

# Canonical and helper columns that hold areas (see layers.aliases and layers.normalize).
_CANONICAL_MEASURES = frozenset(
    {"area_ha", "area_file_ha", "illegal_area_ha", "_area_file_ha", "_area_file_m2"}
)
# Folded names (see layers.aliases.fold) of fields that measure a part: Shape_Area,
# Shape_Leng, AREA, PERIMETER, MIAN_JI, and pinyin area codes ending in MJ (TBMJ, XBMJ,
# KCMJ, WF_MJ).
_MEASURE = re.compile(
    r"^(shape)?(area|leng|length|len|perimeter|perimetr|mianji|zhouchang)$"
    r"|^[a-z0-9]*mj$|^[a-z0-9]*mianji$|area(ha|m2|mu|km2)$"
)
_MEASURE_WORDS = ("面积", "周长", "长度")
# Per-row numbering written by GIS software (folded names).
_NUMBERING = re.compile(r"^(fid|oid|objectid|ogcfid|gid|rowid|miprinx)\d*$")


def part_measures(columns: Iterable[object]) -> list[str]:
    """Columns that measure a part (areas, perimeters), by name."""
    out = []
    for c in columns:
        if not isinstance(c, str):
            continue
        f = fold(c)
        if c in _CANONICAL_MEASURES or _MEASURE.search(f) or any(w in c for w in _MEASURE_WORDS):
            out.append(c)
    return out


def row_numbering(columns: Iterable[object]) -> list[str]:
    """Columns holding the file's own per-row numbering, by name.

    FID, OBJECTID, OID, OGC_FID, MI_PRINX (and numbered twins such as OBJECTID_1),
    ArcGIS overlay ids ``FID_<layer>``, and ArcInfo coverage numbers: ``COVER_`` and
    ``COVER_ID`` when both are present (``BOU2_4M_``, ``BOU2_4M_ID``).
    """
    names = [c for c in columns if isinstance(c, str)]
    upper = {c.upper(): c for c in names}
    out = []
    for c in names:
        u = c.upper()
        if _NUMBERING.match(fold(c)) or u.startswith("FID_"):
            out.append(c)
        elif len(u) > 1 and u.endswith("_") and f"{u}ID" in upper:
            out.extend([c, upper[f"{u}ID"]])
    return list(dict.fromkeys(out))


def attribute_columns(columns: Iterable[object], skip: Iterable[str] = ()) -> list[str]:
    """Columns that say what a feature is: all but geometry, ``skip``, part measures and
    row numbering."""
    cols = [c for c in columns if isinstance(c, str) and c != "geometry"]
    left_out = {*skip, *part_measures(cols), *row_numbering(cols)}
    return [c for c in cols if c not in left_out]


def find_parts(frame: pd.DataFrame, id_col: str, eligible: np.ndarray) -> pd.Series:
    """Rows that are parts of one feature.

    Among the ``eligible`` rows, those that share an id with the first row of that id and
    have the same attributes (:func:`attribute_columns`) are its parts.

    Parameters
    ----------
    frame : pandas.DataFrame
        Normalised rows (canonical columns and unknown source columns).
    id_col : str
        The id column.
    eligible : numpy.ndarray of bool
        Aligned to ``frame``: rows that may be merged (an id, not rejected otherwise).

    Returns
    -------
    pandas.Series
        Indexed by the labels of the rows that are parts of a feature with two parts or
        more, in file order; the value is the label of the feature's first row.
    """
    ids = frame[id_col].astype("string")
    cand = ids[np.asarray(eligible, dtype=bool) & ids.notna().to_numpy()]
    cand = cand[cand.duplicated(keep=False)]
    if not len(cand):
        return pd.Series([], index=frame.index[:0], dtype=object)
    cols = attribute_columns(frame.columns, skip=(id_col, "source_row"))
    digest = pd.util.hash_pandas_object(_as_text(frame.loc[cand.index, cols]), index=False)
    digest = digest.to_numpy()
    key = cand.to_numpy()
    same = digest == pd.Series(digest).groupby(key).transform("first").to_numpy()
    labels = pd.Series(cand.index, index=cand.index, dtype=object)
    lead = labels.groupby(key).transform("first")
    size = pd.Series(same).groupby(key).transform("sum").to_numpy()
    member = same & (size >= 2)
    return lead[member]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as text, empty ones as ``<empty>``, for comparing rows value by value."""
    # Reader frames carry per-row arrays in ``attrs``, which pandas cannot compare.
    frame = pd.DataFrame(frame, copy=False)
    frame.attrs = {}
    return frame.astype("string").fillna("<empty>")


def merge_geometries(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """One MultiPolygon per group from the (multi)polygons of its rows.

    Parts are collected as they are; a group whose parts overlap or share edges (the
    collection is invalid) is repaired by unioning them (``make_valid``, ``structure``).

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Valid polygons or multipolygons, in any CRS (planar).
    group : numpy.ndarray of int
        Group number (0 .. n-1) of each geometry.
    n : int
        Number of groups.

    Returns
    -------
    numpy.ndarray
        n MultiPolygons, in the CRS of ``geoms``.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    grp = np.asarray(group)[owner]
    order = np.argsort(grp, kind="stable")
    multi = np.asarray(shapely.multipolygons(parts[order], indices=grp[order]), dtype=object)
    if len(multi) < n:
        multi = np.concatenate([multi, np.full(n - len(multi), shapely.MultiPolygon())])
    invalid = ~shapely.is_valid(multi)
    if invalid.any():
        fixed = shapely.make_valid(multi[invalid], method="structure", keep_collapsed=False)
        pieces, at = shapely.get_parts(fixed, return_index=True)
        poly = shapely.get_type_id(pieces) == shapely.GeometryType.POLYGON
        rebuilt = np.asarray(shapely.multipolygons(pieces[poly], indices=at[poly]), dtype=object)
        out = np.full(int(invalid.sum()), shapely.MultiPolygon(), dtype=object)
        out[: len(rebuilt)] = rebuilt
        multi[invalid] = out
    return multi


@dataclass
class Merged:
    """Outcome of :func:`merge_parts`.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The input rows with each multi-row feature as one row, at the label of its first
        row (its attributes, the unioned geometry and summed part measures); the other
        rows of the feature are gone.
    leads : pandas.Index
        Labels of the merged features.
    parts : int
        Rows merged (every part, the first rows included).
    """

    frame: gpd.GeoDataFrame
    leads: pd.Index
    parts: int

    @property
    def features(self) -> int:
        return len(self.leads)


def merge_parts(
    mapped: gpd.GeoDataFrame, lead: pd.Series, metric_crs: pyproj.CRS | None = None
) -> Merged:
    """Merge the rows that are parts of one feature into one row.

    Columns that measure a part (:func:`part_measures`) are summed, except when every
    part holds the same value: that is the whole feature's value repeated on each row,
    and it is kept once. For the file's area in hectares or square metres (the columns
    mapped to ``_area_file_ha`` / ``_area_file_m2``) a repeated value is summed instead
    when the sum is closer to the merged feature's area (equal parts, each with its own
    area). Every other column keeps the first row's value.

    Parameters
    ----------
    mapped : geopandas.GeoDataFrame
        Rows with polygonal geometries, in their source CRS.
    lead : pandas.Series
        From :func:`find_parts`: the label of its feature's first row for every part.
    metric_crs : pyproj.CRS, optional
        Projected CRS in metres in which the merged features' areas are measured to
        settle repeated file areas; without it a repeated value is kept once.

    Returns
    -------
    Merged
    """
    leads = pd.Index(pd.unique(lead.to_numpy()))
    group = leads.get_indexer(lead.to_numpy())
    geoms = np.asarray(mapped.geometry.loc[lead.index].array, dtype=object)
    merged = merge_geometries(geoms, group, len(leads))
    out = mapped.drop(index=lead.index.difference(leads))
    out.loc[leads, out.geometry.name] = merged
    hectares = None
    if metric_crs is not None and mapped.crs is not None:
        whole = gpd.GeoSeries(merged, crs=mapped.crs)
        hectares = area_hectares(whole, metric_crs).to_numpy(dtype=float, na_value=np.nan)
    for col in part_measures(c for c in mapped.columns if c != mapped.geometry.name):
        scale = _FILE_AREA_HA.get(col)
        whole_area = hectares / scale if hectares is not None and scale else None
        _sum_parts(out, mapped[col].loc[lead.index], group, leads, col, whole_area)
    return Merged(out, leads, len(lead))


# File area helper columns and their unit in hectares.
_FILE_AREA_HA = {"_area_file_ha": 1.0, "_area_file_m2": 1e-4}


def _sum_parts(
    out: pd.DataFrame,
    values: pd.Series,
    group: np.ndarray,
    leads: pd.Index,
    col: str,
    whole: np.ndarray | None,
) -> None:
    number = pd.to_numeric(values, errors="coerce")
    if (number.isna() & values.notna()).any():
        return  # text, not a measure
    by = pd.Series(number.to_numpy(dtype=float, na_value=np.nan)).groupby(group)
    once = by.first().to_numpy()
    total = by.sum(min_count=1).to_numpy()
    repeated = (by.nunique(dropna=False) == 1).to_numpy()
    if whole is not None:
        with np.errstate(invalid="ignore"):
            repeated = repeated & ~(np.abs(total - whole) < np.abs(once - whole))
    value = np.where(repeated, once, total)
    column = pd.to_numeric(out[col], errors="coerce")
    integral = np.isfinite(value).all() and bool(np.all(value == np.round(value)))
    if pd.api.types.is_integer_dtype(column) and integral:
        column = column.astype("Int64")
        column.loc[leads] = value.astype("int64")
    else:
        column = column.astype("float64")
        column.loc[leads] = value
    out[col] = column


def differences(
    frame: pd.DataFrame,
    rows: pd.Index,
    firsts: pd.Index,
    skip: Iterable[str] = (),
    source_names: Mapping[str, str] | None = None,
) -> pd.Series:
    """Which attribute makes each row differ from the first row with its id.

    Parameters
    ----------
    frame : pandas.DataFrame
        Normalised rows.
    rows, firsts : pandas.Index
        Labels of the rows to describe and, in the same order, of the row each is
        compared with.
    skip : iterable of str
        Columns left out besides part measures and row numbering.
    source_names : mapping, optional
        Canonical column → source field name, shown beside canonical names.

    Returns
    -------
    pandas.Series of str
        Indexed by ``rows``: ``"village_name (NAME) differs: 吉林省 here, 黑龙江省 there"``
        (and how many other attributes differ), or that every attribute is the same.
    """
    out = pd.Series("every attribute is the same as in that row", index=rows, dtype="string")
    cols = attribute_columns(frame.columns, skip=skip)
    if not len(rows) or not cols:
        return out
    here = _as_text(frame.loc[rows, cols])
    there = _as_text(frame.loc[firsts, cols]).set_axis(rows)
    differ = here.ne(there).to_numpy()
    count = differ.sum(axis=1)
    which = differ.argmax(axis=1)
    names = source_names or {}
    for j, col in enumerate(cols):
        at = (count > 0) & (which == j)
        if not at.any():
            continue
        label = f"{col} ({names[col]})" if col in names and names[col] != col else col
        out[at] = f"{label} differs: " + here[col][at] + " here, " + there[col][at] + " there"
    more = count > 1
    extra = pd.Series(count - 1, index=rows).astype("string")
    out[more] = out[more] + "; " + extra[more] + " more attribute(s) differ"
    return out


def merged_message(parts: int, features: int, sample: list[str]) -> Message:
    """The report line saying how many rows were merged into how many features."""
    ids_zh = "、".join(sample)
    ids_en = ", ".join(sample)
    return Message(
        "parts.merged",
        f"合并 {parts} 个部分为 {features} 个要素：编号相同且属性相同的行是同一要素的多个部分"
        f"（CAD 或旧版桌面 GIS 导出时每部分一行），已合并为多部分要素（如 {ids_zh}）；"
        "各部分的面积、周长字段已相加（各行相同的值视为整个要素的值，只计一次）。",
        f"Merged {parts} parts into {features} features: rows with the same id and the same "
        "attributes are parts of one feature (CAD and older desktop GIS export one row per "
        f"part) and became multi-part features (e.g. {ids_en}); their area and perimeter "
        "fields were added up (a value the same on every row is the whole feature's and is "
        "counted once).",
    )
