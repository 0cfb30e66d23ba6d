"""read_layer end to end on the traps real survey files have."""

import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from layers import read_layer
from layers.errors import (
    ArchiveError,
    ClassifiedDataError,
    CRSError,
    EncodingError,
    LayerChoiceError,
    SchemaError,
    SourceError,
)
from tests.support.builders import GK111, squares, write_shp, xiaoban

CUSTOM_GK_PRJ = (
    'PROJCS["CGCS2000_GK_CM_111E_custom",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
    'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],'
    'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",111.0],'
    'PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


@pytest.mark.parametrize("ldid", [0x00, 0x57, 0x4D])
def test_gbk_shapefile_without_cpg_reads_chinese_whatever_the_ldid(tmp_path, ldid):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp", encoding="cp936", ldid=ldid)
    gdf, report = read_layer(shp, "parcels")
    assert gdf["village_name"].tolist() == ["丰阳村"] * 3
    assert report.encoding.upper() in ("GB18030", "GBK", "CP936")


def test_utf8_shapefile_without_cpg_reads_chinese(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp", encoding="utf-8", ldid=0x00)
    gdf, report = read_layer(shp, "parcels")
    assert gdf["village_name"].iloc[0] == "丰阳村"
    assert report.encoding.upper().replace("-", "") == "UTF8"


def test_chinese_field_names_are_mapped_and_unknown_ones_kept(tmp_path):
    src = gpd.GeoDataFrame(
        {"林班": ["12"], "小班号": ["3"], "地类": ["0111"], "小班备注": ["封山育林"]},
        geometry=squares(1),
        crs=GK111,
    )
    gdf, report = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["parcel_id"].iloc[0] == "0012-003"
    assert gdf["小班备注"].iloc[0] == "封山育林"
    assert "小班备注" in report.unmapped_fields


def test_parcel_id_is_built_from_lin_ban_xiao_ban_and_xi_ban(tmp_path):
    src = xiaoban(2, XI_BAN=["1", "2"])
    gdf, _ = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["parcel_id"].tolist() == ["0012-001-1", "0012-002-2"]


def test_custom_named_gauss_kruger_prj_resolves_to_its_epsg_code(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    shp.with_suffix(".prj").write_text(CUSTOM_GK_PRJ)
    gdf, report = read_layer(shp, "parcels")
    assert gdf.crs.to_epsg() == 4546
    assert report.crs.startswith("EPSG:4546")


def test_zone_prefixed_coordinates_without_prj_are_inferred_with_a_warning(tmp_path):
    src = xiaoban(crs=None).set_geometry(squares(3, x0=37_641_000.0))
    gdf, report = read_layer(write_shp(src, tmp_path / "xb.shp", prj=False), "parcels")
    assert gdf.crs.to_epsg() == 4525
    assert any("--crs" in w.en for w in report.warnings)


def test_missing_prj_with_plain_gauss_kruger_coordinates_asks_for_crs(tmp_path):
    shp = write_shp(xiaoban(crs=None), tmp_path / "xb.shp", prj=False)
    with pytest.raises(CRSError, match="--crs"):
        read_layer(shp, "parcels")


def test_missing_prj_is_fine_when_crs_is_given(tmp_path):
    shp = write_shp(xiaoban(crs=None), tmp_path / "xb.shp", prj=False)
    gdf, report = read_layer(shp, "parcels", crs="EPSG:4546")
    assert gdf.crs.to_epsg() == 4546
    assert report.rows_imported == 3


@pytest.mark.parametrize("part", [".dbf", ".shx"])
def test_missing_shapefile_part_names_it(tmp_path, part):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    shp.with_suffix(part).unlink()
    with pytest.raises(SourceError, match=rf"\{part}"):
        read_layer(shp, "parcels")


def test_self_intersecting_and_empty_polygons_are_repaired_or_rejected(tmp_path):
    bowtie = shapely.Polygon(
        [(641000, 2744000), (641100, 2744100), (641100, 2744000), (641000, 2744100)]
    )
    src = xiaoban(3).set_geometry([squares(1)[0], bowtie, shapely.Polygon()])
    src = src.set_crs(GK111, allow_override=True)
    gdf, report = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert report.rows_read == 3
    assert report.rows_imported + report.rows_rejected == 3
    assert report.rows_repaired == 1
    assert gdf.geometry.is_valid.all()
    assert report.rejected.get("empty_geometry", 0) + report.rejected.get("null_geometry", 0) == 1


def test_3d_geometries_come_back_2d(tmp_path):
    poly = shapely.Polygon([(641000, 2744000, 50), (641100, 2744000, 50), (641100, 2744100, 55)])
    src = xiaoban(1).set_geometry([poly]).set_crs(GK111, allow_override=True)
    gdf, _ = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert not gdf.geometry.has_z.any()


def test_rows_with_swapped_lat_lon_are_rejected_with_their_reason(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n"
        "A2,2025-01-03,有人砍树,24.81,112.41\n",
        encoding="utf-8",
    )
    gdf, report = read_layer(csv, "complaints")
    assert gdf["complaint_id"].tolist() == ["A1"]
    assert report.rejected == {"outside_crs_area": 1}
    assert report.rejects["举报编号"].tolist() == ["A2"]
    assert report.rejects["source_row"].tolist() == [3]


def test_duplicate_ids_are_rejected_row_by_row(tmp_path):
    src = xiaoban(3, XIAO_BAN=["001", "001", "002"], DI_LEI=["111", "131", "111"])
    gdf, report = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["parcel_id"].tolist() == ["0012-001", "0012-002"]
    assert report.rejected == {"duplicate_id": 1}
    assert "first at row 1" in report.rejects["reject_detail"].iloc[0]
    assert (
        "land_class (DI_LEI) differs: 0131 here, 0111 there"
        in report.rejects["reject_detail"].iloc[0]
    )


def _zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.name)
    return path


def _shp_parts(shp):
    return sorted(p for p in shp.parent.iterdir() if p.stem == shp.stem)


def test_zipped_shapefile_imports(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "src" / "xb.shp")
    gdf, report = read_layer(_zip(tmp_path / "xb.zip", _shp_parts(shp)), "parcels")
    assert len(gdf) == 3
    assert report.sha256


def test_zip_with_two_shapefiles_needs_layer_and_lists_them(tmp_path):
    a = write_shp(xiaoban(), tmp_path / "src" / "aa.shp")
    b = write_shp(xiaoban(), tmp_path / "src" / "bb.shp")
    zp = _zip(tmp_path / "two.zip", _shp_parts(a) + _shp_parts(b))
    with pytest.raises(LayerChoiceError, match=r"aa.*bb"):
        read_layer(zp, "parcels")
    gdf, _ = read_layer(zp, "parcels", layer="bb")
    assert len(gdf) == 3


def test_zip_slip_is_refused(tmp_path):
    zp = tmp_path / "evil.zip"
    with zipfile.ZipFile(zp, "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    with pytest.raises(ArchiveError):
        read_layer(zp, "parcels")
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_bomb_is_refused(tmp_path):
    zp = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", b"0" * (64 * 1024 * 1024))
    with pytest.raises(ArchiveError, match=r"(?i)ratio|bomb"):
        read_layer(zp, "complaints")


def test_nested_zip_is_refused(tmp_path):
    inner = _zip(tmp_path / "inner.zip", [write_shp(xiaoban(), tmp_path / "s" / "xb.shp")])
    outer = _zip(tmp_path / "outer.zip", [inner])
    with pytest.raises(ArchiveError, match=r"(?i)nested"):
        read_layer(outer, "parcels")


def test_gbk_csv_with_chinese_headers_imports(tmp_path):
    csv = tmp_path / "举报.csv"
    csv.write_bytes(
        (
            "举报编号,受理时间,类别,举报内容,来源,经度,纬度,核实结果\n"
            "JB001,2025年3月4日,,后山有人盗伐杉木,12345热线,112.41,24.81,属实\n"
            "JB002,2025/3/5,采石,河边采石,信访,112.42,24.82,待核实\n"
        ).encode("gbk")
    )
    gdf, report = read_layer(csv, "complaints")
    assert report.encoding.lower() in ("gb18030", "gbk")
    assert gdf["category"].tolist() == ["illegal_logging", "illegal_mining"]
    assert gdf["status"].tolist() == ["verified", "new"]
    assert gdf["received_at"].iloc[0] == pd.Timestamp("2025-03-04")
    assert gdf["description"].iloc[0] == "后山有人盗伐杉木"
    assert gdf.crs.to_epsg() == 4490


def test_xlsx_problems_without_coordinates_import(tmp_path):
    xlsx = tmp_path / "p.xlsx"
    pd.DataFrame(
        {
            "问题编号": ["WT-1", "WT-2"],
            "督查批次": ["2025年第一次"] * 2,
            "发现日期": ["2025-03-01", "2025-03-02"],
            "村名": ["丰阳村", "东陂村"],
            "问题类别": ["盗伐滥伐林木", "填埋围垦排干湿地"],
            "整改期限": ["2025-04-01", "2025-04-30"],
            "整改状态": ["未整改", "已销号"],
            "抄送部门": ["镇自然资源所、镇郊派出所", "镇环保办"],
        }
    ).to_excel(xlsx, index=False, sheet_name="督查问题")
    gdf, report = read_layer(xlsx, "problems", crs="EPSG:4490")
    assert gdf["status"].tolist() == ["assigned", "verified"]
    assert gdf["cc_departments"].tolist() == ["natural_resources,police", "environment"]
    assert gdf["category"].tolist() == ["illegal_logging", "wetland_damage"]
    assert report.rows_imported == 2


def test_unknown_status_word_rejects_the_row_and_says_what_was_expected(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度,核实结果\nA1,2025-01-02,砍树,112.4,24.8,差不多\n",
        encoding="utf-8",
    )
    gdf, report = read_layer(csv, "complaints")
    assert len(gdf) == 0
    assert report.rejected == {"bad_value": 1}
    assert "差不多" in report.rejects["reject_detail"].iloc[0]


@pytest.mark.parametrize("word", ["涉密", "秘密", "机密", "绝密"])
def test_classified_file_name_is_refused(tmp_path, word):
    shp = write_shp(xiaoban(), tmp_path / f"小班_{word}.shp")
    with pytest.raises(ClassifiedDataError, match="does not belong"):
        read_layer(shp, "parcels")


def test_classified_column_is_refused(tmp_path):
    src = xiaoban(2, 密级=["内部", "机密"])
    with pytest.raises(ClassifiedDataError, match="does not belong"):
        read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")


def test_required_columns_missing_lists_them(tmp_path):
    src = gpd.GeoDataFrame({"FOO": ["x"]}, geometry=squares(1), crs=GK111)
    with pytest.raises(SchemaError, match="parcel_id"):
        read_layer(write_shp(src, tmp_path / "x.shp"), "parcels")


@pytest.mark.parametrize("fmt", ["GPKG", "GeoJSON", "KML"])
def test_other_vector_formats_import(tmp_path, fmt):
    src = xiaoban().to_crs(4326)
    ext = {"GPKG": "gpkg", "GeoJSON": "geojson", "KML": "kml"}[fmt]
    path = tmp_path / f"xb.{ext}"
    pyogrio.write_dataframe(src, path, driver=fmt)
    gdf, _ = read_layer(path, "parcels", target_crs="EPSG:4546")
    assert len(gdf) == 3
    assert gdf.crs.to_epsg() == 4546
    assert gdf["area_ha"].round(2).tolist() == [1.0, 1.0, 1.0]


def test_empty_layer_imports_nothing_without_error(tmp_path):
    shp = write_shp(xiaoban(0), tmp_path / "xb.shp")
    gdf, report = read_layer(shp, "parcels")
    assert len(gdf) == 0
    assert report.rows_read == 0


def test_real_guangdong_districts_file_reads_chinese_and_lon_lat(shared_dir):
    shp = shared_dir / "realdata" / "guangdong_districts" / "guangdong_district.shp"
    gdf, report = read_layer(shp, "villages")
    assert report.rows_read == 125
    assert "连州市" in set(gdf["village_name"])
    assert gdf.crs.to_epsg() == 4490
    assert report.encoding.upper().replace("-", "") == "UTF8"
    assert report.rows_imported + report.rows_rejected == 125


def test_row_without_coordinates_is_rejected_once(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,有人砍树,112.41,24.81\n"
        "A2,2025-01-03,有人砍树,,\n",
        encoding="utf-8",
    )
    _, report = read_layer(csv, "complaints")
    assert report.rejected == {"missing_coordinates": 1}
    assert report.rows_read == report.rows_imported + report.rows_rejected == 2
    assert len(report.rejects) == 1


def test_damaged_shapefile_is_a_clear_source_error(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    shp.write_bytes(b"this is not a shapefile" * 10)
    with pytest.raises(SourceError, match=r"xb\.shp could not be read.*provider"):
        read_layer(shp, "parcels")


def test_utf8_field_names_cut_mid_character_are_repaired(tmp_path):
    src = gpd.GeoDataFrame(
        {"XZQDM": ["441882101202"], "村名称": ["丰阳村"]}, geometry=squares(1), crs=GK111
    )
    shp = write_shp(src, tmp_path / "v.shp", encoding="utf-8")
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    second_field = 64  # header (32 bytes) + first field descriptor (32 bytes)
    assert bytes(data[second_field : second_field + 9]) == "村名称".encode()
    data[second_field : second_field + 11] = "村名称".encode()[:8].ljust(11, b"\0")
    dbf.write_bytes(bytes(data))
    gdf, report = read_layer(shp, "villages")
    assert report.field_mapping["村名"] == "village_name"
    assert gdf["village_name"].tolist() == ["丰阳村"]


def test_parcel_ids_are_the_same_however_the_numbers_are_padded(tmp_path):
    src = xiaoban(2, LIN_BAN=["8", "0009"], XIAO_BAN=["56", "001"])
    gdf, _ = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["parcel_id"].tolist() == ["0008-056", "0009-001"]


def test_wetland_type_zero_does_not_make_a_wetland(tmp_path):
    src = xiaoban(2, SDLX=["0", "31"])
    gdf, _ = read_layer(write_shp(src, tmp_path / "xb.shp"), "parcels")
    assert gdf["kind"].tolist() == ["forest", "wetland"]


def test_prj_with_a_chinese_name_in_gbk_is_read(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    prj = shp.with_suffix(".prj")
    text = prj.read_text().replace("CGCS2000_3_Degree_GK_CM_111E", "国家2000_自定义")
    prj.write_bytes(text.encode("gbk"))
    gdf, report = read_layer(shp, "parcels")
    assert gdf.crs.to_epsg() == 4546
    assert report.rows_imported == 3


@pytest.mark.parametrize(
    "value", ["112.41", "１１２．４１", "112,41", "112°24′36″E", "112度24分36秒"]
)
def test_coordinates_typed_in_many_ways_are_read(tmp_path, value):
    csv = tmp_path / "c.csv"
    csv.write_text(
        f'举报编号,受理时间,举报内容,经度,纬度\nA1,2025-01-02,砍树,"{value}",24.81\n',
        encoding="utf-8",
    )
    gdf, _ = read_layer(csv, "complaints")
    assert gdf.geometry.x.round(2).tolist() == [112.41]


def test_title_row_above_the_header_is_skipped_and_rows_keep_their_numbers(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text(
        "2025年举报登记表,,,,\n"
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2025-01-02,砍树,112.41,24.81\n"
        ",,,,\n"
        "A2,2025-01-03,砍树,,\n",
        encoding="utf-8",
    )
    gdf, report = read_layer(csv, "complaints")
    assert gdf["complaint_id"].tolist() == ["A1"]
    assert report.rejects["source_row"].tolist() == [5]
    assert any(w.code == "table.title_rows" for w in report.warnings)


@pytest.mark.parametrize(("content", "match"), [(b"", "is empty"), (b"\xef\xbb\xbf\n", "is empty")])
def test_empty_csv_is_a_clear_error(tmp_path, content, match):
    csv = tmp_path / "c.csv"
    csv.write_bytes(content)
    with pytest.raises(SourceError, match=match):
        read_layer(csv, "complaints")


def test_header_only_csv_imports_nothing(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("举报编号,受理时间,举报内容,经度,纬度\n", encoding="utf-8")
    gdf, report = read_layer(csv, "complaints")
    assert len(gdf) == 0
    assert report.rows_read == 0


def test_wrong_encoding_option_for_a_csv_is_a_clear_error(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_bytes(
        "举报编号,受理时间,举报内容,经度,纬度\nA1,2025-01-02,砍树,112.4,24.8\n".encode("gbk")
    )
    with pytest.raises(EncodingError, match="leave out --encoding"):
        read_layer(csv, "complaints", encoding="utf-8")


def test_unreadable_optional_location_is_rejected_not_dropped(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text(
        "问题编号,问题类别,整改状态,经度,纬度\nW1,盗伐滥伐林木,未整改,abc,24.8\nW2,其他,未整改,,\n",
        encoding="utf-8",
    )
    gdf, report = read_layer(csv, "problems", crs="EPSG:4490")
    assert gdf["problem_id"].tolist() == ["W2"]
    assert report.rejected == {"bad_value": 1}
    assert "经度=abc" in report.rejects["reject_detail"].iloc[0]


def test_patch_legality_comes_from_the_field_check_not_the_interpreter(tmp_path):
    src = gpd.GeoDataFrame(
        {
            "PAN_NO_TB": ["P1", "P2", "P3", "P4"],
            "PAN_BHYY": ["421", "421", "421", "411"],
            "BHYY": ["", "421", "411", ""],
            "SHIFOU_WF": ["", "", "", "1"],
        },
        geometry=squares(4),
        crs=GK111,
    )
    gdf, _ = read_layer(write_shp(src, tmp_path / "p.shp"), "patches")
    assert gdf["illegal"].tolist() == ["unknown", "true", "false", "true"]
    assert gdf["change_cause"].tolist() == ["421", "421", "411", "411"]


def test_a_kml_with_no_layer_at_all_is_refused_with_a_message(tmp_path):
    from layers.errors import SourceError

    path = tmp_path / "empty.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="holds no layer"):
        read_layer(path, "complaints")
