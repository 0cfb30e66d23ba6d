"""A 404 that hides another village's or department's object is audited: who asked, for
what and from where, once per request."""

from __future__ import annotations

import json

import pandas as pd

from .conftest import DEPARTMENT, Town

OTHERS_PROBLEM = "DC202606-002"  # the test village's, rejected, copied to police


def refusals(town: Town) -> pd.DataFrame:
    log = town.ws.audit()
    return log[log["action"] == "access.not_found"].reset_index(drop=True)


def other_departments_target(town: Town) -> str:
    targets = town.ws.read("targets")
    mine = targets["lead_department"] == DEPARTMENT
    mine |= targets["cooperating_departments"].fillna("").str.contains(DEPARTMENT)
    return str(targets.loc[~mine, "target_id"].iloc[0])


def test_another_village_s_problem_is_404_and_audited_with_who_what_and_where(town):
    res = town.get(f"/problems/{OTHERS_PROBLEM}?lang=en", "other_village")
    assert res.status_code == 404
    rows = refusals(town)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["actor"].startswith("village:441882101203:")
    assert row["target"] == f"/problems/{OTHERS_PROBLEM}"
    detail = json.loads(row["detail"])
    assert detail["refused"] == "workflow.no_problem"
    assert detail["from"] == "testclient" and detail["method"] == "GET"
    assert detail["query"] == "lang=en"


def test_a_change_to_another_village_s_problem_is_audited_once(town):
    headers = {**town.headers("other_village"), "If-Match": '"1"'}
    res = town.client.patch(
        f"/problems/{OTHERS_PROBLEM}", json={"status": "reported"}, headers=headers
    )
    assert res.status_code == 404
    assert len(refusals(town)) == 1
    assert json.loads(refusals(town)["detail"].iloc[0])["method"] == "PATCH"


def test_a_target_another_department_leads_is_404_and_audited(town):
    target = other_departments_target(town)
    res = town.get(f"/targets/{target}", "department")
    assert res.status_code == 404
    assert refusals(town)["target"].tolist() == [f"/targets/{target}"]
    assert refusals(town)["actor"].iloc[0].startswith(f"department:{DEPARTMENT}:")


def test_the_field_page_of_another_village_s_problem_is_a_404_page_and_audited(town):
    res = town.get(f"/app/problems/{OTHERS_PROBLEM}", "other_village")
    assert res.status_code == 404
    assert "text/html" in res.headers["content-type"]
    assert refusals(town)["target"].tolist() == [f"/app/problems/{OTHERS_PROBLEM}"]


def test_an_ogc_refusal_already_audited_by_its_route_is_not_audited_twice(town):
    target = other_departments_target(town)
    res = town.get(f"/ogc/collections/targets/items/{target}", "department")
    assert res.status_code == 404
    log = town.ws.audit()
    assert len(log[log["action"] == "ogc.items"]) == 1
    assert refusals(town).empty


def test_an_object_in_scope_leaves_no_refusal(town):
    assert town.get(f"/problems/{OTHERS_PROBLEM}", "village").status_code == 200
    assert refusals(town).empty


def test_an_anonymous_404_is_not_a_scope_refusal(town):
    assert town.client.get("/no/such/route").status_code == 404
    assert refusals(town).empty
