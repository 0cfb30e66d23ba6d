"""Web maps served by the service: roles, scope, local assets, caching, a real browser."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.base.settings import Settings
from geoservice.workflow.store import read_problems
from maps.assets import served_names, served_text

from .conftest import AS_OF, DEPARTMENT, VILLAGE

TARGETS = "/maps/targets"
VILLAGES = f"/maps/villages?as_of={AS_OF}"
POLICE = f"/maps/department/{DEPARTMENT}"
PAGES = [TARGETS, VILLAGES, POLICE]
LINK = re.compile(r"""(?:src|href)=['"]([^'"]+)['"]""")
HTTP = re.compile(r"https?://", re.IGNORECASE)
PROBLEM_ID = re.compile(r"DC\d{6}-\d{3}")
# Every page here inlines or serves the Leaflet files that npm installs.
pytestmark = pytest.mark.usefixtures("map_assets")


def _shown(page: str, text: str) -> bool:
    """Whether ``text`` is in the page as such or as JSON with escaped characters."""
    return text in page or json.dumps(text)[1:-1] in page


def _department_targets(town, department: str) -> tuple[set[str], set[str]]:
    """(ids of the targets ``department`` leads or cooperates on, ids of the others)."""
    targets = town.ws.read("targets")
    coop = targets["cooperating_departments"].fillna("").str.split("[;,]", regex=True)
    mine = (targets["lead_department"] == department) | coop.map(lambda xs: department in xs)
    return set(targets.loc[mine, "target_id"]), set(targets.loc[~mine, "target_id"])


def _drawn_problems(town) -> dict[str, str]:
    """Problem id → village code of the problems with a location (those a map draws)."""
    geo = town.ws.read("problems")
    geo = geo[~(geo.geometry.isna() | geo.geometry.is_empty)]
    return dict(zip(geo["problem_id"], geo["village_code"], strict=True))


# --- roles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "who", "status"),
    [
        (TARGETS, "office", 200),
        (TARGETS, "department", 200),
        (TARGETS, "village", 403),
        (TARGETS, "viewer", 403),
        (TARGETS, "anonymous", 401),
        (VILLAGES, "office", 200),
        (VILLAGES, "department", 200),
        (VILLAGES, "village", 200),
        (VILLAGES, "viewer", 200),
        (VILLAGES, "anonymous", 401),
        (POLICE, "office", 200),
        (POLICE, "department", 200),
        (POLICE, "other_department", 404),
        (POLICE, "village", 403),
        (POLICE, "viewer", 403),
    ],
)
def test_map_status_by_role(town, url, who, status):
    res = town.get(url, who)
    assert res.status_code == status, res.text[:300]
    if status == 200:
        assert res.headers["content-type"].startswith("text/html")
        assert "no-store" in res.headers["cache-control"]


def test_another_departments_map_is_404_naming_it(town):
    res = town.get(POLICE, "other_department")
    assert res.status_code == 404
    assert DEPARTMENT in res.json()["error"]["en"]


def test_unknown_department_is_404_naming_it(town):
    res = town.get("/maps/department/forestry_bureau", "office")
    assert res.status_code == 404
    assert "forestry_bureau" in res.json()["error"]["en"]


def test_department_given_by_chinese_name_is_found(town):
    assert town.get("/maps/department/镇郊派出所", "department").status_code == 200


def test_bad_as_of_is_422_naming_it(town):
    res = town.get("/maps/villages?as_of=28.11.2026", "office")
    assert res.status_code == 422
    assert "28.11.2026" in res.json()["error"]["en"]


def test_map_request_is_audited(town):
    town.get(f"{POLICE}?as_of={AS_OF}", "department")
    last = town.ws.audit().iloc[-1]
    assert last["action"] == "map.department"
    assert last["target"] == f"department:{DEPARTMENT}"
    assert json.loads(last["detail"])["as_of"] == AS_OF


def test_map_language_follows_the_request(town):
    page = town.get(f"{TARGETS}?lang=en", "office").text
    assert _shown(page, "Village boundaries")
    assert not _shown(page, "村界")


# --- pages load only from the service ------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_map_page_holds_no_http_url(town, url):
    page = town.get(url, "office").text
    assert HTTP.findall(page) == []


@pytest.mark.parametrize("url", PAGES)
def test_every_src_and_href_of_a_map_page_is_served(town, url):
    links = set(LINK.findall(town.get(url, "office").text))
    assert links == {f"/static/maps/{name}" for name in served_names()}
    for link in links:
        assert town.client.get(link).status_code == 200, link


# --- scope ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [TARGETS, POLICE])
def test_department_map_shows_its_targets_and_no_other(town, url):
    mine, others = _department_targets(town, DEPARTMENT)
    page = town.get(url, "department").text
    assert mine and all(t in page for t in mine)
    assert others and not any(t in page for t in others)


def test_department_without_targets_gets_a_map_without_any(town):
    every = set(town.ws.read("targets")["target_id"])
    page = town.get(TARGETS, "other_department").text
    assert not any(t in page for t in every)


def test_office_targets_map_shows_every_target(town):
    page = town.get(TARGETS, "office").text
    assert all(t in page for t in town.ws.read("targets")["target_id"])


def test_department_targets_map_draws_no_restricted_complaints(town):
    assert _shown(town.get(TARGETS, "office").text, "举报编号")
    assert not _shown(town.get(TARGETS, "department").text, "举报编号")


def test_department_targets_map_draws_only_its_targets_patches(town):
    mine, _others = _department_targets(town, DEPARTMENT)
    risk = town.ws.read("parcel_risk")
    targets = town.ws.read("targets")
    parcels = set(";".join(targets.loc[targets["target_id"].isin(mine), "parcel_ids"]).split(";"))
    linked = set(";".join(risk.loc[risk["parcel_id"].isin(parcels), "patch_ids"]).split(";"))
    unlinked = set(town.ws.read("patches")["patch_id"]) - linked
    page = town.get(TARGETS, "department").text
    assert unlinked and not any(f'"{p}"' in page for p in unlinked)


def test_village_map_shows_its_own_problems_and_no_other_villages(town):
    drawn = _drawn_problems(town)
    own = {p for p, v in drawn.items() if v == VILLAGE}
    other = set(drawn) - own
    page = town.get(VILLAGES, "village").text
    assert own and all(p in page for p in own)
    assert other and not any(p in page for p in other)


def test_village_map_is_zoomed_to_the_village(town):
    page = town.get(VILLAGES, "village").text
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page)
    assert fit is not None
    (s0, w0), (n1, e1) = json.loads(fit.group(1))
    villages = town.ws.read("villages").to_crs("EPSG:4326")
    x0, y0, x1, y1 = villages[villages["village_code"] == VILLAGE].total_bounds
    assert [s0, w0, n1, e1] == pytest.approx([y0, x0, y1, x1], abs=1e-4)


def test_department_village_map_shows_only_problems_copied_to_it(town):
    problems = read_problems(town.ws)
    copied = problems["cc_departments"].fillna("").str.contains(DEPARTMENT)
    not_copied = set(problems.loc[~copied, "problem_id"]) & set(_drawn_problems(town))
    page = town.get(VILLAGES, "department").text
    assert not_copied and not any(p in page for p in not_copied)
    assert set(PROBLEM_ID.findall(page)) <= set(problems.loc[copied, "problem_id"])


def test_viewer_village_map_has_status_colours_and_no_problem(town):
    page = town.get(VILLAGES, "viewer").text
    assert _shown(page, "村整改情况")
    assert PROBLEM_ID.findall(page) == []


# --- static assets -------------------------------------------------------------------


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A client of an app whose workspace does not exist: the assets need none."""
    folder = tmp_path_factory.mktemp("assets")
    settings = Settings(workspace=folder / "none.gpkg", user="service")
    return TestClient(create_app(settings))


@pytest.mark.parametrize("name", served_names())
def test_static_map_asset_is_served_without_a_token(assets, name):
    res = assets.get(f"/static/maps/{name}")
    assert res.status_code == 200
    assert res.text == served_text(name)
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    assert res.headers["content-type"].startswith(kind)
    assert res.headers["cache-control"] == "public, max-age=86400"


@pytest.mark.parametrize("weak", ["", "W/"])
def test_static_map_asset_is_304_when_the_etag_matches(assets, weak):
    etag = assets.get("/static/maps/leaflet.js").headers["etag"]
    res = assets.get("/static/maps/leaflet.js", headers={"If-None-Match": weak + etag})
    assert res.status_code == 304
    assert res.content == b""
    assert res.headers["etag"] == etag


def test_static_map_asset_is_sent_again_for_another_etag(assets):
    res = assets.get("/static/maps/leaflet.css", headers={"If-None-Match": '"stale"'})
    assert res.status_code == 200
    assert res.text == served_text("leaflet.css")


def test_static_map_assets_have_distinct_etags(assets):
    tags = {assets.get(f"/static/maps/{n}").headers["etag"] for n in served_names()}
    assert len(tags) == len(served_names())


@pytest.mark.parametrize("name", ["leaflet.min.js", "package.json", "leaflet"])
def test_unknown_static_map_asset_is_404_naming_it(assets, name):
    res = assets.get(f"/static/maps/{name}")
    assert res.status_code == 404
    assert name in res.json()["error"]["en"]


# --- a real server and browser -------------------------------------------------------


@pytest.fixture
def server(town):
    """The app on a real uvicorn server on a free local port; yields its base URL."""
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(town.settings), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


DRAWN_TARGETS = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  let n = 0;
  map.eachLayer(l => {
    const id = l.feature ? String(l.feature.properties.search || '') : '';
    if (id.startsWith('T-') && l._parts && l._parts.length) n++;
  });
  return n;
}"""


def _note_error(bad: list[str], response) -> None:
    if response.status >= 400:
        bad.append(f"{response.status} {response.url}")


@pytest.mark.slow
def test_browser_draws_the_targets_served_by_a_real_server(town, server, chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    log: dict[str, list[str]] = {"blocked": [], "failed": [], "errors": [], "bad": []}

    def route(r):
        if r.request.url.startswith(server + "/"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            context.add_cookies(
                [{"name": "geoservice_token", "value": town.tokens["office"], "url": server}]
            )
            page = context.new_page()
            page.route("**/*", route)
            page.on("requestfailed", lambda r: log["failed"].append(r.url))
            page.on("pageerror", lambda e: log["errors"].append(str(e)))
            page.on("response", lambda r: _note_error(log["bad"], r))
            page.goto(server + TARGETS)
            page.wait_for_function(
                "() => window.L && Object.values(window).some(v => v instanceof L.Map && v._loaded)"
            )
            n = town.ws.count("targets")
            page.wait_for_function(f"() => ({DRAWN_TARGETS})() === {n}", timeout=10_000)
        finally:
            browser.close()
    assert log == {"blocked": [], "failed": [], "errors": [], "bad": []}
