"""The sample town imports clean, end to end, through the real command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest

# The sample town through the real command line.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample_gis"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    ws = out / "demo.gpkg"
    env = {**os.environ, "GEOSERVICE_USER": "planner"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "geoservice",
            "demo",
            "--data",
            str(SAMPLE),
            "--out",
            str(out),
            "--json",
            "--lang",
            "en",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return ws, json.loads(res.stdout)


def test_every_sample_row_is_imported_rejected_with_a_reason_or_merged_as_a_part(demo):
    _, data = demo
    for report in data["imports"]:
        counted = report["rows_imported"] + report["rows_rejected"] + report["rows_merged"]
        assert report["rows_read"] == counted, report


def test_the_village_stored_one_row_per_part_is_merged_into_one_feature(demo):
    ws, data = demo
    [report] = [r for r in data["imports"] if r["source"].endswith("villages.shp")]
    assert (report["rows_read"], report["rows_merged"]) == (19, 3)
    villages = pyogrio.read_dataframe(ws, layer="villages")
    assert villages["village_code"].is_unique
    assert villages.geometry.is_valid.all()


@pytest.mark.parametrize(
    ("source", "rows", "encoding", "crs"),
    [
        ("villages.shp", 16, "GB18030", "EPSG:4546"),
        ("xiaoban.shp", 4636, "GB18030", "EPSG:4546"),
        ("wetlands.shp", 146, "UTF-8", "EPSG:4546"),
        ("complaints.csv", 294, "GB18030", "EPSG:4490"),
        ("complaints_wechat.csv", 12, "UTF-8-SIG", "GCJ-02"),
        ("patches.shp", 75, "GB18030", "EPSG:4525"),
        ("problems.xlsx", 40, "UTF-8", "EPSG:4490"),
    ],
)
def test_sample_files_import_with_their_counts_encodings_and_crs(demo, source, rows, encoding, crs):
    _, data = demo
    [report] = [r for r in data["imports"] if r["source"].endswith(source)]
    assert report["rows_imported"] == rows
    assert report["encoding"].upper() == encoding
    assert report["crs"].split(" ")[0] == crs


def test_complaints_without_a_location_are_the_only_rejects(demo):
    _, data = demo
    rejected = {r["source"].rsplit("/", 1)[-1]: r["rejected_by_reason"] for r in data["imports"]}
    assert {k: v for k, v in rejected.items() if v} == {
        "complaints.csv": {"missing_coordinates": {"count": 6, "reason": "missing coordinates"}}
    }


def test_workspace_holds_everything_in_one_metric_crs_with_chinese_text(demo):
    ws, _ = demo
    layers = {str(n) for n, _ in pyogrio.list_layers(ws)}
    assert {"villages", "parcels", "complaints", "patches", "problems", "layer_catalog"} <= layers
    villages = pyogrio.read_dataframe(ws, layer="villages")
    assert villages.crs.to_epsg() == 4546
    assert {"竹山村", "丰阳村", "东陂村"} <= set(villages["village_name"])
    assert villages["village_code"].str.fullmatch(r"4418821012\d\d").all()
    patches = pyogrio.read_dataframe(ws, layer="patches")
    assert patches.crs.to_epsg() == 4546
    assert patches.geometry.centroid.x.between(500_000, 800_000).all()


def test_parcels_carry_both_kinds_and_normalised_codes(demo):
    ws, _ = demo
    parcels = pyogrio.read_dataframe(ws, layer="parcels")
    assert parcels["kind"].value_counts().to_dict() == {"forest": 4636, "wetland": 146}
    forest = parcels[parcels["kind"] == "forest"]
    assert forest["village_code"].notna().all()
    assert not forest["land_class"].isin(["131", "111"]).any()
    assert set(forest["public_welfare"]) <= {
        "national_1",
        "national_2",
        "local_key",
        "local_general",
        "none",
    }
    assert forest["nature_reserve"].any()
    assert forest["parcel_id"].is_unique


def test_complaint_categories_and_statuses_are_canonical(demo):
    ws, _ = demo
    complaints = pyogrio.read_dataframe(ws, layer="complaints")
    assert complaints["status"].isin(["new", "verified", "unfounded", "closed"]).all()
    assert complaints["category"].notna().all()
    assert (complaints["category"] != "other").mean() > 0.8


def test_planted_case_evidence_is_in_the_workspace_under_the_same_ids(demo):
    from geoservice.sample.town import planted_cases

    ws, _ = demo
    parcels = set(pyogrio.read_dataframe(ws, layer="parcels", read_geometry=False)["parcel_id"])
    complaints = set(
        pyogrio.read_dataframe(ws, layer="complaints", read_geometry=False)["complaint_id"]
    )
    patches = set(pyogrio.read_dataframe(ws, layer="patches", read_geometry=False)["patch_id"])
    problems = set(pyogrio.read_dataframe(ws, layer="problems", read_geometry=False)["problem_id"])
    for case in planted_cases():
        assert set(case.parcel_ids) | set(case.wetland_ids) <= parcels, case.key
        assert set(case.complaint_ids) <= complaints, case.key
        assert set(case.patch_ids) <= patches, case.key
        assert set(case.problem_ids) <= problems, case.key


def test_demo_writes_the_target_list_for_a_clerk_and_for_qgis(demo):
    _, data = demo
    outputs = data["outputs"]
    assert Path(outputs["targets_xlsx"]).is_file()
    assert "溪岭镇" in Path(outputs["department_report"]).read_text(encoding="utf-8")
    assert len(data["villages"]) == 16
    targets = pyogrio.read_dataframe(outputs["targets_gpkg"])
    assert len(targets) == data["analysis"]["counts"]["targets"] > 0
