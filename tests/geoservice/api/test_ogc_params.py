"""OGC items parameters that used to answer 500 or a wrong count: zero-width and world
bounding boxes, huge offsets, and the bounds of bbox, limit and offset (400, never 500)."""

from __future__ import annotations

import pytest
import shapely

from geoservice.ogc.params import MAX_OFFSET

URL = "/ogc/collections/{}/items"


def get(town, collection: str, who: str = "office", **params):
    return town.get(URL.format(collection), who, params=params)


def body(town, collection: str, who: str = "office", **params) -> dict:
    res = get(town, collection, who, **params)
    assert res.status_code == 200, res.text
    return res.json()


def crs84(town, layer: str):
    return town.ws.read(layer).to_crs("OGC:CRS84")


def test_the_world_bbox_matches_every_feature(town):
    got = body(town, "complaints", bbox="-180,-90,180,90", limit=1000)
    assert got["numberMatched"] == town.ws.count("complaints") > 0


def test_the_world_bbox_matches_every_village_polygon(town):
    got = body(town, "villages", bbox="-180,-90,180,90")
    assert got["numberMatched"] == town.ws.count("villages") == 16


@pytest.mark.slow
def test_a_bbox_on_the_edge_of_the_layer_crs_zone_keeps_features_east_of_it(town):
    # EPSG:4546 is defined for 109.5-112.5 E; the town lies near its eastern edge.
    layer = crs84(town, "villages")
    east = layer.bounds["maxx"].max()
    got = body(town, "villages", bbox=f"112.0,20,{min(east + 5, 180)},30")
    assert got["numberMatched"] == int(layer.intersects(shapely.box(112.0, 20, 180, 30)).sum())


def test_a_point_bbox_far_from_the_data_matches_nothing(town):
    got = body(town, "villages", bbox="0,0,0,0")
    assert got["numberMatched"] == got["numberReturned"] == 0


@pytest.mark.slow
def test_a_zero_width_bbox_selects_the_villages_the_meridian_crosses(town):
    got = body(town, "villages", bbox="112.4,24.7,112.4,24.9")
    layer = crs84(town, "villages")
    line = shapely.LineString([(112.4, 24.7), (112.4, 24.9)])
    expected = sorted(layer.loc[layer.intersects(line), "village_code"])
    assert expected  # the meridian runs through the town
    assert sorted(f["id"] for f in got["features"]) == expected


@pytest.mark.slow
def test_a_zero_height_bbox_selects_the_villages_the_parallel_crosses(town):
    got = body(town, "villages", bbox="112.3,24.8,112.5,24.8")
    layer = crs84(town, "villages")
    line = shapely.LineString([(112.3, 24.8), (112.5, 24.8)])
    expected = sorted(layer.loc[layer.intersects(line), "village_code"])
    assert expected
    assert sorted(f["id"] for f in got["features"]) == expected


@pytest.mark.slow
def test_a_point_bbox_inside_a_village_selects_that_village(town):
    layer = crs84(town, "villages")
    inner = layer.geometry.iloc[0].representative_point()
    got = body(town, "villages", bbox=f"{inner.x},{inner.y},{inner.x},{inner.y}")
    assert [f["id"] for f in got["features"]] == [layer["village_code"].iloc[0]]


def test_a_bbox_that_misses_the_layer_is_an_empty_page(town):
    got = body(town, "villages", bbox="-10,-10,-5,-5")
    assert got["numberMatched"] == 0 and got["features"] == []


def test_an_offset_past_2_to_the_31_is_refused_naming_it(town):
    res = get(town, "complaints", offset="2147483648")
    assert res.status_code == 400
    assert "`offset` was '2147483648'" in res.json()["error"]["en"]
    assert str(MAX_OFFSET) in res.json()["error"]["en"]


@pytest.mark.parametrize("extra", [{}, {"bbox": "112,24,113,25"}])
def test_an_offset_past_the_last_feature_is_an_empty_page(town, extra):
    got = body(town, "complaints", offset=str(MAX_OFFSET), **extra)
    assert got["numberReturned"] == 0 and got["numberMatched"] == town.ws.count("complaints")
    assert not any(link["rel"] == "next" for link in got["links"])


@pytest.mark.parametrize(
    "bbox",
    [
        "nan,24,113,25",
        "112,24,inf,25",
        "-inf,24,113,25",
        "1e400,24,113,25",
        "-181,24,113,25",
        "112,-91,113,25",
        "112,24,181,25",
        "112,24,113,91",
        "113,24,112,25",
        "112,25,113,24",
        "",
        ",,,",
    ],
)
def test_a_bbox_out_of_range_reversed_or_not_finite_is_400_naming_it(town, bbox):
    res = get(town, "villages", "viewer", bbox=bbox)
    assert res.status_code == 400
    err = res.json()["error"]
    assert err["code"] == "ogc.bad_bbox"
    assert f"`bbox` was {bbox!r}" in err["en"] and "-180..180" in err["en"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "-1"), ("limit", "1.5"), ("limit", "9" * 5000), ("offset", "1e3"), ("offset", "")],
)
def test_paging_values_that_are_not_bounded_integers_are_400(town, name, value):
    res = get(town, "villages", "viewer", **{name: value})
    assert res.status_code == 400
    assert res.json()["error"]["code"] == f"ogc.bad_{name}"


def test_a_refused_parameter_is_400_in_the_caller_s_language(town):
    res = get(town, "villages", "viewer", bbox="1,2,3", lang="en")
    assert res.status_code == 400
    assert res.json()["error"]["message"].startswith("`bbox` was '1,2,3'")


def test_the_world_bbox_keeps_a_village_to_its_own_problems(town):
    everything = body(town, "problems", "village", bbox="-180,-90,180,90", limit=1000)
    plain = body(town, "problems", "village", limit=1000)
    assert everything["numberMatched"] == plain["numberMatched"] > 0
    assert everything["numberMatched"] < town.ws.count("problems")
