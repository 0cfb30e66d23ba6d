"""The audit log over the web: office only, newest first, filters, paging, origin."""

from __future__ import annotations

import pytest


def test_the_office_reads_the_audit_log_newest_first(town):
    town.get("/layers", "viewer")
    rows = town.get("/audit", "office").json()["rows"]
    assert rows[0]["action"] == "layers.list"
    assert rows[0]["actor"].startswith("viewer:")
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)


def test_rows_from_the_service_say_where_the_request_came_from(town):
    town.get("/layers", "viewer")
    row = town.get("/audit?action=layers.list", "office").json()["rows"][0]
    assert row["from"] == "testclient"
    assert row["detail"]["path"] == "/layers"


def test_rows_written_outside_the_service_have_no_origin(town):
    rows = town.get("/audit?action=import", "office").json()["rows"]
    assert rows and all(r["from"] is None for r in rows)


def test_action_filter_matches_an_action_family(town):
    rows = town.get("/audit?action=import&limit=1000", "office").json()["rows"]
    actions = {r["action"] for r in rows}
    assert actions and all(a.startswith("import.") for a in actions)


def test_actor_filter_keeps_rows_of_that_actor(town):
    town.get("/layers", "department")
    town.get("/layers", "viewer")
    rows = town.get("/audit?actor=police", "office").json()["rows"]
    assert rows and all("police" in r["actor"] for r in rows)


def test_paging_with_limit_and_offset(town):
    first = town.get("/audit?limit=2", "office").json()
    second = town.get("/audit?limit=2&offset=2", "office").json()
    assert len(first["rows"]) == len(second["rows"]) == 2
    assert first["rows"][1]["at"] >= second["rows"][0]["at"]
    assert first["total"] >= 4


@pytest.mark.parametrize(
    ("query", "code"), [("limit=0", "paging.bad_limit"), ("offset=-1", "paging.bad_offset")]
)
def test_bad_paging_is_400(town, query, code):
    res = town.get(f"/audit?{query}", "office")
    assert res.status_code == 400
    assert res.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("who", "status"),
    [("department", 403), ("village", 403), ("viewer", 403), ("anonymous", 401)],
)
def test_only_the_office_reads_the_audit_log(town, who, status):
    assert town.get("/audit", who).status_code == status


def test_reading_the_audit_log_is_itself_audited(town):
    town.get("/audit", "office")
    assert town.ws.audit().iloc[-1]["action"] == "audit.read"
