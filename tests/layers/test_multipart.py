"""Multi-part rows: one feature stored as one row per part (CAD, older desktop GIS)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from layers import read_layer
from layers.multipart import (
    attribute_columns,
    find_parts,
    merge_geometries,
    part_measures,
    row_numbering,
)
from tests.support.builders import GK111, X0, Y0, squares, write_shp, xiaoban

GUANGDONG = ("realdata", "guangdong_districts", "guangdong_district.shp")


def villages(codes, names, geoms, **extra):
    data = {"XZQDM": codes, "XZQMC": names, **extra}
    return gpd.GeoDataFrame(data, geometry=geoms, crs=GK111)


def square(i, size=100.0):
    """A square ``size`` metres wide, the i-th one along a row 1 km apart."""
    return shapely.box(X0 + i * 1000, Y0, X0 + i * 1000 + size, Y0 + size)


def balanced(report):
    return report.rows_read == report.rows_imported + report.rows_rejected + report.rows_merged


def test_two_parts_with_the_same_attributes_become_one_multipolygon(tmp_path):
    src = villages(["441882101202"] * 2, ["丰阳村"] * 2, [square(0), square(1)])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert len(gdf) == 1
    assert gdf.geom_type.tolist() == ["MultiPolygon"]
    assert shapely.get_num_geometries(gdf.geometry.iloc[0]) == 2
    assert gdf["area_ha"].round(4).tolist() == [2.0]
    assert (report.parts_merged, report.features_merged, report.rows_merged) == (2, 1, 1)
    assert report.rejected == {}
    assert any(w.en.startswith("Merged 2 parts into 1 features") for w in report.warnings)
    assert any(w.zh.startswith("合并 2 个部分为 1 个要素") for w in report.warnings)


def test_rows_with_the_same_id_and_another_name_stay_duplicates_naming_the_field(tmp_path):
    src = villages(["441882101202"] * 2, ["丰阳村", "黄岗村"], [square(0), square(1)])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert gdf["village_name"].tolist() == ["丰阳村"]
    assert report.rejected == {"duplicate_id": 1}
    assert report.parts_merged == 0
    detail = report.rejects["reject_detail"].iloc[0]
    assert "first at row 1" in detail
    assert "village_name (XZQMC) differs: 黄岗村 here, 丰阳村 there" in detail


def test_three_parts_and_a_row_with_other_attributes(tmp_path):
    src = villages(
        ["441882101202"] * 4,
        ["丰阳村"] * 4,
        [square(0), square(1), square(2), square(3)],
        CUN_ZHANG=["张三", "张三", "李四", "张三"],
    )
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert shapely.get_num_geometries(gdf.geometry.iloc[0]) == 3
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (4, 1, 1)
    assert (report.parts_merged, report.features_merged, report.rows_merged) == (3, 1, 2)
    assert balanced(report)
    assert report.rejects["source_row"].tolist() == [3]
    assert "CUN_ZHANG differs: 李四 here, 张三 there" in report.rejects["reject_detail"].iloc[0]


def test_empty_file_merges_nothing(tmp_path):
    src = villages([], [], [])
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert len(gdf) == 0
    assert (report.parts_merged, report.features_merged, report.rows_merged) == (0, 0, 0)
    assert report.to_dict()["rows_merged"] == 0


def test_report_dict_carries_the_merge_counts_and_balances(tmp_path):
    src = villages(["441882101202"] * 3, ["丰阳村"] * 3, [square(0), square(1), square(2)])
    _, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    d = report.to_dict("en")
    assert (d["parts_merged"], d["features_merged"], d["rows_merged"]) == (3, 1, 2)
    assert d["rows_read"] == d["rows_imported"] + d["rows_rejected"] + d["rows_merged"]
    assert any(w.startswith("Merged 3 parts into 1 features") for w in d["warnings"])


def _parts_of_one_hectare(file_areas, widths=(30.0, 70.0)):
    """One 小班 drawn as two parts 100 m tall, together one hectare."""
    geoms = [
        shapely.box(X0 + i * 1000, Y0, X0 + i * 1000 + w, Y0 + 100) for i, w in enumerate(widths)
    ]
    return xiaoban(2, XIAO_BAN=["001", "001"], MIAN_JI=file_areas).set_geometry(geoms)


@pytest.mark.parametrize(
    ("file_areas", "widths"),
    [
        ([0.3, 0.7], (30.0, 70.0)),  # each part's own area
        ([1.0, 1.0], (30.0, 70.0)),  # the whole area repeated on each part
        ([0.5, 0.5], (50.0, 50.0)),  # equal parts, each with its own area
    ],
)
def test_file_areas_of_the_parts_add_up_to_the_feature(tmp_path, file_areas, widths):
    src = _parts_of_one_hectare(file_areas, widths)
    gdf, report = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["area_file_ha"].round(4).tolist() == [1.0]
    assert gdf["area_ha"].round(4).tolist() == [1.0]
    assert not [w for w in report.warnings if w.code == "area.mismatch"]


def test_shape_area_and_row_numbers_do_not_keep_parts_apart(tmp_path):
    src = villages(
        ["441882101202"] * 2,
        ["丰阳村"] * 2,
        [square(0, 100.0), square(1, 200.0)],
        OBJECTID=[7, 8],
        Shape_Area=[10_000.0, 40_000.0],
        Shape_Leng=[400.0, 800.0],
    )
    gdf, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert report.rows_merged == 1
    assert gdf["OBJECTID"].tolist() == [7]
    assert gdf["Shape_Area"].tolist() == [50_000.0]
    assert gdf["Shape_Leng"].tolist() == [1200.0]


@pytest.mark.parametrize(
    "second",
    [
        shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100),  # shares an edge
        shapely.box(X0 + 50, Y0, X0 + 150, Y0 + 100),  # overlaps
    ],
)
def test_parts_that_touch_or_overlap_are_unioned_into_a_valid_feature(tmp_path, second):
    src = villages(["441882101202"] * 2, ["丰阳村"] * 2, [square(0), second])
    gdf, _ = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    geom = gdf.geometry.iloc[0]
    assert geom.is_valid
    assert geom.geom_type == "MultiPolygon"
    expected = shapely.union_all([square(0), second]).area
    assert geom.area == pytest.approx(expected)


def test_parts_with_an_id_already_stored_are_rejected_row_by_row(tmp_path):
    src = villages(["441882101202"] * 2, ["丰阳村"] * 2, [square(0), square(1)])
    gdf, report = read_layer(
        write_shp(src, tmp_path / "v.shp"), "villages", existing_ids={"441882101202"}
    )
    assert len(gdf) == 0
    assert report.rejected == {"duplicate_id": 2}
    assert report.rows_merged == 0


def test_rows_without_an_id_are_not_merged(tmp_path):
    src = villages([None, None, "441882101202"], ["丰阳村"] * 3, squares(3))
    _, report = read_layer(write_shp(src, tmp_path / "v.shp"), "villages")
    assert report.rejected == {"missing_id": 2}
    assert report.rows_merged == 0


def test_point_layers_keep_rejecting_repeated_ids(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n",
        encoding="utf-8",
    )
    gdf, report = read_layer(csv, "complaints")
    assert len(gdf) == 1
    assert report.rejected == {"duplicate_id": 1}
    assert report.rows_merged == 0
    assert "every attribute is the same" in report.rejects["reject_detail"].iloc[0]


# --- a national file in the bou2_4p layout -------------------------------------------


def _provinces(tmp_path):
    """Rows as bou2_4p stores them: GBK, no .prj, lon/lat, one row per part, ArcInfo
    area, perimeter and coverage numbers; Hainan with a South China Sea island far
    south of CGCS2000's area of use (16.7N)."""
    boxes = [
        shapely.box(110.0, 19.0, 111.0, 20.0),  # Hainan island
        shapely.box(111.6, 16.5, 111.7, 16.6),  # Xisha
        shapely.box(114.2, 9.9, 114.3, 10.0),  # Nansha
        shapely.box(112.0, 22.0, 114.0, 24.0),  # Guangdong
    ]
    src = gpd.GeoDataFrame(
        {
            "AREA": shapely.area(boxes),
            "PERIMETER": shapely.length(boxes),
            "BOU2_4M_": [2, 3, 4, 5],
            "BOU2_4M_ID": [11, 12, 13, 14],
            "ADCODE99": ["460000"] * 3 + ["440000"],
            "NAME": ["海南省"] * 3 + ["广东省"],
        },
        geometry=boxes,
        crs="EPSG:4490",
    )
    return write_shp(src, tmp_path / "bou2_4p.shp", prj=False)


def test_national_file_rows_per_part_become_one_feature_per_province(tmp_path):
    mapping = {"village_code": ("ADCODE99",), "village_name": ("NAME",)}
    gdf, report = read_layer(_provinces(tmp_path), "villages", mapping=mapping)
    assert gdf["village_name"].tolist() == ["海南省", "广东省"]
    assert shapely.get_num_geometries(gdf.geometry.to_numpy()).tolist() == [3, 1]
    assert report.rejected == {}
    assert (report.parts_merged, report.features_merged, report.rows_merged) == (3, 1, 2)
    assert gdf["AREA"].round(4).tolist() == [1.02, 4.0]
    assert gdf["BOU2_4M_"].tolist() == [2, 5]
    outlying = [w for w in report.warnings if w.code == "area.outlying_parts"]
    assert len(outlying) == 1
    assert "1 features have 1 parts" in outlying[0].en
    assert "460000000000" in outlying[0].en


# --- the real Guangdong districts file -------------------------------------------------


def test_real_districts_file_has_nothing_to_merge(shared_dir):
    _, report = read_layer(shared_dir.joinpath(*GUANGDONG), "villages")
    assert report.rows_imported == 125
    assert (report.parts_merged, report.rows_merged) == (0, 0)
    assert balanced(report)


@pytest.fixture(scope="module")
def exploded(shared_dir, tmp_path_factory):
    """The real districts exported one row per part, as CAD and desktop GIS do, with
    the per-part FID and Shape_Area such exports add."""
    real = pyogrio.read_dataframe(shared_dir.joinpath(*GUANGDONG), encoding="utf-8")
    real = real.set_crs("EPSG:4490")
    rows = real.explode(index_parts=False).reset_index(drop=True)
    rows.insert(0, "FID_1", np.arange(len(rows)))
    rows["Shape_Area"] = shapely.area(rows.geometry.to_numpy())
    folder = tmp_path_factory.mktemp("exploded")
    return real, rows, folder


def test_real_districts_exported_one_row_per_part_come_back_whole(exploded, shared_dir):
    real, rows, folder = exploded
    gdf, report = read_layer(write_shp(rows, folder / "parts.shp", encoding="utf-8"), "villages")
    parts = shapely.get_num_geometries(real.geometry.to_numpy())
    assert report.rows_read == len(rows) == parts.sum()
    assert report.rows_imported == 125
    assert report.parts_merged == parts[parts > 1].sum()
    assert report.features_merged == (parts > 1).sum()
    assert balanced(report)
    whole, _ = read_layer(shared_dir.joinpath(*GUANGDONG), "villages")
    both = whole.merge(gdf, on="village_code", suffixes=("", "_parts"))
    assert len(both) == 125
    gap = shapely.symmetric_difference(both.geometry.to_numpy(), both["geometry_parts"].to_numpy())
    assert shapely.area(gap).max() == pytest.approx(0.0, abs=1e-12)
    assert (both["area_ha"] - both["area_ha_parts"]).abs().max() < 1e-6
    real_area = pd.Series(shapely.area(real.geometry.to_numpy()), index=real["adcode"])
    summed = gdf.set_index(gdf["village_code"].str[:6])["Shape_Area"]
    assert np.allclose(summed.loc[real_area.index], real_area, rtol=1e-9)


def test_real_district_part_with_another_name_is_a_duplicate(exploded):
    _, rows, folder = exploded
    many = rows.groupby("adcode")["name"].transform("size") > 1
    target = rows.index[many][1]
    rows = rows.copy()
    rows.loc[target, "name"] = rows.loc[target, "name"] + "（飞地）"
    _, report = read_layer(write_shp(rows, folder / "renamed.shp", encoding="utf-8"), "villages")
    assert report.rejected == {"duplicate_id": 1}
    assert "village_name (name) differs" in report.rejects["reject_detail"].iloc[0]
    assert balanced(report)


# --- helpers ---------------------------------------------------------------------------


def test_measures_and_row_numbers_are_recognised_by_name():
    names = ["AREA", "PERIMETER", "BOU2_4M_", "BOU2_4M_ID", "ADCODE99", "NAME", "TBMJ", "面积"]
    assert part_measures(names) == ["AREA", "PERIMETER", "TBMJ", "面积"]
    assert row_numbering([*names, "OBJECTID_1", "FID", "Id"]) == [
        "BOU2_4M_",
        "BOU2_4M_ID",
        "OBJECTID_1",
        "FID",
    ]
    assert attribute_columns(names) == ["ADCODE99", "NAME"]


def test_find_parts_ignores_rows_that_are_not_eligible():
    frame = pd.DataFrame({"id": ["a", "a", "a", "b"], "name": ["x", "x", "x", "y"]})
    lead = find_parts(frame, "id", np.array([True, False, True, True]))
    assert lead.to_dict() == {0: 0, 2: 0}
    assert find_parts(frame.iloc[:0], "id", np.array([], dtype=bool)).empty


def test_merge_geometries_collects_disjoint_parts_without_union():
    geoms = np.array([square(0), shapely.multipolygons([square(1), square(2)]), square(5)])
    out = merge_geometries(geoms, np.array([0, 0, 1]), 2)
    assert shapely.get_num_geometries(out).tolist() == [3, 1]
    assert shapely.get_type_id(out).tolist() == [shapely.GeometryType.MULTIPOLYGON] * 2
