from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.encoding import (
    UTF8_TRUNCATED_CODE,
    detect_shapefile_encoding,
    repair_truncated_utf8,
)
from layers.errors import EncodingError, SourceError
from layers.text_encoding import detect_text_encoding

TOWNS = ["丰阳镇", "连州市"]
NOTES = ["松林", "湿地"]


# --------------------------------------------------------------------------- builders


def write_survey(
    tmp_path: Path, encoding: str, name: str = "xb", note_field: str = "小班备注"
) -> Path:
    """A two-point survey shapefile with Chinese values and a Chinese field name."""
    gdf = gpd.GeoDataFrame(
        {"XIANG": TOWNS, note_field: NOTES, "LIN_BAN": ["0012", "0013"]},
        geometry=[shapely.Point(641567, 2744626), shapely.Point(641600, 2744700)],
        crs="EPSG:4546",
    )
    path = tmp_path / f"{name}.shp"
    gdf.to_file(path, engine="pyogrio", encoding=encoding)
    return path


def drop_cpg(shp: Path) -> None:
    shp.with_suffix(".cpg").unlink()


def set_ldid(shp: Path, ldid: int) -> None:
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = ldid
    dbf.write_bytes(bytes(data))


def write_dbf(path: Path, fields: list[tuple[bytes, int]], rows: list[list[bytes]]) -> None:
    """A dBASE III table of character fields, byte for byte: (name, length) and raw values."""
    header_length = 32 + 32 * len(fields) + 1
    record_length = 1 + sum(length for _, length in fields)
    head = struct.pack("<BBBBIHH", 3, 126, 1, 1, len(rows), header_length, record_length)
    head += bytes(20)
    for name, length in fields:
        head += name.ljust(11, b"\0") + b"C" + bytes(4) + bytes([length, 0]) + bytes(14)
    body = b"".join(
        b" " + b"".join(v.ljust(n, b" ") for v, (_, n) in zip(row, fields, strict=True))
        for row in rows
    )
    path.write_bytes(head + b"\r" + body + b"\x1a")


def read(shp: Path, encoding: str | None) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(shp, encoding=encoding)


# --------------------------------------------------------------------------- shapefiles


@pytest.mark.parametrize("ldid", [0x00, 0x57, 0x13, 0x4D])
def test_gbk_without_cpg_is_detected_as_gb18030_and_reads_chinese(tmp_path, ldid):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    set_ldid(shp, ldid)

    encoding, reason = detect_shapefile_encoding(shp)

    assert encoding == "GB18030"
    assert reason.code == "encoding.sniffed_gb18030"
    assert "GB18030" in reason.zh and "未找到 .cpg" in reason.zh
    gdf = read(shp, encoding)
    assert gdf["XIANG"].tolist() == TOWNS
    assert gdf["小班备注"].tolist() == NOTES


def test_lying_ldid_0x57_is_named_and_ignored_in_the_reason(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    set_ldid(shp, 0x57)
    assert read(shp, None)["XIANG"].tolist() != TOWNS  # what GDAL alone would give

    _, reason = detect_shapefile_encoding(shp)

    assert "LDID 0x57 claims ANSI/cp1252; ignored" in reason.en
    assert "LDID 0x57" in reason.zh and "已忽略" in reason.zh


def test_ldid_that_agrees_with_gbk_is_not_reported(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    set_ldid(shp, 0x4D)
    _, reason = detect_shapefile_encoding(shp)
    assert "LDID" not in reason.en


def test_utf8_without_cpg_is_detected_as_utf8_and_reads_chinese(tmp_path):
    shp = write_survey(tmp_path, "UTF-8", note_field="小班")
    drop_cpg(shp)

    encoding, reason = detect_shapefile_encoding(shp)

    assert (encoding, reason.code) == ("UTF-8", "encoding.sniffed_utf8")
    assert read(shp, encoding)["XIANG"].tolist() == TOWNS
    assert read(shp, encoding)["小班"].tolist() == NOTES


def test_utf8_with_an_ldid_claiming_gbk_reports_the_disagreement(tmp_path):
    shp = write_survey(tmp_path, "UTF-8", note_field="小班")
    drop_cpg(shp)
    set_ldid(shp, 0x4D)
    encoding, reason = detect_shapefile_encoding(shp)
    assert encoding == "UTF-8"
    assert "LDID 0x4D claims cp936 (GBK); ignored" in reason.en


@pytest.mark.parametrize(
    "label", ["936", "CP936", "gbk", "GB2312", "GB18030", " cp936\r\n", "\ufeffGBK"]
)
def test_cpg_with_a_gbk_label_is_honoured(tmp_path, label):
    shp = write_survey(tmp_path, "cp936")
    shp.with_suffix(".cpg").write_text(label, encoding="utf-8")

    encoding, reason = detect_shapefile_encoding(shp)

    assert (encoding, reason.code) == ("GB18030", "encoding.cpg")
    assert "xb.cpg" in reason.en
    assert read(shp, encoding)["XIANG"].tolist() == TOWNS
    assert read(shp, encoding)["小班备注"].tolist() == NOTES


@pytest.mark.parametrize("label", ["UTF-8", "utf8", "65001"])
def test_cpg_with_a_utf8_label_is_honoured(tmp_path, label):
    shp = write_survey(tmp_path, "UTF-8", note_field="小班")
    shp.with_suffix(".cpg").write_text(label, encoding="ascii")
    encoding, reason = detect_shapefile_encoding(shp)
    assert (encoding, reason.code) == ("UTF-8", "encoding.cpg")
    assert read(shp, encoding)["XIANG"].tolist() == TOWNS


def test_cpg_is_found_whatever_the_case_of_its_suffix(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    shp.with_suffix(".cpg").rename(tmp_path / "xb.CPG")
    encoding, reason = detect_shapefile_encoding(shp)
    assert (encoding, reason.code) == ("GB18030", "encoding.cpg")
    assert "xb.CPG" in reason.en


def test_cpg_with_an_untrusted_label_falls_back_to_the_bytes(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    shp.with_suffix(".cpg").write_text("ANSI 1252", encoding="ascii")

    encoding, reason = detect_shapefile_encoding(shp)

    assert (encoding, reason.code) == ("GB18030", "encoding.sniffed_gb18030")
    assert "'ANSI 1252', which is not a trusted label" in reason.en
    assert read(shp, encoding)["XIANG"].tolist() == TOWNS


def test_dbf_is_found_whatever_the_case_of_its_suffix(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    shp.with_suffix(".dbf").rename(tmp_path / "xb.DBF")
    encoding, _ = detect_shapefile_encoding(shp)
    assert encoding == "GB18030"


def test_ascii_only_table_is_read_as_utf8(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"LIN_BAN": ["0012"], "DI_LEI": ["0111"]}, geometry=[shapely.Point(1, 2)], crs="EPSG:4490"
    )
    shp = tmp_path / "ascii.shp"
    gdf.to_file(shp, engine="pyogrio")
    drop_cpg(shp)
    set_ldid(shp, 0x57)

    encoding, reason = detect_shapefile_encoding(shp)

    assert (encoding, reason.code) == ("UTF-8", "encoding.sniffed_ascii")
    assert "all text is ASCII" in reason.en
    assert "LDID" not in reason.en


def test_user_encoding_wins_over_cpg_and_bytes(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    encoding, reason = detect_shapefile_encoding(shp, "latin1")
    assert (encoding, reason.code) == ("latin1", "encoding.user")
    assert "given by the user" in reason.en


@pytest.mark.parametrize(
    ("given", "expected"), [("GBK", "GB18030"), ("936", "GB18030"), ("utf8", "UTF-8")]
)
def test_user_chinese_labels_are_normalised_to_names_gdal_reads(tmp_path, given, expected):
    shp = write_survey(tmp_path, "cp936")
    encoding, reason = detect_shapefile_encoding(shp, given)
    assert encoding == expected
    assert reason.en == f"encoding {given} given by the user, read as {expected}"


def test_unknown_user_encoding_raises_encoding_error(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    with pytest.raises(EncodingError, match=r"'foo'.*GB18030 or UTF-8.*--encoding GB18030"):
        detect_shapefile_encoding(shp, "foo")


def test_missing_dbf_raises_source_error_naming_it(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(SourceError, match=r"xb\.dbf is missing"):
        detect_shapefile_encoding(shp)


def test_truncated_dbf_header_raises_source_error(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    shp.with_suffix(".dbf").write_bytes(b"\x03\x7e\x01")
    with pytest.raises(SourceError, match=r"cannot read the attribute table xb\.dbf"):
        detect_shapefile_encoding(shp)


def test_text_invalid_in_both_encodings_takes_the_one_with_fewer_errors(tmp_path):
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    dbf = tmp_path / "xb.dbf"
    gbk = "丰阳镇连州市".encode("gbk")
    write_dbf(dbf, [(b"XIANG", 14), (b"LIN_BAN", 4)], [[gbk + b"\xff", b"0012"], [gbk, b"0013"]])

    encoding, reason = detect_shapefile_encoding(shp)

    assert (encoding, reason.code) == ("GB18030", "encoding.sniffed_guess_gb18030")
    assert "fewer decoding errors" in reason.en


def test_large_gbk_table_is_detected(tmp_path):
    n = 50_000
    shp = write_survey(tmp_path, "cp936")
    drop_cpg(shp)
    rows = [["丰阳镇".encode("gbk"), f"{i:04d}".encode()] for i in range(n)]
    write_dbf(tmp_path / "xb.dbf", [(b"XIANG", 10), (b"LIN_BAN", 6)], rows)
    assert detect_shapefile_encoding(shp)[0] == "GB18030"


# --------------------------------------------------------------------------- truncated UTF-8


def write_truncated_utf8(tmp_path: Path) -> Path:
    """A UTF-8 shapefile whose field name 小班备注 and one value are cut mid-character."""
    gdf = gpd.GeoDataFrame(
        {"A": ["x", "y"]}, geometry=[shapely.Point(1, 2), shapely.Point(3, 4)], crs="EPSG:4490"
    )
    shp = tmp_path / "cut.shp"
    gdf.to_file(shp, engine="pyogrio")
    drop_cpg(shp)
    name = "小班备注".encode()[:10]  # e5b08f e78fad e5a487 e6
    assert name.hex() == "e5b08fe78fade5a487e6"
    rows = [["连州市".encode()[:8], "丰阳镇".encode()], [b"ab", "连州".encode()]]
    write_dbf(shp.with_suffix(".dbf"), [(name, 8), (b"XIANG", 9)], rows)
    return shp


def test_utf8_with_names_cut_mid_character_is_detected_as_utf8(tmp_path):
    shp = write_truncated_utf8(tmp_path)
    encoding, reason = detect_shapefile_encoding(shp)
    assert encoding == "UTF-8"
    assert reason.code == UTF8_TRUNCATED_CODE
    assert "latin1" in reason.en


def test_truncated_utf8_file_reads_through_latin1_and_repair(tmp_path):
    shp = write_truncated_utf8(tmp_path)
    with pytest.raises(UnicodeDecodeError):
        read(shp, "UTF-8")

    raw = read(shp, "latin1")
    columns = [repair_truncated_utf8(c) for c in raw.columns if c != "geometry"]
    values = raw.drop(columns="geometry").map(repair_truncated_utf8)

    assert columns == ["小班备", "XIANG"]
    assert values.iloc[:, 0].tolist() == ["连州", "ab"]
    assert values.iloc[:, 1].tolist() == ["丰阳镇", "连州"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("小班备注".encode()[:10], "小班备"),  # lead byte alone
        ("小班备注".encode()[:11], "小班备"),  # lead + one continuation
        ("林𠀀".encode()[:6], "林"),  # 4-byte character cut after 3 bytes
        ("丰阳镇".encode(), "丰阳镇"),  # complete
        (b"LIN_BAN", "LIN_BAN"),
        (b"", ""),
    ],
)
def test_repair_truncated_utf8_drops_only_a_cut_last_character(raw, expected):
    assert repair_truncated_utf8(raw.decode("latin1")) == expected


def test_repair_truncated_utf8_marks_invalid_bytes_inside_the_text():
    assert repair_truncated_utf8(b"\xb7\xe1ab".decode("latin1")) == "\ufffd\ufffdab"


def test_repair_truncated_utf8_leaves_text_not_read_as_latin1_unchanged():
    assert repair_truncated_utf8("丰阳镇") == "丰阳镇"


# --------------------------------------------------------------------------- CSV


CSV_TEXT = "举报编号,经度,纬度,举报内容\nJB001,112.4,24.8,连州市丰阳镇有人砍树\n"


@pytest.mark.parametrize(
    ("data", "expected", "code"),
    [
        (CSV_TEXT.encode("utf-8-sig"), "utf-8-sig", "encoding.utf8_bom"),
        (CSV_TEXT.encode("utf-8"), "utf-8", "encoding.utf8"),
        (CSV_TEXT.encode("gbk"), "gb18030", "encoding.gb18030"),
        (CSV_TEXT.encode("utf-16"), "utf-16", "encoding.utf16_bom"),
    ],
)
def test_csv_encoding_is_detected_and_works_with_decode_and_pandas(tmp_path, data, expected, code):
    encoding, reason = detect_text_encoding(data)

    assert (encoding, reason.code) == (expected, code)
    assert data.decode(encoding) == CSV_TEXT
    path = tmp_path / "complaints.csv"
    path.write_bytes(data)
    table = pd.read_csv(path, encoding=encoding)
    assert table.columns[0] == "举报编号"
    assert table["举报内容"].tolist() == ["连州市丰阳镇有人砍树"]


def test_ascii_csv_is_utf8():
    encoding, reason = detect_text_encoding(b"id,x,y\n1,2,3\n")
    assert (encoding, reason.code) == ("utf-8", "encoding.ascii")


def test_csv_in_neither_utf8_nor_gb18030_asks_for_encoding():
    with pytest.raises(EncodingError, match=r"neither UTF-8 nor GB18030.*pass --encoding"):
        detect_text_encoding(b"id\n\xff\x80\xff\n")


def test_csv_user_encoding_is_validated_and_used():
    assert detect_text_encoding(b"\xb7\xe1", "GBK")[0] == "gb18030"
    assert detect_text_encoding(b"abc", "latin1")[0] == "latin1"
    with pytest.raises(EncodingError, match=r"'utf-9'.*--encoding GB18030"):
        detect_text_encoding(b"abc", "utf-9")
