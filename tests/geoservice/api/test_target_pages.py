"""The phone target page: the target's state and the action form of a department officer."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geoservice.api.csrf import token_for
from geoservice.api.pages.routing import get_today
from geoservice.workflow.target_store import target_actions

from .conftest import AS_OF, DEPARTMENT


@pytest.fixture
def pages(town):  # type: ignore[no-untyped-def]
    town.client.app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    return town


def supported(town) -> str:  # type: ignore[no-untyped-def]
    """A target the police support but do not lead."""
    t = pd.DataFrame(town.ws.read("targets", read_geometry=False))
    coop = t["cooperating_departments"].fillna("").str.split(";").map(lambda xs: DEPARTMENT in xs)
    return str(t.loc[coop & (t["lead_department"] != DEPARTMENT), "target_id"].iloc[0])


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "brown").save(out, format="JPEG")
    return out.getvalue()


def post(town, tid, who, photos=(), client=None, **fields):  # type: ignore[no-untyped-def]
    data = {"acted_on": "2026-11-27", "action": "出动警力现场调查", "people": "4", **fields}
    files = [("photos", (f"p{i}.jpg", blob, "image/jpeg")) for i, blob in enumerate(photos)]
    return (client or town.client).post(
        f"/app/targets/{tid}",
        data=data,
        files=files or None,
        headers=town.headers(who),
        follow_redirects=False,
    )


def test_the_page_shows_the_state_and_the_action_form(pages):  # type: ignore[no-untyped-def]
    page = pages.get(f"/app/targets/{supported(pages)}", "department").text
    assert "待派发" in page and "第 1 版" in page
    assert 'name="action"' in page and 'name="csrf_token"' in page


@pytest.mark.slow
def test_a_supporting_department_adds_an_action_with_a_photo(pages):  # type: ignore[no-untyped-def]
    tid = supported(pages)
    res = post(pages, tid, "department", photos=[jpeg()], seizures="油锯 2 台")
    assert res.status_code == 303, res.text
    assert res.headers["location"] == f"/app/targets/{tid}?saved=1"
    [record] = target_actions(pages.ws, tid).to_dict("records")
    assert (record["department"], record["acted_on"], record["people"]) == (
        DEPARTMENT,
        "2026-11-27",
        4,
    )
    assert len(record["photos"]) == 1
    page = pages.get(res.headers["location"], "department").text
    assert "已添加处置记录" in page and "出动警力现场调查" in page and "油锯 2 台" in page


def test_a_bad_people_count_shows_the_form_again_with_the_message(pages):  # type: ignore[no-untyped-def]
    tid = supported(pages)
    res = post(pages, tid, "department", people="许多")
    assert res.status_code == 422
    assert "许多" in res.text and "出动警力现场调查" in res.text
    assert target_actions(pages.ws, tid).empty


def test_an_empty_action_is_refused(pages):  # type: ignore[no-untyped-def]
    res = post(pages, supported(pages), "department", action=" ")
    assert res.status_code == 422


@pytest.mark.parametrize("who", ["village", "viewer", "other_department"])
def test_only_the_departments_involved_and_the_office_add_actions(pages, who):  # type: ignore[no-untyped-def]
    tid = supported(pages)
    assert post(pages, tid, who).status_code == 404
    assert target_actions(pages.ws, tid).empty


def test_a_cookie_form_without_its_token_is_refused(pages):  # type: ignore[no-untyped-def]
    tid = supported(pages)
    browser = TestClient(pages.client.app)
    browser.post("/signin", data={"token": pages.tokens["department"]})
    origin = {"Origin": "http://testserver"}
    data = {"action": "巡查"}
    refused = browser.post(f"/app/targets/{tid}", data=data, headers=origin, follow_redirects=False)
    assert refused.status_code == 403
    token = token_for(pages.tokens["department"])
    ok = browser.post(
        f"/app/targets/{tid}",
        data={**data, "csrf_token": token},
        headers=origin,
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert target_actions(pages.ws, tid)["action"].tolist() == ["巡查"]


def test_the_task_list_shows_each_targets_state(pages):  # type: ignore[no-untyped-def]
    tid = supported(pages)
    headers = {**pages.headers("office"), "If-Match": '"1"'}
    res = pages.client.patch(f"/targets/{tid}", json={"state": "dispatched"}, headers=headers)
    assert res.status_code == 200
    page = pages.get("/app", "department").text
    card = page[page.index(f"/app/targets/{tid}") :]
    card = card[: card.index("</li>")]
    assert "已派发" in card
    assert "待派发" in page
