"""``read_layer``: one survey file in, one clean canonical layer and its report out."""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from layers import crs as crs_mod
from layers import encoding as enc_mod
from layers.aliases import (
    CLASSIFICATION_COLUMNS,
    find_coordinate_columns,
    fold,
    load_mapping,
    match_columns,
)
from layers.errors import (
    ClassifiedDataError,
    CRSError,
    LayerChoiceError,
    SchemaError,
    SourceError,
)
from layers.messages import Message
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
from layers.sources import Source, check_not_classified, is_classified_text, resolve_source
from layers.sources import source_sha256 as _sha256
from layers.validate import check_geometries, outside_area

ROW = "source_row"


def read_layer(
    path: str | Path,
    kind: str,
    *,
    parcel_kind: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    mapping: str | Path | Mapping[str, tuple[str, ...]] | None = None,
    layer: str | None = None,
    target_crs: pyproj.CRS | str | None = None,
    existing_ids: Collection[str] | None = None,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read one survey file as a canonical layer.

    Parameters
    ----------
    path : path-like
        Shapefile (``.shp``, its folder or a ``.zip``), GeoPackage, GeoJSON, KML/KMZ,
        CSV or XLSX with coordinate columns.
    kind : {"villages", "parcels", "complaints", "patches", "problems"}
        Which canonical layer the file holds.
    parcel_kind : {"forest", "wetland"}, optional
        For parcels: force the ``kind`` column; otherwise derived from the land class.
    encoding : str, optional
        Text encoding; detected when omitted (never from the DBF's LDID byte).
    crs : str, optional
        CRS of the file (``EPSG:4546``); overrides the ``.prj``. Required when the CRS
        is missing and cannot be inferred unambiguously.
    mapping : path or mapping, optional
        User field mapping (canonical → source names), see :func:`layers.aliases.load_mapping`.
    layer : str, optional
        Layer, member or sheet to read from a container holding several.
    target_crs : pyproj.CRS or str, optional
        Reproject the result to this CRS (the workspace CRS). Areas are always computed
        in a projected CRS in metres: ``target_crs`` when projected, else the file's CRS
        when projected, else the local UTM zone.
    existing_ids : collection of str, optional
        Ids already stored (appending): rows with one of them are rejected as duplicates.

    Returns
    -------
    (geopandas.GeoDataFrame, ImportReport)
        The layer, in ``target_crs`` (or the file's CRS), with canonical columns first
        and unknown source columns kept; and the report, whose ``rejects`` frame holds
        every row that was not imported with its reason.

    Raises
    ------
    layers.errors.LayersError
        For a problem with the file as a whole (missing part, unsafe archive, classified
        mark, unknown CRS, undecodable text, missing required columns).
    """
    schema = schema_for(kind)
    if parcel_kind is not None and parcel_kind not in ("forest", "wetland"):
        raise SchemaError(
            Message(
                "parcels.bad_kind",
                f"--kind 为“{parcel_kind}”，应为 forest 或 wetland。",
                f"`parcel_kind` was {parcel_kind!r} but is expected to be 'forest' or 'wetland'.",
            )
        )
    user_map = load_mapping(Path(mapping)) if isinstance(mapping, str | Path) else mapping
    path = Path(path)
    report = ImportReport(source=str(path), kind=schema.kind)
    with tempfile.TemporaryDirectory(prefix="geoservice-import-") as workdir:
        source = resolve_source(path, Path(workdir), layer)
        check_not_classified(source.name)
        report.format, report.layer = source.format, source.layer
        report.sha256 = _sha256(path)
        raw, file_crs = _read_raw(source, schema.geometry, encoding, report)
    _check_classification_columns(raw, source)
    raw[ROW] = _row_numbers(raw, source)
    report.rows_read = len(raw)
    source_crs = _decide_crs(raw, file_crs, crs, report)
    return _clean(
        raw, schema.kind, source_crs, parcel_kind, user_map, target_crs, existing_ids, report
    )


def _row_numbers(raw: pd.DataFrame, source: Source) -> np.ndarray:
    offset = 2 if source.format in ("csv", "xlsx") else 1
    return np.arange(len(raw), dtype="int64") + offset


# --- reading -------------------------------------------------------------------------


def _read_raw(
    source: Source, rule: str, encoding: str | None, report: ImportReport
) -> tuple[gpd.GeoDataFrame, pyproj.CRS | None]:
    if source.format in ("csv", "xlsx"):
        table = _read_table(source, encoding, report)
        return _points_from_table(table, rule == "point_optional"), None
    layer = source.layer
    if source.format == "kml" and layer is None:
        layer = _single_kml_layer(source)
    enc = None
    if source.format == "shapefile":
        enc, reason = enc_mod.detect_shapefile_encoding(source.path, encoding)
        report.encoding, report.encoding_reason = enc, reason
    else:
        report.encoding = "UTF-8"
        report.encoding_reason = Message(
            "encoding.format", f"{source.format} 格式规定为 UTF-8", f"{source.format} is UTF-8"
        )
    gdf = _read_vector(source.path, layer, enc)
    file_crs = None
    if source.format == "shapefile":
        prj = _sidecar(source.path, ".prj")
        if prj is not None:
            file_crs, report.crs_reason = crs_mod.crs_from_prj(_read_prj(prj))
    elif gdf.crs is not None:
        file_crs, report.crs_reason = crs_mod.crs_from_prj(gdf.crs.to_wkt())
    return gdf, file_crs


def _read_vector(path: Path, layer: str | None, enc: str | None) -> gpd.GeoDataFrame:
    """Read a vector dataset with pyogrio (arrow), recoding text from ``enc``.

    UTF-8 text cut mid-character (field names past the DBF's 10-byte limit) cannot be
    decoded; such a file is read as latin1 and repaired (see
    :func:`layers.encoding.repair_truncated_utf8`). GDAL's own read errors become a
    :class:`~layers.errors.SourceError` naming the file.
    """
    try:
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, encoding=enc, use_arrow=True)
        except UnicodeDecodeError:
            gdf = pyogrio.read_dataframe(path, layer=layer, encoding="latin1")
            gdf = _repair_utf8(gdf)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
    ) as exc:
        raise SourceError(
            Message(
                "source.unreadable",
                f"{path.name} 无法读取：{exc}。文件可能已损坏或不完整；请向提供方重新索取，"
                "或在 QGIS 中打开检查后另存。",
                f"{path.name} could not be read: {exc}. The file may be damaged or incomplete; "
                "ask its provider for a new copy, or open it in QGIS and save it again.",
            )
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf)))
    return gdf


def _repair_utf8(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Undo a latin1 read of UTF-8 text whose last character may be cut."""
    gdf = gdf.rename(columns=lambda c: c if c == "geometry" else enc_mod.repair_truncated_utf8(c))
    for col in gdf.columns:
        if col != "geometry" and not pd.api.types.is_numeric_dtype(gdf[col]):
            # Rare recovery path (only files with cut UTF-8 text), not the normal read.
            gdf[col] = gdf[col].map(
                lambda v: enc_mod.repair_truncated_utf8(v) if isinstance(v, str) else v
            )
    return gdf


def _single_kml_layer(source: Source) -> str | None:
    layers = [str(name) for name, _ in pyogrio.list_layers(source.path)]
    filled = [n for n in layers if pyogrio.read_info(source.path, layer=n)["features"] > 0]
    if len(filled) > 1:
        raise LayerChoiceError(
            Message(
                "kml.several_layers",
                f"{source.name} 含有多个图层：{', '.join(filled)}；请用 --layer 指定其一。",
                f"{source.name} holds several layers: {', '.join(filled)}; pass --layer NAME.",
            ),
            filled,
        )
    return filled[0] if filled else (layers[0] if layers else None)


def _sidecar(shp: Path, ext: str) -> Path | None:
    for p in shp.parent.iterdir():
        if p.stem == shp.stem and p.suffix.lower() == ext:
            return p
    return None


def _read_prj(prj: Path) -> str:
    data = prj.read_bytes()
    for enc in ("utf-8-sig", "gb18030", "latin1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin1")


def _read_table(source: Source, encoding: str | None, report: ImportReport) -> pd.DataFrame:
    if source.format == "csv":
        data = source.path.read_bytes()
        enc, reason = enc_mod.detect_text_encoding(data, encoding)
        report.encoding, report.encoding_reason = enc.upper(), reason
        text = data.decode(enc, errors="strict")
        table = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, sep=None, engine="python"
        )
    else:
        report.encoding = "UTF-8"
        report.encoding_reason = Message(
            "encoding.format", "xlsx 格式规定为 UTF-8", "xlsx is UTF-8 by definition"
        )
        table = pd.read_excel(source.path, sheet_name=source.layer or 0, dtype=object)
    table.columns = [str(c).strip() for c in table.columns]
    table = table.loc[:, [c for c in table.columns if c and not c.startswith("Unnamed:")]]
    blank = table.astype("string").apply(lambda s: s.str.strip().fillna("").eq("")).all(axis=1)
    return table.loc[~blank].reset_index(drop=True)


def _points_from_table(table: pd.DataFrame, optional: bool) -> gpd.GeoDataFrame:
    pair = find_coordinate_columns(table.columns)
    if pair is None:
        if optional:
            return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([None] * len(table)))
        raise SchemaError(
            Message(
                "table.no_coordinates",
                f"表格中没有坐标列；收到的列为：{', '.join(table.columns)}。应有“经度/纬度”、"
                "lon/lat 或 X/Y 两列。请添加坐标列后重新导入。",
                f"The table has no coordinate columns; its columns are: "
                f"{', '.join(table.columns)}. Expected 经度/纬度, lon/lat or X/Y; add them "
                "and import again.",
            )
        )
    x = pd.to_numeric(table[pair[0]].astype("string").str.strip(), errors="coerce")
    y = pd.to_numeric(table[pair[1]].astype("string").str.strip(), errors="coerce")
    ok = (x.notna() & y.notna()).to_numpy()
    pts = np.full(len(table), None, dtype=object)
    pts[ok] = shapely.points(x[ok].to_numpy(float), y[ok].to_numpy(float))
    gdf = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(pts, index=table.index))
    gdf.attrs["coordinate_columns"] = pair
    gdf.attrs["missing_coordinates"] = ~ok
    return gdf


def _check_classification_columns(raw: pd.DataFrame, source: Source) -> None:
    wanted = {fold(c) for c in CLASSIFICATION_COLUMNS}
    for col in raw.columns:
        if col == "geometry" or fold(col) not in wanted:
            continue
        values = raw[col].astype("string").dropna()
        marked = values[values.map(is_classified_text).astype(bool)]
        if len(marked):
            raise ClassifiedDataError(
                Message(
                    "classified.column",
                    f"{source.name} 的“{col}”列有 {len(marked)} 行标为“{marked.iloc[0]}”："
                    "涉密数据不得导入本系统，请按保密规定在涉密环境中处理（第六条）。",
                    f"{source.name}: column {col!r} marks {len(marked)} rows as "
                    f"{marked.iloc[0]!r}. Classified data does not belong on this system; "
                    "handle it under the secrecy rules outside it (Art. 6).",
                )
            )


# --- CRS -----------------------------------------------------------------------------


def _decide_crs(
    raw: gpd.GeoDataFrame, file_crs: pyproj.CRS | None, user: str | None, report: ImportReport
) -> pyproj.CRS | None:
    geoms = np.asarray(raw.geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms)
    if user is not None:
        chosen = crs_mod.crs_from_user(user)
        if file_crs is not None and not chosen.equals(file_crs):
            report.warn(
                Message(
                    "crs.override",
                    f"文件自带坐标系为 {crs_mod.describe_crs(file_crs)}，按 --crs 改用 "
                    f"{crs_mod.describe_crs(chosen)}。",
                    f"The file declares {crs_mod.describe_crs(file_crs)}; using "
                    f"{crs_mod.describe_crs(chosen)} as given by --crs.",
                )
            )
        report.crs_reason = Message("crs.user", "由 --crs 指定", "given by --crs")
    elif file_crs is not None:
        chosen = file_crs
    elif not present.any():
        return None
    else:
        usable = geoms[present & ~shapely.is_empty(np.where(present, geoms, shapely.Point()))]
        chosen, reason = _infer_crs(usable)
        report.crs_reason = reason
        report.warn(reason)
    report.crs = crs_mod.describe_crs(chosen)
    return chosen


def _infer_crs(geoms: np.ndarray) -> tuple[pyproj.CRS, Message]:
    """Infer the CRS of a layer without one from its coordinates.

    The whole extent is tried first. When it fits no pattern (typically because a few
    rows have swapped or garbage coordinates), up to 201 evenly spaced rows are tried one
    by one and the answer most of them agree on is taken, provided at least half do; the
    rows that disagree are then rejected by the area check that follows.
    """
    b = shapely.total_bounds(geoms)
    try:
        return crs_mod.infer_crs((float(b[0]), float(b[1]), float(b[2]), float(b[3])))
    except CRSError as whole_error:
        picks = np.unique(np.linspace(0, len(geoms) - 1, num=min(len(geoms), 201)).astype(int))
        votes: Counter[str] = Counter()
        found: dict[str, tuple[pyproj.CRS, Message]] = {}
        for row_bounds in shapely.bounds(geoms[picks]):
            try:
                crs, reason = crs_mod.infer_crs(tuple(float(v) for v in row_bounds))  # type: ignore[arg-type]
            except CRSError:
                continue
            key = crs.to_wkt()
            votes[key] += 1
            found.setdefault(key, (crs, reason))
        if votes:
            key, n = votes.most_common(1)[0]
            if 2 * n >= len(picks):
                return found[key]
        raise whole_error


# --- cleaning ------------------------------------------------------------------------


def _clean(
    raw: gpd.GeoDataFrame,
    kind: Kind,
    source_crs: pyproj.CRS | None,
    parcel_kind: str | None,
    user_map: Mapping[str, tuple[str, ...]] | None,
    target_crs: pyproj.CRS | str | None,
    existing_ids: Collection[str] | None,
    report: ImportReport,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    schema = schema_for(kind)
    raw = raw.set_crs(source_crs, allow_override=True) if source_crs is not None else raw
    reasons: list[pd.DataFrame] = []
    missing_xy = raw.attrs.get("missing_coordinates")
    if missing_xy is not None and schema.geometry != "point_optional":
        reasons.append(_reasons(raw.index[missing_xy], "missing_coordinates", ""))
    check = check_geometries(raw, schema.geometry)
    reasons.append(_reasons(check.reasons.index, check.reasons, ""))
    report.rows_repaired = check.repaired
    kept = raw.loc[check.geometry.index].copy()
    kept = kept.set_geometry(check.geometry.reindex(kept.index).to_numpy(), crs=source_crs)
    if source_crs is not None:
        box = crs_mod.valid_lonlat_box(source_crs)
        outside = outside_area(kept.geometry, source_crs, box)
        reasons.append(_reasons(kept.index[outside], "outside_crs_area", ""))
        kept = kept.loc[~outside]
    rename = match_columns([c for c in kept.columns if c not in ("geometry", ROW)], kind, user_map)
    report.field_mapping = {s: c for s, c in rename.items() if not c.startswith("_")}
    report.field_mapping |= {s: c for s, c in rename.items() if c.startswith("_")}
    report.unmapped_fields = [
        c for c in raw.columns if c not in rename and c not in ("geometry", ROW)
    ]
    mapped = kept.rename(columns=rename)
    mapped = mapped.loc[:, ~mapped.columns.duplicated()]
    metric = _metric_crs(mapped, source_crs, target_crs)
    norm = _normalize(mapped, kind, metric, parcel_kind)
    report.warnings.extend(norm.warnings)
    _require_columns(norm.frame, kind, report)
    reasons.append(_reasons(norm.problems.index, norm.problems["reason"], norm.problems["detail"]))
    frame = norm.frame.drop(index=norm.problems.index)
    frame, id_reasons = _check_ids(frame, schema.id_column, existing_ids)
    reasons.append(id_reasons)
    if target_crs is not None and frame.crs is not None:
        frame = frame.to_crs(target_crs)
    all_reasons = (
        pd.concat([r for r in reasons if len(r)])
        if any(len(r) for r in reasons)
        else (_reasons(pd.Index([]), "", ""))
    )
    # A row keeps the first reason found (missing coordinates also make a null geometry).
    all_reasons = all_reasons[~all_reasons.index.duplicated(keep="first")]
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
    if target is not None and pyproj.CRS(target).is_projected:
        return pyproj.CRS(target)
    if source is not None and source.is_projected:
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


def _check_ids(
    frame: gpd.GeoDataFrame, id_col: str, existing: Collection[str] | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    ids = frame[id_col].astype("string")
    missing = ids.isna()
    stored = ids.isin(list(existing or ())) & ~missing
    dup = ids.duplicated(keep="first") & ~missing & ~stored
    first_row = frame.loc[~ids.duplicated(keep="first") & ~missing].set_index(id_col)[ROW]
    detail = id_col + "=" + ids.fillna("") + ", first at row " + ids.map(first_row).astype("string")
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


def _require_columns(frame: gpd.GeoDataFrame, kind: Kind, report: ImportReport) -> None:
    schema = schema_for(kind)
    missing = [
        c.name for c in schema.columns if c.required and len(frame) and frame[c.name].isna().all()
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


__all__ = ["SourceError", "read_layer"]
