"""CSV and XLSX sheets as tables of text cells, and their coordinate columns as points.

Real spreadsheets carry title rows above the header, numbers typed in every way people type
them (full-width digits, decimal commas, degrees-minutes-seconds) and formulas that were
never calculated; see :func:`read_table` and :func:`points_from_table`.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.aliases import ALIASES, COORDINATE_PAIRS, find_coordinate_columns, fold
from layers.errors import EncodingError, SchemaError, SourceError
from layers.messages import Message
from layers.report import ImportReport
from layers.sources import Source
from layers.table_limits import TableLimits, check_table_size
from layers.tables import (
    read_csv_cells,
    uncalculated_formula_cells,
    uncalculated_formulas_message,
)
from layers.text_encoding import detect_text_encoding

# The 1-based row of the source file each record came from (never shown to users).
ROW = "source_row"


def _known_header_names() -> set[str]:
    names = {fold(a) for table in ALIASES.values() for aliases in table.values() for a in aliases}
    names |= {fold(n) for pair in COORDINATE_PAIRS for n in pair}
    return names


def _header_row(cells: pd.DataFrame) -> int:
    """Index of the header row among the first rows: the one naming most known fields.

    Real spreadsheets often carry a title row (e.g. “2025年举报登记表”) above the header.
    """
    known = _known_header_names()
    head = cells.head(10).astype("string")
    hits = head.apply(lambda row: sum(fold(v) in known for v in row.dropna()), axis=1)
    return int(hits.idxmax()) if len(hits) and hits.max() > 0 else 0


def _decode_csv(data: bytes, source: Source, encoding: str | None, report: ImportReport) -> str:
    """The text of a CSV without its byte order mark (UTF-8, GB18030, UTF-16 or UTF-32)."""
    enc, reason = detect_text_encoding(data, encoding)
    report.encoding, report.encoding_reason = enc.upper(), reason
    try:
        # GB18030 (and a user-given UTF-8) decode the BOM to U+FEFF: it is not text.
        text = data.decode(enc).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            Message(
                "encoding.csv_decode",
                f"{source.name} 无法按 {enc} 解码（第 {exc.start} 字节：{data[exc.start : exc.start + 4]!r}）；"
                "请去掉 --encoding 让系统自动判断，或改用 --encoding GB18030。",
                f"{source.name} cannot be decoded as {enc} (byte {exc.start}: "
                f"{data[exc.start : exc.start + 4]!r}); leave out --encoding to detect it, or "
                "pass --encoding GB18030.",
            )
        ) from exc
    if not text.strip():
        raise SourceError(
            Message(
                "table.empty_file",
                f"{source.name} 是空文件，没有任何内容；请检查导出是否成功。",
                f"{source.name} is empty; check that it was exported completely.",
            )
        )
    return text


def read_table(
    source: Source,
    encoding: str | None,
    report: ImportReport,
    limits: TableLimits | None = None,
) -> pd.DataFrame:
    """Read a CSV or XLSX sheet as text cells, finding the header row.

    Returns the data rows with their 1-based line/row number in the file in ``source_row``;
    rows that are blank in every cell are skipped (they are not records). A file over
    ``limits`` (default :class:`~layers.table_limits.TableLimits`) is refused with a
    SourceError before it is read.
    """
    check_table_size(source, limits or TableLimits())
    if source.format == "csv":
        cells = read_csv_cells(_decode_csv(source.path.read_bytes(), source, encoding, report))
    else:
        report.encoding = "UTF-8"
        report.encoding_reason = Message(
            "encoding.format", "xlsx 格式规定为 UTF-8", "xlsx is UTF-8 by definition"
        )
        cells = pd.read_excel(source.path, sheet_name=source.layer or 0, dtype=object, header=None)
        _warn_uncalculated(source, report)
    header = _header_row(cells)
    names = [
        str(v).strip() if pd.notna(v) and str(v).strip() else f"列{i + 1}"
        for i, v in enumerate(cells.iloc[header] if len(cells) else [])
    ]
    table = cells.iloc[header + 1 :].copy()
    table.columns = names
    table[ROW] = table.index.to_numpy() + 1
    text_cells = table.drop(columns=ROW).astype("string").apply(lambda s: s.str.strip())
    blank = text_cells.fillna("").eq("").all(axis=1)
    empty_cols = [c for c in names if c.startswith("列") and text_cells[c].fillna("").eq("").all()]
    table = table.drop(columns=empty_cols)
    if header > 0:
        report.warn(
            Message(
                "table.title_rows",
                f"表头在第 {header + 1} 行，其上的 {header} 行（标题等）未作为数据读取。",
                f"The header is on row {header + 1}; the {header} row(s) above it (a title) "
                "were not read as data.",
            )
        )
    return table.loc[~blank.to_numpy()].reset_index(drop=True)


def _warn_uncalculated(source: Source, report: ImportReport) -> None:
    """Warn about formula cells of the sheet read that hold no calculated value."""
    sheet, cells = uncalculated_formula_cells(source.path, source.layer)
    if cells:
        report.warn(uncalculated_formulas_message(source.name, sheet, cells))


_DMS = re.compile(
    r"^\s*(?P<d>\d+(?:\.\d+)?)\s*[°度]\s*(?:(?P<m>\d+(?:\.\d+)?)\s*['′分])?"
    r"\s*(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|''|′′|秒))?\s*(?P<h>[NSEW东西南北])?\s*$"
)


def parse_coordinate(values: pd.Series) -> pd.Series:
    """Coordinates as numbers, from the ways people type them.

    Accepts plain numbers, full-width digits (１１２．４５), a decimal comma (112,45) and
    degrees-minutes-seconds (112°27'00"E, 112度27分0秒). Anything else is ``<NA>``.
    """
    text = values.astype("string").str.normalize("NFKC").str.strip()
    comma = text.str.fullmatch(r"-?\d+,\d+").fillna(False).astype(bool)
    text = text.mask(comma, text.str.replace(",", ".", regex=False))
    number = pd.to_numeric(text, errors="coerce").astype("Float64")
    todo = number.isna() & text.notna()
    if todo.any():
        parts = text[todo].str.extract(_DMS)
        deg = pd.to_numeric(parts["d"], errors="coerce")
        value = (
            deg
            + pd.to_numeric(parts["m"], errors="coerce").fillna(0) / 60
            + pd.to_numeric(parts["s"], errors="coerce").fillna(0) / 3600
        )
        value = value.where(~parts["h"].isin(["S", "W", "南", "西"]), -value)
        number = number.mask(todo, value.astype("Float64"))
    return number


def points_from_table(table: pd.DataFrame, optional: bool) -> gpd.GeoDataFrame:
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
    x = parse_coordinate(table[pair[0]])
    y = parse_coordinate(table[pair[1]])
    ok = (x.notna() & y.notna()).to_numpy()
    pts = np.full(len(table), None, dtype=object)
    pts[ok] = shapely.points(x[ok].to_numpy(float), y[ok].to_numpy(float))
    gdf = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(pts, index=table.index))
    gdf.attrs["coordinate_columns"] = pair
    gdf.attrs["missing_coordinates"] = ~ok
    return gdf


__all__ = ["ROW", "parse_coordinate", "points_from_table", "read_table"]
