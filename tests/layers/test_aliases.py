import pytest

from layers.aliases import find_coordinate_columns, load_mapping, match_columns
from layers.errors import SchemaError


def test_pinyin_codes_match_case_insensitively():
    got = match_columns(["xiao_ban", "LIN_BAN", "Di_Lei", "MIAN_JI"], "parcels")
    assert got == {
        "xiao_ban": "_xiao_ban",
        "LIN_BAN": "_lin_ban",
        "Di_Lei": "land_class",
        "MIAN_JI": "_area_file_ha",
    }


def test_sandiao_fields_map_for_wetlands():
    got = match_columns(["BSM", "DLBM", "ZLDWDM", "ZLDWMC", "TBMJ"], "parcels")
    assert got["BSM"] == "parcel_id"
    assert got["DLBM"] == "land_class"
    assert got["ZLDWDM"] == "village_code"
    assert got["TBMJ"] == "_area_file_m2"


def test_chinese_headers_map_for_complaints():
    got = match_columns(["举报编号", "受理时间", "举报内容", "核实结果", "备注"], "complaints")
    assert got == {
        "举报编号": "complaint_id",
        "受理时间": "received_at",
        "举报内容": "description",
        "核实结果": "status",
    }


def test_unknown_columns_are_left_unmapped():
    assert "备注" not in match_columns(["备注"], "complaints")


def test_user_mapping_wins_over_aliases(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields:\n  parcel_id: MY_ID\n", encoding="utf-8")
    got = match_columns(["MY_ID", "XBID"], "parcels", load_mapping(mapping))
    assert got["MY_ID"] == "parcel_id"
    assert "XBID" not in got


def test_user_mapping_naming_a_missing_source_field_is_an_error(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("parcel_id: NOPE\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="does not have: parcel_id ← NOPE"):
        match_columns(["XBID"], "parcels", load_mapping(mapping))


def test_mapping_file_with_unknown_canonical_name_is_an_error(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("not_a_field: X\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="not_a_field, which are not canonical"):
        load_mapping(mapping)


def test_mapping_file_that_is_not_a_mapping_is_an_error(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="holds a list"):
        load_mapping(mapping)


@pytest.mark.parametrize(
    ("columns", "pair"),
    [
        (["编号", "经度", "纬度"], ("经度", "纬度")),
        (["LON", "LAT"], ("LON", "LAT")),
        (["x", "y"], ("x", "y")),
        (["GPS_X", "GPS_Y"], ("GPS_X", "GPS_Y")),
    ],
)
def test_coordinate_columns_are_found(columns, pair):
    assert find_coordinate_columns(columns) == pair


def test_no_coordinate_columns_gives_none():
    assert find_coordinate_columns(["编号", "内容"]) is None


def test_mapping_file_sections_per_kind_serve_several_layers(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "parcels:\n  lin_ban: LB\ncomplaints:\n  complaint_id: 工单\n", encoding="utf-8"
    )
    assert load_mapping(mapping, "parcels") == {"_lin_ban": ("LB",)}
    assert load_mapping(mapping, "complaints") == {"complaint_id": ("工单",)}
    assert load_mapping(mapping, "villages") == {}


def test_mapping_file_saved_in_gbk_is_read(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_bytes("village_name: 村名称\n".encode("gbk"))
    assert load_mapping(mapping, "villages") == {"village_name": ("村名称",)}


def test_mapping_yaml_error_is_one_line(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("parcel_id: [XBH\n  village: :\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="is not valid YAML") as info:
        load_mapping(mapping, "parcels")
    assert "\n" not in str(info.value)


def test_mapping_keys_are_checked_against_the_kind_imported(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("parcel_id: XBH\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="not canonical fields of complaints"):
        load_mapping(mapping, "complaints")


def test_one_source_field_for_two_canonical_fields_is_an_error():
    with pytest.raises(SchemaError, match="gives source field XBH to both"):
        match_columns(["XBH"], "parcels", {"parcel_id": ("XBH",), "village_code": ("XBH",)})
