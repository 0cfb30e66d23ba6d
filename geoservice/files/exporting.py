"""Exporting workspace layers to files other systems read.

GeoJSON and KML are written in lon/lat (EPSG:4326, as their specifications require);
GeoPackage and shapefile keep the workspace CRS. Shapefiles are written in GBK with a
``.cpg`` (what ArcGIS and older desktop tools in Chinese offices read; UTF-8 when a text
cannot be written in GBK), with field names cut to 10 bytes and a ``*_fields.txt`` listing
what each short name stands for. CSV (with a UTF-8 byte-order mark, so Excel shows Chinese
text) and XLSX are tables for people: the ``targets`` layer gets headers and words in the
chosen language, the others keep their columns and carry geometry as WKT. Targets carry
what a clerk needs (:mod:`~geoservice.files.target_columns`): the lon/lat of a point inside
each, its state and deadline, and in GeoJSON and KML a label beside every code; their XLSX
is set up for printing (:mod:`~geoservice.files.target_sheet`). Every export is written to
the audit log (Art. 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geoservice.analysis.present import (
    HEADERS,
    department_code,
    department_names,
    filter_targets,
    village_code,
)
from geoservice.analysis.rules import Rules
from geoservice.base.cells import csv_cells, xlsx_cells
from geoservice.base.errors import ANALYSIS_LAYERS, OptionError, message, no_analysis
from geoservice.base.workspace import Workspace
from geoservice.files.target_columns import (
    CLERK_HEADERS,
    clerk_table,
    labelled_targets,
    with_register_states,
)
from geoservice.files.target_sheet import write_target_sheet
from layers.messages import Lang

FORMATS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    # format: (GDAL driver or "table", written in lon/lat, file suffixes)
    "gpkg": ("GPKG", False, (".gpkg",)),
    "geojson": ("GeoJSON", True, (".geojson", ".json")),
    "kml": ("KML", True, (".kml",)),
    "shp": ("ESRI Shapefile", False, (".shp",)),
    "csv": ("CSV", False, (".csv",)),
    "xlsx": ("XLSX", False, (".xlsx",)),
}
DBF_TEXT_BYTES = 254


@dataclass(frozen=True)
class ExportResult:
    layer: str
    path: Path
    driver: str
    rows: int
    crs: str
    renamed: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None


def export_format(path: Path, fmt: str | None) -> str:
    """The export format: ``fmt`` when given, else the one the file suffix names."""
    allowed = ", ".join(FORMATS)
    if fmt is not None:
        if fmt.lower() not in FORMATS:
            raise OptionError(
                message(
                    "export.bad_format",
                    f"--format 为“{fmt}”，应为 {allowed} 之一。",
                    f"`format` was {fmt!r} but is expected to be one of {allowed}.",
                )
            )
        return fmt.lower()
    suffix = path.suffix.lower()
    for name, (_driver, _lonlat, suffixes) in FORMATS.items():
        if suffix in suffixes:
            return name
    raise OptionError(
        message(
            "export.bad_suffix",
            f"导出文件 {path.name} 的扩展名“{suffix}”无法确定格式；请用 --format 指定 {allowed} 之一。",
            f"Export file {path.name} has suffix {suffix!r}, which names no format; "
            f"expected one of {allowed}, or pass --format.",
        )
    )


def shapefile_names(columns: list[str]) -> dict[str, str]:
    """Unique DBF field names of at most 10 bytes (UTF-8) for ``columns``.

    Names that fit are kept; longer ones are cut at a character boundary and, where two
    would collide, end in a number. Returns only the names that change.
    """
    used: set[str] = set()
    out: dict[str, str] = {}
    for col in columns:
        name = col
        if len(col.encode("utf-8")) > 10:
            name = col.encode("utf-8")[:10].decode("utf-8", errors="ignore")
        base, n = name, 1
        while name.lower() in used:
            tail = str(n)
            name = base.encode("utf-8")[: 10 - len(tail)].decode("utf-8", errors="ignore") + tail
            n += 1
        used.add(name.lower())
        if name != col:
            out[col] = name
    return out


def _gbk_safe(frame: pd.DataFrame) -> bool:
    """Whether every column name and text value can be written in GBK."""
    texts = ["".join(str(c) for c in frame.columns)]
    texts += [
        frame[c].dropna().astype(str).str.cat()
        for c in frame.columns
        if c != "geometry" and not pd.api.types.is_numeric_dtype(frame[c])
    ]
    try:
        for text in texts:
            text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _write_shapefile(frame: gpd.GeoDataFrame, path: Path) -> tuple[dict[str, str], str]:
    renamed = shapefile_names([str(c) for c in frame.columns if c != "geometry"])
    encoding = "CP936" if _gbk_safe(frame) else "UTF-8"
    cut = _cut_text(_dates_as_text(frame), "gbk" if encoding == "CP936" else "utf-8")
    pyogrio.write_dataframe(cut.rename(columns=renamed), path, encoding=encoding)
    lines = ["字段\tfield\t说明 / meaning"]
    for col in frame.columns:
        if col == "geometry":
            continue
        zh, en = HEADERS.get(str(col), ("", ""))
        note = " / ".join(t for t in (zh, en) if t)
        long_text = frame[col].astype("string").str.encode("utf-8").str.len().max()
        if pd.notna(long_text) and long_text > DBF_TEXT_BYTES:
            note += (
                "（超过 254 字节的文字被截断，完整内容见 XLSX 导出 / text past 254 bytes is cut)"
            )
        lines.append(f"{renamed.get(str(col), col)}\t{col}\t{note}")
    path.with_name(path.stem + "_fields.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return renamed, encoding


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        csv_cells(frame).to_csv(path, index=False, encoding="utf-8-sig")
        return
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="data")
        sheet = writer.sheets["data"]
        xlsx_cells(sheet, frame)
        for i, col in enumerate(frame.columns, start=1):
            text = frame[col].astype("string").fillna("")
            width = max([len(str(col)), *text.str.len().head(200).tolist()])
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(width + 2, 60)
        sheet.freeze_panes = "A2"


def _reasons_in(ws: Workspace, targets: gpd.GeoDataFrame, lang: Lang) -> gpd.GeoDataFrame:
    """Targets with their ``reasons`` in ``lang`` (each run stores both languages)."""
    if "target_reasons" not in ws.layer_names() or not len(targets):
        return targets
    reasons = ws.read("target_reasons").set_index("target_id")[f"reasons_{lang}"]
    found = targets["target_id"].map(reasons)
    return targets.assign(reasons=found.fillna(targets["reasons"]))


def _dates_as_text(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Date-time columns as ISO text (``YYYY-MM-DD`` when every time is midnight; missing
    stays empty): a DBF has no date-time field, and GDAL would warn and write text anyway."""
    out = frame.copy()
    for col in out.columns:
        if col != "geometry" and pd.api.types.is_datetime64_any_dtype(out[col]):
            values = out[col]
            fmt = (
                "%Y-%m-%d"
                if (values.dropna() == values.dropna().dt.normalize()).all()
                else "%Y-%m-%dT%H:%M:%S"
            )
            out[col] = values.dt.strftime(fmt)
    return out


def _cut_text(frame: gpd.GeoDataFrame, encoding: str) -> gpd.GeoDataFrame:
    """Cut text to the DBF's 254 bytes at a character boundary (the field list says so)."""
    out = frame.copy()
    for col in out.columns:
        if col == "geometry" or pd.api.types.is_numeric_dtype(out[col]):
            continue
        text = out[col].astype("string")
        long = text.str.encode(encoding).str.len() > DBF_TEXT_BYTES
        if long.any():
            out.loc[long, col] = text[long].map(
                lambda v: v.encode(encoding)[:DBF_TEXT_BYTES].decode(encoding, errors="ignore")
            )
    return out


def export_layer(
    ws: Workspace,
    layer: str,
    path: str | Path,
    *,
    actor: str,
    fmt: str | None = None,
    lang: Lang = "zh",
    department: str | None = None,
    village: str | None = None,
    priorities: Iterable[str] | None = None,
    rules: Rules | None = None,
    keep: Callable[[gpd.GeoDataFrame], np.ndarray] | None = None,
    context: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Write one workspace layer to ``path``.

    Parameters
    ----------
    ws : Workspace
    layer : str
        A layer of the workspace (``parcels``, ``targets``, ``rejects_parcels``, ...).
    path : path-like
        Output file.
    fmt : {"gpkg", "geojson", "kml", "shp", "csv", "xlsx"}, optional
        Format; by default the one the suffix of ``path`` names.
    lang : {"zh", "en"}
        Language of the headers and words of a ``targets`` table (CSV, XLSX) and of the
        labels beside the codes of ``targets`` features (GeoJSON, KML).
    department, village, priorities : optional
        ``targets`` only: keep targets this department (code or name) leads or cooperates
        on, in this village (code or name), of these priorities.
    rules : Rules, optional
        The effective rules, whose department names the tables use (default: built-in).
    keep : callable, optional
        ``targets`` only: a row mask applied before the other filters (the web service
        passes the caller's scope, so no filter can reach a target outside it).
    context : mapping, optional
        More to write into the export's audit row (user id, client address).

    Returns
    -------
    ExportResult
    """
    path = Path(path)
    name = export_format(path, fmt)
    driver, lonlat, _suffixes = FORMATS[name]
    if layer in ANALYSIS_LAYERS:
        ws.require()
        if layer not in ws.layer_names():
            raise no_analysis(ws.path, layer)
    frame = ws.read(layer)
    filters = (department, village, priorities)
    if layer == "targets":
        if keep is not None:
            frame = frame.loc[keep(frame)]
        names = department_names(rules)
        villages = ws.read("villages") if "villages" in ws.layer_names() else None
        frame = filter_targets(
            frame,
            department=department_code(department, names) if department else None,
            village=village_code(village, villages) if village else None,
            priorities=priorities,
        )
        frame = with_register_states(ws, _reasons_in(ws, frame, lang))
    elif any(f is not None for f in (*filters, keep)):
        raise OptionError(
            message(
                "export.filters_targets_only",
                f"--department、--village、--priority 只适用于 targets 图层，不适用于 {layer}。",
                f"--department, --village and --priority apply to the targets layer only, "
                f"not to {layer}.",
            )
        )
    spatial = isinstance(frame, gpd.GeoDataFrame)
    if not spatial and name in ("geojson", "kml", "shp"):
        raise OptionError(
            message(
                "export.no_geometry",
                f"图层 {layer} 没有几何（是一张表），不能导出为 {name}；请导出为 csv、xlsx 或 gpkg。",
                f"Layer {layer} has no geometry (it is a table) and cannot be written as "
                f"{name}; export it as csv, xlsx or gpkg.",
            )
        )
    if path.is_dir():
        raise OptionError(
            message(
                "export.out_is_folder",
                f"--out {path} 是一个文件夹；请给出文件名，如 {path / ('targets.' + name)}。",
                f"--out {path} is a folder; give a file name such as {path / ('targets.' + name)}.",
            )
        )
    renamed: dict[str, str] = {}
    encoding: str | None = None
    crs = frame.crs.to_string() if spatial and frame.crs is not None else ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        if name in ("csv", "xlsx"):
            if layer == "targets":
                table = clerk_table(frame, lang, department_names(rules))
                if name == "xlsx":
                    en = lang == "en"
                    degrees = (CLERK_HEADERS["lon"][en], CLERK_HEADERS["lat"][en])
                    write_target_sheet(table, path, lang, HEADERS["reasons"][en], degrees)
            elif spatial:
                table = pd.DataFrame(frame.drop(columns="geometry"))
                table["geometry_wkt"] = frame.geometry.to_wkt()
            else:
                table = frame
            if layer != "targets" or name == "csv":
                _write_table(table, path, name)
        elif name == "shp":
            renamed, encoding = _write_shapefile(frame, path)
        else:
            if layer == "targets":
                frame = labelled_targets(frame, lang, department_names(rules))
            if lonlat and frame.crs is not None:
                frame = frame.to_crs("EPSG:4326")
                crs = "EPSG:4326"
            if name == "kml" and layer == "targets":
                # Placemark labels and balloons in Google Earth and other KML viewers.
                frame = frame.assign(Name=frame["target_id"], Description=frame["reasons"])
            pyogrio.write_dataframe(frame, path, driver=driver)
    except (OSError, pyogrio.errors.DataSourceError) as exc:
        raise OptionError(
            message(
                "export.cannot_write",
                f"无法写入 {path}：{exc}；请换一个有写权限的位置。",
                f"Cannot write {path}: {exc}; choose a place you can write to.",
            )
        ) from exc
    ws.log(
        actor,
        "export",
        layer,
        {
            **(context or {}),
            "path": str(path),
            "format": name,
            "rows": len(frame),
            "lang": lang,
            "department": department,
            "village": village,
            "priorities": list(priorities) if priorities is not None else None,
        },
    )
    return ExportResult(layer, path, driver, len(frame), crs, renamed, encoding)
