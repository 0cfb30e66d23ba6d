"""The field page reports a rejected problem fixed in one submission."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image

from geoservice.api.pages.routing import get_today
from geoservice.workflow.store import history, read_problems

from .conftest import AS_OF

REJECTED = "DC202606-002"  # the test village's problem, rejected
URL = f"/app/problems/{REJECTED}"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, format="JPEG")
    return out.getvalue()


def test_the_rejected_problems_form_offers_fixed(town):
    page = town.get(URL, "village").text
    assert 'value="in_progress"' in page and 'value="reported"' in page


def test_one_submission_reports_a_rejected_problem_fixed(town):
    town.client.app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    before = len(history(town.ws, REJECTED))
    res = town.client.post(
        URL,
        data={"to": "reported", "version": "1", "note": "已全部复绿"},
        files=[("photos", ("现场.jpg", _jpeg(), "image/jpeg"))],
        headers=town.headers("village"),
        follow_redirects=False,
    )
    assert res.status_code == 303
    past = history(town.ws, REJECTED)
    last = past.iloc[-1]
    assert len(past) == before + 1
    assert (last["from_state"], last["to_state"], len(last["evidence"])) == (
        "rejected",
        "reported",
        1,
    )
    assert read_problems(town.ws).set_index("problem_id").at[REJECTED, "status"] == "reported"


def test_the_api_moves_a_rejected_problem_to_reported_in_one_patch(town):
    res = town.client.patch(
        f"/problems/{REJECTED}",
        json={"status": "reported", "note": "已全部复绿"},
        headers={**town.headers("village"), "If-Match": '"1"'},
    )
    assert res.status_code == 200
    assert (res.json()["from_state"], res.json()["to_state"]) == ("rejected", "reported")
