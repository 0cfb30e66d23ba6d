"""Exports: lon/lat for GeoJSON and KML, workspace CRS otherwise, always audited."""

import json

import pandas as pd
import pyogrio
import pytest

from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.files.exporting import export_layer, shapefile_names
from geoservice.files.importing import import_file
from tests.builders import write_shp, xiaoban


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
    from geoservice.base.workspace_write import write_frame

    frame = ws.read("parcels")
    frame["surveyed_on"] = pd.to_datetime(["2026-05-01", None, "2026-06-30"])
    with ws.transaction() as work:
        write_frame(frame, work, "parcels")
    result = export_layer(ws, "parcels", tmp_path / "p.shp", actor="planner")
    back = pyogrio.read_dataframe(result.path)
    dates = back[result.renamed.get("surveyed_on", "surveyed_on")]
    assert dates.iloc[[0, 2]].tolist() == ["2026-05-01", "2026-06-30"]
    assert pd.isna(dates.iloc[1])
