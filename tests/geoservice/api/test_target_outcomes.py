"""Target outcomes over the web: version-checked state changes by the lead department or
the office, action records by every department involved, and the full history."""

from __future__ import annotations

import io

import pandas as pd
from PIL import Image

from geoservice.base.access import authenticate
from geoservice.workflow.target_store import target_history

from .conftest import DEPARTMENT


def pick_target(town, lead: bool) -> str:  # type: ignore[no-untyped-def]
    """A target the department leads (``lead``) or only cooperates on."""
    targets = pd.DataFrame(town.ws.read("targets", read_geometry=False))
    coop = targets["cooperating_departments"].fillna("").str.split(";")
    if lead:
        mask = targets["lead_department"] == DEPARTMENT
    else:
        mask = (targets["lead_department"] != DEPARTMENT) & coop.map(lambda xs: DEPARTMENT in xs)
    return str(targets.loc[mask, "target_id"].iloc[0])


def patch(town, tid, who, body, version=None):  # type: ignore[no-untyped-def]
    headers = town.headers(who)
    if version is not None:
        headers = {**headers, "If-Match": f'"{version}"'}
    return town.client.patch(f"/targets/{tid}", json=body, headers=headers)


def act(town, tid, who, body):  # type: ignore[no-untyped-def]
    return town.client.post(f"/targets/{tid}/actions", json=body, headers=town.headers(who))


def state(town, tid) -> str:  # type: ignore[no-untyped-def]
    return str(town.get(f"/targets/{tid}", "office").json()["properties"]["state"])


def test_a_target_shows_its_state_and_etag(town):
    tid = pick_target(town, lead=True)
    res = town.get(f"/targets/{tid}", "office")
    assert res.headers["ETag"] == '"1"'
    props = res.json()["properties"]
    assert (props["state"], props["state_label"], props["version"]) == ("new", "待派发", 1)
    listed = town.get("/targets", "office").json()["features"]
    assert {f["properties"]["state"] for f in listed} == {"new"}


def test_the_office_takes_a_target_from_new_to_closed(town):
    tid = pick_target(town, lead=False)
    steps = [
        {"state": "dispatched"},
        {"state": "in_action"},
        {"state": "case_opened", "case_number": "博林罚立〔2026〕12号"},
        {"state": "transferred", "note": "涉嫌失火罪，移送公安"},
        {"state": "closed"},
    ]
    for version, body in enumerate(steps, start=1):
        res = patch(town, tid, "office", body, version=version)
        assert res.status_code == 200, res.text
        assert res.headers["ETag"] == f'"{version + 1}"'
    assert state(town, tid) == "closed"
    past = town.get(f"/targets/{tid}/history", "office").json()
    assert [h["to_state"] for h in past["history"]] == ["new"] + [s["state"] for s in steps]
    assert past["history"][3]["case_number"] == "博林罚立〔2026〕12号"
    assert past["state_label"] == "已结案"


def test_a_change_without_if_match_is_428_and_changes_nothing(town):
    tid = pick_target(town, lead=True)
    res = patch(town, tid, "office", {"state": "dispatched"})
    assert res.status_code == 428
    assert "If-Match" in res.json()["error"]["en"]
    assert state(town, tid) == "new"


def test_a_stale_change_is_412_and_changes_nothing(town):
    tid = pick_target(town, lead=True)
    assert patch(town, tid, "office", {"state": "dispatched"}, version=1).status_code == 200
    res = patch(town, tid, "department", {"state": "in_action"}, version=1)
    assert res.status_code == 412
    assert "expected version 1 but it is at version 2" in res.json()["error"]["en"]
    assert state(town, tid) == "dispatched"
    assert len(target_history(town.ws, tid)) == 2


def test_the_lead_department_changes_the_state(town):
    tid = pick_target(town, lead=True)
    res = patch(town, tid, "department", {"state": "dispatched"}, version=1)
    assert res.status_code == 200
    who = authenticate(town.ws, town.tokens["department"]).actor
    assert target_history(town.ws, tid).iloc[-1]["by"] == who


def test_a_cooperating_department_cannot_change_the_state_but_adds_an_action(town):
    tid = pick_target(town, lead=False)
    res = patch(town, tid, "department", {"state": "dispatched"}, version=1)
    assert res.status_code == 403
    assert "lead department" in res.json()["error"]["en"]
    body = {
        "action": "出动警力现场调查火因",
        "acted_on": "2026-12-01",
        "people": 4,
        "seizures": "打火机 1 个",
        "note": "已询问附近村民",
    }
    res = act(town, tid, "department", body)
    assert res.status_code == 201, res.text
    record = res.json()
    assert (record["department"], record["people"], record["acted_on"]) == (
        DEPARTMENT,
        4,
        "2026-12-01",
    )
    past = town.get(f"/targets/{tid}/history", "department").json()
    assert [a["action"] for a in past["actions"]] == ["出动警力现场调查火因"]
    assert state(town, tid) == "new"


def test_a_department_records_only_for_itself(town):
    tid = pick_target(town, lead=False)
    res = act(town, tid, "department", {"action": "巡查", "department": "emergency"})
    assert res.status_code == 403
    assert "own department" in res.json()["error"]["en"]


def test_case_opened_needs_a_case_number_and_dismissal_a_reason(town):
    tid = pick_target(town, lead=True)
    for version, to in enumerate(("dispatched", "in_action"), start=1):
        assert patch(town, tid, "office", {"state": to}, version=version).status_code == 200
    res = patch(town, tid, "office", {"state": "case_opened"}, version=3)
    assert res.status_code == 422
    assert "case number" in res.json()["error"]["en"]
    res = patch(town, tid, "office", {"state": "dismissed"}, version=3)
    assert res.status_code == 422
    assert "reason" in res.json()["error"]["en"]
    ok = patch(town, tid, "office", {"state": "dismissed", "note": "系合法采伐"}, version=3)
    assert ok.status_code == 200


def test_a_move_the_state_machine_forbids_is_422_naming_the_next_states(town):
    tid = pick_target(town, lead=True)
    res = patch(town, tid, "office", {"state": "closed"}, version=1)
    assert res.status_code == 422
    assert "dispatched" in res.json()["error"]["en"]


def test_villages_and_viewers_cannot_change_or_act(town):
    tid = pick_target(town, lead=True)
    for who in ("village", "viewer"):
        assert patch(town, tid, who, {"state": "dispatched"}, version=1).status_code == 403
        assert act(town, tid, who, {"action": "巡查"}).status_code == 403
    assert state(town, tid) == "new"


def test_a_department_not_involved_gets_404(town):
    tid = pick_target(town, lead=True)
    assert (
        patch(town, tid, "other_department", {"state": "dispatched"}, version=1).status_code == 404
    )
    assert act(town, tid, "other_department", {"action": "巡查"}).status_code == 404


def test_every_change_and_action_is_audited(town):
    tid = pick_target(town, lead=True)
    patch(town, tid, "office", {"state": "dispatched"}, version=1)
    act(town, tid, "department", {"action": "巡查"})
    actions = town.ws.audit()
    rows = actions[actions["target"] == tid]["action"].tolist()
    assert "target.update" in rows and "target.action" in rows


def test_an_action_photo_is_uploaded_then_named_in_the_record(town):
    tid = pick_target(town, lead=False)
    buf = io.BytesIO()
    Image.new("RGB", (2400, 1800), (30, 120, 40)).save(buf, "JPEG")
    files = [("files", ("现场.jpg", buf.getvalue(), "image/jpeg"))]
    res = town.client.post(f"/targets/{tid}/photos", files=files, headers=town.headers("office"))
    assert res.status_code == 201, res.text
    [name] = res.json()["stored"]
    record = act(town, tid, "department", {"action": "现场拍照取证", "photos": [name]})
    assert record.status_code == 201
    assert record.json()["photos"] == [name]
    missing = act(town, tid, "department", {"action": "x", "photos": ["nope.jpg"]})
    assert missing.status_code == 422
    assert "nope.jpg" in missing.json()["error"]["en"]


def test_the_list_filters_by_state_and_refuses_an_unknown_one(town):
    tid = pick_target(town, lead=True)
    patch(town, tid, "office", {"state": "dispatched"}, version=1)
    listed = town.get("/targets?state=dispatched", "office").json()["features"]
    assert [f["properties"]["target_id"] for f in listed] == [tid]
    assert listed[0]["properties"]["state_label"] == "已派发"
    res = town.get("/targets?state=done", "office")
    assert res.status_code == 422
    assert "in_action" in res.json()["error"]["en"]
