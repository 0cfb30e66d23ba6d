"""Exporting workspace layers to files other systems read.

GeoJSON and KML are written in lon/lat (EPSG:4326, as their specifications require);
GeoPackage and shapefile keep the workspace CRS; CSV gets WKT geometry in the workspace
CRS and a UTF-8 byte-order mark so that Excel opens Chinese text correctly. Every export
is written to the audit log (Art. 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyogrio

from geoservice.errors import OptionError, message
from geoservice.workspace import Workspace

FORMATS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    # format: (GDAL driver, written in lon/lat, file suffixes)
    "gpkg": ("GPKG", False, (".gpkg",)),
    "geojson": ("GeoJSON", True, (".geojson", ".json")),
    "kml": ("KML", True, (".kml",)),
    "shp": ("ESRI Shapefile", False, (".shp",)),
    "csv": ("CSV", False, (".csv",)),
}


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


@dataclass(frozen=True)
class ExportResult:
    layer: str
    path: Path
    driver: str
    rows: int
    crs: str
    renamed: dict[str, str] = field(default_factory=dict)


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


def export_layer(
    ws: Workspace, layer: str, path: str | Path, *, actor: str, fmt: str | None = None
) -> ExportResult:
    """Write one workspace layer to ``path``; the format follows the file suffix.

    Parameters
    ----------
    ws : Workspace
    layer : str
        A layer of the workspace (``parcels``, ``rejects_parcels``, ...).
    path : path-like
        Output file.
    fmt : {"gpkg", "geojson", "kml", "shp", "csv"}, optional
        Format; by default the one the suffix of ``path`` names. GeoJSON and KML are in
        lon/lat, the others in the workspace CRS; shapefile text is UTF-8 with a ``.cpg``
        and field names cut to 10 bytes (see ``ExportResult.renamed``).

    Returns
    -------
    ExportResult
    """
    path = Path(path)
    driver, lonlat, _suffixes = FORMATS[export_format(path, fmt)]
    frame = ws.read(layer)
    if lonlat and frame.crs is not None:
        frame = frame.to_crs("EPSG:4326")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    renamed: dict[str, str] = {}
    if driver == "ESRI Shapefile":
        renamed = shapefile_names([str(c) for c in frame.columns if c != "geometry"])
        frame = frame.rename(columns=renamed)
        pyogrio.write_dataframe(frame, path, driver=driver, encoding="UTF-8")
    elif driver == "CSV":
        options = {"GEOMETRY": "AS_WKT", "WRITE_BOM": "YES"}
        pyogrio.write_dataframe(frame, path, driver=driver, layer_options=options)
    else:
        pyogrio.write_dataframe(frame, path, driver=driver)
    crs = frame.crs.to_string() if frame.crs is not None else ""
    ws.log(actor, "export", layer, {"path": str(path), "driver": driver, "rows": len(frame)})
    return ExportResult(layer, path, driver, len(frame), crs, renamed)
