"""The dates of a change patch: 后期影像时间, 下发日期 and 检查日期 as real lists write them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from layers import read_layer
from layers.aliases import match_columns
from layers.normalize import normalize_patches
from tests.support.builders import GK111, squares, write_shp

JUNE_3 = pd.Timestamp("2025-06-03")


def test_template_headers_map_to_the_patch_dates() -> None:
    got = match_columns(["PAN_NO_TB", "后期影像时间", "下发日期", "检查日期"], "patches")
    assert got == {
        "PAN_NO_TB": "patch_id",
        "后期影像时间": "imaged_on",
        "下发日期": "dispatched_on",
        "检查日期": "checked_on",
    }


def test_a_shapefile_cut_name_and_common_variants_map_too() -> None:
    # a DBF field name holds 10 bytes: 后期影像时间 in GBK arrives as 后期影像时
    got = match_columns(["后期影像时", "下发时间", "核实日期"], "patches")
    assert got == {"后期影像时": "imaged_on", "下发时间": "dispatched_on", "核实日期": "checked_on"}


def test_the_date_columns_are_not_taken_by_other_layers() -> None:
    assert match_columns(["下发日期", "后期影像时间"], "problems") == {}


def _patches(tmp_path: Path, column: str, values: list[object]) -> Path:
    frame = gpd.GeoDataFrame(
        {
            "PAN_NO_TB": [f"P{i}" for i in range(len(values))],
            "PAN_BHYY": ["22"] * len(values),
            column: values,
        },
        geometry=squares(len(values)),
        crs=GK111,
    )
    return write_shp(frame, tmp_path / "p.shp")


def test_every_written_form_of_a_date_reads_as_the_same_day(tmp_path: Path) -> None:
    # as typed in Excel, ISO, 8 digits, Chinese, and an Excel serial exported as text
    forms = ["2025/6/3", "2025-06-03", "20250603", "2025年6月3日", "45811"]
    gdf, report = read_layer(_patches(tmp_path, "下发日期", forms), "patches")
    assert report.rejected == {}
    assert gdf["dispatched_on"].tolist() == [JUNE_3] * len(forms)


def test_a_missing_date_is_empty_and_the_patch_is_kept(tmp_path: Path) -> None:
    gdf, report = read_layer(_patches(tmp_path, "检查日期", ["", "2025-07-01"]), "patches")
    assert report.rejected == {}
    assert gdf["checked_on"].isna().tolist() == [True, False]
    assert gdf["imaged_on"].isna().all()


def test_a_date_that_cannot_be_read_rejects_its_row_naming_the_value(tmp_path: Path) -> None:
    gdf, report = read_layer(
        _patches(tmp_path, "后期影像时", ["2025-13-45", "20250603"]), "patches"
    )
    assert gdf["patch_id"].tolist() == ["P1"]
    assert report.rejected == {"bad_value": 1}
    assert report.rejects["reject_detail"].iloc[0] == "imaged_on=2025-13-45"


def test_a_date_after_the_import_day_rejects_its_row(tmp_path: Path) -> None:
    gdf, report = read_layer(_patches(tmp_path, "下发日期", ["2999/1/5", "2025/6/3"]), "patches")
    assert gdf["patch_id"].tolist() == ["P1"]
    assert report.rejected == {"bad_value": 1}
    assert (
        report.rejects["reject_detail"]
        .str.fullmatch(r"dispatched_on=2999-01-05 \(after the import day \d{4}-\d{2}-\d{2}\)")
        .all()
    )


def test_the_import_day_itself_is_accepted() -> None:
    frame = gpd.GeoDataFrame(
        {"patch_id": ["P0", "P1"], "checked_on": ["2026-11-28", "2026-11-29"]},
        geometry=squares(2),
        crs=GK111,
    )
    out = normalize_patches(frame, GK111, today=date(2026, 11, 28))
    assert out.problems.index.tolist() == [1]
    assert out.problems["detail"].iloc[0] == (
        "checked_on=2026-11-29 (after the import day 2026-11-28)"
    )


def test_an_empty_patch_list_has_the_date_columns() -> None:
    frame = gpd.GeoDataFrame({"patch_id": []}, geometry=[], crs=GK111)
    out = normalize_patches(frame, GK111, today=date(2026, 11, 28))
    assert {"imaged_on", "dispatched_on", "checked_on"} <= set(out.frame.columns)
    assert out.frame.empty


@pytest.mark.parametrize("column", ["后期影像时间", "下发日期", "检查日期"])
def test_each_date_column_is_a_date_in_the_layer(tmp_path: Path, column: str) -> None:
    gdf, _ = read_layer(_patches(tmp_path, column[:5], ["2025/6/3"]), "patches")
    name = match_columns([column], "patches")[column]
    assert pd.api.types.is_datetime64_any_dtype(gdf[name])
