"""Unused columns that look like known fields are reported with the mapping line."""

from __future__ import annotations

from layers import read_layer
from layers.mapping_hints import mapping_hints


def test_a_village_like_column_that_was_not_mapped_gives_the_mapping_line():
    (hint,) = mapping_hints(["所属村庄"], "problems", ["problem_id"])
    assert "village_name: 所属村庄" in hint.zh
    assert "village_name: 所属村庄" in hint.en


def test_no_hint_for_a_field_that_is_already_mapped():
    assert mapping_hints(["村庄名字"], "problems", ["village_name"]) == []


def test_no_hint_for_columns_that_look_like_nothing_known():
    assert mapping_hints(["备注", "填表人"], "complaints", []) == []


def test_a_coordinate_like_column_says_how_to_name_coordinates():
    (hint,) = mapping_hints(["经度(GCJ02)"], "problems", [])
    assert "经度/纬度" in hint.en


def test_no_hints_for_no_columns():
    assert mapping_hints([], "parcels", []) == []


def test_an_import_lists_unused_columns_and_warns_for_the_ones_that_look_known(tmp_path):
    path = tmp_path / "problems.csv"
    path.write_text(
        "问题编号,问题描述,村庄名字,填表人\nDC-1,乱砍滥伐,黄岗村,李四\n", encoding="utf-8"
    )
    frame, report = read_layer(path, "problems")
    assert report.unmapped_fields == ["村庄名字", "填表人"]
    assert any("village_name: 村庄名字" in w.en for w in report.warnings)
    assert not any("填表人" in w.en for w in report.warnings)
    assert frame.loc[0, "村庄名字"] == "黄岗村"


def test_the_field_mapping_of_a_report_names_no_internal_helper_column(tmp_path):
    path = tmp_path / "problems.csv"
    path.write_text("问题编号,问题描述,XIANG,地点\nDC-1,乱砍滥伐,101,黄岗村\n", encoding="utf-8")
    _frame, report = read_layer(path, "problems")
    assert report.field_mapping["XIANG"] == "xiang"
    assert not any(name.startswith("_") for name in report.field_mapping.values())
