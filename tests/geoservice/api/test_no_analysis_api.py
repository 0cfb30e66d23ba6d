"""Targets asked for over the web before any analysis: 404 naming POST /analysis/runs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from tests.support.builders import write_shp, xiaoban


@pytest.fixture
def unanalysed(tmp_path):
    """A workspace with parcels and no analysis run, an office and a department token."""
    ws = Workspace(tmp_path / "town.gpkg")
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="tester")
    office = add_user(ws, role="office", name="办公室", by="test")[1]
    police = add_user(ws, role="department", department="police", name="派出所", by="test")[1]
    client = TestClient(create_app(Settings(workspace=ws.path, user="service")))
    return client, {"office": office, "department": police}


@pytest.mark.parametrize("url", ["/targets", "/targets/export?format=csv"])
@pytest.mark.parametrize("who", ["office", "department"])
def test_targets_before_any_analysis_say_to_run_it(unanalysed, url, who):
    client, tokens = unanalysed
    res = client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})
    assert res.status_code == 404
    error = res.json()["error"]
    assert error["code"] == "analysis.not_run"
    assert error["message"].startswith("还没有运行过研判分析，因此还没有联合执法目标")
    assert "POST /analysis/runs" in error["zh"]
    assert error["en"].startswith("No analysis has been run, so there are no enforcement targets")
    assert 'POST /analysis/runs with {"as_of": ' in error["en"]
    assert "geoservice analyze" not in error["en"]
    assert "town.gpkg" not in error["en"]


@pytest.mark.slow
def test_targets_answer_once_the_analysis_has_run(unanalysed):
    client, tokens = unanalysed
    office = {"Authorization": f"Bearer {tokens['office']}"}
    run = client.post("/analysis/runs", json={"as_of": "2026-11-28"}, headers=office)
    assert run.status_code in (200, 201), run.text
    res = client.get("/targets", headers=office)
    assert res.status_code == 200
    assert res.json()["type"] == "FeatureCollection"
