"""Live complaint intake: stored, located, indexed incrementally, scored as analyze does."""

from __future__ import annotations

import contextlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyogrio
import pytest
import shapely

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.intake.complaints import ComplaintIntake, complaints_classification, read_complaint
from tests.geoservice.intake.conftest import (
    AS_OF,
    PARCEL_CENTRES,
    parcels_file,
    risk,
    submit,
    villages_file,
)
from tests.support.builders import X0, Y0


@pytest.fixture
def intake(ws: Workspace) -> ComplaintIntake:
    return ComplaintIntake(ws)


@pytest.mark.slow
def test_a_complaint_is_stored_categorised_and_located(intake, ws):
    answer = submit(intake)
    assert answer["complaint_id"] == "TS-20261128-001"
    assert answer["category"] == {
        "code": "illegal_logging",
        "zh": "盗伐滥伐林木",
        "en": "illegal logging",
        "source": "text",
    }
    assert answer["location"]["parcel_id"] == "0012-001"
    assert answer["village"] == {"code": "441882101201", "name": "竹山村"}
    stored = read_complaint(ws, "TS-20261128-001")
    assert (stored["status"], stored["category"], stored["village_name"]) == (
        "new",
        "illegal_logging",
        "竹山村",
    )
    assert stored["received_at"] == "2026-11-28"
    assert ws.audit()["action"].iloc[-1] == "complaint.add"


@pytest.mark.slow
@pytest.mark.parametrize("at", [0, 1, 2], ids=["complaints-only", "with-patch", "no-row-yet"])
def test_incremental_scores_equal_a_full_analysis_rerun(intake, ws, at):
    answer = submit(intake, at=at)
    incremental = risk(ws)
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    full = risk(ws)
    assert answer["affected"], answer
    for a in answer["affected"]:
        pid = a["parcel_id"]
        assert a["new_score"] == pytest.approx(full.loc[pid, "score"], rel=1e-6)
        for col in ("score", "complaint_score", "protection_multiplier"):
            assert incremental.loc[pid, col] == pytest.approx(full.loc[pid, col], rel=1e-6)
        for col in ("complaint_count", "complaint_ids", "flagged"):
            assert incremental.loc[pid, col] == full.loc[pid, col], col


@pytest.mark.slow
def test_a_parcel_without_a_risk_row_gets_one_as_analyze_writes_it(intake, ws):
    assert "0012-003" not in risk(ws).index
    answer = submit(intake, at=2)
    rows = {a["parcel_id"]: (a["row"], a["old_score"]) for a in answer["affected"]}
    assert rows["0012-003"] == ("inserted", None)
    # the complaint lies in 0012-003: it counts for no neighbour, whose row is left alone
    assert "0012-002" not in rows
    mine = risk(ws).loc["0012-003"]
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    full = risk(ws).loc["0012-003"]
    for col in ("categories", "dominant_category", "complaint_facts", "village_name", "kind"):
        assert mine[col] == full[col], col
    assert shapely.equals(mine.geometry, full.geometry)


def test_the_patch_part_of_a_score_is_kept(intake, ws):
    before = risk(ws).loc["0012-002"]
    answer = submit(intake, at=1)
    after = risk(ws).loc["0012-002"]
    assert before["patch_score"] > 0
    assert after["patch_score"] == before["patch_score"]
    assert after["score"] == pytest.approx(
        (after["complaint_score"] + before["patch_score"]) * after["protection_multiplier"]
    )
    assert answer["affected"][0]["old_score"] == pytest.approx(before["score"])


@pytest.mark.slow
def test_the_complaint_index_grows_by_one_per_insert_without_rebuilding(intake):
    submit(intake)
    count = intake.complaint_count
    for i in range(20):
        submit(intake, at=(X0 + 10 * i, Y0 + 30))
        assert intake.complaint_count == count + i + 1
    assert intake.builds == 1
    assert intake.caught_up == 0


@pytest.mark.slow
def test_concurrent_submissions_from_threads_all_land_once(intake):
    submit(intake)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda i: submit(intake, at=i % 3)["complaint_id"], range(8)))
    assert len(set(ids)) == 8
    assert (intake.builds, intake.complaint_count) == (1, 2 + 9)


def test_other_in_place_writes_do_not_rebuild_the_indexes(intake, ws):
    submit(intake)
    ws.log("someone", "layers.list", "layer_catalog", {})
    submit(intake)
    assert intake.builds == 1


@pytest.mark.slow
def test_a_replaced_workspace_rebuilds_the_indexes_once(intake, ws):
    submit(intake)
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    submit(intake)
    submit(intake)
    assert intake.builds == 2
    assert intake.complaint_count == 2 + 3


def test_complaints_another_process_stored_are_added_not_rebuilt(ws):
    first, second = ComplaintIntake(ws), ComplaintIntake(ws)
    submit(first)
    submit(second)
    submit(first)
    assert (first.builds, second.builds) == (1, 1)
    assert first.caught_up == 1
    assert first.complaint_count == second.complaint_count + 1 == 2 + 3
    assert submit(second)["complaint_id"] == "TS-20261128-004"


def test_ids_count_up_within_the_day(intake):
    ids = [submit(intake)["complaint_id"] for _ in range(3)]
    assert ids == ["TS-20261128-001", "TS-20261128-002", "TS-20261128-003"]


def test_a_score_crossing_the_threshold_says_so(intake):
    answers = [submit(intake, at=2) for _ in range(5)]
    assert [a["crossed_threshold"] for a in answers] == [False] * 4 + [True]
    assert answers[-1]["affected"][0]["flagged"]
    assert "预警阈值 2.5" in answers[-1]["summary"]["zh"]
    assert "next 'geoservice analyze' run regroups" in answers[-1]["summary"]["en"]


def test_a_point_far_from_every_parcel_is_unmatched_with_the_nearest(intake, ws):
    before = risk(ws)
    answer = submit(intake, at=(X0 + 50, Y0 + 600))
    loc = answer["location"]
    assert (loc["matched"], loc["parcel_id"], loc["nearest_parcel_id"]) == (False, None, "0012-001")
    assert loc["distance_m"] == pytest.approx(500, abs=0.5)
    assert answer["affected"] == []
    assert "unmatched" in answer["summary"]["en"]
    assert risk(ws)["score"].tolist() == before["score"].tolist()


def test_a_village_alone_places_the_complaint_on_its_representative_point(intake, ws):
    answer = intake.submit(intake.ws, text="有人偷倒垃圾", village="丰阳村", by="o", as_of=AS_OF)
    assert answer["location"]["source"] == "village"
    assert answer["village"]["code"] == "441882101202"
    assert answer["category"]["code"] == "pollution"
    assert "代表点" in answer["notes"][0]["zh"]
    x, y = answer["location"]["x"], answer["location"]["y"]
    assert shapely.box(X0 + 250, Y0 - 1000, X0 + 1500, Y0 + 1000).contains(shapely.Point(x, y))


def test_a_village_user_may_file_only_in_its_own_village(intake):
    with pytest.raises(OptionError, match=r"own village \(441882101202\).*竹山村"):
        submit(intake, own_village="441882101202")
    assert submit(intake, at=2, own_village="441882101202")["village"]["name"] == "丰阳村"


def test_a_given_category_wins_over_the_text(intake):
    answer = submit(intake, category="非法占用林地湿地")
    assert answer["category"]["code"] == "land_occupation"
    assert answer["category"]["source"] == "given"


def test_the_text_is_classified_with_the_workspace_rules_override(ws, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("classification:\n  keywords:\n    pollution: [臭味]\n", encoding="utf-8")
    plain = submit(ComplaintIntake(ws), text="河边有臭味")
    custom = submit(ComplaintIntake(ws, rules), text="河边有臭味")
    assert (plain["category"]["code"], custom["category"]["code"]) == ("other", "pollution")


def test_the_phone_is_kept_only_masked(intake, ws):
    cid = submit(intake, reporter_phone="138 0013 5678")["complaint_id"]
    assert read_complaint(ws, cid)["reporter_phone_masked"] == "138****5678"
    assert b"13800135678" not in ws.path.read_bytes()


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lon": 24.8, "lat": 112.4}, "check they are not swapped"),
        ({"lon": 112.4, "lat": None}, "give both"),
        ({"lon": 120.0, "lat": 30.0}, "km from the nearest parcel"),
        ({}, "needs a location"),
        ({"lon": 112.4, "lat": 24.8, "text": " "}, "`text` had 0 characters"),
        ({"lon": 112.4, "lat": 24.8, "category": "偷鸟"}, "`category` was '偷鸟'"),
        ({"lon": 112.4, "lat": 24.8, "reported_at": date(2026, 12, 1)}, "after today"),
        ({"lon": 112.4, "lat": 24.8, "reporter_phone": "call me"}, "`reporter_phone`"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(intake, ws, kw, match):
    args = {"text": "砍树", "by": "o", "as_of": AS_OF, **kw}
    with pytest.raises(OptionError, match=match):
        intake.submit(ws, **args)
    assert "TS-" not in "".join(pyogrio.read_dataframe(ws.path, layer="complaints")["complaint_id"])


def test_an_unknown_village_is_not_found_with_suggestions(intake):
    with pytest.raises(NotFoundError, match="closest names are: 丰阳村"):
        intake.submit(intake.ws, text="砍树", village="丰羊村", by="o", as_of=AS_OF)


def test_an_unknown_complaint_id_is_not_found(ws):
    with pytest.raises(NotFoundError, match="no complaint 'TS-1'"):
        read_complaint(ws, "TS-1")


def _bare(tmp_path: Path, analysed: bool) -> Workspace:
    ws = Workspace(tmp_path / "bare.gpkg")
    import_file(ws, parcels_file(tmp_path / "xb.shp"), "parcels", actor="t")
    if analysed:
        analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    return ws


@pytest.mark.slow
def test_a_workspace_without_complaints_gets_a_restricted_complaints_layer(tmp_path):
    ws = _bare(tmp_path, analysed=True)
    answer = submit(ComplaintIntake(ws))
    assert answer["affected"][0]["row"] == "inserted"
    assert complaints_classification(ws) == "restricted"
    result = analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    assert set(result.parcel_risk["complaint_ids"]) == {answer["complaint_id"]}


def test_without_analysis_results_the_scores_are_reported_not_stored(tmp_path):
    ws = _bare(tmp_path, analysed=False)
    answer = submit(ComplaintIntake(ws))
    assert answer["affected"][0]["row"] == "not_stored"
    assert "run 'geoservice analyze' once" in answer["notes"][-1]["en"]


def test_a_workspace_without_parcels_cannot_take_complaints(tmp_path):
    ws = Workspace(tmp_path / "v.gpkg")
    import_file(ws, villages_file(tmp_path / "v.shp"), "villages", actor="t")
    with pytest.raises(NotFoundError, match="has no parcels layer"):
        submit(ComplaintIntake(ws))


def test_the_stored_row_is_a_valid_geopackage_feature(intake, ws):
    cid = submit(intake, at=1)["complaint_id"]
    layer = pyogrio.read_dataframe(ws.path, layer="complaints")
    row = layer[layer["complaint_id"] == cid].iloc[0]
    assert row.geometry.distance(shapely.Point(PARCEL_CENTRES[1])) < 0.01
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        hits = con.execute(
            "SELECT count(*) FROM rtree_complaints_geom WHERE minx <= ? AND maxx >= ?",
            (PARCEL_CENTRES[1][0] + 1, PARCEL_CENTRES[1][0] - 1),
        ).fetchone()[0]
    assert hits == 1


def test_a_live_complaint_records_how_it_got_its_village(intake, ws):
    submit(intake)
    stored = read_complaint(ws, "TS-20261128-001")
    assert (stored["village_code"], stored["village_by"]) == ("441882101201", "location")
    assert ws.village_coverage()["complaints"]["location"] >= 1
