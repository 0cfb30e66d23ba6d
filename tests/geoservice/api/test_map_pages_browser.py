"""The light (vector tile) map pages in headless Chromium, served by a real uvicorn server.

Every request that does not go to the test server is aborted and recorded: there must be
none. The page loads its features from ``/tiles`` and its colours from
``/maps/status.json``.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from geoservice.api.app import create_app

from .conftest import AS_OF, make_town

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
TILED = "() => window.gsTiledMap && window.gsTiledMap.grids.length > 0"
# Every tiled layer finished loading its visible tiles.
LOADED = """() => window.gsTiledMap && window.gsTiledMap.grids.length > 0
  && window.gsTiledMap.grids.every(g => !g._map || Object.values(g._tiles).every(t => t.loaded))"""


@pytest.fixture(scope="module")
def served(town_template, tmp_path_factory):
    """A copy of the town (one user per role) on uvicorn on a free port, in a thread."""
    town = make_town(town_template, tmp_path_factory.mktemp("tiled"))
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
    yield town, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _open(browser, served, who: str, url: str):  # type: ignore[no-untyped-def]
    """The page at ``url`` as ``who``, network limited to the test server, and its log."""
    town, base = served
    log: dict[str, list[str]] = {"blocked": [], "errors": [], "bad": []}
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_cookies([{"name": "geoservice_token", "value": town.tokens[who], "url": base}])

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("response", lambda r: r.status >= 400 and log["bad"].append(f"{r.status} {r.url}"))
    page.goto(base + url)
    page.wait_for_function(TILED, timeout=10_000)
    page.wait_for_function(LOADED, timeout=90_000)
    return context, page, log


def _target_point(town):  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets").sort_values("area_ha", ascending=False)
    row = targets.iloc[[0]]
    point = row.to_crs("EPSG:4326").geometry.iloc[0].representative_point()
    return str(row["target_id"].iloc[0]), point


def test_the_tiled_targets_map_draws_tiles_and_a_click_opens_the_targets_popup(
    browser, served, tmp_path
):
    town, _base = served
    context, page, log = _open(browser, served, "office", "/maps/targets")
    tid, point = _target_point(town)
    page.evaluate(
        "([lat, lng]) => window.gsTiledMap.map.setView([lat, lng], 16, {animate: false})",
        [point.y, point.x],
    )
    page.wait_for_function(LOADED, timeout=90_000)
    xy = page.evaluate(
        """([lat, lng]) => { const m = window.gsTiledMap.map;
        const p = m.latLngToContainerPoint([lat, lng]); const r = m.getContainer().getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""",
        [point.y, point.x],
    )
    page.mouse.click(*xy)
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=5000)
    assert tid in popup.inner_text()
    link = page.locator(".leaflet-popup-content a.gs-popup-link")
    assert link.get_attribute("href") == f"/app/targets/{tid}"
    page.screenshot(path=str(tmp_path / "tiled-targets-popup.png"))
    context.close()
    assert log == {"blocked": [], "errors": [], "bad": []}


def test_the_tiled_villages_map_colours_villages_from_the_status(browser, served):
    context, page, log = _open(browser, served, "office", f"/maps/villages?as_of={AS_OF}")
    status = page.evaluate("() => window.gsTiledMap.status()")
    fills = page.evaluate(
        "() => Array.from(document.querySelectorAll('.leaflet-tile path'))"
        ".map(p => p.getAttribute('fill')).filter(f => f && f !== 'none')"
    )
    context.close()
    colours = {v["c"] for v in status["villages"].values()}
    assert status["villages"] and set(fills) & colours
    assert log == {"blocked": [], "errors": [], "bad": []}
