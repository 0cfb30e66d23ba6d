"""Problems, evidence photos and village status over HTTP: scope per role, versioned
changes (ETag / If-Match), the village's rectification rights, uploads and the audit log."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geoservice.api.app import create_app
from geoservice.base.access import Principal, list_users
from geoservice.workflow.store import history, read_problems

from .conftest import AS_OF, DEPARTMENT, OTHER_VILLAGE, VILLAGE

REPORTED = "DC202503-002"  # VILLAGE, reported, copied to police
REJECTED = "DC202606-002"  # VILLAGE, rejected, copied to police
OTHER_OPEN = "DC202603-002"  # OTHER_VILLAGE, assigned, not copied to police


def jpeg(size=(3000, 2000)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "olive").save(buf, format="JPEG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def patch(town, pid, who, body, version=None):  # type: ignore[no-untyped-def]
    headers = town.headers(who)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return town.client.patch(f"/problems/{pid}", json=body, headers=headers)


def upload(town, pid, who, files, client=None):  # type: ignore[no-untyped-def]
    parts = [("files", (name, data, "image/jpeg")) for name, data in files]
    return (client or town.client).post(
        f"/problems/{pid}/evidence", files=parts, headers=town.headers(who)
    )


def problem(town, pid):  # type: ignore[no-untyped-def]
    probs = read_problems(town.ws)
    return probs[probs["problem_id"] == pid].iloc[0]


def principal_of(town, who) -> Principal:  # type: ignore[no-untyped-def]
    users = list_users(town.ws)
    row = users[users["name"] == f"测试{who}"].iloc[0]
    fields = ("user_id", "name", "role", "department", "village_code", "village_name")
    return Principal(**{f: None if pd.isna(row[f]) else row[f] for f in fields})


def audit_rows(town, action):  # type: ignore[no-untyped-def]
    log = town.ws.audit()
    rows = log[log["action"] == action]
    return [{**r, "detail": json.loads(r["detail"])} for r in rows.to_dict("records")]


# --- listing ------------------------------------------------------------------------------


def test_office_lists_every_problem(town):
    res = town.get(f"/problems?as_of={AS_OF}", "office")
    assert res.status_code == 200
    assert len(res.json()) == len(read_problems(town.ws))


def test_village_lists_only_its_own_problems(town):
    items = town.get("/problems", "village").json()
    assert items and {p["village_code"] for p in items} == {VILLAGE}


def test_department_lists_only_problems_copied_to_it(town):
    items = town.get("/problems", "department").json()
    assert items and all(DEPARTMENT in p["cc_departments"] for p in items)
    assert town.get("/problems", "other_department").json() == []


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("anonymous", 401)])
def test_viewers_and_anonymous_callers_cannot_list_problems(town, who, status):
    assert town.get("/problems", who).status_code == status


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("status=reported", lambda p: p["status"] == "reported"),
        ("village=白石村", lambda p: p["village_code"] == VILLAGE),
        ("department=镇环保办", lambda p: "environment" in p["cc_departments"]),
        ("department=public_service", lambda p: "public_service" in p["cc_departments"]),
    ],
)
def test_list_filters(town, query, check):
    items = town.get(f"/problems?{query}", "office").json()
    assert items and all(check(p) for p in items)
    assert len(items) < len(read_problems(town.ws))


def test_a_bad_filter_value_is_422_naming_it(town):
    res = town.get("/problems?status=done", "office")
    assert res.status_code == 422
    assert "'done'" in res.json()["error"]["en"]


def test_list_items_carry_labels_in_the_callers_language_and_escalation(town):
    items = town.get(f"/problems?as_of={AS_OF}&lang=en", "village").json()
    rejected = next(p for p in items if p["problem_id"] == REJECTED)
    assert rejected["status_label"] == "rejected"
    assert rejected["deadline"] == "2026-11-20"
    assert rejected["days_overdue"] == 8 and rejected["escalation"] == "letter"
    assert rejected["version"] == 1
    zh = town.get(f"/problems?as_of={AS_OF}", "village").json()
    assert next(p for p in zh if p["problem_id"] == REJECTED)["status_label"] == "已退回"


# --- one problem --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "pid", "status"),
    [
        ("village", REJECTED, 200),
        ("other_village", REJECTED, 404),
        ("department", REJECTED, 200),
        ("other_department", REJECTED, 404),
        ("department", OTHER_OPEN, 404),
        ("viewer", REJECTED, 403),
        ("office", OTHER_OPEN, 200),
    ],
)
def test_reading_a_problem_is_scoped_by_role(town, who, pid, status):
    assert town.get(f"/problems/{pid}", who).status_code == status


def test_an_out_of_scope_problem_is_404_naming_the_id_and_hinting_only_visible_ids(town):
    res = town.get(f"/problems/{REJECTED}", "other_village")
    text = res.json()["error"]["en"]
    assert REJECTED in text and "Close ids" in text
    probs = read_problems(town.ws)
    hidden = probs.loc[probs["village_code"] != OTHER_VILLAGE, "problem_id"]
    assert not [pid for pid in hidden if pid in text.replace(REJECTED, "")]


@pytest.mark.slow
def test_a_problem_comes_with_etag_history_and_the_callers_next_states(town):
    res = town.get(f"/problems/{REPORTED}", "office")
    assert res.headers["ETag"] == '"1"'
    body = res.json()
    assert body["history"][0]["to_state"] == "reported"
    assert body["photos"] == []
    assert [s["state"] for s in body["next_states"]] == ["verified", "rejected"]
    assert town.get(f"/problems/{REPORTED}", "village").json()["next_states"] == []
    assert town.get(f"/problems/{REPORTED}", "department").json()["next_states"] == []


# --- status changes -----------------------------------------------------------------------


def test_a_change_without_if_match_is_428(town):
    res = patch(town, REPORTED, "office", {"status": "verified"})
    assert res.status_code == 428
    assert "If-Match" in res.json()["error"]["en"]
    assert problem(town, REPORTED)["status"] == "reported"


def test_a_malformed_if_match_is_422(town):
    headers = {**town.headers("office"), "If-Match": "*"}
    res = town.client.patch(f"/problems/{REPORTED}", json={"status": "verified"}, headers=headers)
    assert res.status_code == 422
    assert "quoted version" in res.json()["error"]["en"]


def test_a_stale_change_is_412_and_changes_nothing(town):
    assert patch(town, REPORTED, "office", {"status": "rejected"}, version=1).status_code == 200
    before = len(history(town.ws, REPORTED))
    res = patch(town, REPORTED, "office", {"status": "verified"}, version=1)
    assert res.status_code == 412
    assert "expected version 1 but it is at version 2" in res.json()["error"]["en"]
    assert problem(town, REPORTED)["status"] == "rejected"
    assert len(history(town.ws, REPORTED)) == before


def test_a_fresh_change_moves_the_version_and_records_who(town):
    res = patch(town, REPORTED, "office", {"status": "verified", "note": "现场核验"}, version=1)
    assert res.status_code == 200
    assert res.headers["ETag"] == '"2"'
    assert res.json()["version"] == 2 and res.json()["to_state"] == "verified"
    last = history(town.ws, REPORTED).iloc[-1]
    expected = (principal_of(town, "office").actor, "verified", "现场核验", 2)
    assert (last["by"], last["to_state"], last["note"], last["version"]) == expected


def test_a_village_reports_its_own_rectification(town):
    res = patch(town, REJECTED, "village", {"status": "in_progress"}, version=1)
    assert res.status_code == 200
    res = patch(town, REJECTED, "village", {"status": "reported"}, version=2)
    assert res.status_code == 200
    actor = principal_of(town, "village").actor
    assert history(town.ws, REJECTED).iloc[-1]["by"] == actor == f"village:{VILLAGE}:测试village"


@pytest.mark.parametrize("to", ["verified", "rejected"])
def test_a_village_cannot_verify_or_reject_its_own_problem(town, to):
    res = patch(town, REPORTED, "village", {"status": to}, version=1)
    assert res.status_code == 403
    assert "forest-chief office" in res.json()["error"]["en"]
    assert problem(town, REPORTED)["version"] == 1


@pytest.mark.parametrize(("who", "status"), [("department", 403), ("viewer", 403)])
def test_departments_and_viewers_cannot_change_status(town, who, status):
    assert patch(town, REJECTED, who, {"status": "in_progress"}, version=1).status_code == status


def test_another_village_changing_a_problem_gets_404(town):
    res = patch(town, REJECTED, "other_village", {"status": "in_progress"}, version=1)
    assert res.status_code == 404


@pytest.mark.parametrize(
    ("who", "pid", "to"),
    [("office", REPORTED, "in_progress"), ("village", REPORTED, "in_progress")],
)
def test_a_move_the_state_machine_forbids_is_422(town, who, pid, to):
    res = patch(town, pid, who, {"status": to}, version=1)
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "workflow.bad_transition"
    assert problem(town, pid)["version"] == 1


def test_an_unknown_state_is_422_listing_the_states(town):
    res = patch(town, REJECTED, "village", {"status": "fixed"}, version=1)
    assert res.status_code == 422
    assert "assigned, in_progress" in res.json()["error"]["en"]


# --- adding problems ----------------------------------------------------------------------


def test_the_office_adds_a_problem(town):
    body = {
        "village": "白石村",
        "category": "盗伐滥伐林木",
        "description": "新发现伐桩",
        "deadline": "2027-01-31",
        "found_on": "2026-11-20",
        "cc": ["police", "镇自然资源所"],
    }
    res = town.client.post("/problems", json=body, headers=town.headers("office"))
    assert res.status_code == 201
    row = res.json()
    # SG202611-001 to -006 were opened by the demo for patches established illegal
    assert row["problem_id"] == "SG202611-007" and row["village_code"] == VILLAGE
    assert row["status"] == "assigned" and row["version"] == 1
    assert row["cc_departments"] == ["police", "natural_resources"]
    assert res.headers["Location"] == "/problems/SG202611-007"


@pytest.mark.parametrize("who", ["village", "department", "viewer"])
def test_only_the_office_adds_problems(town, who):
    body = {"village": VILLAGE, "category": "other", "description": "x", "deadline": "2027-01-01"}
    assert town.client.post("/problems", json=body, headers=town.headers(who)).status_code == 403


# --- evidence -----------------------------------------------------------------------------


def test_a_village_uploads_a_photo_that_is_stored_small_and_served(town):
    res = upload(town, REJECTED, "village", [("site.jpg", jpeg())])
    assert res.status_code == 201
    [name] = res.json()["stored"]
    with Image.open(town.settings.evidence_path() / REJECTED / name) as im:
        assert max(im.size) == 1600
    photo = town.get(res.json()["urls"][0], "department")
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["cache-control"].startswith("private")
    detail = town.get(f"/problems/{REJECTED}", "village").json()
    assert [(p["name"], p["url"]) for p in detail["photos"]] == [(name, res.json()["urls"][0])]
    assert detail["photos"][0]["caption"] == "照片没有拍摄时间和位置信息"


def test_a_text_file_named_jpg_is_422(town):
    res = upload(town, REJECTED, "village", [("notes.jpg", b"rectified, see report")])
    assert res.status_code == 422
    assert "'notes.jpg' contains text" in res.json()["error"]["en"]


def test_an_oversized_photo_is_413(town):
    client = TestClient(create_app(town.settings.model_copy(update={"max_photo_mb": 1})))
    big = jpeg((64, 64)) + b"\x00" * (1024 * 1024)
    res = upload(town, REJECTED, "office", [("big.jpg", big)], client=client)
    assert res.status_code == 413
    assert "over the 1 MB limit" in res.json()["error"]["en"]


def test_more_than_four_photos_at_once_is_422(town):
    res = upload(town, REJECTED, "office", [(f"{i}.jpg", jpeg((50, 50))) for i in range(5)])
    assert res.status_code == 422
    assert "at most 4" in res.json()["error"]["en"]
    assert not (town.settings.evidence_path() / REJECTED).exists()


def test_a_decompression_bomb_is_422(town):
    res = upload(town, REJECTED, "office", [("bomb.png", png_header_only(30000, 30000))])
    assert res.status_code == 422
    assert "decompression bomb" in res.json()["error"]["en"]


@pytest.mark.parametrize(("who", "status"), [("other_village", 404), ("department", 403)])
def test_uploads_are_for_the_problems_village_and_the_office(town, who, status):
    assert upload(town, REJECTED, who, [("a.jpg", jpeg((50, 50)))]).status_code == status


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [("other_village", None, 404), ("village", "..%2Fsecret.jpg", 404), ("village", "x.jpg", 404)],
)
def test_photos_are_served_only_in_scope_and_by_stored_name(town, who, name, status):
    [stored] = upload(town, REJECTED, "village", [("a.jpg", jpeg((50, 50)))]).json()["stored"]
    url = f"/problems/{REJECTED}/evidence/{name or stored}"
    assert town.get(url, who).status_code == status


def test_evidence_named_in_a_change_must_have_been_uploaded(town):
    res = patch(town, REJECTED, "village", {"status": "in_progress", "evidence": ["x.jpg"]}, 1)
    assert res.status_code == 422
    assert "'x.jpg'" in res.json()["error"]["en"]
    assert problem(town, REJECTED)["version"] == 1


def test_uploaded_evidence_is_recorded_with_the_change(town):
    [name] = upload(town, REJECTED, "village", [("a.jpg", jpeg((50, 50)))]).json()["stored"]
    res = patch(town, REJECTED, "village", {"status": "in_progress", "evidence": [name]}, 1)
    assert res.status_code == 200
    assert history(town.ws, REJECTED).iloc[-1]["evidence"] == [name]


# --- village status -----------------------------------------------------------------------


def test_office_sees_every_village_with_target_counts(town):
    rows = town.get(f"/villages/status?as_of={AS_OF}", "office").json()
    assert len(rows) > 1
    mine = next(r for r in rows if r["village_code"] == VILLAGE)
    assert mine["targets"] >= 1 and mine["overdue"] == 1


@pytest.mark.slow
def test_village_status_writes_missing_values_as_null(town):
    rows = town.get(f"/villages/status?as_of={AS_OF}", "office").json()
    quiet = [r for r in rows if r["problems"] == 0]
    assert quiet
    for row in quiet:
        assert row["on_time_rate"] is None and row["last_inspection"] is None
        assert row["days_since_inspection"] is None


@pytest.mark.slow
@pytest.mark.parametrize("who", ["department", "viewer"])
def test_departments_and_viewers_see_every_village(town, who):
    rows = town.get(f"/villages/status?as_of={AS_OF}", who).json()
    office = town.get(f"/villages/status?as_of={AS_OF}", "office").json()
    assert [r["village_code"] for r in rows] == [r["village_code"] for r in office]
    assert all(r["targets"] is None for r in rows) == (who == "viewer")


def test_a_village_sees_only_its_own_status_row(town):
    rows = town.get(f"/villages/status?as_of={AS_OF}", "other_village").json()
    assert [r["village_code"] for r in rows] == [OTHER_VILLAGE]
    assert rows[0]["targets"] is None


def test_a_bad_as_of_is_422(town):
    res = town.get("/villages/status?as_of=28/11/2026", "office")
    assert res.status_code == 422
    assert "YYYY-MM-DD" in res.json()["error"]["en"]


# --- audit --------------------------------------------------------------------------------


def _do(town, kind):  # type: ignore[no-untyped-def]
    if kind == "problems.list":
        return town.get("/problems", "village")
    if kind == "problem.read":
        return town.get(f"/problems/{REJECTED}", "village")
    if kind == "problem.status":
        return patch(town, REJECTED, "village", {"status": "in_progress"}, 1)
    if kind == "problem.evidence.upload":
        return upload(town, REJECTED, "village", [("a.jpg", jpeg((50, 50)))])
    if kind == "problem.evidence.read":
        res = upload(town, REJECTED, "village", [("a.jpg", jpeg((50, 50)))])
        return town.get(res.json()["urls"][0], "village")
    return town.get("/villages/status", "village")


@pytest.mark.parametrize(
    "kind",
    [
        "problems.list",
        "problem.read",
        "problem.status",
        "problem.evidence.upload",
        "problem.evidence.read",
        "villages.status",
    ],
)
def test_every_request_is_audited_with_user_and_address(town, kind):
    assert _do(town, kind).status_code in (200, 201)
    who = principal_of(town, "village")
    # A status change is audited once, by the store, in the change's own transaction.
    [row] = audit_rows(town, "problem.update" if kind == "problem.status" else kind)
    assert row["actor"] == who.actor
    assert row["detail"]["user_id"] == who.user_id
    assert row["detail"]["from"] == "testclient"


def test_adding_a_problem_is_audited(town):
    body = {"village": VILLAGE, "category": "other", "description": "x", "deadline": "2027-01-01"}
    town.client.post("/problems", json=body, headers=town.headers("office"))
    # the demo's rows are those of the problems opened for patches (no user)
    [row] = [r for r in audit_rows(town, "problem.add") if "user_id" in r["detail"]]
    assert row["detail"]["user_id"] == principal_of(town, "office").user_id
    assert row["detail"]["from"] == "testclient"
