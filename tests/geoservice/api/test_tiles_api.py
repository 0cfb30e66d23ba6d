"""GET /tiles/{layer}/{z}/{x}/{y}.mvt: tiles scoped to the caller, ETag and 304, invalidation
when the data changes, empty tiles, and refusals that name the bad value."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

from geoservice.tiles.grid import TileAddress, tms

from .conftest import OTHER_VILLAGE, VILLAGE, Town

REPORTED = "DC202503-002"  # VILLAGE, reported, copied to police
MVT = "application/vnd.mapbox-vector-tile"


def _url(layer: str, tile: TileAddress) -> str:
    return f"/tiles/{layer}/{tile.z}/{tile.x}/{tile.y}.mvt"


def _tile_of(town: Town, layer: str, column: str, value: str, z: int) -> TileAddress:
    """The tile at zoom ``z`` holding the feature of ``layer`` whose ``column`` is ``value``."""
    frame = town.ws.read(layer, use_arrow=False)
    row = frame[frame[column] == value].to_crs(4326)
    point = row.geometry.iloc[0].representative_point()
    found = tms().tile(point.x, point.y, z)
    return TileAddress(z, found.x, found.y)


def _features(body: bytes, layer: str) -> list[dict]:
    return mapbox_vector_tile.decode(body).get(layer, {}).get("features", [])


def test_office_gets_a_parcel_tile_with_etag_and_cache_control(town: Town) -> None:
    tile = _tile_of(town, "parcels", "parcel_id", "0001-001", 15)
    res = town.get(_url("parcels", tile), "office")
    assert res.status_code == 200
    assert res.headers["content-type"] == MVT
    assert res.headers["cache-control"] == "private, no-cache"
    assert res.headers["etag"].startswith('"')
    ids = {f["properties"]["parcel_id"] for f in _features(res.content, "parcels")}
    assert "0001-001" in ids


def test_same_etag_in_if_none_match_is_304_without_a_body(town: Town) -> None:
    tile = _tile_of(town, "parcels", "parcel_id", "0001-001", 15)
    first = town.get(_url("parcels", tile), "office")
    again = town.get(
        _url("parcels", tile), "office", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_problem_change_changes_the_tile_and_its_etag(town: Town) -> None:
    tile = _tile_of(town, "problems", "problem_id", REPORTED, 14)
    before = town.get(_url("problems", tile), "office")
    res = town.client.patch(
        f"/problems/{REPORTED}",
        json={"status": "verified"},
        headers={**town.headers("office"), "If-Match": '"1"'},
    )
    assert res.status_code == 200, res.text
    after = town.get(
        _url("problems", tile), "office", headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    states = {
        f["properties"]["problem_id"]: f["properties"]["status"]
        for f in _features(after.content, "problems")
    }
    assert states[REPORTED] == "verified"


def test_village_problem_tile_holds_only_its_village(town: Town) -> None:
    tile = _tile_of(town, "problems", "problem_id", REPORTED, 10)
    office = _features(town.get(_url("problems", tile), "office").content, "problems")
    mine = _features(town.get(_url("problems", tile), "village").content, "problems")
    assert {f["properties"]["village_code"] for f in office} > {VILLAGE}
    assert mine
    assert {f["properties"]["village_code"] for f in mine} == {VILLAGE}
    other = _features(town.get(_url("problems", tile), "other_village").content, "problems")
    assert {f["properties"]["village_code"] for f in other} <= {OTHER_VILLAGE}


def test_scopes_have_different_etags_for_the_same_tile(town: Town) -> None:
    tile = _tile_of(town, "problems", "problem_id", REPORTED, 10)
    office = town.get(_url("problems", tile), "office").headers["etag"]
    village = town.get(_url("problems", tile), "village")
    assert village.headers["etag"] != office
    assert (
        town.get(_url("problems", tile), "village", headers={"If-None-Match": office}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("who", "layer"), [("village", "targets"), ("viewer", "parcels"), ("department", "complaints")]
)
def test_a_layer_the_caller_may_not_see_is_404_naming_it(town: Town, who: str, layer: str) -> None:
    res = town.get(_url(layer, TileAddress(10, 831, 439)), who)
    assert res.status_code == 404
    assert f"tile layer {layer!r}" in res.json()["error"]["en"]


@pytest.mark.slow
def test_an_unknown_layer_is_404_naming_it(town: Town) -> None:
    res = town.get("/tiles/roads/10/831/439.mvt", "office")
    assert res.status_code == 404
    assert "'roads'" in res.json()["error"]["en"]


@pytest.mark.parametrize(
    ("path", "named"),
    [("23/0/0", "'23'"), ("10/1024/0", "'1024'"), ("10/0/abc", "'abc'"), ("x/0/0", "'x'")],
)
def test_a_bad_tile_address_is_400_naming_the_value(town: Town, path: str, named: str) -> None:
    res = town.get(f"/tiles/parcels/{path}.mvt", "office")
    assert res.status_code == 400
    assert named in res.json()["error"]["en"]


def test_a_tile_without_the_token_is_401(town: Town) -> None:
    assert town.get("/tiles/villages/10/831/439.mvt", "anonymous").status_code == 401


def test_a_tile_of_an_empty_area_is_an_empty_200(town: Town) -> None:
    res = town.get("/tiles/villages/16/0/0.mvt", "viewer")
    assert res.status_code == 200
    assert res.content == b""
    assert mapbox_vector_tile.decode(res.content) == {}


def test_a_tile_sent_is_audited_and_a_304_is_not(town: Town) -> None:
    url = _url("villages", TileAddress(10, 831, 439))
    first = town.get(url, "viewer")
    town.get(url, "viewer", headers={"If-None-Match": first.headers["etag"]})
    rows = town.ws.audit()
    assert (rows["action"] == "tiles.read").sum() == 1
