"""Field capture pages, the map context and patrols over the web, on the sample town."""

from __future__ import annotations

import json
import re

import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from geoservice.api.csrf import token_for
from geoservice.api.deps import COOKIE
from geoservice.workflow.capture import captured
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.store import read_problems
from geoservice.workflow.target_store import target_actions

from .conftest import OTHER_VILLAGE, VILLAGE, Town

TARGET = "T-5b802846b6"  # led by police, the department user's
T0 = 1_796_090_400_000  # 2026-12-01T02:00:00Z in milliseconds


def _degrees(town: Town, points: list[shapely.Point]) -> list[tuple[float, float]]:
    back = pyproj.Transformer.from_crs(town.ws.crs(), 4490, always_xy=True)
    return [back.transform(p.x, p.y) for p in points]


def _in_village(town: Town, code: str = VILLAGE, dx: float = 0.0) -> tuple[float, float]:
    p = village_outline(town.ws, code)[1].representative_point()
    return _degrees(town, [shapely.Point(p.x + dx, p.y)])[0]


def _target_point(town: Town, offset: float = 0.0) -> tuple[float, float]:
    frame = town.ws.read("targets", columns=["target_id"])
    shape = frame[frame["target_id"] == TARGET].geometry.iloc[0]
    p = shape.representative_point()
    return _degrees(town, [shapely.Point(p.x + offset, p.y)])[0]


def _capture(town: Town, who: str, lonlat: tuple[float, float], **extra: str):  # type: ignore[no-untyped-def]
    data = {
        "category": "illegal_logging",
        "description": "山脚新伐树桩 5 个",
        "lon": f"{lonlat[0]:.7f}",
        "lat": f"{lonlat[1]:.7f}",
        "accuracy": "9.5",
        **extra,
    }
    return town.client.post(
        "/app/capture", data=data, headers=town.headers(who), follow_redirects=False
    )


@pytest.mark.slow
def test_capture_form_is_queued_offline_and_draws_a_fresh_id(town: Town) -> None:
    page = town.get("/app/capture", "village").text
    assert "data-offline-queue" in page
    assert re.search(r'name="submission_id" value="[0-9a-f]{32}"', page)
    assert "/static/maps/geoman.js" in page


@pytest.mark.slow
def test_village_cadre_records_a_problem_on_the_spot(town: Town) -> None:
    res = _capture(town, "village", _in_village(town), submission_id="s-1")
    assert res.status_code == 303
    pid = res.headers["location"].split("/")[-1].split("?")[0]
    row = read_problems(town.ws).set_index("problem_id").loc[pid]
    assert (row["village_code"], row["category"]) == (VILLAGE, "illegal_logging")
    assert captured(town.ws, "problem", pid)[0]["accuracy_m"] == 9.5


@pytest.mark.slow
def test_a_replayed_capture_goes_to_the_same_problem(town: Town) -> None:
    first = _capture(town, "village", _in_village(town), submission_id="s-2")
    count = len(read_problems(town.ws))
    again = _capture(town, "village", _in_village(town), submission_id="s-2")
    assert again.headers["location"] == first.headers["location"]
    assert len(read_problems(town.ws)) == count


@pytest.mark.slow
def test_capture_outside_the_village_says_where_and_keeps_the_text(town: Town) -> None:
    res = _capture(town, "village", _in_village(town, OTHER_VILLAGE))
    assert res.status_code == 403
    assert re.search(r"在白石村之外，距村界 [\d,]+ m", res.text)
    assert "山脚新伐树桩 5 个" in res.text


@pytest.mark.slow
def test_department_cannot_open_the_new_problem_form(town: Town) -> None:
    assert town.get("/app/capture", "department").status_code == 403


@pytest.mark.slow
def test_officer_records_an_observation_at_a_target(town: Town) -> None:
    lon, lat = _target_point(town)
    res = town.client.post(
        f"/app/targets/{TARGET}/observe",
        data={"note": "现场有新翻土", "lon": str(lon), "lat": str(lat), "accuracy": "6"},
        headers=town.headers("department"),
        follow_redirects=False,
    )
    assert res.status_code == 303
    actions = target_actions(town.ws, TARGET)
    assert actions["action"].iloc[-1] == "现场核查：现场有新翻土"
    assert actions["department"].iloc[-1] == "police"


@pytest.mark.slow
def test_observation_far_from_the_target_is_refused_with_the_distance(town: Town) -> None:
    lon, lat = _target_point(town, offset=5000)
    res = town.client.post(
        f"/app/targets/{TARGET}/observe?lang=en",
        data={"note": "x", "lon": str(lon), "lat": str(lat)},
        headers=town.headers("department"),
        follow_redirects=False,
    )
    assert res.status_code == 403
    assert re.search(r"is [\d,]+ m from target T-5b802846b6, farther than 300 m", res.text)


@pytest.mark.slow
def test_problem_page_carries_the_map_context(town: Town) -> None:
    page = town.get("/app/problems/DC202606-002", "village").text
    assert 'class="map-context' in page
    assert "/static/maps/vectorgrid.js" in page
    assert "capture.js" in page


@pytest.mark.slow
def test_problem_page_map_carries_the_area_drawn_in_the_field(town: Town) -> None:
    centre = village_outline(town.ws, VILLAGE)[1].representative_point()
    square = shapely.box(centre.x - 20, centre.y - 15, centre.x + 20, centre.y + 15)
    ring = _degrees(town, [shapely.Point(c) for c in square.exterior.coords])
    area = json.dumps({"type": "Polygon", "coordinates": [ring]})
    res = _capture(town, "village", _in_village(town), submission_id="s-area", area=area)
    page = town.get(res.headers["location"].split("?")[0] + "?lang=en", "village").text
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', page, re.S)[1])
    drawn = [f for f in data["features"] if f["properties"]["kind"] == "area"]
    assert len(drawn) == 1
    assert shapely.geometry.shape(drawn[0]["geometry"]).equals_exact(shapely.Polygon(ring), 1e-7)
    assert "the area drawn on the map in the field, about 1200 m²" in page


@pytest.mark.slow
def test_problem_page_without_a_drawn_area_names_none(town: Town) -> None:
    page = town.get("/app/problems/DC202606-002?lang=en", "village").text
    assert "area drawn on the map in the field" not in page


@pytest.mark.slow
def test_target_page_offers_the_observation_form(town: Town) -> None:
    page = town.get(f"/app/targets/{TARGET}", "department").text
    assert f"/app/targets/{TARGET}/observe" in page


@pytest.mark.slow
def test_survey_crs_is_the_workspace_crs(town: Town) -> None:
    body = town.get("/app/field/crs.json", "village").json()
    assert body["epsg"] == 4546
    assert "+proj=tmerc" in body["proj4"]


@pytest.mark.slow
def test_patrol_form_saves_the_track(town: Town) -> None:
    (a, b) = (_in_village(town), _in_village(town, dx=200))
    track = f"[[{a[0]}, {a[1]}, {T0}, 5], [{b[0]}, {b[1]}, {T0 + 120000}, 5]]"
    res = town.client.post(
        "/app/patrol",
        data={"track": track, "submission_id": "p-1"},
        headers=town.headers("village"),
        follow_redirects=False,
    )
    assert res.status_code == 303
    assert re.search(r"saved=XH\d{8}-001", res.headers["location"])
    page = town.client.get(res.headers["location"], headers=town.headers("village")).text
    assert "0.20" in page


@pytest.mark.slow
def test_patrol_form_without_positions_is_refused(town: Town) -> None:
    res = town.client.post(
        "/app/patrol?lang=en",
        data={"track": "[]"},
        headers=town.headers("village"),
        follow_redirects=False,
    )
    assert res.status_code == 422
    assert "fewer than two distinct positions" in res.text


PATCH = "44188220250001"


def _patch_point(town: Town, offset: float = 0.0) -> tuple[float, float]:
    frame = town.ws.read("patches", columns=["patch_id"])
    p = frame[frame["patch_id"] == PATCH].geometry.iloc[0].representative_point()
    return _degrees(town, [shapely.Point(p.x + offset, p.y)])[0]


@pytest.mark.slow
def test_officer_records_an_observation_at_a_patch(town: Town) -> None:
    from geoservice.workflow.patch_store import patch_history

    lon, lat = _patch_point(town)
    res = town.client.post(
        f"/app/patches/{PATCH}/observe",
        data={"note": "已复绿", "lon": str(lon), "lat": str(lat), "submission_id": "o-1"},
        headers=town.headers("department"),
        follow_redirects=False,
    )
    assert res.status_code == 303
    last = patch_history(town.ws, PATCH).iloc[-1]
    assert (last["event"], last["note"].split("（")[0]) == ("observation", "现场核查：已复绿")
    assert captured(town.ws, "patch", PATCH)[0]["submission_id"] == "o-1"


@pytest.mark.slow
def test_village_cannot_observe_a_patch(town: Town) -> None:
    res = town.get(f"/app/patches/{PATCH}/observe?lang=en", "village")
    assert res.status_code == 403
    assert "cannot record an observation at a patch" in res.text


def _browser(town: Town, who: str) -> TestClient:
    """A browser signed in as ``who``: the sign-in cookie only."""
    client = TestClient(town.client.app)
    client.cookies.set(COOKIE, town.tokens[who])
    return client


@pytest.mark.slow
def test_a_cookie_form_with_its_page_token_is_stored(town: Town) -> None:
    browser = _browser(town, "village")
    token = token_for(town.tokens["village"])
    lon, lat = _in_village(town)
    data = {"category": "pollution", "description": "倾倒垃圾", "lon": str(lon), "lat": str(lat)}
    res = browser.post(
        "/app/capture",
        data={**data, "csrf_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert res.status_code == 303


@pytest.mark.slow
def test_a_cookie_form_without_its_page_token_is_refused(town: Town) -> None:
    browser = _browser(town, "village")
    res = browser.post(
        "/app/patrol?lang=en",
        data={"track": "[]"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert res.status_code == 403
    assert "anti-forgery token" in res.text


@pytest.mark.slow
def test_patch_page_carries_the_map_context_and_the_observation_link(town: Town) -> None:
    page = town.get(f"/app/patches/{PATCH}", "department").text
    assert 'class="map-context' in page
    assert f"/app/patches/{PATCH}/observe" in page
    assert "/app/targets/" not in page.split('class="map-context')[1].split("</div>")[0]
