"""How large a CSV or XLSX may be before it is read, counted without reading it whole.

pandas holds every cell of a sheet as a Python object: a department's 300,000-row XLSX
took 78 s and 460 MB. :func:`check_table_size` counts the rows (and, for XLSX, the cells)
by streaming the file — the sheet's XML straight out of the zip, the CSV's bytes in
blocks — and refuses a file over :class:`TableLimits` with the count, the limit and the
fix, before pandas sees it.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from layers.errors import SourceError
from layers.messages import Message
from layers.sources import Source
from layers.tables import _worksheet_member

__all__ = ["TableLimits", "check_table_size", "csv_line_count", "xlsx_sheet_size"]

_BLOCK = 1 << 20
# The worksheet's root element and its namespace prefix, if any (``<x:worksheet ...>``).
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
_TAIL = 64  # longer than any start tag counted: a tag cut between two blocks counts once
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class TableLimits:
    """Largest CSV/XLSX accepted for import.

    Attributes
    ----------
    rows : int
        Rows of an XLSX sheet, lines of a CSV (header and title rows included). A county's
        小班 (sub-compartment) layer has about 200,000.
    cells : int
        Cells written in an XLSX sheet.
    """

    rows: int = 1_000_000
    cells: int = 20_000_000


def _tags(prefix: bytes, name: bytes) -> tuple[bytes, ...]:
    """The ways spreadsheet writers begin a start tag ``<prefix:name`` (a space, ``>`` or
    ``/``; a line break inside a tag is legal XML that no writer produces)."""
    return tuple(b"<" + prefix + name + end for end in (b" ", b">", b"/"))


def _count(data: bytes, tags: tuple[bytes, ...], carried: int) -> int:
    """Start tags in ``data`` that end past its first ``carried`` bytes (already seen)."""
    return sum(data.count(tag, max(carried - len(tag) + 1, 0)) for tag in tags)


def xlsx_sheet_size(path: Path, sheet: str | None) -> tuple[str, int, int]:
    """(title, rows, cells) of a worksheet, counted from its XML as it is decompressed.

    Rows are the ``<row>`` elements and cells the ``<c>`` elements the file holds (a
    styled empty cell counts), with the namespace prefix the sheet's root uses
    (``<x:row>``); the sheet's ``<dimension>`` is not trusted, as formatting a whole
    column makes it claim a million rows. (0, 0) when the workbook does not say where
    the sheet is.
    """
    rows = cells = 0
    with zipfile.ZipFile(path) as book:
        title, member = _worksheet_member(book, sheet)
        if not member or member not in book.namelist():
            return title, 0, 0
        with book.open(member) as xml:
            block = xml.read(_BLOCK)
            root = _ROOT.search(block)
            prefix = root.group(1) or b"" if root else b""
            row_tags, cell_tags = _tags(prefix, b"row"), _tags(prefix, b"c")
            tail = b""
            while block:
                data = tail + block
                rows += _count(data, row_tags, len(tail))
                cells += _count(data, cell_tags, len(tail))
                tail = data[-_TAIL:]
                block = xml.read(_BLOCK)
    return title, rows, cells


def csv_line_count(path: Path) -> int:
    """Lines of a text file, read in blocks (UTF-16/32 with a byte order mark decoded, so a
    ``0x0A`` byte inside a character is not taken for a line end)."""
    lines, last = 0, ""
    with path.open("rb") as stream:
        head = stream.read(4)
        encoding = next((enc for bom, enc in _BOMS if head.startswith(bom)), None)
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)("replace") if encoding else None
        while block := stream.read(_BLOCK):
            if decoder is None:
                lines, last = lines + block.count(b"\n"), block[-1:].decode("latin-1")
                continue
            text = decoder.decode(block)
            lines, last = lines + text.count("\n"), text[-1:] or last
    return lines + (1 if last not in ("", "\n") else 0)


def _too_many(name: str, found: int, limit: int, what: tuple[str, str], setting: str) -> Message:
    return Message(
        f"table.too_many_{what[1]}",
        f"{name} 有 {found:,} {what[0]}，超过导入上限 {limit:,} {what[0]}（{setting}）；"
        "请把文件拆成几个较小的文件分别导入（后续部分用追加模式），或调高该设置。",
        f"{name} has {found:,} {what[1]}, over the import limit of {limit:,} ({setting}); "
        "split the file into smaller ones and import them one by one (the later ones in "
        "append mode), or raise the setting.",
    )


def check_table_size(source: Source, limits: TableLimits) -> None:
    """SourceError when the CSV or XLSX ``source`` is over ``limits``; nothing is read whole.

    Raises
    ------
    layers.errors.SourceError
        Naming the rows (cells) found, the limit, its setting and the fix.
    """
    rows_setting, cells_setting = "GEOSERVICE_MAX_IMPORT_ROWS", "GEOSERVICE_MAX_IMPORT_CELLS"
    if source.format == "csv":
        rows, cells = csv_line_count(source.path), 0
    else:
        _title, rows, cells = xlsx_sheet_size(source.path, source.layer)
    if rows > limits.rows:
        raise SourceError(_too_many(source.name, rows, limits.rows, ("行", "rows"), rows_setting))
    if cells > limits.cells:
        raise SourceError(
            _too_many(source.name, cells, limits.cells, ("个单元格", "cells"), cells_setting)
        )
