"""The offline app's routes: service worker, Workbox and idb files, manifest, the list of
URLs a phone keeps, and the fresh form token a queued report is sent with."""

from __future__ import annotations

import contextlib

import pytest

from geoservice.api.csrf import token_for
from geoservice.api.pages.offline import offline_list
from geoservice.base.access import authenticate
from geoservice.tiles.grid import parse_tile

from .conftest import VILLAGE


@pytest.fixture(scope="module")
def town_module(town_template, tmp_path_factory):
    from .conftest import make_town

    return make_town(town_template, tmp_path_factory.mktemp("offline"))


def test_service_worker_may_control_the_app_pages(town_module):
    r = town_module.client.get("/app/sw.js")
    assert r.status_code == 200
    assert r.headers["service-worker-allowed"] == "/app"
    assert r.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert 'importScripts("/app/lib/workbox-sw.js")' in r.text


def test_workbox_modules_come_from_the_service_not_a_cdn(town_module, map_assets):
    sw = town_module.client.get("/app/lib/workbox-sw.js")
    assert sw.status_code == 200
    assert "workbox:sw:7.4.1" in sw.text
    for module in ("core", "routing", "strategies", "expiration", "cacheable-response"):
        r = town_module.client.get(f"/app/lib/workbox-{module}.prod.js")
        assert r.status_code == 200, module
        assert "googleapis" not in r.text


def test_idb_wrapper_is_served(town_module, map_assets):
    r = town_module.client.get("/app/lib/idb.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "openDB" in r.text


def test_unknown_library_file_is_404_naming_the_files(town_module):
    r = town_module.client.get("/app/lib/jquery.js")
    assert r.status_code == 404
    assert "workbox-sw.js" in r.text


def test_manifest_starts_at_the_task_list_in_the_page_language(town_module):
    zh = town_module.client.get("/app/manifest.webmanifest").json()
    en = town_module.client.get("/app/manifest.webmanifest?lang=en").json()
    assert zh["start_url"] == "/app"
    assert en["start_url"] == "/app?lang=en"
    assert zh["name"] == "林长制整改任务"
    assert {i["sizes"] for i in zh["icons"]} == {"192x192", "512x512"}


@pytest.mark.parametrize("size", ["192", "512"])
def test_icons_are_square_pngs_of_their_size(town_module, size):
    import io

    from PIL import Image

    r = town_module.client.get(f"/app/icon-{size}.png")
    assert r.status_code == 200
    assert Image.open(io.BytesIO(r.content)).size == (int(size), int(size))


def test_icon_of_another_size_is_404(town_module):
    assert town_module.client.get("/app/icon-64.png").status_code == 404


def test_offline_list_needs_a_sign_in(town_module):
    r = town_module.client.get("/app/offline.json")
    assert r.status_code == 401


def test_village_offline_list_holds_its_pages_shell_and_area_tiles(town_module):
    r = town_module.get("/app/offline.json", "village")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, no-store"
    body = r.json()
    assert body["pages"][0] == "/app"
    assert any(p.startswith("/app/problems/") for p in body["pages"])
    assert "/app/lib/idb.js" in body["shell"]
    assert "/static/maps/leaflet.js" in body["shell"]
    assert body["zooms"] == [10, 16]
    assert "villages" in body["layers"]
    assert body["count"] == len(body["pages"]) + len(body["shell"]) + len(body["tiles"])
    assert len(body["tiles"]) < 2000


def test_village_tiles_cover_the_village_at_zoom_16(town_module):
    body = town_module.get("/app/offline.json", "village").json()
    west, south, east, north = body["boxes"][0]
    z16 = [t for t in body["tiles"] if t.startswith("/tiles/villages/16/")]
    xs = {int(t.split("/")[4]) for t in z16}
    ys = {int(t.split("/")[5].split(".")[0]) for t in z16}
    from geoservice.tiles.grid import tms

    assert tms().tile(west, north, 16).x == min(xs)
    assert tms().tile(east, south, 16).y == max(ys)
    assert len(z16) == len(xs) * len(ys)


@pytest.mark.slow
def test_every_listed_tile_is_served_to_the_village(town_module):
    body = town_module.get("/app/offline.json", "village").json()
    for url in body["tiles"][:: max(1, len(body["tiles"]) // 20)]:
        z, x, y = url.removesuffix(".mvt").split("/")[3:6]
        parse_tile(z, x, y)
        assert town_module.get(url, "village").status_code == 200


def test_offline_list_pages_keep_the_language(town_module):
    body = town_module.get("/app/offline.json?lang=en", "village").json()
    pages = [p for p in body["pages"] if not p.endswith(".json")]  # data, in no language
    assert pages
    assert all(p.endswith("?lang=en") for p in pages)


def test_office_list_has_pages_and_shell_but_no_area(town_module):
    body = town_module.get("/app/offline.json", "office").json()
    assert body["tiles"] == []
    assert body["zooms"] is None
    assert body["pages"] == ["/app"]


def test_department_list_holds_its_targets(town_module):
    body = town_module.get("/app/offline.json", "department").json()
    assert any(p.startswith("/app/targets/") for p in body["pages"])
    assert body["tiles"]


def test_offline_list_is_audited(town_module):
    town_module.get("/app/offline.json", "village")
    import sqlite3

    with contextlib.closing(sqlite3.connect(town_module.path)) as con, con:
        rows = con.execute("SELECT action FROM audit_log WHERE action = 'page.offline'")
        assert rows.fetchall()


def test_csrf_json_gives_the_token_of_the_cookie(town_module):
    token = town_module.tokens["village"]
    client = town_module.client
    client.cookies.set("geoservice_token", token)
    try:
        r = client.get("/app/csrf.json")
    finally:
        client.cookies.clear()
    assert r.status_code == 200
    assert r.json() == {"csrf_token": token_for(token)}
    assert r.headers["cache-control"] == "private, no-store"


def test_csrf_json_needs_a_sign_in(town_module):
    assert town_module.client.get("/app/csrf.json").status_code == 401


def test_offline_list_of_a_village_without_problems_still_has_the_task_list(town_module):
    ws = town_module.ws
    principal = authenticate(ws, town_module.tokens["other_village"])
    from datetime import date

    body = offline_list(ws, principal, date(2026, 11, 28), "zh")
    assert body["pages"][0] == "/app"
    assert body["user"] == principal.user_id
    assert VILLAGE not in str(body["boxes"])


@pytest.mark.slow
@pytest.mark.parametrize("who", ["village", "department"])
def test_every_listed_page_opens_for_its_person(town_module, who, map_assets):
    body = town_module.get("/app/offline.json", who).json()
    for url in body["pages"] + body["shell"]:
        assert town_module.get(url, who).status_code == 200, url


def test_field_pages_are_kept_only_when_the_service_has_them(town_module):
    ws = town_module.ws
    from datetime import date

    village = authenticate(ws, town_module.tokens["village"])
    department = authenticate(ws, town_module.tokens["department"])
    day = date(2026, 11, 28)
    routes = {"/app/capture", "/app/patrol", "/app/targets/{target_id}/observe"}
    assert not any("/app/patches/" in p for p in offline_list(ws, village, day, "zh")["pages"])
    assert "/app/capture" not in offline_list(ws, village, day, "zh")["pages"]
    kept = offline_list(ws, village, day, "zh", routes)["pages"]
    assert {"/app/capture", "/app/patrol"} <= set(kept)
    dept = offline_list(ws, department, day, "en", routes)["pages"]
    assert "/app/capture?lang=en" not in dept
    assert "/app/patrol?lang=en" in dept
    assert any(p.endswith("/observe?lang=en") for p in dept)


def test_village_keeps_the_pages_of_the_patches_on_its_task_list(town_module):
    body = town_module.get("/app/offline.json", "village").json()
    tasks = town_module.get("/app", "village").text
    kept = [p for p in body["pages"] if p.startswith("/app/patches/")]
    assert all(f'href="{p}"' in tasks for p in kept)
    assert len(kept) == tasks.count('href="/app/patches/')
