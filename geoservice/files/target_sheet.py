"""The target list as a sheet a clerk can print (XLSX).

A4 landscape, fitted to one page wide (as many pages tall as it takes), the header row
repeated on every printed page, frozen and filtered on screen, with page numbers in the
footer. Every cell is top-aligned and wrapped; the reasons column is wide and each row is
as tall as its longest text needs, so a 700-character reason prints in full. Cells that
look like formulas stay inert text (:mod:`geoservice.base.cells`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from geoservice.base.cells import xlsx_cells
from layers.messages import Lang, pick

__all__ = ["LINE_HEIGHT_PT", "MAX_ROW_HEIGHT_PT", "display_widths", "write_target_sheet"]

LINE_HEIGHT_PT = 15.0
MAX_ROW_HEIGHT_PT = 409.0  # the tallest row Excel allows
# Column widths in characters of a Latin font (a Chinese character takes two). The sum
# decides how far "fit to width" shrinks the print: about 250 keeps 21 columns at about
# 60 % on A4 landscape, where 11 pt text still prints at a readable 6.5 pt.
REASONS_WIDTH = 60
TEXT_MAX_WIDTH = 10
MIN_WIDTH = 6
LONLAT_FORMAT = "0.000000"
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEAD = Alignment(wrap_text=True, vertical="center", horizontal="center")


def display_widths(values: pd.Series) -> np.ndarray:
    """Printed width of each text in ``values``, counting a Chinese (wide) character as
    two (missing as 0). Returns an integer array aligned to ``values``."""
    text = values.astype("string").fillna("")
    wide = text.str.count(r"[^\x00-\xff]")
    return (text.str.len() + wide).to_numpy(dtype=np.int64)


def _widths(table: pd.DataFrame, reasons: str | None) -> list[float]:
    """Column widths: the reasons wide, numbers as wide as their longest value (they do
    not wrap), text up to :data:`TEXT_MAX_WIDTH` (longer text wraps); headers wrap."""
    widths: list[float] = []
    for col in table.columns:
        if col == reasons:
            widths.append(_reasons_width(table[col]))
            continue
        values = table[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            values = values.astype(str)  # as stored: rounded where the table rounds
            longest = int(display_widths(values).max(initial=0))
        else:
            longest = min(int(display_widths(values).max(initial=0)), TEXT_MAX_WIDTH)
        widths.append(float(max(longest, MIN_WIDTH) + 2))
    return widths


def _reasons_width(values: pd.Series) -> float:
    """:data:`REASONS_WIDTH`, or wider when the longest reason would need a row taller
    than Excel allows (:data:`MAX_ROW_HEIGHT_PT`) and so be cut off in print."""
    lines = int(MAX_ROW_HEIGHT_PT // LINE_HEIGHT_PT)
    longest = int(display_widths(values).max(initial=0))
    return float(max(REASONS_WIDTH, int(np.ceil(longest / lines)) + 1))


def _header_height(table: pd.DataFrame, widths: list[float]) -> float:
    """Points for the header row: its longest wrapped header, at least two lines."""
    heads = pd.Series([str(c) for c in table.columns])
    usable = np.maximum(np.asarray(widths) - 1.0, 1.0)
    lines = np.ceil(display_widths(heads) / usable).max(initial=1.0)
    return float(max(lines, 2.0) * LINE_HEIGHT_PT)


def _row_heights(table: pd.DataFrame, widths: list[float]) -> np.ndarray:
    """Points per data row: lines of its tallest wrapped cell x :data:`LINE_HEIGHT_PT`."""
    lines = np.ones(len(table), dtype=np.int64)
    for col, width in zip(table.columns, widths, strict=True):
        usable = max(width - 1.0, 1.0)
        lines = np.maximum(lines, np.ceil(display_widths(table[col]) / usable).astype(np.int64))
    return np.minimum(lines * LINE_HEIGHT_PT, MAX_ROW_HEIGHT_PT)


def _print_setup(sheet: Worksheet, lang: Lang) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    sheet.print_options.gridLines = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = pick(lang, "第 &P 页，共 &N 页", "Page &P of &N")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def write_target_sheet(
    table: pd.DataFrame,
    path: Path,
    lang: Lang,
    reasons: str | None,
    lonlat: tuple[str, ...] = (),
) -> None:
    """Write the target ``table`` (one row per target, headers in ``lang``) to ``path``.

    Parameters
    ----------
    table : DataFrame
        The clerk's table (:func:`geoservice.files.target_columns.clerk_table`).
    path : Path
        The ``.xlsx`` file to write.
    lang : {"zh", "en"}
        Language of the sheet name and the page footer.
    reasons : str or None
        Header of the reasons column, which gets the wide wrapped column.
    lonlat : tuple of str
        Headers of the longitude and latitude columns, shown with all 6 decimals.
    """
    name = pick(lang, "联合执法目标", "targets")
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name=name)
        sheet = writer.sheets[name]
        xlsx_cells(sheet, table)
        widths = _widths(table, reasons)
        for i, width in enumerate(widths, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = width
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        for cell in sheet[1]:
            cell.font, cell.fill, cell.alignment = bold, fill, _HEAD
        sheet.row_dimensions[1].height = _header_height(table, widths)
        degrees = {i for i, col in enumerate(table.columns) if col in lonlat}
        for row in sheet.iter_rows(min_row=2, max_row=len(table) + 1):
            for i, cell in enumerate(row):
                cell.alignment = _WRAP
                if i in degrees:
                    cell.number_format = LONLAT_FORMAT
        for i, height in enumerate(_row_heights(table, widths), start=2):
            sheet.row_dimensions[i].height = float(height)
        _print_setup(sheet, lang)
