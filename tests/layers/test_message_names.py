"""User-facing text names rows by their place in the file and never by internal columns
(``source_row``, helper columns starting with ``_``)."""

import re

import pandas as pd
import pytest

from layers.reader import read_layer
from tests.support.builders import write_shp, xiaoban

# An identifier starting with "_" (``_area_file_ha``, ``_lin_ban``), or the row column.
INTERNAL = re.compile(r"(?<![\w.])_[A-Za-z]\w*|source_row")


def _texts(report):
    warnings = [t for w in report.warnings for t in (w.zh, w.en)]
    details = report.rejects.get("reject_detail", pd.Series(dtype="string"))
    return [*warnings, *details.dropna().astype(str)]


def _complaints_with_title_row(tmp_path):
    csv = tmp_path / "举报.csv"
    csv.write_text(
        "2026年举报登记表,,,,,\n"
        "举报编号,受理时间,举报内容,经度,纬度,核实结果\n"
        "JB01,2026-01-02,砍树,112.41,24.81,属实\n"
        "JB02,2026-01-03,挖沙,112.42,24.82,待核实\n"
        "JB01,2026-01-04,烧山,112.43,24.83,属实\n"
        "JB03,2026-13-45,砍树,112.41,24.81,属实\n"
        "JB04,2026-01-05,砍树,112.41,24.81,查无此事\n"
        "JB05,2026-01-06,砍树,,,待核实\n",
        encoding="gb18030",
    )
    return csv


def _parcels_with_repeated_ids_and_areas_off(tmp_path):
    gdf = xiaoban(4, XIAO_BAN=["001", "002", "001", "003"], MIAN_JI=[1.0, 9.0, 1.0, 1.0])
    gdf.loc[2, "CUN_MC"] = "黄岗村"  # same id, another village: not a part of row 1
    return write_shp(gdf, tmp_path / "xb.shp")


def test_a_repeated_id_names_the_line_of_the_file_it_first_appears_on(tmp_path):
    _, report = read_layer(_complaints_with_title_row(tmp_path), "complaints")
    dup = report.rejects.loc[report.rejects["reject_reason"] == "duplicate_id"]
    detail = dup["reject_detail"].iloc[0]
    # The title is line 1 and the header line 2: JB01 is first on line 3 of the file.
    assert detail.startswith("complaint_id=JB01：与文件第 3 行重复 / first at row 3 of the file")


def test_a_repeated_shapefile_id_names_the_record_it_first_appears_as(tmp_path):
    _, report = read_layer(_parcels_with_repeated_ids_and_areas_off(tmp_path), "parcels")
    dup = report.rejects.loc[report.rejects["reject_reason"] == "duplicate_id"]
    detail = dup["reject_detail"].iloc[0]
    assert detail.startswith("parcel_id=0012-001：与文件第 1 行重复 / first at row 1 of the file")


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (_complaints_with_title_row, "complaints"),
        (_parcels_with_repeated_ids_and_areas_off, "parcels"),
    ],
)
def test_warnings_and_reject_details_use_no_internal_column_name(tmp_path, build, kind):
    _, report = read_layer(build(tmp_path), kind)
    texts = _texts(report)
    assert report.rows_rejected and report.warnings, "the input must trip both"
    leaks = [t for t in texts if INTERNAL.search(t)]
    assert leaks == []
