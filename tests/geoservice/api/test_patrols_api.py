"""POST /patrols and GET /patrols: stored once, measured in metres, scoped by role."""

from __future__ import annotations

import pyproj
import pytest
import shapely

from geoservice.workflow.field_scope import village_outline

from .conftest import OTHER_VILLAGE, VILLAGE, Town

T0 = 1_796_090_400_000  # 2026-12-01T02:00:00Z in milliseconds


def _points(town: Town, code: str = VILLAGE, legs: tuple = ((0, 0), (300, 0), (300, 400))) -> list:
    p = village_outline(town.ws, code)[1].representative_point()
    back = pyproj.Transformer.from_crs(town.ws.crs(), 4490, always_xy=True)
    out = []
    for i, (dx, dy) in enumerate(legs):
        lon, lat = back.transform(p.x + dx, p.y + dy)
        out.append({"lon": lon, "lat": lat, "t": T0 + i * 60_000, "accuracy": 5})
    return out


def _post(town: Town, who: str, body: dict, lang: str = ""):  # type: ignore[no-untyped-def]
    return town.client.post("/patrols" + lang, json=body, headers=town.headers(who))


@pytest.mark.slow
def test_posted_patrol_is_measured_in_metres(town: Town) -> None:
    res = _post(town, "village", {"points": _points(town)})
    assert res.status_code == 201
    body = res.json()
    assert body["length_m"] == pytest.approx(700.0, abs=0.5)
    assert (body["duration_s"], body["village_code"]) == (120.0, VILLAGE)
    assert shapely.LineString(body["track"]["coordinates"]).is_valid


@pytest.mark.slow
def test_replayed_patrol_is_answered_with_the_stored_one(town: Town) -> None:
    body = {"points": _points(town), "submission_id": "phone-42"}
    first = _post(town, "village", body)
    again = _post(town, "village", body)
    assert (again.status_code, again.json()["patrol_id"]) == (200, first.json()["patrol_id"])
    assert len(town.get("/patrols", "office").json()) == 1


@pytest.mark.slow
def test_empty_patrol_is_refused(town: Town) -> None:
    res = _post(town, "village", {"points": []}, "?lang=en")
    assert res.status_code == 422
    assert "fewer than two distinct positions" in res.json()["error"]["en"]


@pytest.mark.slow
def test_patrol_in_another_village_is_refused_naming_the_village(town: Town) -> None:
    res = _post(town, "village", {"points": _points(town, OTHER_VILLAGE)}, "?lang=en")
    assert res.status_code == 403
    assert "outside 白石村" in res.json()["error"]["en"]


@pytest.mark.slow
def test_patrols_are_listed_in_scope(town: Town) -> None:
    _post(town, "village", {"points": _points(town)})
    assert len(town.get("/patrols", "village").json()) == 1
    assert town.get("/patrols", "other_village").json() == []
    assert town.get("/patrols", "viewer").status_code == 403


@pytest.mark.slow
def test_patrols_by_month(town: Town) -> None:
    _post(town, "village", {"points": _points(town)})
    assert len(town.get("/patrols?month=2026-12", "office").json()) == 1
    assert town.get("/patrols?month=2026-11", "office").json() == []
    assert town.get("/patrols?month=Dec", "office").status_code == 422


@pytest.mark.slow
def test_village_status_counts_the_months_patrols(town: Town) -> None:
    _post(town, "village", {"points": _points(town)})
    rows = town.get("/villages/status?as_of=2026-12-31", "office").json()
    counts = {r["village_code"]: r["patrols"] for r in rows}
    assert (counts[VILLAGE], counts[OTHER_VILLAGE]) == (1, 0)
