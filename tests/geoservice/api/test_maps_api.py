"""Web maps served by the service: roles, scope, local assets, caching, a real browser."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.base.settings import Settings
from geoservice.workflow.store import read_problems
from maps import styles
from maps.assets import TILED_BUNDLES, bundle_names, served_names, served_text

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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("url", PAGES)
def test_every_src_and_href_of_a_map_page_is_served(town, url):
    links = set(LINK.findall(town.get(url, "office").text))
    assert links == {f"/static/maps/{name}" for name in bundle_names(TILED_BUNDLES)}
    for link in links:
        assert town.client.get(link).status_code == 200, link


@pytest.mark.parametrize("url", PAGES)
def test_a_served_map_page_is_under_200_kb_and_holds_no_feature(town, url):
    page = town.get(url, "office").text
    assert len(page.encode("utf-8")) < 200_000
    ids = set(town.ws.read("targets")["target_id"]) | set(_drawn_problems(town))
    assert not any(f'"{i}"' in page for i in ids)


# --- status object -------------------------------------------------------------------

T_STATUS = "/maps/status.json?kind=targets"
V_STATUS = f"/maps/status.json?kind=villages&as_of={AS_OF}"
D_STATUS = f"/maps/status.json?kind=department&code={DEPARTMENT}&as_of={AS_OF}"


def _status(town, url: str, who: str) -> dict:
    res = town.get(url, who)
    assert res.status_code == 200, res.text[:300]
    assert res.headers["cache-control"] == "private, no-cache"
    return res.json()


@pytest.mark.parametrize(
    ("url", "who", "status"),
    [
        (T_STATUS, "village", 403),
        (T_STATUS, "viewer", 403),
        (D_STATUS, "other_department", 404),
        (D_STATUS, "village", 403),
        (V_STATUS, "anonymous", 401),
    ],
)
def test_the_status_is_refused_as_its_map_is(town, url, who, status):
    assert town.get(url, who).status_code == status


def test_a_department_status_without_code_is_422_naming_code(town):
    res = town.get("/maps/status.json?kind=department", "office")
    assert res.status_code == 422
    assert "code" in res.json()["error"]["en"]


def test_an_unknown_status_kind_is_422_naming_it(town):
    res = town.get("/maps/status.json?kind=parcels", "office")
    assert res.status_code == 422
    assert "parcels" in res.json()["error"]["en"]


def test_the_status_is_304_when_its_etag_matches(town):
    etag = town.get(V_STATUS, "office").headers["etag"]
    res = town.get(V_STATUS, "office", headers={"If-None-Match": etag})
    assert res.status_code == 304
    assert res.content == b""


def _update(town, pid: str, to: str) -> None:
    version = town.get(f"/problems/{pid}", "office").headers["etag"]
    res = town.client.patch(
        f"/problems/{pid}",
        json={"status": to, "note": "开始整改"},
        headers={**town.headers("office"), "If-Match": version},
    )
    assert res.status_code == 200, res.text[:300]


def test_a_problem_update_changes_the_status_and_never_builds_the_page_again(town):
    from geoservice.webmaps.cache import PAGES

    problems = read_problems(town.ws)
    first, pid = problems.loc[problems["status"] == "assigned", "problem_id"].astype(str)[:2]
    _update(town, first, "in_progress")  # the first update adds the workflow tables
    PAGES.clear()
    town.get(VILLAGES, "office")
    before = town.get(V_STATUS, "office")
    _update(town, pid, "in_progress")
    after = town.get(V_STATUS, "office", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["problems"][pid] != before.json()["problems"][pid]
    town.get(VILLAGES, "office")
    assert (PAGES.builds, PAGES.hits) == (1, 1)


# --- scope ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [T_STATUS, D_STATUS])
def test_department_status_holds_its_targets_and_no_other(town, url):
    mine, others = _department_targets(town, DEPARTMENT)
    shown = set(_status(town, url, "department")["targets"])
    assert mine and shown == mine
    assert others and not shown & others


def test_department_without_targets_gets_a_status_without_any(town):
    assert _status(town, T_STATUS, "other_department")["targets"] == {}


def test_office_targets_status_holds_every_target(town):
    shown = set(_status(town, T_STATUS, "office")["targets"])
    assert shown == set(town.ws.read("targets")["target_id"])


def test_department_targets_map_has_no_complaints_layer(town):
    assert _shown(town.get(TARGETS, "office").text, "举报编号")
    assert not _shown(town.get(TARGETS, "department").text, "举报编号")


def test_village_status_holds_its_own_village_and_problems_only(town):
    drawn = _drawn_problems(town)
    own = {p for p, v in drawn.items() if v == VILLAGE}
    status = _status(town, V_STATUS, "village")
    assert set(status["villages"]) == {VILLAGE}
    assert own and own <= set(status["problems"])
    assert not set(status["problems"]) & (set(drawn) - own)


def test_village_page_holds_no_other_village(town):
    page = town.get(VILLAGES, "village").text
    others = set(town.ws.read("villages")["village_code"]) - {VILLAGE}
    assert not any(code in page for code in others)


@pytest.mark.slow
def test_village_map_is_zoomed_to_the_village(town):
    page = town.get(VILLAGES, "village").text
    fit = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page)
    assert fit is not None
    (s0, w0), (n1, e1) = json.loads(fit.group(1))
    villages = town.ws.read("villages").to_crs("EPSG:4326")
    x0, y0, x1, y1 = villages[villages["village_code"] == VILLAGE].total_bounds
    assert [s0, w0, n1, e1] == pytest.approx([y0, x0, y1, x1], abs=1e-4)


def test_department_status_holds_only_problems_copied_to_it(town):
    problems = read_problems(town.ws)
    copied = problems["cc_departments"].fillna("").str.contains(DEPARTMENT)
    for url in (V_STATUS, D_STATUS):
        shown = set(_status(town, url, "department")["problems"])
        assert shown == set(problems.loc[copied, "problem_id"])


def test_viewer_status_has_village_colours_and_no_problem(town):
    status = _status(town, V_STATUS, "viewer")
    assert status["villages"] and status["problems"] == {}


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


# --- cartography of the light pages --------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_targets_page_legend_has_every_patch_class_and_both_complaint_kinds(town, lang):
    page = town.get(f"{TARGETS}?lang={lang}", "office").text
    legend = _legend_html(page)
    for key in styles.PATCH_CLASSES:
        row = f'{styles.PATCH_COLOURS[key]};border-radius:2px"></span>'
        assert row + html.escape(styles.label(styles.PATCH_LABELS, key, lang)) in legend
    for key in ("open", "hidden"):
        row = f'{styles.COMPLAINT_COLOURS[key]};border-radius:50%"></span>'
        assert row + html.escape(styles.label(styles.COMPLAINT_LABELS, key, lang)) in legend


def _legend_html(page: str) -> str:
    """The HTML the page's legend control shows (a JSON string in its script)."""
    start = page.index("body.innerHTML = ") + len("body.innerHTML = ")
    return json.loads(page[start : page.index(";\n", start)])
