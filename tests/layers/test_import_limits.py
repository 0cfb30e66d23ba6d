"""Row and cell limits of CSV/XLSX imports, counted before the file is read."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from layers import read_layer
from layers.errors import SourceError
from layers.table_limits import TableLimits, csv_line_count, xlsx_sheet_size

HEADER = "举报编号,受理时间,举报内容,经度,纬度\n"


def complaint_lines(n: int) -> str:
    return "".join(f"JB{i:03d},2025-03-04,后山有人盗伐杉木,112.41,24.81\n" for i in range(n))


def write_csv(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "举报.csv"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: int, columns: int = 5, title: str | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(["举报编号", "受理时间", "举报内容", "经度", "纬度"][:columns])
    for i in range(rows):
        sheet.append([f"JB{i:03d}", "2025-03-04", "河边采石", 112.42, 24.82][:columns])
    path = tmp_path / "举报.xlsx"
    book.save(path)
    return path


def with_dimension(path: Path, ref: str) -> Path:
    """The workbook with its first sheet's ``<dimension ref>`` replaced (what formatting
    a whole column does)."""
    out = path.with_name("formatted.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            dst.writestr(item, data)
    return out


# --- CSV ----------------------------------------------------------------------------------


def test_a_csv_over_the_row_limit_is_refused_naming_rows_limit_and_fix(tmp_path):
    path = write_csv(tmp_path, HEADER + complaint_lines(5))
    with pytest.raises(SourceError, match=r"has 6 rows, over the import limit of 5 .*split"):
        read_layer(path, "complaints", table_limits=TableLimits(rows=5))


def test_the_row_refusal_names_the_setting_in_both_languages(tmp_path):
    path = write_csv(tmp_path, HEADER + complaint_lines(5))
    with pytest.raises(SourceError, match="GEOSERVICE_MAX_IMPORT_ROWS") as caught:
        read_layer(path, "complaints", table_limits=TableLimits(rows=5))
    assert "6 行，超过导入上限 5 行" in caught.value.message.zh
    assert caught.value.code == "table.too_many_rows"


def test_a_csv_at_the_row_limit_is_read(tmp_path):
    path = write_csv(tmp_path, HEADER + complaint_lines(5))
    gdf, report = read_layer(path, "complaints", table_limits=TableLimits(rows=6))
    assert (len(gdf), report.rows_read) == (5, 5)


def test_a_csv_without_a_final_line_end_counts_its_last_line(tmp_path):
    path = write_csv(tmp_path, (HEADER + complaint_lines(2)).rstrip("\n"))
    assert csv_line_count(path) == 3


def test_an_empty_csv_has_no_lines(tmp_path):
    assert csv_line_count(write_csv(tmp_path, "")) == 0


def test_utf16_line_ends_are_counted_as_characters_not_bytes(tmp_path):
    # 上 is U+4E0A: in UTF-16LE its low byte is 0x0A, a line end when counted as bytes.
    text = "\ufeff" + HEADER + "JB001,2025-03-04,上山砍树上上下下,112.41,24.81\n"
    path = write_csv(tmp_path, text, "utf-16-le")
    assert csv_line_count(path) == 2


def test_a_gb18030_csv_is_counted_by_its_line_ends(tmp_path):
    path = write_csv(tmp_path, HEADER + complaint_lines(3), "gb18030")
    assert csv_line_count(path) == 4


# --- XLSX ---------------------------------------------------------------------------------


def test_an_xlsx_over_the_row_limit_is_refused(tmp_path):
    path = write_xlsx(tmp_path, rows=10)
    with pytest.raises(SourceError, match=r"has 11 rows, over the import limit of 10"):
        read_layer(path, "complaints", table_limits=TableLimits(rows=10))


def test_an_xlsx_at_the_row_limit_is_read(tmp_path):
    path = write_xlsx(tmp_path, rows=10)
    gdf, _report = read_layer(path, "complaints", table_limits=TableLimits(rows=11))
    assert len(gdf) == 10


def test_an_xlsx_over_the_cell_limit_is_refused(tmp_path):
    path = write_xlsx(tmp_path, rows=10)
    with pytest.raises(SourceError, match=r"has 55 cells, over the import limit of 54 .*CELLS"):
        read_layer(path, "complaints", table_limits=TableLimits(cells=54))


def test_the_sheet_is_counted_by_its_rows_not_its_claimed_dimension(tmp_path):
    path = with_dimension(write_xlsx(tmp_path, rows=3), "A1:Z1048576")
    assert xlsx_sheet_size(path, None)[1:] == (4, 20)
    gdf, _report = read_layer(path, "complaints", table_limits=TableLimits(rows=10))
    assert len(gdf) == 3


def test_title_rows_count_towards_the_limit(tmp_path):
    path = write_xlsx(tmp_path, rows=3, title="2025年举报登记表")
    assert xlsx_sheet_size(path, None)[1] == 5


def test_rows_are_counted_across_read_blocks(tmp_path, monkeypatch):
    import layers.table_limits as limits

    monkeypatch.setattr(limits, "_BLOCK", 7)  # tags cut between blocks
    path = write_xlsx(tmp_path, rows=25)
    assert xlsx_sheet_size(path, None)[1:] == (26, 130)


def test_a_named_sheet_is_counted_not_the_first(tmp_path):
    path = write_xlsx(tmp_path, rows=2)
    book = openpyxl.load_workbook(path)
    other = book.create_sheet("问题清单")
    for i in range(6):
        other.append([i, "x"])
    book.save(path)
    assert xlsx_sheet_size(path, "问题清单") == ("问题清单", 6, 12)


def test_a_sheet_written_with_a_namespace_prefix_is_counted(tmp_path):
    path = write_xlsx(tmp_path, rows=4)
    out = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<(/?)(\w+)([\s>/])", rb"<\1x:\2\3", data)
                data = data.replace(b' xmlns="', b' xmlns:x="', 1)
                assert b"<x:row " in data and b"<row " not in data
            dst.writestr(item, data)
    assert xlsx_sheet_size(out, None)[1:] == (5, 25)
