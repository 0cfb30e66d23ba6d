"""Reading spreadsheet tables (CSV, XLSX) past the traps real files carry.

- A CSV field longer than Python's ``csv.field_size_limit()`` (128 KiB: a long complaint
  transcript, a pasted photo as base64) stops pandas' python engine, which sniffs the
  delimiter, with "field larger than field limit". :func:`read_csv_cells` lifts the limit
  for the read and restores it after.
- An XLSX formula cell is read by the value the writing program calculated and cached in
  the file. A program that writes formulas without calculating them (scripts, some
  exporters) leaves no cached value, and the cell reads as empty.
  :func:`uncalculated_formula_cells` finds such cells in the sheet's XML, and
  :func:`uncalculated_formulas_message` says which and how to fix it.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd

from layers.messages import Message

__all__ = ["read_csv_cells", "uncalculated_formula_cells", "uncalculated_formulas_message"]

# Largest value csv.field_size_limit accepts everywhere (a C long is 32 bits on Windows).
_NO_FIELD_LIMIT = 2**31 - 1
_FIELD_LIMIT_LOCK = threading.Lock()

_SHOWN_CELLS = 10

# A cell (any namespace prefix) whose formula is followed by no value or an empty one:
# groups are the cell's attributes and the value element, if any. The attributes are
# looked into only for these cells, so a sheet of calculated formulas costs one scan.
_UNCALCULATED = re.compile(
    rb"<(?:c|\w+:c)\b([^>]*)>\s*"
    rb"<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*"
    rb"</(?:\w+:)?c>"
)
_REF_AND_TYPE = r'^(?=.*\br="([A-Za-z]+[0-9]+)")?(?=.*\bt="(\w+)")?'


# --- CSV ----------------------------------------------------------------------------------


@contextmanager
def _unlimited_csv_fields() -> Iterator[None]:
    """Lift ``csv.field_size_limit`` (process-wide) for the block; restored after it.

    The lock keeps two reads in threads of one process from restoring each other's
    limit in the wrong order.
    """
    with _FIELD_LIMIT_LOCK:
        before = csv.field_size_limit(_NO_FIELD_LIMIT)
        try:
            yield
        finally:
            csv.field_size_limit(before)


def read_csv_cells(text: str) -> pd.DataFrame:
    """Every cell of a decoded CSV as text, without a header, fields of any length.

    The delimiter is sniffed from the first line (comma, tab, semicolon...); when it
    cannot be, comma is used. Blank lines are kept as rows of empty cells, so row
    numbers stay those of the file.

    Parameters
    ----------
    text : str
        The whole file, decoded, without its byte order mark.

    Returns
    -------
    pandas.DataFrame
        Columns 0..n-1, cells as ``str`` (``""`` for empty).
    """
    options = {"dtype": str, "header": None, "keep_default_na": False, "skip_blank_lines": False}
    try:
        with _unlimited_csv_fields():
            return pd.read_csv(io.StringIO(text), sep=None, engine="python", **options)
    except csv.Error:
        # No delimiter could be sniffed (one column); the C engine has no field limit.
        return pd.read_csv(io.StringIO(text), **options)


# --- XLSX formulas without a cached value -------------------------------------------------


def uncalculated_formula_cells(path: Path, sheet: str | None) -> tuple[str, list[str]]:
    """The formula cells of a worksheet that carry no calculated value.

    A formula cell keeps the value last calculated beside its formula; a program that
    never calculated it leaves the value out (or empty), and the cell reads as empty. A
    formula whose calculated result is the empty text (``t="str"`` with an empty value,
    as ``=IF(A2="","",A2)`` gives) is not counted.

    Parameters
    ----------
    path : Path
        The ``.xlsx`` / ``.xlsm`` workbook.
    sheet : str or None
        The worksheet's title; the first worksheet when None.

    Returns
    -------
    (str, list of str)
        The sheet's title and the references of the cells (``"D5"``) in sheet order.
    """
    with zipfile.ZipFile(path) as book:
        title, member = _worksheet_member(book, sheet)
        xml = book.read(member) if member else b""
    has_formula = b"<f" in xml or b":f>" in xml or b":f " in xml
    found = _UNCALCULATED.findall(xml) if has_formula else []
    if not found:
        return title, []
    cells = pd.DataFrame(found, columns=["attributes", "value"])
    parts = cells["attributes"].str.decode("utf-8").str.extract(_REF_AND_TYPE)
    empty_text = parts[1].eq("str").to_numpy() & (cells["value"] != b"").to_numpy()
    return title, parts.loc[~empty_text, 0].fillna("").tolist()


def uncalculated_formulas_message(source: str, sheet: str, cells: list[str]) -> Message:
    """The warning for formula cells without a calculated value (see above)."""
    shown = ", ".join(c or "?" for c in cells[:_SHOWN_CELLS])
    return Message(
        "table.uncalculated_formulas",
        f"{source} 的工作表“{sheet}”中有公式单元格没有计算结果：{shown}（共 {len(cells)} 个），"
        "这些单元格按空值读取。该文件由未计算公式的程序生成；请用 Excel 或 WPS 打开并保存"
        "（保存时会计算公式），再重新导入。",
        f"In {source}, sheet '{sheet}' has formula cells without a calculated value: {shown}"
        f" ({len(cells)} in all); they were read as empty. The file was written by a program"
        " that never calculated its formulas: open it in Excel or WPS and save it (saving"
        " calculates them), then import it again.",
    )


def _local(tag: str) -> str:
    """An XML name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _relationships(book: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, member name) of a package part (``""`` for the package)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    out: dict[str, tuple[str, str]] = {}
    for rel in ElementTree.fromstring(book.read(rels)).iter():
        target = rel.get("Target")
        if _local(rel.tag) != "Relationship" or target is None:
            continue
        member = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(member))
    return out


def _worksheet_member(book: zipfile.ZipFile, sheet: str | None) -> tuple[str, str]:
    """(title, member name) of the worksheet ``sheet`` (the first one when None).

    The member is ``""`` when the package does not say where the sheet is (a workbook
    that pandas read anyway); there is then nothing to check.
    """
    workbooks = [m for k, m in _relationships(book, "").values() if k.endswith("/officeDocument")]
    if not workbooks:
        return sheet or "", ""
    workbook = workbooks[0]
    rels = _relationships(book, workbook)
    sheets: list[tuple[str, str]] = []
    for node in ElementTree.fromstring(book.read(workbook)).iter():
        if _local(node.tag) != "sheet":
            continue
        rid = next((v for k, v in node.attrib.items() if _local(k) == "id"), "")
        kind, member = rels.get(rid, ("", ""))
        if kind.endswith("/worksheet"):
            sheets.append((node.get("name", ""), member))
    chosen = [s for s in sheets if sheet is None or s[0] == sheet][:1]
    return chosen[0] if chosen else (sheet or "", "")
