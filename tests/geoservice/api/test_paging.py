"""Paging of every list: limit and offset, the next link walking all pages to the total,
400 above the maximum, ETag and 304, and totals counted in the caller's scope only."""

from __future__ import annotations

from typing import Any

import pytest

from geoservice.api.paging import MAX_LIMIT
from geoservice.workflow.store import read_problems

from .conftest import AS_OF, OTHER_VILLAGE, VILLAGE, Town

# Bare JSON arrays, paged by headers (X-Total-Count, Link rel="next").
ARRAYS = ("/problems", "/villages/status")
# JSON objects with total, limit, offset, next and a list under a key.
OBJECTS = {"/layers": "layers", "/audit?action=import": "rows"}
EVERY_LIST = (*ARRAYS, "/layers", "/audit", "/targets")


def _next_of_array(res: Any) -> str | None:
    link = res.headers.get("link")
    if link is None:
        return None
    assert link.endswith('>; rel="next"')
    return str(link[1:].split(">;")[0])


def _walk_array(town: Town, url: str, who: str) -> tuple[list[Any], set[str]]:
    """Every row reached by following the next links from ``url``, and the totals seen."""
    rows: list[Any] = []
    totals: set[str] = set()
    address: str | None = url
    while address is not None:
        res = town.get(address, who)
        assert res.status_code == 200, res.text
        rows += res.json()
        totals.add(res.headers["x-total-count"])
        address = _next_of_array(res)
    return rows, totals


def _walk_object(town: Town, url: str, key: str) -> tuple[list[Any], set[int]]:
    rows: list[Any] = []
    totals: set[int] = set()
    address: str | None = url
    while address is not None:
        body = town.get(address, "office").json()
        rows += body[key]
        totals.add(body["total"])
        address = body["next"]
    return rows, totals


def test_problem_pages_walk_every_problem_once(town: Town) -> None:
    everything = town.get(f"/problems?as_of={AS_OF}&limit={MAX_LIMIT}", "office").json()
    rows, totals = _walk_array(town, f"/problems?as_of={AS_OF}&limit=3", "office")
    assert len(everything) > 6  # several pages
    assert [r["problem_id"] for r in rows] == [r["problem_id"] for r in everything]
    assert totals == {str(len(everything))}


def test_problem_page_keeps_filters_in_next_link(town: Town) -> None:
    res = town.get(f"/problems?as_of={AS_OF}&status=assigned&limit=1", "office")
    link = _next_of_array(res)
    assert link is not None
    assert link.startswith("http://testserver/problems?")
    assert "status=assigned" in link and "as_of=2026-11-28" in link
    assert "limit=1&offset=1" in link


def test_next_link_ignores_the_host_header(town: Town) -> None:
    res = town.get("/problems?limit=1", "office", headers={"Host": "evil.example"})
    assert (_next_of_array(res) or "").startswith("http://testserver/")


def test_last_problem_page_has_no_next_link(town: Town) -> None:
    total = int(town.get("/problems?limit=1", "office").headers["x-total-count"])
    res = town.get(f"/problems?limit=1&offset={total - 1}", "office")
    assert len(res.json()) == 1
    assert "link" not in res.headers


def test_offset_past_the_end_is_an_empty_page_with_the_total(town: Town) -> None:
    res = town.get("/problems?offset=100000", "office")
    assert res.status_code == 200
    assert res.json() == []
    assert int(res.headers["x-total-count"]) > 0


def test_village_total_counts_only_its_own_problems(town: Town) -> None:
    probs = read_problems(town.ws)
    own = int((probs["village_code"] == VILLAGE).sum())
    res = town.get("/problems?limit=1", "village")
    assert 0 < own < len(probs)
    assert res.headers["x-total-count"] == str(own)
    rows, _ = _walk_array(town, "/problems?limit=2", "village")
    assert {r["village_code"] for r in rows} == {VILLAGE}
    assert len(rows) == own


def test_village_status_total_is_its_own_row(town: Town) -> None:
    res = town.get(f"/villages/status?as_of={AS_OF}", "other_village")
    assert res.headers["x-total-count"] == "1"
    assert [r["village_code"] for r in res.json()] == [OTHER_VILLAGE]


@pytest.mark.slow
def test_village_status_pages_walk_every_village(town: Town) -> None:
    everything = town.get(f"/villages/status?as_of={AS_OF}", "office").json()
    rows, totals = _walk_array(town, f"/villages/status?as_of={AS_OF}&limit=2", "office")
    assert len(everything) > 2
    assert rows == everything
    assert totals == {str(len(everything))}


@pytest.mark.parametrize(("url", "key"), OBJECTS.items())
def test_object_lists_walk_pages_by_their_next_field(town: Town, url: str, key: str) -> None:
    sep = "&" if "?" in url else "?"
    everything = town.get(f"{url}{sep}limit={MAX_LIMIT}", "office").json()
    rows, totals = _walk_object(town, f"{url}{sep}limit=2", key)
    assert everything["total"] == len(everything[key]) > 2
    assert everything["next"] is None
    assert rows == everything[key]
    assert totals == {everything["total"]}


def test_layer_page_says_its_limit_and_offset(town: Town) -> None:
    body = town.get("/layers?limit=2&offset=1", "office").json()
    assert (body["limit"], body["offset"], len(body["layers"])) == (2, 1, 2)
    assert body["next"] == "http://testserver/layers?limit=2&offset=3"


def test_viewer_layer_total_counts_only_public_rows(town: Town) -> None:
    office = town.get("/layers", "office").json()
    viewer = town.get("/layers", "viewer").json()
    public = [r for r in office["layers"] if r["classification"] == "public"]
    assert viewer["total"] == len(public) < office["total"]


@pytest.mark.parametrize("url", EVERY_LIST)
def test_limit_over_the_maximum_is_400_naming_value_and_maximum(town: Town, url: str) -> None:
    res = town.get(f"{url}?limit={MAX_LIMIT + 1}", "office")
    assert res.status_code == 400
    error = res.json()["error"]
    assert error["code"] == "paging.bad_limit"
    assert f"`limit` was {MAX_LIMIT + 1}" in error["en"]
    assert f"between 1 and {MAX_LIMIT} (the maximum)" in error["en"]


@pytest.mark.parametrize(("query", "code"), [("limit=0", "bad_limit"), ("offset=-1", "bad_offset")])
def test_zero_limit_and_negative_offset_are_400(town: Town, query: str, code: str) -> None:
    res = town.get(f"/problems?{query}", "office")
    assert res.status_code == 400
    assert res.json()["error"]["code"] == f"paging.{code}"


@pytest.mark.parametrize("url", EVERY_LIST)
def test_same_list_again_with_its_etag_is_304(town: Town, url: str) -> None:
    who = "department" if url == "/targets" else "office"
    first = town.get(url, who)
    etag = first.headers["etag"]
    again = town.get(url, who, headers={"If-None-Match": etag})
    if url == "/audit":  # reading the audit log adds a row to it: a new list
        assert again.status_code == 200
        assert again.headers["etag"] != etag
        return
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


def test_etag_differs_by_page_and_by_caller(town: Town) -> None:
    tags = {
        town.get("/problems?limit=2", "office").headers["etag"],
        town.get("/problems?limit=3", "office").headers["etag"],
        town.get("/problems?limit=2", "village").headers["etag"],
        town.get("/problems?limit=2", "office", headers={"Accept-Language": "en"}).headers["etag"],
    }
    assert len(tags) == 4


def test_problem_change_gives_the_list_a_new_etag(town: Town) -> None:
    etag = town.get("/problems", "office").headers["etag"]
    new = {"village": "白石村", "category": "盗伐滥伐林木", "description": "新发现伐桩"}
    new |= {"deadline": "2027-01-31", "found_on": "2026-11-20"}
    added = town.client.post("/problems", json=new, headers=town.headers("office"))
    assert added.status_code == 201
    res = town.get("/problems", "office", headers={"If-None-Match": etag})
    assert res.status_code == 200
    assert res.headers["etag"] != etag


def _walk_targets(town: Town, url: str, who: str) -> tuple[list[str], set[int]]:
    ids: list[str] = []
    matched: set[int] = set()
    address: str | None = url
    while address is not None:
        doc = town.get(address, who).json()
        assert doc["numberReturned"] == len(doc["features"])
        ids += [f["properties"]["target_id"] for f in doc["features"]]
        matched.add(doc["numberMatched"])
        nexts = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        address = nexts[0] if nexts else None
    return ids, matched


@pytest.mark.parametrize("who", ["office", "department"])
def test_target_pages_walk_every_target_in_scope(town: Town, who: str) -> None:
    everything = town.get(f"/targets?limit={MAX_LIMIT}", who).json()
    ids, matched = _walk_targets(town, "/targets?limit=1", who)
    assert everything["numberMatched"] == len(everything["features"]) > 1
    assert everything["links"] == []
    assert ids == [f["properties"]["target_id"] for f in everything["features"]]
    assert matched == {everything["numberMatched"]}


def test_department_target_total_counts_only_its_targets(town: Town) -> None:
    office = town.get("/targets", "office").json()["numberMatched"]
    res = town.get("/targets?limit=1", "department")
    assert int(res.headers["x-total-count"]) == res.json()["numberMatched"] < office


def test_target_page_past_the_end_is_an_empty_collection(town: Town) -> None:
    doc = town.get("/targets?offset=100000", "office").json()
    assert doc["type"] == "FeatureCollection"
    assert (doc["features"], doc["numberReturned"], doc["links"]) == ([], 0, [])
    assert doc["numberMatched"] > 0


def test_target_state_change_gives_the_list_a_new_etag(town: Town) -> None:
    listed = town.get("/targets?limit=1", "office")
    target = listed.json()["features"][0]["properties"]
    change = town.client.patch(
        f"/targets/{target['target_id']}",
        json={"state": "dispatched", "note": "派发至牵头部门"},
        headers={**town.headers("office"), "If-Match": f'"{target["version"]}"'},
    )
    assert change.status_code == 200, change.text
    res = town.get("/targets?limit=1", "office", headers={"If-None-Match": listed.headers["etag"]})
    assert res.status_code == 200
    assert res.json()["features"][0]["properties"]["state"] == "dispatched"


def test_filtered_audit_page_is_304_until_a_matching_row_is_added(town: Town) -> None:
    town.get("/layers", "viewer")
    first = town.get("/audit?action=layers.list", "office")
    etag = {"If-None-Match": first.headers["etag"]}
    assert town.get("/audit?action=layers.list", "office", headers=etag).status_code == 304
    town.get("/layers", "viewer")
    again = town.get("/audit?action=layers.list", "office", headers=etag)
    assert again.status_code == 200
    assert again.json()["total"] == first.json()["total"] + 1


@pytest.mark.parametrize(
    ("url", "code"), [("/layers", "natural_resources"), ("/targets", "police")]
)
def test_renaming_a_department_in_the_rules_gives_a_new_etag(
    town: Town, url: str, code: str
) -> None:
    first = town.get(url, "office")
    assert f'"{code}"' in first.text  # the list names the department
    override = town.settings.rules_path() or town.path.with_suffix(".rules.yaml")
    override.write_text(f"departments:\n  {code}:\n    zh: 改名的部门\n", encoding="utf-8")
    res = town.get(url, "office", headers={"If-None-Match": first.headers["etag"]})
    assert res.status_code == 200
    assert "改名的部门" in res.text
