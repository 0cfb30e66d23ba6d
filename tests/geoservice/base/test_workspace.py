"""The workspace: import into a GeoPackage, register, audit, modes, CRS, locking."""

import contextlib
import fcntl
import json
import sqlite3
import subprocess

import pyogrio
import pytest

from geoservice.base.errors import ConflictError, NothingImportedError, OptionError, WorkspaceError
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.importing import gauss_kruger_for, import_file
from tests.support.builders import squares, write_shp, xiaoban


def _complaints_csv(path, ids=("A1", "A2")):
    rows = "\n".join(f"{i},2025-01-0{n + 1},有人砍树,112.41,24.8{n}" for n, i in enumerate(ids))
    path.write_text("举报编号,受理时间,举报内容,经度,纬度\n" + rows + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "town.gpkg")


def test_first_import_creates_workspace_with_register_and_audit(ws, tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    result = import_file(ws, shp, "parcels", actor="planner1")
    assert ws.exists()
    [entry] = ws.catalog()
    assert (entry.layer, entry.part, entry.rows, entry.imported_by) == (
        "parcels",
        "forest",
        3,
        "planner1",
    )
    assert entry.owner_department == "agriculture"
    assert entry.classification == "internal"
    assert entry.source_file == "xb.shp"
    assert len(entry.sha256) == 64
    assert entry.encoding.upper() == "GB18030"
    assert result.layer_rows == 3
    audit = ws.audit()
    assert audit["action"].tolist() == ["import.replace"]
    assert json.loads(audit["detail"].iloc[0])["report"]["rows_imported"] == 3


def test_workspace_crs_is_the_first_projected_layers(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    import_file(ws, _complaints_csv(tmp_path / "c.csv"), "complaints", actor="a")
    assert ws.crs().to_epsg() == 4546
    complaints = ws.read("complaints")
    assert complaints.crs.to_epsg() == 4546
    assert complaints.geometry.x.between(600_000, 700_000).all()


def test_lon_lat_first_layer_gets_the_gauss_kruger_zone_of_its_centre(ws, tmp_path):
    result = import_file(ws, _complaints_csv(tmp_path / "c.csv"), "complaints", actor="a")
    assert ws.crs().to_epsg() == 4546
    assert any(w.code == "workspace.crs_chosen" for w in result.report.warnings)


def test_setting_decides_the_workspace_crs(ws, tmp_path):
    import_file(
        ws, _complaints_csv(tmp_path / "c.csv"), "complaints", actor="a", workspace_crs="EPSG:4547"
    )
    assert ws.crs().to_epsg() == 4547


@pytest.mark.parametrize(("lon", "epsg"), [(112.4, 4546), (113.9, 4547), (75.0, 4534)])
def test_gauss_kruger_zone_for_longitude(lon, epsg):
    assert gauss_kruger_for(lon).to_epsg() == epsg


def test_replace_mode_replaces_the_layer(ws, tmp_path):
    import_file(ws, _complaints_csv(tmp_path / "a.csv", ("A1", "A2")), "complaints", actor="a")
    import_file(ws, _complaints_csv(tmp_path / "b.csv", ("B1",)), "complaints", actor="a")
    assert ws.read("complaints")["complaint_id"].tolist() == ["B1"]
    assert [e.source_file for e in ws.catalog()] == ["b.csv"]


@pytest.mark.slow
def test_append_mode_adds_rows_and_rejects_ids_already_stored(ws, tmp_path):
    import_file(ws, _complaints_csv(tmp_path / "a.csv", ("A1", "A2")), "complaints", actor="a")
    result = import_file(
        ws,
        _complaints_csv(tmp_path / "b.csv", ("A2", "B1")),
        "complaints",
        actor="a",
        mode="append",
    )
    assert sorted(ws.read("complaints")["complaint_id"]) == ["A1", "A2", "B1"]
    assert result.report.rejected == {"duplicate_id": 1}
    assert result.report.rows_imported == 1
    assert ws.read("rejects_complaints")["举报编号"].tolist() == ["A2"]
    assert [e.mode for e in ws.catalog()] == ["replace", "append"]


@pytest.mark.slow
def test_wetland_import_keeps_forest_parcels(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    wet = xiaoban(2, LIN_BAN=["0099", "0099"]).set_geometry(squares(2, y0=2_745_000.0))
    wet = wet.set_crs("EPSG:4546", allow_override=True)
    import_file(
        ws, write_shp(wet, tmp_path / "wet.shp"), "parcels", actor="a", parcel_kind="wetland"
    )
    parcels = ws.read("parcels")
    assert parcels["kind"].value_counts().to_dict() == {"forest": 3, "wetland": 2}
    assert sorted(e.part for e in ws.catalog()) == ["forest", "wetland"]


def test_rejects_are_stored_with_reasons(ws, tmp_path):
    src = xiaoban(3, XIAO_BAN=["001", "001", "002"], DI_LEI=["111", "131", "111"])
    import_file(ws, write_shp(src, tmp_path / "xb.shp"), "parcels", actor="a")
    rejects = ws.read("rejects_parcels")
    assert rejects["reject_reason"].tolist() == ["duplicate_id"]
    assert rejects["reject_label"].tolist() == ["编号重复"]


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("mode", "merge", "'replace' or 'append'"),
        ("owner", "forestry", "expected to be one of: gov_office"),
        ("classification", "secret", "classified data does not belong"),
    ],
)
def test_bad_options_are_refused_before_anything_is_read(ws, tmp_path, option, value, match):
    with pytest.raises(OptionError, match=match):
        import_file(ws, tmp_path / "nothing.shp", "parcels", actor="a", **{option: value})
    assert not ws.exists()


def test_locked_workspace_refuses_a_second_writer(ws, tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    with open(tmp_path / "town.gpkg.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConflictError, match="another process"):
            import_file(ws, shp, "parcels", actor="a")


def test_missing_workspace_says_how_to_create_one(ws):
    with pytest.raises(WorkspaceError, match="import data into it first"):
        ws.catalog()


def test_workspace_is_a_valid_geopackage_gdal_lists(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    names = {str(n) for n, _ in pyogrio.list_layers(ws.path)}
    assert {"parcels", "layer_catalog", "audit_log", "rejects_parcels"} <= names
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA application_id").fetchone() == (0x47504B47,)
    catalog = pyogrio.read_dataframe(ws.path, layer="layer_catalog")
    assert catalog["source_file"].tolist() == ["xb.shp"]


def test_workspace_opens_in_a_second_gdal_client(ws, tmp_path, ogrinfo):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    run = subprocess.run(
        [ogrinfo, "-ro", "-so", str(ws.path), "parcels"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "Feature Count: 3" in run.stdout
    assert "CGCS2000" in run.stdout


def test_settings_reject_a_workspace_that_is_not_a_gpkg():
    with pytest.raises(ValueError, match=r"expected to be a GeoPackage file ending in \.gpkg"):
        Settings(workspace="town.sqlite")


@pytest.mark.parametrize(
    ("value", "match"),
    [("EPSG:4490", "needs a projected CRS in metres"), ("nonsense", "which is not a CRS")],
)
def test_settings_reject_a_crs_the_workspace_cannot_use(value, match):
    with pytest.raises(ValueError, match=match):
        Settings(crs=value)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GEOSERVICE_WORKSPACE", "/tmp/x.gpkg")
    monkeypatch.setenv("GEOSERVICE_LANG", "en")
    settings = Settings()
    assert str(settings.workspace) == "/tmp/x.gpkg"
    assert settings.lang == "en"


def test_a_file_whose_rows_are_all_rejected_changes_nothing(ws, tmp_path):
    import_file(ws, _complaints_csv(tmp_path / "a.csv"), "complaints", actor="a")
    before = ws.read("complaints")
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\nB1,2025-01-02,砍树,24.8,112.4\n", encoding="utf-8"
    )
    with pytest.raises(NothingImportedError, match=r"All 1 rows .* were rejected") as info:
        import_file(ws, swapped, "complaints", actor="a", crs="EPSG:4490")
    assert info.value.report.rejected == {"outside_crs_area": 1}
    assert ws.read("complaints")["complaint_id"].tolist() == before["complaint_id"].tolist()


def test_wetland_ids_that_clash_with_kept_forest_ids_are_rejected(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    wet = xiaoban(3, XIAO_BAN=["001", "002", "009"]).set_geometry(squares(3, y0=2_745_000.0))
    wet = wet.set_crs("EPSG:4546", allow_override=True)
    result = import_file(
        ws, write_shp(wet, tmp_path / "wet.shp"), "parcels", actor="a", parcel_kind="wetland"
    )
    assert result.report.rejected == {"duplicate_id": 2}
    parcels = ws.read("parcels")
    assert parcels["parcel_id"].is_unique
    assert parcels["kind"].value_counts().to_dict() == {"forest": 3, "wetland": 1}


def test_mixed_file_without_kind_that_clashes_is_a_conflict(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    wet = xiaoban(1, SDLX=["31"]).set_geometry(squares(1, y0=2_745_000.0))
    wet = wet.set_crs("EPSG:4546", allow_override=True)
    with pytest.raises(ConflictError, match="clash with stored parcels of the other kind"):
        import_file(ws, write_shp(wet, tmp_path / "wet.shp"), "parcels", actor="a")


def test_problem_list_without_coordinates_imports_into_any_workspace(ws, tmp_path):
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    xlsx = tmp_path / "p.xlsx"
    import pandas as pd

    pd.DataFrame(
        {
            "问题编号": ["W1"],
            "问题类别": ["盗伐滥伐林木"],
            "整改状态": ["未整改"],
            "村名": ["丰阳村"],
        }
    ).to_excel(xlsx, index=False)
    result = import_file(ws, xlsx, "problems", actor="a")
    assert result.report.rows_imported == 1
    assert ws.read("problems").crs.to_epsg() == 4546
    assert ws.crs().to_epsg() == 4546


def test_problem_list_without_coordinates_does_not_decide_the_workspace_crs(ws, tmp_path):
    xlsx = tmp_path / "p.xlsx"
    import pandas as pd

    pd.DataFrame({"问题编号": ["W1"], "问题类别": ["其他"], "整改状态": ["未整改"]}).to_excel(
        xlsx, index=False
    )
    import_file(ws, xlsx, "problems", actor="a")
    assert ws.crs() is None
