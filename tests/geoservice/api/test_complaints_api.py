"""POST /complaints and GET /complaints/{id} per role."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pyogrio
import pyproj
import pytest

from .conftest import OTHER_VILLAGE, VILLAGE

STORED = "JB202400001"  # a complaint of the sample town


def _point(path: Path, village_code: str) -> dict[str, float]:
    """lon/lat of a point inside a parcel of the village."""
    where = f"village_code = '{village_code}'"
    parcels = pyogrio.read_dataframe(path, layer="parcels", where=where)
    area = pyogrio.read_dataframe(path, layer="villages", where=where).geometry.iloc[0]
    inside = parcels[parcels.within(area)].geometry.iloc[0].representative_point()
    to_geo = pyproj.Transformer.from_crs(parcels.crs, 4490, always_xy=True)
    lon, lat = to_geo.transform(inside.x, inside.y)
    return {"lon": lon, "lat": lat}


@pytest.fixture(scope="module")
def here(town_template: Path) -> dict[str, float]:
    """A point in a parcel of VILLAGE (the same in every copy of the town)."""
    return _point(town_template, VILLAGE)


@pytest.fixture(scope="module")
def elsewhere(town_template: Path) -> dict[str, float]:
    """A point in a parcel of OTHER_VILLAGE."""
    return _point(town_template, OTHER_VILLAGE)


def post(town, who: str, **body):
    return town.client.post("/complaints", json=body, headers=town.headers(who))


@pytest.mark.parametrize("who", ["office", "department", "village"])
def test_staff_and_villages_file_a_complaint_and_get_where_it_landed(town, here, who):
    res = post(town, who, text="有人在山上砍树", **here)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["complaint_id"].startswith("TS-")
    assert body["category"]["code"] == "illegal_logging"
    assert body["village"]["code"] == VILLAGE
    assert body["location"]["parcel_id"] is not None
    assert body["affected"] and all(a["new_score"] > 0 for a in body["affected"])
    assert body["message"] == body["summary"]["zh"]


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("anonymous", 401)])
def test_viewers_and_strangers_cannot_file(town, here, who, status):
    assert post(town, who, text="砍树", **here).status_code == status


def test_a_village_cannot_file_in_another_village(town, elsewhere):
    res = post(town, "village", text="砍树", **elsewhere)
    assert res.status_code == 422
    assert f"its own village ({VILLAGE})" in res.json()["error"]["en"]
    assert "只能提交本村" in res.json()["error"]["zh"]


def test_a_village_alone_is_placed_on_its_representative_point(town):
    res = post(town, "office", text="有人偷倒垃圾", village=VILLAGE)
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["location"]["source"], body["village"]["code"]) == ("village", VILLAGE)
    assert "代表点" in body["notes"][0]["zh"]


@pytest.mark.slow
def test_a_village_without_a_point_files_on_its_own_village(town):
    body = post(town, "village", text="村后山有人放火烧山").json()
    assert (body["location"]["source"], body["village"]["code"]) == ("village", VILLAGE)
    assert body["category"]["code"] == "fire_hazard"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"lon": 24.8, "lat": 112.4}, "not swapped"),
        ({"lon": 112.4, "lat": 24.8, "reported_at": "28/11/2026"}, "`reported_at` was"),
        ({"lon": 112.4, "lat": 24.8, "category": "偷鸟"}, "`category` was"),
    ],
)
def test_bad_input_is_422_in_both_languages(town, body, match):
    res = post(town, "office", text="砍树", **body)
    assert res.status_code == 422
    assert match in res.json()["error"]["en"]
    assert res.json()["error"]["zh"]


def test_the_answer_follows_the_callers_language(town, here):
    res = town.client.post(
        "/complaints?lang=en", json={"text": "砍树", **here}, headers=town.headers("office")
    )
    assert res.json()["message"].startswith("Complaint TS-")


def test_submissions_are_audited(town, here):
    cid = post(town, "department", text="砍树", **here).json()["complaint_id"]
    log = town.ws.audit()
    rows = log[log["target"] == cid]
    assert set(rows["action"]) == {"complaint.add", "complaint.submit"}
    assert rows["actor"].str.startswith("department:police").all()


def test_one_intake_serves_the_app_and_is_not_rebuilt(town, here):
    stored = town.ws.count("complaints")
    for _ in range(3):
        post(town, "office", text="砍树", **here)
    intake = town.client.app.state.complaint_intake
    assert (intake.builds, intake.complaint_count) == (1, stored + 3)


def test_the_office_reads_a_filed_complaint_with_the_masked_phone(town, here):
    cid = post(town, "office", text="砍树", reporter_phone="13800135678", **here).json()
    res = town.get(f"/complaints/{cid['complaint_id']}", "office")
    assert res.status_code == 200
    got = res.json()
    assert (got["status"], got["village_code"]) == ("new", VILLAGE)
    assert got["reporter_phone_masked"] == "138****5678"
    assert (got["lon"], got["lat"]) == pytest.approx((here["lon"], here["lat"]), abs=1e-6)


def test_the_office_reads_an_imported_complaint(town):
    got = town.get(f"/complaints/{STORED}", "office").json()
    assert (got["complaint_id"], got["received_at"]) == (STORED, "2024-11-18")
    assert got["category_zh"] == "盗伐滥伐林木"


@pytest.mark.parametrize(("who", "status"), [("village", 403), ("viewer", 403), ("anonymous", 401)])
def test_only_staff_may_read_complaints(town, who, status):
    assert town.get(f"/complaints/{STORED}", who).status_code == status


@pytest.mark.parametrize("complaint_id", [STORED, "TS-00000000-999"])
def test_a_department_may_not_read_the_restricted_layer_whatever_the_id(town, complaint_id):
    res = town.get(f"/complaints/{complaint_id}", "department")
    assert res.status_code == 403
    assert "classified 'restricted'" in res.json()["error"]["en"]


def test_a_department_reads_complaints_once_the_layer_is_internal(town, here):
    cid = post(town, "office", text="砍树", reporter_phone="13800135678", **here).json()
    with contextlib.closing(sqlite3.connect(town.path)) as con, con:
        con.execute(
            "UPDATE layer_catalog SET classification = 'internal' WHERE layer = 'complaints'"
        )
    got = town.get(f"/complaints/{cid['complaint_id']}", "department")
    assert got.status_code == 200
    assert "reporter_phone_masked" not in got.json()


def test_an_unknown_complaint_is_404(town):
    res = town.get("/complaints/TS-00000000-999", "office")
    assert res.status_code == 404
    assert "TS-00000000-999" in res.json()["error"]["en"]
