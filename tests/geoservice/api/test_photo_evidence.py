"""Photo evidence keeps its place and time: the problem and target pages say where and when
a photo was taken; the office is served the photo with its EXIF, everyone else without."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from geoservice.api.pages.routing import get_today
from geoservice.workflow.store import history
from tests.support.exif_photos import exif_photo, gps_block, read_exif

from .conftest import AS_OF, DEPARTMENT

PROBLEM = "DC202606-002"  # the test village's problem, rejected, copied to police
URL = f"/app/problems/{PROBLEM}"


@pytest.fixture
def pages(town):  # type: ignore[no-untyped-def]
    town.client.app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    return town


def _near(town, layer: str, column: str, value: str, north_m: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """lat, lon of a point ``north_m`` metres north of the object's representative point."""
    frame = town.ws.read(layer, use_arrow=False, columns=[column])
    shape = frame.loc[frame[column] == value].geometry.representative_point()
    moved = shape.translate(yoff=north_m).to_crs(4326).iloc[0]
    return moved.y, moved.x


def _photo(town, north_m: float) -> bytes:  # type: ignore[no-untyped-def]
    lat, lon = _near(town, "problems", "problem_id", PROBLEM, north_m)
    return exif_photo(gps=gps_block(lat, lon, 120.0), when="2026:11:27 09:15:00", offset="+08:00")


def _report(town, photo: bytes, lang: str = ""):  # type: ignore[no-untyped-def]
    return town.client.post(
        URL + lang,
        data={"to": "reported", "version": "1", "note": "已复绿"},
        files=[("photos", ("现场.jpg", photo, "image/jpeg"))],
        headers=town.headers("village"),
        follow_redirects=False,
    )


def _stored_name(town) -> str:  # type: ignore[no-untyped-def]
    return str(history(town.ws, PROBLEM).iloc[-1]["evidence"][0])


def test_the_problem_page_says_when_and_how_far_from_the_problem(pages):
    assert _report(pages, _photo(pages, 35)).status_code == 303
    page = pages.get(URL, "village").text
    assert "拍摄于 2026-11-27 09:15，距问题位置 35 米" in page


def test_the_english_page_says_taken_n_m_from_the_problem(pages):
    _report(pages, _photo(pages, 35))
    page = pages.get(URL + "?lang=en", "office").text
    assert "taken 35 m from the problem, on 2026-11-27 09:15" in page


def test_the_office_sees_the_same_caption_with_a_link_to_the_photo(pages):
    _report(pages, _photo(pages, 35))
    page = pages.get(URL, "office").text
    name = _stored_name(pages)
    assert re.search(rf'href="/problems/{PROBLEM}/evidence/{name}"><img', page)


@pytest.mark.parametrize("who", ["village", "department"])
def test_other_roles_are_served_the_photo_without_exif(pages, who):
    _report(pages, _photo(pages, 35))
    res = pages.get(f"/problems/{PROBLEM}/evidence/{_stored_name(pages)}", who)
    assert res.status_code == 200 and res.headers["content-type"] == "image/jpeg"
    assert read_exif(res.content) == ({}, {}, {})
    assert b"Exif\x00\x00" not in res.content


def test_the_office_is_served_the_photo_with_its_gps_and_time(pages):
    _report(pages, _photo(pages, 35))
    res = pages.get(f"/problems/{PROBLEM}/evidence/{_stored_name(pages)}", "office")
    _, gps, inner = read_exif(res.content)
    assert gps[2][0] == 24 and gps[4][0] == 112 and float(gps[6]) == 120.0
    assert inner[0x9003] == "2026:11:27 09:15:00"


@pytest.mark.parametrize("who", ["office", "village"])
def test_a_photo_varies_by_who_asks_and_is_kept_by_their_browser_only(pages, who):
    _report(pages, _photo(pages, 35))
    res = pages.get(f"/problems/{PROBLEM}/evidence/{_stored_name(pages)}", who)
    assert res.headers["cache-control"].startswith("private")
    assert {v.strip() for v in res.headers["vary"].split(",")} >= {"Authorization", "Cookie"}


def test_photos_uploaded_through_the_api_keep_their_place_too(pages):
    res = pages.client.post(
        f"/problems/{PROBLEM}/evidence",
        files=[("files", ("a.jpg", _photo(pages, 8), "image/jpeg"))],
        headers=pages.headers("village"),
    )
    name = res.json()["stored"][0]
    change = pages.client.patch(
        f"/problems/{PROBLEM}",
        json={"status": "reported", "evidence": [name]},
        headers={**pages.headers("village"), "If-Match": '"1"'},
    )
    assert change.status_code == 200
    assert "距问题位置 8 米" in pages.get(URL, "village").text


def test_a_page_without_photos_has_no_caption_section(pages):
    assert "照片拍摄时间与地点" not in pages.get(URL, "village").text


def _led_target(town) -> str:  # type: ignore[no-untyped-def]
    t = pd.DataFrame(town.ws.read("targets", read_geometry=False))
    return str(t.loc[t["lead_department"] == DEPARTMENT, "target_id"].iloc[0])


def test_the_target_page_says_where_an_action_photo_was_taken(pages):
    tid = _led_target(pages)
    lat, lon = _near(pages, "targets", "target_id", tid, 0)
    photo = exif_photo(gps=gps_block(lat, lon), when="2026:11:27 14:02:00", offset="+08:00")
    res = pages.client.post(
        f"/app/targets/{tid}",
        data={"acted_on": "2026-11-27", "action": "现场踏勘", "people": "3"},
        files=[("photos", ("p.jpg", photo, "image/jpeg"))],
        headers=pages.headers("department"),
        follow_redirects=False,
    )
    assert res.status_code == 303
    page = pages.get(f"/app/targets/{tid}", "department").text
    assert "拍摄于 2026-11-27 14:02，在目标范围内" in page


def test_the_problem_json_gives_each_photos_time_and_distance(pages):
    _report(pages, _photo(pages, 35))
    body = pages.get(f"/problems/{PROBLEM}?lang=en", "village").json()
    [photo] = body["photos"]
    assert (photo["taken_at"], photo["distance_m"]) == (
        "2026-11-27 09:15",
        pytest.approx(35, abs=0.5),
    )
    assert photo["caption"] == "taken 35 m from the problem, on 2026-11-27 09:15"
