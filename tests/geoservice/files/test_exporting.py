"""Exports: lon/lat for GeoJSON and KML, workspace CRS otherwise, always audited."""

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import write_frame
from geoservice.files.exporting import export_layer, shapefile_names
from geoservice.files.importing import import_file
from geoservice.files.target_columns import centres, target_deadlines
from tests.support.builders import X0, Y0, write_shp, xiaoban


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    return ws


@pytest.mark.parametrize(
    ("name", "epsg"), [("p.geojson", 4326), ("p.kml", 4326), ("p.gpkg", 4546), ("p.shp", 4546)]
)
def test_export_writes_lon_lat_only_for_geojson_and_kml(ws, tmp_path, name, epsg):
    result = export_layer(ws, "parcels", tmp_path / name, actor="planner")
    back = pyogrio.read_dataframe(result.path)
    assert len(back) == 3
    assert back.crs.to_epsg() == epsg
    assert "丰阳村" in set(back[result.renamed.get("village_name", "village_name")])


def test_csv_export_has_a_bom_and_wkt(ws, tmp_path):
    result = export_layer(ws, "parcels", tmp_path / "p.csv", actor="planner")
    data = result.path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "POLYGON" in data.decode("utf-8-sig")


def test_every_export_is_audited(ws, tmp_path):
    export_layer(ws, "parcels", tmp_path / "p.geojson", actor="planner")
    audit = ws.audit()
    assert audit["action"].tolist() == ["import.replace", "export"]
    assert audit["actor"].tolist()[-1] == "planner"
    assert json.loads(audit["detail"].iloc[-1])["rows"] == 3


def test_unknown_export_suffix_asks_for_a_format(ws, tmp_path):
    with pytest.raises(OptionError, match=r"names no format; expected one of gpkg, geojson"):
        export_layer(ws, "parcels", tmp_path / "p.dxf", actor="planner")


def test_format_option_wins_over_the_suffix(ws, tmp_path):
    result = export_layer(ws, "parcels", tmp_path / "p.txt", actor="planner", fmt="geojson")
    assert result.driver == "GeoJSON"
    assert pyogrio.read_dataframe(f"GeoJSON:{result.path}").crs.to_epsg() == 4326


def test_unknown_format_option_names_the_allowed_ones(ws, tmp_path):
    with pytest.raises(OptionError, match="'dxf' but is expected to be one of gpkg"):
        export_layer(ws, "parcels", tmp_path / "p.dxf", actor="planner", fmt="dxf")


def test_unknown_layer_names_the_layers_there_are(ws, tmp_path):
    with pytest.raises(NotFoundError, match="has no layer 'rivers'"):
        export_layer(ws, "rivers", tmp_path / "p.geojson", actor="planner")


def test_shapefile_names_fit_ten_bytes_and_stay_unique():
    names = shapefile_names(["village_name", "village_name2", "parcel_id", "小班备注信息"])
    assert names == {
        "village_name": "village_na",
        "village_name2": "village_n1",
        "小班备注信息": "小班备",
    }


def test_xlsx_export_of_a_layer_keeps_columns_and_geometry_as_wkt(ws, tmp_path):
    result = export_layer(ws, "parcels", tmp_path / "p.xlsx", actor="planner")
    table = pd.read_excel(result.path)
    assert table["village_name"].tolist() == ["丰阳村"] * 3
    assert table["geometry_wkt"].str.startswith("POLYGON").all()


def test_shapefile_export_is_gbk_with_a_field_list(ws, tmp_path):
    result = export_layer(ws, "parcels", tmp_path / "p.shp", actor="planner")
    assert result.encoding == "CP936"
    assert (tmp_path / "p.cpg").read_text().strip() == "CP936"
    fields = (tmp_path / "p_fields.txt").read_text(encoding="utf-8")
    assert "village_na\tvillage_name" in fields
    raw = (tmp_path / "p.dbf").read_bytes()
    assert "丰阳村".encode("gbk") in raw


def test_filters_apply_to_targets_only(ws, tmp_path):
    with pytest.raises(OptionError, match="apply to the targets layer only"):
        export_layer(ws, "parcels", tmp_path / "p.csv", actor="a", department="police")


def test_a_row_mask_applies_to_targets_only(ws, tmp_path):
    with pytest.raises(OptionError, match="apply to the targets layer only"):
        export_layer(ws, "parcels", tmp_path / "p.csv", actor="a", keep=lambda f: f.index >= 0)


@pytest.mark.parametrize("name", ["r.csv", "r.xlsx", "r.gpkg"])
def test_tables_without_geometry_export_as_tables(ws, tmp_path, name):
    result = export_layer(ws, "layer_catalog", tmp_path / name, actor="planner")
    assert result.rows == 1
    assert result.crs == ""


def test_tables_without_geometry_cannot_become_geojson(ws, tmp_path):
    with pytest.raises(OptionError, match="has no geometry"):
        export_layer(ws, "layer_catalog", tmp_path / "r.geojson", actor="planner")


def test_out_that_is_a_folder_is_refused(ws, tmp_path):
    with pytest.raises(OptionError, match="is a folder"):
        export_layer(ws, "parcels", tmp_path, actor="planner", fmt="gpkg")


def test_shapefile_export_writes_dates_as_iso_text_and_keeps_missing_ones_empty(ws, tmp_path):
    frame = ws.read("parcels")
    frame["surveyed_on"] = pd.to_datetime(["2026-05-01", None, "2026-06-30"])
    with ws.transaction() as work:
        write_frame(frame, work, "parcels")
    result = export_layer(ws, "parcels", tmp_path / "p.shp", actor="planner")
    back = pyogrio.read_dataframe(result.path)
    dates = back[result.renamed.get("surveyed_on", "surveyed_on")]
    assert dates.iloc[[0, 2]].tolist() == ["2026-05-01", "2026-06-30"]
    assert pd.isna(dates.iloc[1])


# --- targets for a clerk: centre, state, deadline, print setup, labels --------------------

# A U-shaped clearing 300 m across: its centroid lies in the notch, outside the target.
U_SHAPE = shapely.Polygon(
    [(0, 0), (300, 0), (300, 300), (200, 300), (200, 60), (100, 60), (100, 300), (0, 300)]
)
LONG_REASON = "位置：丰阳村，小班 0012-001、0012-002。" + "收到举报投诉，反映盗伐滥伐林木。" * 40


def _targets(**extra: list) -> gpd.GeoDataFrame:
    data = {
        "target_id": ["T-u", "T-box"],
        "priority": ["P1", "P2"],
        # as the analysis of 2026-11-28 writes them: P1 7 days, P2 15 days
        "deadline": ["2026-12-05", "2026-12-13"],
        "score": [12.0, 5.0],
        "village_codes": ["441882101", "441882101"],
        "village_names": ["丰阳村", "丰阳村"],
        "parcel_ids": ["0012-001;0012-002", "0012-003"],
        "parcel_count": [2, 1],
        "area_ha": [7.0, 1.0],
        "categories": ["illegal_logging", "fire_hazard"],
        "lead_department": ["police", "emergency"],
        "cooperating_departments": ["agriculture;natural_resources", ""],
        "criminal_threshold_met": [True, False],
        "estimated_volume_m3": [30.0, 0.0],
        "complaint_count": [3, 1],
        "patch_area_ha": [0.5, 0.0],
        "open_problem_count": [2, 0],
        "reasons": [LONG_REASON, '=HYPERLINK("http://evil.example/","x")'],
        **extra,
    }
    shapes = [
        shapely.affinity.translate(U_SHAPE, X0, Y0),
        shapely.box(X0 + 500, Y0, X0 + 600, Y0 + 100),
    ]
    return gpd.GeoDataFrame(data, geometry=shapes, crs="EPSG:4546")


def _problem_facts() -> pd.DataFrame:
    # The open problems of the target's parcels are due earlier (one already past): their
    # 整改期限 must not replace the deadline the analysis wrote.
    return pd.DataFrame(
        {
            "parcel_id": ["0012-001", "0012-002", "0012-003", "0012-009"],
            "problem_facts": [
                "DC-1|illegal_logging|assigned|2026-12-31|0|1;DC-2|illegal_logging||2026-11-20|8|2",
                "DC-3|illegal_logging|in_progress|2026-10-15|45|2;DC-4|other|assigned||0|1",
                "",
                "DC-9|other|assigned|2026-01-01|300|2",
            ],
        }
    )


@pytest.fixture
def targets_ws(ws):
    def build(targets: gpd.GeoDataFrame | None = None) -> Workspace:
        with ws.transaction() as work:
            write_frame(_targets() if targets is None else targets, work, "targets")
            write_frame(_problem_facts(), work, "parcel_risk")
        return ws

    return build


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"期限": str})


def test_the_u_shaped_trap_has_its_centroid_outside():
    assert not U_SHAPE.contains(U_SHAPE.centroid)


def test_centres_lie_inside_their_targets_in_lon_lat():
    targets = _targets()
    found = centres(targets.geometry)
    points = gpd.GeoSeries(gpd.points_from_xy(found["lon"], found["lat"]), crs=4326)
    assert targets.geometry.to_crs(4326).contains(points, align=False).all()
    centroids = targets.geometry.centroid.to_crs(4326)
    assert not targets.geometry.to_crs(4326).iloc[0].contains(centroids.iloc[0])
    assert (found["lon"] == found["lon"].round(6)).all()


def test_centres_of_no_targets_are_an_empty_table():
    found = centres(_targets().iloc[:0].geometry)
    assert found.columns.tolist() == ["lon", "lat"] and found.empty


def test_a_deadline_is_the_deadline_column_the_analysis_wrote():
    assert target_deadlines(_targets()).tolist() == ["2026-12-05", "2026-12-13"]


def test_a_deadline_read_back_as_a_date_time_is_written_as_a_day():
    targets = _targets(deadline=pd.to_datetime(["2027-01-31", None]))
    assert target_deadlines(targets).tolist() == ["2027-01-31", pd.NA]


def test_deadlines_of_a_layer_without_the_column_or_of_no_targets_are_missing():
    assert target_deadlines(_targets().drop(columns="deadline")).isna().all()
    assert target_deadlines(_targets().iloc[:0]).empty


def test_target_csv_has_centre_and_deadline_columns(targets_ws, tmp_path):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.csv", actor="clerk")
    table = _csv(result.path)
    head = table.columns.tolist()
    assert head[:3] == ["目标编号", "优先级", "期限"]
    assert head[-3:] == ["中心经度", "中心纬度", "理由"]
    assert table["期限"].tolist() == ["2026-12-05", "2026-12-13"]
    assert "状态" not in head
    assert table["中心经度"].between(112, 113).all() and table["中心纬度"].between(24, 26).all()


def test_target_csv_has_the_state_in_words_when_targets_have_states(targets_ws, tmp_path):
    ws = targets_ws(_targets(state=["case_opened", "new"]))
    table = _csv(export_layer(ws, "targets", tmp_path / "t.csv", actor="clerk").path)
    assert table.columns[2] == "状态"
    assert table["状态"].tolist() == ["已立案", "待派发"]


def test_target_csv_takes_states_from_the_register_new_when_it_has_none(targets_ws, tmp_path):
    ws = targets_ws()
    with ws.transaction() as work:
        write_frame(
            pd.DataFrame({"target_id": ["T-u"], "state": ["dispatched"]}), work, "target_state"
        )
    table = _csv(export_layer(ws, "targets", tmp_path / "t.csv", actor="clerk").path)
    assert table["状态"].tolist() == ["已派发", "待派发"]


def test_target_csv_in_english_has_english_headers_and_words(targets_ws, tmp_path):
    ws = targets_ws(_targets(state=["case_opened", "new"]))
    path = export_layer(ws, "targets", tmp_path / "t.csv", actor="clerk", lang="en").path
    table = pd.read_csv(path, encoding="utf-8-sig")
    assert {"state", "deadline", "centre longitude", "centre latitude"} <= set(table.columns)
    assert table["state"].tolist() == ["case opened", "new"]
    assert table["deadline"].tolist() == ["2026-12-05", "2026-12-13"]


def test_target_csv_of_a_layer_from_before_deadlines_reads_no_deadline_set(targets_ws, tmp_path):
    ws = targets_ws(_targets().drop(columns="deadline"))
    table = _csv(export_layer(ws, "targets", tmp_path / "t.csv", actor="clerk").path)
    assert table["期限"].tolist() == ["未定期限", "未定期限"]


def test_target_xlsx_prints_on_a4_landscape_one_page_wide_with_the_header_repeated(
    targets_ws, tmp_path
):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.xlsx", actor="clerk")
    sheet = openpyxl.load_workbook(result.path).active
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert (int(sheet.page_setup.fitToWidth), int(sheet.page_setup.fitToHeight)) == (1, 0)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}3"


def test_target_xlsx_wraps_reasons_at_the_top_in_rows_tall_enough(targets_ws, tmp_path):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.xlsx", actor="clerk")
    sheet = openpyxl.load_workbook(result.path).active
    head = [c.value for c in sheet[1]]
    reason = sheet.cell(2, head.index("理由") + 1)
    assert reason.value == LONG_REASON
    assert reason.alignment.wrap_text and reason.alignment.vertical == "top"
    width = sheet.column_dimensions[reason.column_letter].width
    assert width >= 60
    lines = 2 * len(LONG_REASON) / (width - 1)  # a Chinese character is two wide
    assert sheet.row_dimensions[2].height >= 15 * lines
    assert sheet.cell(2, head.index("期限") + 1).value == "2026-12-05"
    lon, lat = (sheet.cell(2, head.index(h) + 1).value for h in ("中心经度", "中心纬度"))
    inside = _targets().geometry.to_crs(4326).iloc[0]
    assert inside.contains(shapely.Point(lon, lat))


def test_a_reason_too_long_for_the_tallest_row_widens_its_column_instead(targets_ws, tmp_path):
    very_long = LONG_REASON * 3  # about 1,600 characters
    ws = targets_ws(_targets(reasons=[very_long, "短"]))
    sheet = openpyxl.load_workbook(
        export_layer(ws, "targets", tmp_path / "t.xlsx", actor="clerk").path
    ).active
    head = [c.value for c in sheet[1]]
    letter = sheet.cell(1, head.index("理由") + 1).column_letter
    width = sheet.column_dimensions[letter].width
    printed = sum(2 if ord(c) > 0xFF else 1 for c in very_long)  # Chinese is two wide
    lines_needed = printed / (width - 1)
    assert width > 60
    assert lines_needed * 15 <= sheet.row_dimensions[2].height <= 409


def test_target_xlsx_shows_lon_lat_with_six_decimals(targets_ws, tmp_path):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.xlsx", actor="clerk")
    sheet = openpyxl.load_workbook(result.path).active
    head = [c.value for c in sheet[1]]
    for name in ("中心经度", "中心纬度"):
        cell = sheet.cell(2, head.index(name) + 1)
        assert cell.number_format == "0.000000" and isinstance(cell.value, float)


def test_target_xlsx_keeps_formula_like_reasons_as_text(targets_ws, tmp_path):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.xlsx", actor="clerk")
    sheet = openpyxl.load_workbook(result.path).active
    head = [c.value for c in sheet[1]]
    cell = sheet.cell(3, head.index("理由") + 1)
    assert cell.data_type == "s" and cell.quotePrefix


def test_an_empty_target_xlsx_keeps_its_headers_and_print_setup(targets_ws, tmp_path):
    ws = targets_ws()
    path = tmp_path / "t.xlsx"
    export_layer(ws, "targets", path, actor="clerk", keep=lambda f: f.index < 0)
    sheet = openpyxl.load_workbook(path).active
    assert sheet.max_row == 1
    assert {"期限", "中心经度", "中心纬度"} <= {c.value for c in sheet[1]}
    assert sheet.print_title_rows == "$1:$1"


def test_target_geojson_properties_hold_codes_and_chinese_labels(targets_ws, tmp_path):
    ws = targets_ws(_targets(state=["case_opened", "new"]))
    result = export_layer(ws, "targets", tmp_path / "t.geojson", actor="clerk")
    props = json.loads(result.path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert (props["priority"], props["priority_label"]) == ("P1", "立即行动")
    assert (props["lead_department"], props["lead_department_name"]) == ("police", "镇郊派出所")
    assert props["cooperating_department_names"] == "镇农业农村办;镇自然资源所"
    assert (props["village_codes"], props["village_names"]) == ("441882101", "丰阳村")
    assert (props["state"], props["state_label"]) == ("case_opened", "已立案")
    assert props["category_names"] == "盗伐滥伐林木"
    assert props["deadline"] == "2026-12-05"
    keys = list(props)
    assert keys.index("priority_label") == keys.index("priority") + 1
    inside = _targets().geometry.to_crs(4326).iloc[0]
    assert inside.contains(shapely.Point(props["lon"], props["lat"]))


def test_target_geojson_labels_follow_the_language(targets_ws, tmp_path):
    path = tmp_path / "t.geojson"
    export_layer(targets_ws(), "targets", path, actor="clerk", lang="en")
    props = json.loads(path.read_text(encoding="utf-8"))["features"][0]["properties"]
    assert (props["priority_label"], props["lead_department_name"]) == ("act now", "police station")
    assert "state_label" not in props


def test_target_kml_carries_the_labels(targets_ws, tmp_path):
    result = export_layer(targets_ws(), "targets", tmp_path / "t.kml", actor="clerk")
    back = pyogrio.read_dataframe(result.path)
    assert back["lead_department_name"].tolist() == ["镇郊派出所", "镇应急管理办"]
    assert back["priority_label"].tolist() == ["立即行动", "组织核查"]
