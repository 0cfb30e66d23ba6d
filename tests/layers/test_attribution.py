"""Village attribution: by code in every form, by name, by location."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers import read_layer
from layers.attribution import attribute_villages, locate, match_names, name_key

CRS = "EPSG:4546"


def villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "village_code": ["441882101203", "441882101204", "441882102001"],
            "village_name": ["黄岗村", "沙坪村", "黄岗社区"],
        },
        geometry=[
            shapely.box(0, 0, 1000, 1000),
            shapely.box(1000, 0, 2000, 1000),
            shapely.box(2000, 0, 3000, 1000),
        ],
        crs=CRS,
    )


def rows(**columns: list) -> gpd.GeoDataFrame:
    geometry = columns.pop("geometry")
    n = len(geometry)
    columns.setdefault("village_code", [None] * n)
    columns.setdefault("village_name", [None] * n)
    columns.setdefault("problem_id", [f"P{i}" for i in range(n)])
    frame = pd.DataFrame(columns).astype("string")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def test_a_code_wins_and_takes_the_layer_name():
    out, result = attribute_villages(
        rows(village_code=["441882101204"], geometry=[None]), villages(), id_column="problem_id"
    )
    assert out.loc[0, "village_name"] == "沙坪村"
    assert out.loc[0, "village_by"] == "code"
    assert result.counts == {"code": 1, "name": 0, "location": 0, "none": 0}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("黄岗村", "441882101203"),
        ("沙坪", "441882101204"),
        (" 沙坪村委会 ", "441882101204"),
        ("沙坪村民委员会", "441882101204"),
        ("黄岗村石坑组", "441882101203"),
        ("连州市九陂镇沙坪村上塘", "441882101204"),
        ("黄岗社区", "441882102001"),
    ],
)
def test_names_match_as_written_without_suffix_or_inside_a_place_text(written, expected):
    assert match_names(pd.Series([written]), villages()).iloc[0] == expected


def test_a_name_key_shared_by_two_villages_matches_neither_by_key():
    # 黄岗村 and 黄岗社区 share the key 黄岗: the bare key names no one village.
    table = villages()
    assert set(name_key(table["village_name"])) == {"黄岗", "沙坪"}
    assert pd.isna(match_names(pd.Series(["黄岗居委会"]), table).iloc[0])


def test_a_point_takes_the_village_that_contains_it():
    out, _ = attribute_villages(rows(geometry=[shapely.Point(1500, 500)]), villages())
    assert out.loc[0, "village_code"] == "441882101204"
    assert out.loc[0, "village_by"] == "location"


def test_a_polygon_takes_the_village_it_overlaps_most():
    parcel = shapely.box(900, 0, 1900, 100)  # 100 m in 黄岗村, 900 m in 沙坪村
    assert locate(gpd.GeoSeries([parcel], crs=CRS), villages()).iloc[0] == "441882101204"


def test_a_written_village_that_differs_from_the_location_is_kept_and_reported():
    out, result = attribute_villages(
        rows(village_name=["黄岗村"], geometry=[shapely.Point(1500, 500)]),
        villages(),
        id_column="problem_id",
    )
    assert out.loc[0, "village_name"] == "黄岗村"
    assert result.disagreements.iloc[0].to_dict() == {
        "label": "P0",
        "written": "黄岗村",
        "located": "沙坪村",
    }
    (msg,) = result.messages()
    assert "P0: written 黄岗村, located in 沙坪村" in msg.en


def test_an_unknown_name_with_a_location_is_placed_and_reported():
    out, result = attribute_villages(
        rows(village_name=["石门村"], geometry=[shapely.Point(500, 500)]), villages()
    )
    assert out.loc[0, "village_name"] == "黄岗村"
    assert out.loc[0, "village_by"] == "location"
    assert result.disagreements.iloc[0]["written"] == "石门村"


def test_an_unknown_name_without_location_keeps_what_it_gives_and_suggests():
    out, result = attribute_villages(rows(village_name=["沙平村"], geometry=[None]), villages())
    assert out.loc[0, "village_name"] == "沙平村"
    assert out.loc[0, "village_by"] == "none"
    assert result.unknown.iloc[0]["suggestions"][0] == "沙坪村"
    assert any("沙平村（最接近：沙坪村" in m.zh for m in result.messages())


def test_without_a_villages_layer_rows_keep_their_code_or_name_unchecked():
    out, result = attribute_villages(
        rows(
            village_code=["441882101203", None, None],
            village_name=[None, "黄岗村", None],
            geometry=[None, None, shapely.Point(1, 1)],
        ),
        None,
    )
    assert out["village_by"].tolist() == ["code", "name", "none"]
    assert not result.checked


def test_an_empty_layer_attributes_to_an_empty_layer_with_its_crs_and_columns():
    empty = rows(geometry=[])
    out, result = attribute_villages(empty, villages())
    assert len(out) == 0
    assert out.crs == empty.crs
    assert "village_by" in out.columns
    assert result.counts == {"code": 0, "name": 0, "location": 0, "none": 0}


def test_the_result_is_aligned_to_the_input_index_and_villages_are_reprojected():
    frame = rows(geometry=[shapely.Point(2500, 10), shapely.Point(10, 10)])
    frame.index = [7, 3]
    out, _ = attribute_villages(frame, villages().to_crs(4490))
    assert list(out.index) == [7, 3]
    assert out["village_code"].tolist() == ["441882102001", "441882101203"]


# --- code forms, through the reader ----------------------------------------------


def _parcels_file(tmp_path: Path, **fields: list) -> Path:
    n = len(next(iter(fields.values())))
    frame = gpd.GeoDataFrame(
        {"LIN_BAN": ["0001"] * n, "XIAO_BAN": [f"{i:03d}" for i in range(n)], **fields},
        geometry=[
            shapely.box(640000 + i * 10, 2740000, 640009 + i * 10, 2740009) for i in range(n)
        ],
        crs=CRS,
    )
    frame["DI_LEI"] = "0111"
    path = tmp_path / "xb.shp"
    frame.to_file(path, encoding="cp936")
    return path


@pytest.mark.parametrize(
    ("xian", "xiang", "cun", "expected"),
    [
        ("441882", "101", "203", "441882101203"),  # composed parts
        ("441882", "441882101", "441882101203", "441882101203"),  # full-length parts
        (None, "441882101", "203", "441882101203"),  # township code + village part
        ("441882", "441882101", "4418821012030000000", "441882101203"),  # ZLDWDM-like
        ("441882", "1", "3", "441882001003"),  # parts that lost their zeros
    ],
)
def test_village_codes_are_read_from_every_form_of_xian_xiang_cun(
    tmp_path, xian, xiang, cun, expected
):
    path = _parcels_file(tmp_path, XIAN=[xian], XIANG=[xiang], CUN=[cun])
    frame, _ = read_layer(path, "parcels")
    assert frame.loc[0, "village_code"] == expected


def test_a_cun_field_holding_a_name_gives_the_village_name(tmp_path):
    path = _parcels_file(tmp_path, CUN=["黄岗村"])
    frame, _ = read_layer(path, "parcels")
    assert pd.isna(frame.loc[0, "village_code"])
    assert frame.loc[0, "village_name"] == "黄岗村"


@pytest.mark.parametrize(
    "header", ["所属村", "所属行政村", "村委会", "村（居）委会", "责任村", "行政村名称"]
)
def test_problem_lists_name_the_village_under_the_headers_real_lists_use(tmp_path, header):
    path = tmp_path / "problems.csv"
    path.write_text(f"问题编号,{header},问题描述\nDC-1,黄岗村,乱砍滥伐\n", encoding="utf-8")
    frame, _ = read_layer(path, "problems")
    assert frame.loc[0, "village_name"] == "黄岗村"


def test_a_place_column_is_kept_for_attribution(tmp_path):
    path = tmp_path / "complaints.csv"
    path.write_text(
        "举报编号,受理时间,举报内容,地点,经度,纬度\nJB-1,2026-01-05,有人砍树,黄岗村石坑组,112.4,24.8\n",
        encoding="utf-8",
    )
    frame, _ = read_layer(path, "complaints")
    assert frame.loc[0, "place"] == "黄岗村石坑组"


def test_parcels_whose_kind_cannot_be_derived_are_reported_not_silently_forest(tmp_path):
    path = tmp_path / "xb.shp"
    gpd.GeoDataFrame(
        {"LIN_BAN": ["0001", "0001"], "XIAO_BAN": ["001", "002"], "DI_LEI": [None, "0111"]},
        geometry=[shapely.box(640000, 2740000, 640009, 2740009)] * 2,
        crs=CRS,
    ).to_file(path, encoding="cp936")
    frame, report = read_layer(path, "parcels")
    (warning,) = [w for w in report.warnings if w.code == "parcels.kind_unknown"]
    assert "1 of 2 parcels" in warning.en
    assert "--kind wetland" in warning.en
    assert frame["kind"].tolist() == ["forest", "forest"]
