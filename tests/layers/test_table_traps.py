"""CSV and XLSX files as real programs write them: byte order marks, huge fields, formulas."""

from __future__ import annotations

import codecs
import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest

from layers import read_layer
from layers.errors import SourceError
from layers.text_encoding import GB18030_BOM, detect_text_encoding

COMPLAINTS = (
    "举报编号,受理时间,举报内容,经度,纬度\n"
    "JB001,2025-03-04,后山有人盗伐杉木,112.41,24.81\n"
    "JB002,2025-03-05,河边采石,112.42,24.82\n"
)


def _csv(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "举报.csv"
    path.write_bytes(data)
    return path


# --- byte order marks ---------------------------------------------------------------------


def test_gb18030_bom_is_recognised():
    encoding, reason = detect_text_encoding(GB18030_BOM + "经度".encode("gb18030"))
    assert (encoding, reason.code) == ("gb18030", "encoding.gb18030_bom")


def test_gb18030_csv_starting_with_its_bom_imports(tmp_path):
    path = _csv(tmp_path, GB18030_BOM + COMPLAINTS.encode("gb18030"))
    gdf, report = read_layer(path, "complaints")
    assert gdf["complaint_id"].tolist() == ["JB001", "JB002"]
    assert gdf["description"].iloc[0] == "后山有人盗伐杉木"
    assert (report.encoding, report.encoding_reason.code) == ("GB18030", "encoding.gb18030_bom")


def test_utf8_bom_is_stripped_when_the_user_says_utf8(tmp_path):
    path = _csv(tmp_path, codecs.BOM_UTF8 + COMPLAINTS.encode("utf-8"))
    gdf, _ = read_layer(path, "complaints", encoding="utf-8")
    assert gdf["complaint_id"].tolist() == ["JB001", "JB002"]


def test_gb18030_bom_is_stripped_when_the_user_says_gbk(tmp_path):
    path = _csv(tmp_path, GB18030_BOM + COMPLAINTS.encode("gb18030"))
    gdf, _ = read_layer(path, "complaints", encoding="GBK")
    assert gdf["complaint_id"].tolist() == ["JB001", "JB002"]


def test_excel_unicode_text_utf16_with_tabs_imports(tmp_path):
    # Excel's "Unicode text" export: UTF-16 LE with its BOM, tab-separated, CRLF lines.
    text = COMPLAINTS.replace(",", "\t").replace("\n", "\r\n")
    path = _csv(tmp_path, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    gdf, report = read_layer(path, "complaints")
    assert gdf["complaint_id"].tolist() == ["JB001", "JB002"]
    assert report.encoding_reason.code == "encoding.utf16_bom"


@pytest.mark.parametrize("bom", [GB18030_BOM, codecs.BOM_UTF16_LE, codecs.BOM_UTF8])
def test_file_holding_only_a_bom_is_empty(tmp_path, bom):
    with pytest.raises(SourceError, match=r"举报\.csv is empty"):
        read_layer(_csv(tmp_path, bom), "complaints")


# --- fields of any size -------------------------------------------------------------------


def test_csv_field_over_the_csv_module_limit_is_imported_whole(tmp_path):
    limit = csv.field_size_limit()
    transcript = "来电人称后山有人盗伐杉木，" * 20_000  # 240,000 characters, quoted, with commas
    lines = COMPLAINTS.splitlines()
    lines[1] = f'JB001,2025-03-04,"{transcript},请核查",112.41,24.81'
    gdf, report = read_layer(_csv(tmp_path, "\n".join(lines).encode("utf-8")), "complaints")
    assert report.rows_imported == 2
    assert gdf["description"].iloc[0] == f"{transcript},请核查"
    assert csv.field_size_limit() == limit


# --- XLSX formulas ------------------------------------------------------------------------


def _problems_book(path: Path, formulas: int = 2) -> Path:
    """A problem list whose 面积 column is formulas, written without calculating them
    (as scripts and some exporters do)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "督查问题"
    sheet.append(["问题编号", "发现日期", "村名", "问题类别", "整改期限", "长", "宽", "面积"])
    for i in range(1, 13):
        row = i + 1
        area = f"=F{row}*G{row}" if i <= formulas else 6
        sheet.append([f"WT-{i}", "2025-03-01", "丰阳村", "盗伐滥伐林木", "2025-04-01", 2, 3, area])
    book.save(path)
    return path


def _patch_sheet(path: Path, old: bytes, new: bytes) -> None:
    """Rewrite the first worksheet's XML the way another program would have saved it."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    assert old in parts[member]
    parts[member] = parts[member].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def _warning(report, code: str = "table.uncalculated_formulas"):
    found = [w for w in report.warnings if w.code == code]
    return found[0] if found else None


def test_formula_cells_without_a_calculated_value_are_named_in_a_warning(tmp_path):
    _, report = read_layer(_problems_book(tmp_path / "p.xlsx"), "problems")
    warning = _warning(report)
    assert warning is not None
    assert "sheet '督查问题'" in warning.en
    assert "H2, H3 (2 in all)" in warning.en
    assert "Excel or WPS" in warning.en
    assert "H2, H3（共 2 个）" in warning.zh


def test_many_uncalculated_cells_show_the_first_ten_and_the_count(tmp_path):
    _, report = read_layer(_problems_book(tmp_path / "p.xlsx", formulas=12), "problems")
    warning = _warning(report)
    assert warning is not None
    assert "H2, H3, H4, H5, H6, H7, H8, H9, H10, H11 (12 in all)" in warning.en


def test_formula_cells_with_a_cached_value_are_read_by_it_without_warning(tmp_path):
    path = _problems_book(tmp_path / "p.xlsx", formulas=1)
    _patch_sheet(path, b"<f>F2*G2</f><v />", b"<f>F2*G2</f><v>6</v>")
    gdf, report = read_layer(path, "problems")
    assert _warning(report) is None
    assert str(gdf["面积"].iloc[0]) == "6"


def test_formula_whose_result_is_empty_text_is_not_uncalculated(tmp_path):
    path = _problems_book(tmp_path / "p.xlsx", formulas=1)
    _patch_sheet(path, b'<c r="H2"><f>F2*G2</f><v />', b'<c r="H2" t="str"><f>F2*G2</f><v></v>')
    _, report = read_layer(path, "problems")
    assert _warning(report) is None


def test_workbook_without_formulas_warns_nothing(tmp_path):
    _, report = read_layer(_problems_book(tmp_path / "p.xlsx", formulas=0), "problems")
    assert _warning(report) is None
