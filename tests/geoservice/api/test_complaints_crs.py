"""POST /complaints with a point picked on a Chinese web map (``crs``: GCJ-02, BD-09)."""

from __future__ import annotations

from pathlib import Path

import coordTransform as oracle
import pyogrio
import pyproj
import pytest

from .conftest import VILLAGE

GEOD = pyproj.Geod(ellps="GRS80")


@pytest.fixture(scope="module")
def truth(town_template: Path) -> dict[str, float]:
    """A CGCS2000 point in the middle of a parcel of VILLAGE, and the workspace CRS."""
    where = f"village_code = '{VILLAGE}'"
    parcels = pyogrio.read_dataframe(town_template, layer="parcels", where=where)
    biggest = parcels.geometry.area.idxmax()
    inside = parcels.geometry.loc[biggest].representative_point()
    lon, lat = pyproj.Transformer.from_crs(parcels.crs, 4490, always_xy=True).transform(
        inside.x, inside.y
    )
    return {"lon": lon, "lat": lat, "parcel_id": parcels.loc[biggest, "parcel_id"]}


def picked(truth: dict[str, float], datum: str) -> dict[str, float]:
    """What a web map in ``datum`` shows for the true point, to 6 decimals."""
    forward = oracle.wgs84_to_gcj02 if datum == "GCJ-02" else oracle.wgs84_to_bd09
    lon, lat = forward(truth["lon"], truth["lat"])
    return {"lon": round(lon, 6), "lat": round(lat, 6)}


def post(town, **body):
    return town.client.post("/complaints", json=body, headers=town.headers("office"))


def off_by(location: dict, truth: dict[str, float]) -> float:
    return float(GEOD.inv(location["lon"], location["lat"], truth["lon"], truth["lat"])[2])


@pytest.mark.parametrize(
    ("datum", "spelling", "shift"),
    [("GCJ-02", "gcj02", (300, 700)), ("BD-09", "BD-09", (900, 1500))],
)
def test_a_web_map_point_is_converted_and_lands_in_its_parcel(town, truth, datum, spelling, shift):
    given = picked(truth, datum)
    res = post(town, text="有人在山上砍树", crs=spelling, **given)
    assert res.status_code == 201, res.text
    location = res.json()["location"]
    assert off_by(location, truth) < 0.5
    assert location["parcel_id"] == truth["parcel_id"]
    converted = location["converted_from"]
    assert (converted["crs"], converted["lon"], converted["lat"]) == (datum, *given.values())
    assert shift[0] < converted["shift_m"] < shift[1]


def test_the_answer_notes_the_conversion_in_both_languages(town, truth):
    res = post(town, text="有人在山上砍树", crs="GCJ-02", **picked(truth, "GCJ-02"))
    note = res.json()["notes"][0]
    assert note["zh"].startswith("坐标按 GCJ-02（高德、腾讯、微信地图）给出，已转换为 CGCS2000")
    assert "converted to CGCS2000" in note["en"] and " m." in note["en"]


def test_the_same_point_filed_as_cgcs2000_lands_hundreds_of_metres_off(town, truth):
    res = post(town, text="有人在山上砍树", **picked(truth, "GCJ-02"))
    location = res.json()["location"]
    assert location["converted_from"] is None
    assert off_by(location, truth) > 300


@pytest.mark.parametrize("spelling", [None, "CGCS2000", "wgs84", "EPSG:4490"])
def test_cgcs2000_and_wgs84_points_are_taken_as_given(town, truth, spelling):
    body = {"lon": truth["lon"], "lat": truth["lat"]}
    res = post(town, text="有人在山上砍树", crs=spelling, **body)
    location = res.json()["location"]
    assert location["converted_from"] is None
    assert (location["lon"], location["lat"]) == (truth["lon"], truth["lat"])


@pytest.mark.parametrize("spelling", ["gcj", "EPSG:4546", "baidu"])
def test_an_unknown_crs_is_422_naming_the_allowed_values(town, truth, spelling):
    res = post(town, text="砍树", crs=spelling, lon=truth["lon"], lat=truth["lat"])
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "intake.bad_crs"
    assert f"`crs` was '{spelling}'" in error["en"]
    assert "CGCS2000 (the default), WGS84, GCJ-02" in error["en"] and "or BD-09" in error["en"]
    assert "应为 CGCS2000（默认）、WGS84、GCJ-02" in error["zh"]


def test_an_unknown_crs_is_refused_even_without_a_point(town):
    res = post(town, text="砍树", crs="mars", village=VILLAGE)
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "intake.bad_crs"


def test_the_original_point_is_audited(town, truth):
    given = picked(truth, "BD-09")
    cid = post(town, text="砍树", crs="bd09", **given).json()["complaint_id"]
    log = town.ws.audit()
    detail = log[(log["target"] == cid) & (log["action"] == "complaint.add")]["detail"].iloc[0]
    assert '"crs": "BD-09"' in detail and str(given["lon"]) in detail
