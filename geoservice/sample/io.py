"""Byte-exact writers for the sample files: dBASE tables, shapefiles, CSV and XLSX.

Each writer fixes everything that would otherwise vary between runs (the DBF last-update
date, XLSX document times and ZIP entry times), so the same data give the same bytes.
The DBF is written here rather than by GDAL to control exactly what real survey files show:
field widths, the code-page byte (LDID) and the text encoding.
"""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from numpy.typing import NDArray

#: Standard ESRI .prj texts (as ArcGIS and GDAL write them).
PRJ_CGCS2000_GK_CM_111E = (
    'PROJCS["CGCS2000_3_Degree_GK_CM_111E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",111.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
PRJ_CGCS2000_GK_ZONE_37 = (
    'PROJCS["CGCS2000_3_Degree_GK_Zone_37",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
    'PARAMETER["False_Easting",37500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",111.0],PARAMETER["Scale_Factor",1.0],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)

#: ZIP entry time of the XLSX parts and the workbook's created/modified time.
XLSX_TIME = dt.datetime(2026, 11, 27, 17, 30, 0)


@dataclass(frozen=True)
class DbfField:
    """One dBASE III field: ``C`` (text, ``width`` bytes) or ``N`` (number, right-aligned)."""

    name: str
    kind: Literal["C", "N"]
    width: int
    decimals: int = 0


def _text_column(values: Any, width: int, encoding: str, name: str) -> NDArray[np.bytes_]:
    """Encode text values once per distinct value and pad them with spaces to ``width``."""
    s = pd.Series(values, dtype=object).fillna("").astype(str).to_numpy()
    uniq, inv = np.unique(s, return_inverse=True)
    enc = [u.encode(encoding) for u in uniq]  # once per distinct value
    too_long = [u for u, e in zip(uniq, enc, strict=True) if len(e) > width]
    if too_long:
        raise ValueError(f"field {name}: {too_long[0]!r} is longer than {width} bytes")
    padded = np.array([e.ljust(width, b" ") for e in enc], dtype=f"S{width}")
    return padded[inv]


def _number_column(values: Any, width: int, decimals: int, name: str) -> NDArray[np.bytes_]:
    """Format numbers right-aligned in ``width`` characters; NaN becomes blanks."""
    v = np.asarray(values, dtype=float)
    text = np.char.mod(f"%{width}.{decimals}f", np.nan_to_num(v))
    if (np.char.str_len(text) > width).any():
        raise ValueError(f"field {name}: a value does not fit in {width} characters")
    out = text.astype(f"S{width}")
    out[np.isnan(v)] = b" " * width
    return out


def _field_name(name: str, encoding: str) -> bytes:
    """A field name in the table's encoding: ArcGIS and QGIS write Chinese names so, cut to
    the 10 bytes dBASE allows (``后期影像时间`` becomes ``后期影像时`` in GBK)."""
    raw = name.encode(encoding)
    if len(raw) > 10:
        raise ValueError(f"DBF field name {name!r} is {len(raw)} bytes in {encoding}; at most 10")
    return raw


def write_dbf(
    path: Path,
    fields: Sequence[DbfField],
    columns: Mapping[str, Any],
    encoding: str,
    ldid: int,
    updated: dt.date,
) -> None:
    """Write a dBASE III table.

    Parameters
    ----------
    fields : sequence of DbfField
        Field definitions, in order; ``columns[f.name]`` holds each field's values.
    encoding : str
        Python codec of the text fields (e.g. ``"gbk"``, ``"utf-8"``).
    ldid : int
        The language driver id written at header byte 29 (0x00 none, 0x4D GBK, 0x57 ANSI).
    updated : datetime.date
        The "last update" date of the header, fixed so the bytes are reproducible.
    """
    n = len(columns[fields[0].name])
    dtype = np.dtype([("_del", "S1")] + [(f.name, f"S{f.width}") for f in fields])
    rec = np.zeros(n, dtype=dtype)
    rec["_del"] = b" "
    for f in fields:
        if f.kind == "C":
            rec[f.name] = _text_column(columns[f.name], f.width, encoding, f.name)
        else:
            rec[f.name] = _number_column(columns[f.name], f.width, f.decimals, f.name)
    header_len = 32 + 32 * len(fields) + 1
    head = struct.pack(
        "<BBBBIHH20s",
        0x03,
        updated.year - 1900,
        updated.month,
        updated.day,
        n,
        header_len,
        dtype.itemsize,
        bytes(17) + bytes([ldid]) + bytes(2),
    )
    descs = b"".join(
        struct.pack(
            "<11sc4xBB14x",
            _field_name(f.name, encoding),
            f.kind.encode("ascii"),
            f.width,
            f.decimals,
        )
        for f in fields
    )
    path.write_bytes(head + descs + b"\r" + rec.tobytes() + b"\x1a")


def write_shapefile(
    path: Path,
    geoms: Any,
    fields: Sequence[DbfField],
    columns: Mapping[str, Any],
    *,
    encoding: str,
    ldid: int,
    cpg: str | None,
    prj: str,
    epsg: int,
    updated: dt.date,
) -> Path:
    """Write ``path`` (.shp) with its .shx, .dbf, .prj and, if ``cpg`` is given, .cpg.

    Geometry goes through GDAL (ring orientation, multi-part polygons); the table, the .prj
    and the .cpg are then written byte-exactly by this module.
    """
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object)), crs=epsg)
    for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        path.with_suffix(suffix).unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile")
    write_dbf(path.with_suffix(".dbf"), fields, columns, encoding, ldid, updated)
    path.with_suffix(".prj").write_text(prj, encoding="ascii")
    cpg_path = path.with_suffix(".cpg")
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    else:
        cpg_path.write_text(cpg, encoding="ascii")
    return path


def write_csv(path: Path, table: pd.DataFrame, encoding: str) -> Path:
    """Write ``table`` as CSV in ``encoding`` with Windows line endings.

    No byte order mark, except that ``utf-8-sig`` writes the UTF-8 one (as Excel's
    "CSV UTF-8" and many web exports do).
    """
    table.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n")
    return path


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile whose entries all carry the same timestamp."""

    def writestr(
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: Any, *args: Any, **kwargs: Any
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=XLSX_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(  # type: ignore[override]
        self, filename: str | Path, arcname: str | None = None, *args: Any, **kwargs: Any
    ) -> None:
        """Store a file's bytes under the fixed timestamp (not the file's mtime)."""
        name = arcname if arcname is not None else Path(filename).name
        self.writestr(name, Path(filename).read_bytes())


def write_xlsx(
    path: Path, sheet: str, table: pd.DataFrame, widths: Mapping[str, float] | None = None
) -> Path:
    """Write ``table`` to one sheet; ``datetime.date`` values become Excel date cells.

    Document properties and ZIP entry times are fixed (:data:`XLSX_TIME`).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(table.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.itertuples(index=False, name=None):  # one call per row of a short sheet
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
    for col in ws.iter_cols(min_row=2):
        for cell in col:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    from openpyxl.utils import get_column_letter

    for i, name in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(name, 14)
    ws.freeze_panes = "A2"
    wb.properties.creator = "林长办"
    wb.properties.lastModifiedBy = "林长办"
    wb.properties.created = XLSX_TIME
    wb.properties.modified = XLSX_TIME
    path.unlink(missing_ok=True)
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    return path
