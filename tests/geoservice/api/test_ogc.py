"""OGC API - Features at /ogc: metadata, scope per role, paging, filters, and real clients
(GDAL's OAPIF driver through pyogrio, and QGIS's qgis_process) against a live server."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pyogrio
import pytest
import shapely

from geoservice.base.access import add_user, authenticate
from geoservice.base.workspace import Workspace
from geoservice.ogc.features import COLLECTIONS, CONFORMANCE
from geoservice.ogc.params import CRS84
from layers.schema import SCHEMAS
from tests.support.files import copy_workspace

from .conftest import DEPARTMENT, VILLAGE


def items(town, collection: str, who: str = "office", **params):
    res = town.get(f"/ogc/collections/{collection}/items", who, params=params)
    assert res.status_code == 200, res.text
    return res.json()


def rel(body: dict, name: str) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == name), None)


# --- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/ogc", "/ogc/", "/ogc?f=json"])
def test_landing_page_links_to_api_definition_conformance_and_data(town, url):
    body = town.client.get(url).json()
    links = {link["rel"]: link for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["service-desc"]["href"].endswith("/openapi.json")
    assert links["data"]["href"].endswith("/ogc/collections")


def test_service_desc_link_serves_an_openapi_document_with_the_items_path(town):
    href = rel(town.client.get("/ogc").json(), "service-desc")
    doc = town.client.get(href).json()
    assert doc["openapi"].startswith("3.")
    assert "/ogc/collections/{collection_id}/items" in doc["paths"]


def test_landing_page_refuses_a_format_it_does_not_serve(town):
    res = town.client.get("/ogc?f=html")
    assert res.status_code == 400
    assert "f=json" in res.json()["error"]["en"]


def test_conformance_declares_core_geojson_and_oas30(town):
    body = town.client.get("/ogc/conformance").json()
    assert set(body["conformsTo"]) == set(CONFORMANCE)
    assert all(
        c.startswith("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/") for c in CONFORMANCE
    )
    assert {c.rsplit("/", 1)[1] for c in CONFORMANCE} == {"core", "geojson", "oas30"}


def test_collections_need_a_token(town):
    assert town.client.get("/ogc/collections").status_code == 401


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (
            "office",
            ["villages", "parcels", "complaints", "patches", "problems", "targets", "parcel_risk"],
        ),
        ("department", ["villages", "parcels", "patches", "problems", "targets", "parcel_risk"]),
        ("village", ["villages", "problems"]),
        ("viewer", ["villages"]),
    ],
)
def test_collections_listed_are_those_the_role_may_see(town, who, expected):
    body = town.get("/ogc/collections", who).json()
    assert [c["id"] for c in body["collections"]] == expected


def test_collections_have_chinese_titles_crs84_extent_and_links(town):
    body = town.get("/ogc/collections", "office").json()
    titles = {c["id"]: c["title"] for c in body["collections"]}
    assert titles == {
        "villages": "村界",
        "parcels": "小班",
        "complaints": "举报投诉",
        "patches": "变化图斑",
        "problems": "督查问题",
        "targets": "联合执法目标",
        "parcel_risk": "风险小班",
    }
    for c in body["collections"]:
        assert c["crs"] == [CRS84]
        assert c["itemType"] == "feature"
        minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
        assert 112 < minx < maxx < 113 and 24 < miny < maxy < 25, c["id"]
        assert {"self", "items"} <= {link["rel"] for link in c["links"]}


def test_titles_follow_the_language_asked_for(town):
    body = town.get("/ogc/collections/villages?lang=en", "viewer").json()
    assert body["title"] == "village boundaries"


def test_a_layer_that_is_restricted_in_any_catalog_row_is_hidden_from_departments(town):
    import sqlite3

    with contextlib.closing(sqlite3.connect(town.path)) as con, con:
        con.execute("UPDATE layer_catalog SET classification = 'restricted' WHERE part = 'wetland'")
    ids = [c["id"] for c in town.get("/ogc/collections", "department").json()["collections"]]
    assert "parcels" not in ids
    assert "parcel_risk" in ids


def test_collection_ids_use_the_schema_id_columns():
    for cid, spec in COLLECTIONS.items():
        if cid in SCHEMAS:
            assert spec.id_column == SCHEMAS[cid].id_column


@pytest.mark.parametrize(
    ("who", "collection"),
    [
        ("department", "complaints"),
        ("village", "parcels"),
        ("viewer", "targets"),
        ("office", "nope"),
    ],
)
def test_a_collection_out_of_sight_is_404_naming_it(town, who, collection):
    for url in (f"/ogc/collections/{collection}", f"/ogc/collections/{collection}/items"):
        res = town.get(url, who)
        assert res.status_code == 404
        assert collection in res.json()["error"]["en"]


# --- items ------------------------------------------------------------------------------


def test_items_are_geojson_in_lon_lat(town):
    res = town.get("/ogc/collections/parcels/items", "office")
    assert res.headers["content-type"].startswith("application/geo+json")
    body = res.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == 10
    assert body["timeStamp"].endswith("Z")
    coords = np.array(body["features"][0]["geometry"]["coordinates"][0])
    assert (coords[:, 0] > 112).all() and (coords[:, 0] < 113).all()
    assert (coords[:, 1] > 24).all() and (coords[:, 1] < 25).all()


@pytest.mark.slow
def test_paging_follows_next_links_until_exhausted(town):
    url: str | None = "/ogc/collections/villages/items?limit=5"
    seen: list[str] = []
    pages = []
    while url:
        body = town.get(url, "viewer").json()
        pages.append(body)
        seen += [f["id"] for f in body["features"]]
        url = rel(body, "next")
    assert [p["numberReturned"] for p in pages] == [5, 5, 5, 1]
    assert sum(p["numberReturned"] for p in pages) == pages[0]["numberMatched"] == 16
    assert len(set(seen)) == 16
    assert rel(pages[0], "prev") is None
    assert "offset=10" in (rel(pages[-1], "prev") or "")


@pytest.mark.slow
def test_paging_a_filtered_collection_keeps_the_filter_in_next_links(town):
    first = items(town, "parcels", kind="wetland", limit=100)
    nxt = rel(first, "next")
    assert nxt and "kind=wetland" in nxt
    rest = town.get(nxt, "office").json()
    features = first["features"] + rest["features"]
    assert first["numberMatched"] == 146 == len(features)
    assert {f["properties"]["kind"] for f in features} == {"wetland"}
    assert rel(rest, "next") is None


@pytest.mark.slow
def test_limit_may_be_large(town):
    body = items(town, "parcels", limit=100000)
    assert body["numberReturned"] == body["numberMatched"] == town.ws.count("parcels")
    assert rel(body, "next") is None


@pytest.mark.slow
def test_bbox_returns_exactly_the_features_inside(town):
    box = (112.38, 24.78, 112.42, 24.82)
    body = items(town, "complaints", bbox=",".join(map(str, box)), limit=1000)
    layer = town.ws.read("complaints").to_crs("OGC:CRS84")
    inside = layer[layer.intersects(shapely.box(*box))]
    assert 0 < body["numberMatched"] < len(layer)
    assert sorted(f["id"] for f in body["features"]) == sorted(inside["complaint_id"])


@pytest.mark.parametrize(
    "bbox",
    ["1,2,3", "a,b,c,d", "112.5,24.9,112.4,24.8", "640000,2740000,641000,2741000", "1,2,3,4,5,6"],
)
def test_a_bad_bbox_is_refused_naming_it(town, bbox):
    res = town.get("/ogc/collections/villages/items", "viewer", params={"bbox": bbox})
    assert res.status_code == 400
    assert "`bbox`" in res.json()["error"]["en"] and bbox in res.json()["error"]["en"]


@pytest.mark.parametrize(
    ("name", "value"), [("limit", "0"), ("limit", "100001"), ("limit", "x"), ("offset", "-1")]
)
def test_bad_paging_values_are_refused_naming_them(town, name, value):
    res = town.get("/ogc/collections/villages/items", "viewer", params={name: value})
    assert res.status_code == 400
    assert f"`{name}` was {value!r}" in res.json()["error"]["en"]


def test_an_unknown_property_is_refused_listing_the_allowed_ones(town):
    res = town.get("/ogc/collections/villages/items", "viewer", params={"cun": "x"})
    assert res.status_code == 400
    err = res.json()["error"]
    assert "'cun'" in err["en"] and "village_name" in err["en"]
    assert "“cun”" in err["zh"]


def test_a_repeated_parameter_is_refused(town):
    res = town.get("/ogc/collections/villages/items?limit=1&limit=2", "viewer")
    assert res.status_code == 400
    assert "`limit` was given more than once" in res.json()["error"]["en"]


def test_a_crs_other_than_crs84_is_refused(town):
    res = town.get("/ogc/collections/villages/items", "viewer", params={"crs": "EPSG:4546"})
    assert res.status_code == 400
    assert CRS84 in res.json()["error"]["en"]
    assert items(town, "villages", "viewer", crs=CRS84)["numberMatched"] == 16


@pytest.mark.slow
def test_property_filter_compares_chinese_text_and_numbers(town):
    body = items(town, "villages", "viewer", village_name="白石村")
    assert [f["properties"]["village_code"] for f in body["features"]] == [VILLAGE]
    assert (
        items(town, "parcels", protection_grade="1")["numberMatched"]
        == items(town, "parcels", protection_grade="1.0")["numberMatched"]
        > 0
    )
    assert items(town, "parcels", nature_reserve="true")["numberMatched"] > 0


def test_property_filter_values_are_never_evaluated(town):
    body = items(town, "villages", "viewer", village_name="x' OR '1'='1")
    assert body["numberMatched"] == 0 and body["features"] == []


def test_dates_are_iso_text(town):
    feature = items(town, "complaints", limit=1)["features"][0]
    assert len(feature["properties"]["received_at"]) == 10
    day = feature["properties"]["received_at"]
    assert items(town, "complaints", received_at=day)["numberMatched"] >= 1


def test_a_village_sees_only_its_own_problems(town):
    body = items(town, "problems", "village", limit=1000)
    codes = {f["properties"]["village_code"] for f in body["features"]}
    assert codes == {VILLAGE}
    problems = town.ws.read("problems")
    assert body["numberMatched"] == int((problems["village_code"] == VILLAGE).sum())


def test_a_department_sees_only_its_targets(town):
    body = items(town, "targets", "department", limit=1000)
    targets = town.ws.read("targets")
    principal = authenticate(town.ws, town.tokens["department"])
    assert body["numberMatched"] == int(principal.target_mask(targets).sum()) < len(targets)
    assert all(
        DEPARTMENT
        in (f["properties"]["lead_department"] + ";" + f["properties"]["cooperating_departments"])
        for f in body["features"]
    )


def test_basic_auth_with_the_token_as_password_is_accepted(town):
    res = town.client.get("/ogc/collections", auth=("anyone", town.tokens["viewer"]))
    assert res.status_code == 200
    assert [c["id"] for c in res.json()["collections"]] == ["villages"]


# --- one feature ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_feature_is_found_by_its_natural_id(town):
    first = items(town, "parcels", limit=1)["features"][0]
    res = town.get(f"/ogc/collections/parcels/items/{first['id']}", "office")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/geo+json")
    body = res.json()
    assert body["id"] == first["id"] == body["properties"]["parcel_id"]
    assert body["geometry"] == first["geometry"]


def test_a_missing_feature_is_404_naming_it(town):
    res = town.get("/ogc/collections/parcels/items/9999-999", "office")
    assert res.status_code == 404
    assert "'9999-999'" in res.json()["error"]["en"]


def test_a_target_out_of_scope_is_404_as_if_absent(town):
    targets = town.ws.read("targets")
    mine = targets.loc[targets["lead_department"] == DEPARTMENT, "target_id"].iloc[0]
    assert town.get(f"/ogc/collections/targets/items/{mine}", "department").status_code == 200
    res = town.get(f"/ogc/collections/targets/items/{mine}", "other_department")
    assert res.status_code == 404
    assert mine in res.json()["error"]["en"]


def test_items_and_features_are_audited(town):
    items(town, "villages", "viewer", limit=2)
    town.get("/ogc/collections/targets/items/T-none", "department")
    log = town.ws.audit()
    rows = log[log["action"] == "ogc.items"]
    assert len(rows) == 2
    assert json.loads(rows["detail"].iloc[0])["returned"] == 2
    assert json.loads(rows["detail"].iloc[1])["refused"] == "ogc.no_feature"
    assert rows["actor"].str.startswith("viewer:").iloc[0]


# --- real clients -----------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    tokens: dict[str, str]
    ws: Workspace


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(town_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app in a uvicorn process on a free port, serving its own copy of the town.

    A separate process, not a thread: GDAL holds the GIL while it waits for the server.
    """
    root = tmp_path_factory.mktemp("live")
    ws = Workspace(root / "town.gpkg")
    copy_workspace(town_template, ws.path)
    tokens = {
        "office": add_user(ws, role="office", name="办公室", by="test")[1],
        "department": add_user(
            ws, role="department", department=DEPARTMENT, name="派出所", by="test"
        )[1],
        "viewer": add_user(ws, role="viewer", name="访客", by="test")[1],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOSERVICE_")}
    env.update(GEOSERVICE_WORKSPACE=str(ws.path), GEOSERVICE_USER="service", NO_PROXY="127.0.0.1")
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geoservice.api.app:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(root / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.05)
        yield LiveServer(f"http://127.0.0.1:{port}/ogc", tokens, ws)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def gdal_config() -> Iterator[dict[str, str]]:
    """GDAL config options set by a test, cleared afterwards (they are process-wide)."""
    options: dict[str, str] = {}
    yield options
    pyogrio.set_gdal_config_options(dict.fromkeys(options))


@pytest.mark.slow
def test_gdal_lists_the_collections_of_a_basic_auth_user(live, gdal_config):
    gdal_config["GDAL_HTTP_USERPWD"] = f"x:{live.tokens['department']}"
    pyogrio.set_gdal_config_options(gdal_config)
    names = [str(name) for name, _ in pyogrio.list_layers(f"OAPIF:{live.url}")]
    assert names == ["villages", "parcels", "patches", "problems", "targets", "parcel_risk"]


@pytest.mark.slow
def test_gdal_reads_a_department_s_targets_with_chinese_text(live):
    frame = pyogrio.read_dataframe(
        f"OAPIF:{live.url}", layer="targets", USERPWD=f"x:{live.tokens['department']}"
    )
    targets = live.ws.read("targets")
    mask = authenticate(live.ws, live.tokens["department"]).target_mask(targets)
    assert len(frame) == int(mask.sum()) > 0
    assert sorted(frame["target_id"]) == sorted(targets.loc[mask, "target_id"])
    assert frame["reasons"].str.contains("位置：").all()
    assert frame.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = frame.total_bounds
    assert 112 < minx < maxx < 113 and 24 < miny < maxy < 25


@pytest.mark.slow
def test_gdal_follows_next_links_through_a_whole_layer_with_a_bearer_token(live, gdal_config):
    gdal_config.update(GDAL_HTTP_AUTH="BEARER", GDAL_HTTP_BEARER=live.tokens["office"])
    pyogrio.set_gdal_config_options(gdal_config)
    frame = pyogrio.read_dataframe(
        f"OAPIF:{live.url}", layer="parcels", PAGE_SIZE=1000, columns=["parcel_id"]
    )
    assert len(frame) == live.ws.count("parcels")
    assert frame["parcel_id"].is_unique


@pytest.mark.slow
def test_gdal_without_credentials_is_refused(live):
    with pytest.raises(pyogrio.errors.DataSourceError, match="401"):
        pyogrio.list_layers(f"OAPIF:{live.url}")


@pytest.mark.slow
def test_qgis_saves_a_collection_read_with_a_token_as_password(live, tmp_path, qgis_process):
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    out = tmp_path / "q.gpkg"
    source = f"OAPIF://url='{live.url}' typename='villages' username='x' password='{live.tokens['viewer']}'"
    env = {
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "NO_PROXY": "127.0.0.1",
    }
    res = subprocess.run(
        [qgis_process, "run", "native:savefeatures", "--", f"INPUT={source}", f"OUTPUT={out}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    frame = pyogrio.read_dataframe(out)
    villages = live.ws.read("villages")
    assert sorted(frame["village_name"]) == sorted(villages["village_name"])
    assert "白石村" in set(frame["village_name"])
    minx, miny, maxx, maxy = frame.total_bounds
    assert 112 < minx < maxx < 113 and 24 < miny < maxy < 25


def test_a_village_filters_its_own_problems_by_bbox_and_property(town):
    body = items(town, "problems", "village", bbox="112.0,24.0,113.0,25.5", status="rejected")
    assert body["numberMatched"] >= 1
    assert {f["properties"]["village_code"] for f in body["features"]} == {VILLAGE}
    assert {f["properties"]["status"] for f in body["features"]} == {"rejected"}
