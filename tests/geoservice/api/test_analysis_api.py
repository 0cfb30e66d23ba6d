"""Analysis runs over the web: the office runs, office and departments read the latest."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from .conftest import AS_OF


def run(town, who: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return town.client.post("/analysis/runs", headers=town.headers(who), json=body)


@pytest.mark.slow
def test_the_office_runs_the_analysis_and_gets_the_summary(town):
    res = run(town, "office", {"as_of": AS_OF})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["as_of"] == AS_OF
    counts = body["counts"]
    assert counts["targets"] == sum(counts["targets_by_priority"].values())
    assert counts["targets"] == sum(counts["targets_by_lead"].values())
    assert counts["flagged_parcels"] >= counts["targets"] > 0
    assert body["lead_department_names"]["police"] == "镇郊派出所"
    assert isinstance(body["unmatched_complaints"], list)


def test_a_run_without_a_date_is_evaluated_today(town):
    from datetime import date

    res = run(town, "office")
    assert res.status_code == 201, res.text
    assert res.json()["as_of"] == date.today().isoformat()


@pytest.mark.slow
def test_a_run_is_recorded_with_its_actor_and_audited(town):
    run(town, "office", {"as_of": AS_OF})
    runs = town.ws.runs()
    assert runs.iloc[-1]["actor"].startswith("office:")
    assert (town.ws.audit()["action"] == "analysis.run").any()


def test_a_malformed_date_is_422_naming_the_field(town):
    res = run(town, "office", {"as_of": "28/11/2026"})
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "analysis.bad_as_of"
    assert "'28/11/2026'" in res.json()["error"]["en"]


@pytest.mark.parametrize("who", ["department", "village", "viewer"])
def test_only_the_office_runs_the_analysis(town, who):
    res = run(town, who, {"as_of": AS_OF})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "access.role"


def test_an_anonymous_run_is_401(town):
    assert run(town, "anonymous", {"as_of": AS_OF}).status_code == 401


@pytest.mark.slow
def test_latest_shows_the_run_just_made(town):
    run(town, "office", {"as_of": "2026-10-01"})
    res = town.get("/analysis/runs/latest", "office")
    assert res.status_code == 200
    body = res.json()
    assert body["as_of"] == "2026-10-01"
    assert body["actor"].startswith("office:")
    assert body["counts"]["targets"] >= 0
    assert "parcels" in body["inputs"]


@pytest.mark.parametrize(
    ("who", "status"), [("department", 200), ("village", 403), ("viewer", 403)]
)
def test_latest_is_for_the_office_and_departments(town, who, status):
    assert town.get("/analysis/runs/latest", who).status_code == status


def test_latest_anonymous_is_401(town):
    assert town.get("/analysis/runs/latest", "anonymous").status_code == 401


def test_latest_is_404_before_any_run(town):
    with contextlib.closing(sqlite3.connect(town.path)) as con, con:
        con.execute("DELETE FROM analysis_runs")
    res = town.get("/analysis/runs/latest", "office")
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "analysis.no_run"
