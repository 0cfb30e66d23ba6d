"""The live intake keeps its workspace warm: no layer read per complaint, changes followed."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient

from geoservice.analysis import pause
from geoservice.analysis.rules import classify_text, load_rules
from geoservice.analysis.run import analyze
from geoservice.api.app import create_app
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.intake.checks import classify_one
from geoservice.intake.complaints import ComplaintIntake
from geoservice.workflow import village_updates
from tests.geoservice.intake.conftest import AS_OF, lonlat, risk, submit
from tests.support.builders import X0, Y0, write_shp, xiaoban
from tests.support.files import copy_workspace

ROOT = Path(__file__).resolve().parents[3]


def _refuse_layer_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a layer was read")

    for owner, name in (
        (Workspace, "read"),
        (Workspace, "info"),
        (pyogrio, "read_dataframe"),
        (pyogrio, "read_arrow"),
        (pyogrio, "read_info"),
        (pyogrio.raw, "read"),
    ):
        monkeypatch.setattr(owner, name, refuse)


def _file_four(intake: ComplaintIntake) -> list[dict]:
    """Complaints on each parcel and one placed on a village's point."""
    answers = [submit(intake, at=i) for i in (0, 1, 2, 2)]
    args = {"text": "有人偷倒垃圾", "village": "丰阳村", "by": "o", "as_of": AS_OF}
    return [*answers, intake.submit(intake.ws, **args)]


def test_a_warm_intake_files_without_reading_a_layer_and_answers_as_a_cold_one(
    ws, tmp_path, monkeypatch
):
    cold_ws = Workspace(copy_workspace(ws.path, tmp_path / "cold.gpkg"))
    warm = ComplaintIntake(ws)
    warm.warm_up()
    _refuse_layer_reads(monkeypatch)
    answers = _file_four(warm)
    monkeypatch.undo()
    assert answers == _file_four(ComplaintIntake(cold_ws))
    assert warm.builds == 1
    assert risk(ws).drop(columns="geometry").equals(risk(cold_ws).drop(columns="geometry"))


@pytest.mark.slow
def test_a_reimport_of_the_parcels_is_picked_up(ws, tmp_path):
    intake = ComplaintIntake(ws)
    point = (X0 + 650, Y0 + 50)  # beside the third parcel, inside a fourth one
    assert submit(intake, at=point)["location"]["parcel_id"] is None
    codes = ["441882101201", "441882101202", "441882101202", "441882101202"]
    shp = write_shp(xiaoban(n=4, ZLDWDM=codes), tmp_path / "xb4.shp")
    import_file(ws, shp, "parcels", actor="t", parcel_kind="forest")
    answer = submit(intake, at=point)
    assert answer["location"]["parcel_id"] == "0012-004"
    assert intake.builds == 2
    assert intake.parcel_count == 4


@pytest.mark.slow
def test_a_reanalysis_is_picked_up_without_duplicating_risk_rows(ws):
    intake = ComplaintIntake(ws)
    submit(intake, at=2)
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    answer = submit(intake, at=2)
    rows = {a["parcel_id"]: a["row"] for a in answer["affected"]}
    assert rows["0012-003"] == "updated"
    assert risk(ws).index.tolist().count("0012-003") == 1
    assert intake.builds == 2


def test_risk_rows_another_intake_inserted_are_updated_not_duplicated(ws):
    first, second = ComplaintIntake(ws), ComplaintIntake(ws)
    first.warm_up()
    inserted = {a["parcel_id"]: a for a in submit(second, at=2)["affected"]}["0012-003"]
    assert inserted["row"] == "inserted"
    mine = {a["parcel_id"]: a for a in submit(first, at=2)["affected"]}["0012-003"]
    assert (mine["row"], mine["old_score"]) == ("updated", inserted["new_score"])
    stored = risk(ws)
    assert stored.index.tolist().count("0012-003") == 1
    assert stored.loc["0012-003", "complaint_count"] == 2
    assert first.builds == 1


@pytest.mark.slow
def test_a_complaint_another_process_filed_is_seen(ws):
    intake = ComplaintIntake(ws)
    intake.warm_up()
    lon, lat = lonlat(X0 + 450, Y0 + 50)
    script = (
        "import datetime, sys\n"
        "from geoservice.base.workspace import Workspace\n"
        "from geoservice.intake.complaints import ComplaintIntake\n"
        "ws = Workspace(sys.argv[1])\n"
        "a = ComplaintIntake(ws).submit(ws, text='有人砍树', by='worker2', "
        f"lon={lon}, lat={lat}, as_of=datetime.date({AS_OF.year}, {AS_OF.month}, {AS_OF.day}))\n"
        "print(a['complaint_id'])\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script, str(ws.path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert other.stdout.strip() == "TS-20261128-001"
    answer = submit(intake, at=2)
    assert answer["complaint_id"] == "TS-20261128-002"
    assert (intake.caught_up, intake.builds) == (1, 1)
    assert risk(ws).loc["0012-003", "complaint_count"] == 2


def test_a_request_never_switches_to_the_batch_runtime(ws, monkeypatch):
    def refuse(self: object) -> None:
        raise AssertionError("the analysis runtime was switched on")

    monkeypatch.setattr(pause._Runtime, "enter", refuse)
    assert gc.isenabled()
    assert submit(ComplaintIntake(ws), at=1)["affected"]
    assert gc.isenabled()


def test_one_text_is_classified_as_the_analysis_classifies_a_column():
    rules = load_rules(None)
    words = [w for ws_ in rules.classification.keywords.values() for w in ws_]
    texts = ["", "没有关键词的举报", "a.b*(c)[", *words]
    texts += [f"{a}然后{b}" for a, b in zip(words, reversed(words), strict=True)]
    expected = classify_text(pd.Series(texts), rules).tolist()
    assert [classify_one(t, rules) for t in texts] == expected


def test_the_service_warms_its_intake_when_it_starts(ws):
    app = create_app(Settings(workspace=ws.path, user="service"))
    with TestClient(app):
        assert app.state.complaint_intake.builds == 1


def test_a_service_without_a_workspace_starts_and_warms_nothing(tmp_path):
    app = create_app(Settings(workspace=tmp_path / "none.gpkg", user="service"))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
    assert getattr(app.state, "complaint_intake", None) is None


def test_todays_numbers_read_at_warm_up_follow_another_intake(ws):
    first, second = ComplaintIntake(ws), ComplaintIntake(ws)
    first.warm_up()
    lon, lat = lonlat(X0 + 50, Y0 + 50)
    args = {"text": "有人砍树", "by": "o", "lon": lon, "lat": lat}
    ids = [second.submit(ws, **args)["complaint_id"], first.submit(ws, **args)["complaint_id"]]
    assert [i[-3:] for i in ids] == ["001", "002"]
    assert first.caught_up == 1


def test_the_started_service_has_frozen_what_its_intake_read(ws):
    gc.unfreeze()
    app = create_app(Settings(workspace=ws.path, user="service"))
    try:
        with TestClient(app):
            geoms = app.state.complaint_intake.warm.geoms
            assert len(geoms) > 0
            assert gc.get_freeze_count() > 0
            kept = [e.state for e in village_updates._ENTRIES.values() if e.state is not None]
            assert kept  # the village status kept after the intake was warmed
            tracked = gc.get_objects()
            assert not any(o is geoms[0] for o in tracked)  # a shapely geometry
            assert not any(o is state for o in tracked for state in kept)
    finally:
        gc.unfreeze()


@pytest.mark.slow
def test_parcels_read_again_after_an_import_are_frozen_too(ws, tmp_path):
    gc.unfreeze()
    try:
        intake = ComplaintIntake(ws)
        intake.warm_up()
        first = intake.warm.geoms
        gc.unfreeze()  # as if the first read had not been frozen
        shp = write_shp(xiaoban(n=4), tmp_path / "xb4.shp")
        import_file(ws, shp, "parcels", actor="t", parcel_kind="forest")
        submit(intake, at=(X0 + 50, Y0 + 50))
        assert intake.builds == 2
        assert intake.warm.geoms is not first
        assert not any(o is intake.warm.geoms[0] for o in gc.get_objects())
    finally:
        gc.unfreeze()
