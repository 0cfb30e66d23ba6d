"""``read_layer``: one survey file in, one clean canonical layer and its report out.

This module reads the file (resolving it, decoding its text, refusing classified columns)
and decides its CRS; the cleaning of the rows is :func:`layers.cleaning.clean_layer`.
"""

from __future__ import annotations

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
from layers import webmap
from layers.aliases import CLASSIFICATION_COLUMNS, fold, load_mapping
from layers.classified import is_classified_text
from layers.cleaning import clean_layer
from layers.crs_inference import infer_crs
from layers.errors import (
    ClassifiedDataError,
    CRSError,
    LayerChoiceError,
    SchemaError,
    SourceError,
)
from layers.messages import Message
from layers.report import ImportReport
from layers.schema import schema_for
from layers.shapefile_parts import shapefile_parts
from layers.sources import Source, resolve_source
from layers.sources import source_sha256 as _sha256
from layers.table_limits import TableLimits
from layers.table_reader import ROW, points_from_table, read_table


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
    table_limits: TableLimits | None = None,
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
        is missing and cannot be inferred unambiguously. ``GCJ-02`` or ``BD-09`` (any
        case, ``gcj02``, ``bd09``): lon/lat picked on Chinese web maps, converted to
        CGCS2000 (EPSG:4490) first (see :func:`layers.webmap.convert_layer`).
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
    table_limits : TableLimits, optional
        Most rows/cells of a CSV or XLSX, checked before it is read (default
        :class:`~layers.table_limits.TableLimits`).

    Returns
    -------
    (geopandas.GeoDataFrame, ImportReport)
        The layer, in ``target_crs`` (or the file's CRS), with canonical columns first
        and unknown source columns kept; and the report, whose ``rejects`` frame holds
        every row that was not imported with its reason.

    Raises
    ------
    layers.errors.LayersError
        For a problem with the file as a whole (missing part, unsafe archive, a CSV or
        XLSX over ``table_limits``, classified mark, unknown CRS, undecodable text, missing required columns).
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
    user_map = (
        load_mapping(Path(mapping), schema.kind) if isinstance(mapping, str | Path) else mapping
    )
    path = Path(path)
    report = ImportReport(source=str(path), kind=schema.kind)
    with tempfile.TemporaryDirectory(prefix="geoservice-import-") as workdir:
        source = resolve_source(path, Path(workdir), layer)
        report.format, report.layer = source.format, source.layer
        if source.path != path:
            report.source = f"{path} ({source.name})"
        report.sha256 = _sha256(path)
        raw, file_crs = _read_raw(
            source, schema.geometry, encoding, report, Path(workdir), table_limits
        )
    _check_classification_columns(raw, source)
    if ROW not in raw.columns:
        raw[ROW] = np.arange(len(raw), dtype="int64") + 1
    report.rows_read = len(raw)
    source_crs = _decide_crs(raw, file_crs, crs, report)
    return clean_layer(
        raw, schema.kind, source_crs, parcel_kind, user_map, target_crs, existing_ids, report
    )


# --- reading -------------------------------------------------------------------------


def _read_raw(
    source: Source,
    rule: str,
    encoding: str | None,
    report: ImportReport,
    workdir: Path,
    table_limits: TableLimits | None = None,
) -> tuple[gpd.GeoDataFrame, pyproj.CRS | None]:
    if source.format in ("csv", "xlsx"):
        table = read_table(source, encoding, report, table_limits)
        return points_from_table(table, rule == "point_optional"), None
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
    path, prj = source.path, None
    if source.format == "shapefile":
        prj = shapefile_parts(source.path).get(".prj")
        if prj is not None and not prj.read_bytes().isascii():
            path = _without_prj(source.path, workdir)
    gdf = _read_vector(path, layer, enc)
    file_crs = None
    if source.format == "shapefile":
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
    if not layers:
        raise SourceError(
            Message(
                "kml.no_layers",
                f"{source.name} 中没有任何图层（文件夹或地标）；请确认导出时包含了要素。",
                f"{source.name} holds no layer (no folder or placemark); check that the "
                "features were included when it was exported.",
            )
        )
    return filled[0] if filled else layers[0]


def _without_prj(shp: Path, workdir: Path) -> Path:
    """Link the shapefile's parts, all but its ``.prj``, into a fresh folder.

    A ``.prj`` with non-ASCII text (a Chinese PROJCS name saved in GBK) breaks GDAL's
    reading of the layer; the CRS is taken from our own parse of that file instead.
    """
    folder = Path(tempfile.mkdtemp(prefix="noprj-", dir=workdir))
    for ending, part in shapefile_parts(shp).items():
        if ending != ".prj":
            (folder / part.name).symlink_to(part.resolve())
    return folder / shp.name


def _read_prj(prj: Path) -> str:
    data = prj.read_bytes()
    for enc in ("utf-8-sig", "gb18030", "latin1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin1")


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
    if webmap.is_offset_datum(user):  # GCJ-02 / BD-09 lon/lat: converted here, in place
        return webmap.convert_layer(raw, str(user), report)
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
        return infer_crs((float(b[0]), float(b[1]), float(b[2]), float(b[3])))
    except CRSError as whole_error:
        picks = np.unique(np.linspace(0, len(geoms) - 1, num=min(len(geoms), 201)).astype(int))
        votes: Counter[str] = Counter()
        found: dict[str, tuple[pyproj.CRS, Message]] = {}
        for row_bounds in shapely.bounds(geoms[picks]):
            try:
                crs, reason = infer_crs(tuple(float(v) for v in row_bounds))  # type: ignore[arg-type]
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


__all__ = ["SourceError", "read_layer"]
