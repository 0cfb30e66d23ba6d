"""The cleaning stage of an import: raw rows in, canonical rows and their rejects out.

:func:`clean_layer` maps source fields to canonical columns, repairs or rejects geometries,
checks each row against the CRS's area of use, merges the rows of a polygon layer that are
parts of one feature, normalises values, rejects rows with a missing or repeated id and
builds the frame of rejected rows with their reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers import crs as crs_mod
from layers.aliases import match_columns
from layers.errors import SchemaError
from layers.mapping_hints import mapping_hints
from layers.messages import Message
from layers.multipart import differences, find_parts, merge_parts, merged_message
from layers.normalize import (
    Normalized,
    normalize_complaints,
    normalize_parcels,
    normalize_patches,
    normalize_problems,
    normalize_villages,
)
from layers.report import ImportReport, reason_text
from layers.schema import Kind, schema_for
from layers.table_reader import ROW
from layers.validate import (
    check_area_of_use,
    check_geometries,
    outlying_message,
    outside_detail,
)


def clean_layer(
    raw: gpd.GeoDataFrame,
    kind: Kind,
    source_crs: pyproj.CRS | None,
    parcel_kind: str | None,
    user_map: Mapping[str, tuple[str, ...]] | None,
    target_crs: pyproj.CRS | str | None,
    existing_ids: Collection[str] | None,
    report: ImportReport,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Clean the rows read from one file into a canonical layer.

    Parameters
    ----------
    raw : geopandas.GeoDataFrame
        The rows as read, with their file row number in ``ROW``; coordinates in
        ``source_crs``.
    kind : {"villages", "parcels", "complaints", "patches", "problems"}
    source_crs : pyproj.CRS or None
        The CRS decided for the file; None only when no row has a geometry.
    parcel_kind, user_map, target_crs, existing_ids
        As for :func:`layers.reader.read_layer`; areas are computed in a projected CRS in
        metres (``target_crs`` when projected, else ``source_crs`` when projected, else the
        local UTM zone).
    report : ImportReport
        Filled in place: repairs, field mapping, merges, warnings, rejects and counts.

    Returns
    -------
    (geopandas.GeoDataFrame, ImportReport)
        The kept rows in ``target_crs`` (or ``source_crs``), with a fresh index; the report.

    Raises
    ------
    layers.errors.SchemaError
        A required column is neither in the file nor derivable from it.
    """
    schema = schema_for(kind)
    raw = raw.set_crs(source_crs, allow_override=True) if source_crs is not None else raw
    reasons: list[pd.DataFrame] = []
    missing_xy = raw.attrs.get("missing_coordinates")
    pair = raw.attrs.get("coordinate_columns")
    if missing_xy is not None and pair is not None:
        detail = (
            pair[0]
            + "="
            + raw[pair[0]].astype("string").fillna("")
            + ", "
            + pair[1]
            + "="
            + raw[pair[1]].astype("string").fillna("")
        )
        given = raw[pair[0]].astype("string").str.strip().fillna("").ne("") | raw[pair[1]].astype(
            "string"
        ).str.strip().fillna("").ne("")
        if schema.geometry != "point_optional":
            reasons.append(
                _reasons(raw.index[missing_xy], "missing_coordinates", detail[missing_xy])
            )
        else:
            # A location is optional, but one given and unreadable is a bad value.
            bad = missing_xy & given.to_numpy()
            reasons.append(_reasons(raw.index[bad], "bad_value", detail[bad]))
    check = check_geometries(raw, schema.geometry)
    reasons.append(_reasons(check.reasons.index, check.reasons, ""))
    report.rows_repaired = check.repaired
    kept = raw.loc[check.geometry.index].copy()
    kept = kept.set_geometry(check.geometry.reindex(kept.index).to_numpy(), crs=source_crs)
    rename = match_columns([c for c in kept.columns if c not in ("geometry", ROW)], kind, user_map)
    # Helper inputs are shown by the keys a --mapping file uses (area_file_ha, lin_ban).
    report.field_mapping = {src: name.lstrip("_") for src, name in rename.items()}
    skip = {"geometry", ROW, *(pair or ())}
    report.unmapped_fields = [c for c in raw.columns if c not in rename and c not in skip]
    report.warnings.extend(mapping_hints(report.unmapped_fields, kind, rename.values()))
    mapped = kept.rename(columns=rename)
    mapped = mapped.loc[:, ~mapped.columns.duplicated()]
    area = _area_of_use(mapped.geometry, source_crs)
    inside = ~area["outside"].to_numpy()
    metric = _metric_crs(mapped.loc[inside], source_crs, target_crs)
    norm, mapped, area = _normalize_parts(
        mapped, area, kind, metric, parcel_kind, existing_ids, report
    )
    report.warnings.extend(norm.warnings)
    _require_columns(norm.frame, kind, set(rename.values()), report)
    outside = area.index[area["outside"].to_numpy()]
    detail = _outside_detail(area.loc[outside], source_crs)
    reasons.append(_reasons(outside, "outside_crs_area", detail))
    reasons.append(_reasons(norm.problems.index, norm.problems["reason"], norm.problems["detail"]))
    frame = norm.frame.drop(index=norm.problems.index.union(outside.intersection(norm.frame.index)))
    sources = {canonical: source for source, canonical in rename.items()}
    frame, id_reasons = _check_ids(frame, schema.id_column, existing_ids, sources)
    reasons.append(id_reasons)
    _warn_outlying(area, frame[schema.id_column], source_crs, report)
    if target_crs is not None and frame.crs is not None:
        frame = frame.to_crs(target_crs)
    all_reasons = (
        pd.concat([r for r in reasons if len(r)])
        if any(len(r) for r in reasons)
        else (_reasons(pd.Index([]), "", ""))
    )
    # A row keeps the first reason found (missing coordinates also make a null geometry).
    all_reasons = all_reasons[~all_reasons.index.duplicated(keep="first")]
    frame = frame.loc[~frame.index.isin(all_reasons.index)]
    report.rejected = Counter(all_reasons["reason"].astype(str).tolist())
    report.rejects = _rejects_frame(raw, all_reasons)
    report.rows_imported = len(frame)
    frame = frame.drop(columns=[ROW]).reset_index(drop=True)
    return frame, report


def _reasons(index: pd.Index, reason: object, detail: object) -> pd.DataFrame:
    return pd.DataFrame({"reason": reason, "detail": detail}, index=index).astype("string")


def _metric_crs(
    gdf: gpd.GeoDataFrame, source: pyproj.CRS | None, target: pyproj.CRS | str | None
) -> pyproj.CRS:
    if target is not None and crs_mod.is_projected_metres(pyproj.CRS(target)):
        return pyproj.CRS(target)
    if source is not None and crs_mod.is_projected_metres(source):
        return source
    if source is not None and len(gdf) and gdf.geometry.notna().any():
        utm = gdf.estimate_utm_crs()
        if utm is not None:
            return utm
    return pyproj.CRS("EPSG:4546")


def _normalize(
    df: gpd.GeoDataFrame, kind: Kind, metric: pyproj.CRS, parcel_kind: str | None
) -> Normalized:
    if kind == "villages":
        return normalize_villages(df, metric)
    if kind == "parcels":
        return normalize_parcels(df, metric, parcel_kind)
    if kind == "complaints":
        return normalize_complaints(df)
    if kind == "patches":
        return normalize_patches(df, metric)
    return normalize_problems(df)


def _area_of_use(geometry: gpd.GeoSeries, crs: pyproj.CRS | None) -> pd.DataFrame:
    """:func:`layers.validate.check_area_of_use` against the CRS's area of use (with its
    margin, :func:`layers.crs.valid_lonlat_box`); nothing is outside without a CRS."""
    if crs is None:  # no row has a geometry (see layers.reader._decide_crs)
        return check_area_of_use(geometry, pyproj.CRS("EPSG:4326"), (-180.0, -90.0, 180.0, 90.0))
    return check_area_of_use(geometry, crs, crs_mod.valid_lonlat_box(crs))


def _outside_detail(area: pd.DataFrame, crs: pyproj.CRS | None) -> pd.Series | str:
    if crs is None or not len(area):
        return ""
    label = crs_mod.describe_crs(crs).split(" ")[0]
    return outside_detail(area, crs, label, crs_mod.valid_lonlat_box(crs))


def _warn_outlying(
    area: pd.DataFrame, ids: pd.Series, crs: pyproj.CRS | None, report: ImportReport
) -> None:
    """Warn about kept features with parts outside the CRS's area of use (islands)."""
    parts = area["outlying_parts"].reindex(ids.index, fill_value=0)
    has = parts.to_numpy() > 0
    if crs is None or not has.any():
        return
    sample = ids[has].astype("string").fillna("?").head(5).tolist()
    label = crs_mod.describe_crs(crs).split(" ")[0]
    box = crs_mod.valid_lonlat_box(crs)
    report.warn(outlying_message(int(has.sum()), int(parts[has].sum()), sample, label, box))


def _normalize_parts(
    mapped: gpd.GeoDataFrame,
    area: pd.DataFrame,
    kind: Kind,
    metric: pyproj.CRS,
    parcel_kind: str | None,
    existing: Collection[str] | None,
    report: ImportReport,
) -> tuple[Normalized, gpd.GeoDataFrame, pd.DataFrame]:
    """Normalise the rows in the CRS's area of use, first merging the rows of a polygon
    layer that are parts of one feature (:mod:`layers.multipart`).

    The ids are known only once the rows are normalised, so a layer with parts to merge
    (or rows outside the area, which may be island parts) is normalised twice: once to
    find the parts, once more after merging. A row wholly outside the area joins its
    feature when another part of it lies inside; alone it is rejected.

    Returns
    -------
    (Normalized, geopandas.GeoDataFrame, pandas.DataFrame)
        The normalised rows, the rows after merging and their area-of-use check.
    """
    outside = area["outside"].to_numpy()
    if schema_for(kind).geometry != "polygon":
        return _normalize(mapped.loc[~outside], kind, metric, parcel_kind), mapped, area
    if outside.any():
        geoms = np.asarray(mapped.geometry.array, dtype=object).copy()
        geoms[outside] = None
        hidden = mapped.set_geometry(gpd.GeoSeries(geoms, index=mapped.index, crs=mapped.crs))
        first = _normalize(hidden, kind, metric, parcel_kind)
    else:
        first = _normalize(mapped, kind, metric, parcel_kind)
    id_col = schema_for(kind).id_column
    ids = first.frame[id_col].astype("string")
    eligible = ~first.frame.index.isin(first.problems.index) & ~ids.isin(list(existing or ()))
    lead = find_parts(first.frame, id_col, eligible.to_numpy())
    # A feature whose parts all lie outside the area is not merged: each row is rejected.
    reaches = pd.Series(~outside, index=mapped.index).reindex(lead.index).to_numpy()
    lead = lead[pd.Series(reaches).groupby(lead.to_numpy()).transform("any").to_numpy()]
    if not len(lead):
        if not outside.any():
            return first, mapped, area
        return _normalize(mapped.loc[~outside], kind, metric, parcel_kind), mapped, area
    merged = merge_parts(mapped, lead, metric)
    report.parts_merged, report.features_merged = merged.parts, merged.features
    sample = ids.loc[merged.leads[:5]].fillna("?").tolist()
    report.warn(merged_message(merged.parts, merged.features, sample))
    area = area.loc[merged.frame.index]
    area.loc[merged.leads] = _area_of_use(merged.frame.geometry.loc[merged.leads], mapped.crs)
    inside = ~area["outside"].to_numpy()
    norm = _normalize(merged.frame.loc[inside], kind, metric, parcel_kind)
    return norm, merged.frame, area


def _check_ids(
    frame: gpd.GeoDataFrame,
    id_col: str,
    existing: Collection[str] | None,
    source_names: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reject rows without an id, with an id already stored, or repeating an earlier id.

    A repeated id's detail names the first row with that id and the first attribute in
    which the row differs from it (``source_names``: canonical → source field names).
    """
    ids = frame[id_col].astype("string")
    missing = ids.isna()
    stored = ids.isin(list(existing or ())) & ~missing
    dup = ids.duplicated(keep="first") & ~missing & ~stored
    firsts = frame.loc[~ids.duplicated(keep="first") & ~missing]
    first = ids.map(firsts.set_index(id_col)[ROW]).astype("Int64").astype("string")
    detail = (
        id_col
        + "="
        + ids.fillna("")
        + "：与文件第 "
        + first
        + " 行重复 / first at row "
        + first
        + " of the file"
    )
    if dup.any():
        first_label = pd.Series(firsts.index, index=firsts[id_col].astype("string"))
        rows = frame.index[dup.to_numpy()]
        against = pd.Index(first_label.loc[ids[dup].to_numpy()].to_numpy())
        why = differences(frame, rows, against, skip=(id_col, ROW), source_names=source_names)
        detail[dup] = detail[dup] + "; " + why.to_numpy()
    out = pd.concat(
        [
            _reasons(frame.index[missing.to_numpy()], "missing_id", f"{id_col} is empty"),
            _reasons(frame.index[dup.to_numpy()], "duplicate_id", detail[dup]),
            _reasons(
                frame.index[stored.to_numpy()],
                "duplicate_id",
                id_col + "=" + ids[stored] + " is already in the workspace",
            ),
        ]
    )
    return frame.loc[~(missing | dup | stored)], out


def _require_columns(
    frame: gpd.GeoDataFrame, kind: Kind, mapped: set[str], report: ImportReport
) -> None:
    """Stop when a required column is neither in the file nor derivable from it.

    A column that was found but whose values are all unreadable is not "missing": its rows
    are rejected with the values shown, which says more than a missing-field message.
    """
    schema = schema_for(kind)
    missing = [
        c.name
        for c in schema.columns
        if c.required and c.name not in mapped and len(frame) and frame[c.name].isna().all()
    ]
    if missing and report.rows_read:
        fields = ", ".join(report.unmapped_fields) or "-"
        raise SchemaError(
            Message(
                "schema.missing_columns",
                f"{report.source} 缺少必需字段 {', '.join(missing)}（{schema.zh}）；"
                f"未识别的字段有：{fields}。请用 --mapping 字段映射文件指明对应关系。",
                f"{report.source} lacks the required fields {', '.join(missing)} for "
                f"{schema.en}; fields not recognised: {fields}. Name them in a --mapping file.",
            )
        )


def _rejects_frame(raw: gpd.GeoDataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    if not len(reasons):
        return pd.DataFrame(columns=[ROW, "reject_reason", "reject_detail", "geometry_wkt"])
    rows = pd.DataFrame(raw.drop(columns="geometry").loc[reasons.index])
    geoms = raw.geometry.loc[reasons.index].to_numpy()
    rows.insert(0, "geometry_wkt", shapely.to_wkt(geoms, rounding_precision=-1))
    rows.insert(0, "reject_detail", reasons["detail"].to_numpy())
    rows.insert(0, "reject_label", [reason_text(r) for r in reasons["reason"]])
    rows.insert(0, "reject_reason", reasons["reason"].to_numpy())
    rows.insert(0, ROW, rows.pop(ROW))
    return rows.sort_values(ROW).reset_index(drop=True)


__all__ = ["clean_layer"]
