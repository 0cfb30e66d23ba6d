"""The light (vector tile) map pages in headless Chromium, served by a real uvicorn server.

Every request that does not go to the test server is aborted and recorded: there must be
none. The page loads its features from ``/tiles`` and its colours from
``/maps/status.json``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from geoservice.api.app import create_app
from maps import cartography, styles

from .conftest import AS_OF, make_town

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
TILED = "() => window.gsTiledMap && window.gsTiledMap.grids.length > 0"
# Every tiled layer finished loading its visible tiles.
LOADED = """() => window.gsTiledMap && window.gsTiledMap.grids.length > 0
  && window.gsTiledMap.grids.every(g => !g._map || Object.values(g._tiles).every(t => t.loaded))"""
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}
# The fill colours of the drawn features (SVG paths of every tile).
FILLS = """() => Array.from(document.querySelectorAll('.leaflet-tile path'))
  .map(p => p.getAttribute('fill')).filter(f => f && f !== 'none')"""


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


def _open(browser, served, who: str, url: str, viewport: dict | None = None):  # type: ignore[no-untyped-def]
    """The page at ``url`` as ``who``, network limited to the test server, and its log."""
    town, base = served
    log: dict[str, list[str]] = {"blocked": [], "errors": [], "bad": []}
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860})
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


def _view(page, point, zoom: int) -> None:  # type: ignore[no-untyped-def]
    """Centre the map on ``point`` (EPSG:4326) at ``zoom`` and wait for its tiles."""
    page.evaluate(
        "([lat, lng, z]) => window.gsTiledMap.map.setView([lat, lng], z, {animate: false})",
        [point.y, point.x, zoom],
    )
    page.wait_for_function(LOADED, timeout=90_000)


def test_the_page_style_function_colours_a_patch_by_its_legality(browser, served):
    context, page, log = _open(browser, served, "office", "/maps/targets")
    drawn = page.evaluate(
        """(classes) => { const t = window.gsTiledMap;
        const style = t.styleOf(t.layers.find(l => l.name === 'patches'));
        return classes.map(k => style({patch_id: 'P1', illegal: 'unknown', legality: k})); }""",
        [*styles.PATCH_CLASSES, "not-a-class"],
    )
    context.close()
    by_class = dict(zip([*styles.PATCH_CLASSES, "not-a-class"], drawn, strict=True))
    for key in styles.PATCH_CLASSES:
        assert by_class[key]["fillColor"] == styles.PATCH_COLOURS[key]
        assert by_class[key]["fill"] is True
    assert by_class["unverified"]["dashArray"] == styles.patch_style("unverified")["dashArray"]
    assert "dashArray" not in by_class["illegal"]
    assert by_class["not-a-class"]["fillColor"] == styles.UNKNOWN_COLOUR
    assert log == {"blocked": [], "errors": [], "bad": []}


def test_an_illegal_patch_is_drawn_in_the_illegal_colour(browser, served):
    town, _base = served
    patches = town.ws.read("patches")
    illegal = patches[(styles.patch_class(patches) == "illegal").to_numpy()]
    point = illegal.to_crs("EPSG:4326").geometry.iloc[0].representative_point()
    context, page, log = _open(browser, served, "office", "/maps/targets")
    _view(page, point, 16)
    fills = page.evaluate(FILLS)
    context.close()
    assert styles.PATCH_COLOURS["illegal"] in fills
    assert log == {"blocked": [], "errors": [], "bad": []}


def test_closed_complaints_are_drawn_only_after_the_layer_switch(browser, served):
    town, _base = served
    complaints = town.ws.read("complaints")
    closed = complaints[styles.complaint_hidden(complaints).to_numpy()]
    point = closed.to_crs("EPSG:4326").geometry.iloc[0]
    hidden = styles.COMPLAINT_COLOURS["hidden"]
    context, page, log = _open(browser, served, "office", "/maps/targets")
    _view(page, point, 16)
    before = page.evaluate(FILLS)
    # the layer's name in the caller's language
    name = re.compile("|".join(styles.COMPLAINT_LABELS["hidden"]), re.IGNORECASE)
    page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input").check()
    page.wait_for_function(LOADED, timeout=90_000)
    after = page.evaluate(FILLS)
    context.close()
    assert hidden not in before
    assert hidden in after
    assert log == {"blocked": [], "errors": [], "bad": []}


def test_the_targets_layer_is_drawn_in_the_targets_pane_above_every_other(browser, served):
    context, page, log = _open(browser, served, "office", "/maps/targets")
    panes = page.evaluate(
        """() => { const t = window.gsTiledMap;
        return t.layers.map((l, i) => [l.name, t.grids[i].options.pane,
          t.grids[i]._map ? t.grids[i].getContainer().parentNode.className : null]); }"""
    )
    z = page.evaluate(
        "(name) => Number(getComputedStyle(window.gsTiledMap.map.getPane(name)).zIndex)",
        cartography.TARGETS_PANE,
    )
    context.close()
    targets = [(pane, cls) for name, pane, cls in panes if name == "targets"]
    others = [pane for name, pane, _cls in panes if name != "targets"]
    assert targets == [
        (cartography.TARGETS_PANE, f"leaflet-pane leaflet-{cartography.TARGETS_PANE}-pane")
    ]
    assert others and set(others) == {"tilePane"}
    assert z > 600  # above the marker pane
    assert log == {"blocked": [], "errors": [], "bad": []}


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_tiled_targets_page_shows_its_legend_and_layer_switch(browser, served, device):
    viewport = PHONE if device == "phone" else None
    context, page, log = _open(browser, served, "office", "/maps/targets", viewport)
    folded = page.locator(".leaflet-control-layers-expanded").count() == 0
    if os.environ.get("GEOSERVICE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(400)  # the tiles' fade-in
        page.screenshot(path=str(SCREENSHOTS / f"tiled-targets-{device}.png"))
    legend = page.locator(".gs-legend").text_content() or ""  # folded on a phone
    switch = page.locator(".leaflet-control-layers").count()
    context.close()
    assert any(label in legend for label in styles.PRIORITY_LABELS["P1"])
    assert switch == 1
    assert folded == (device == "phone")
    assert log == {"blocked": [], "errors": [], "bad": []}


def test_problem_markers_on_the_village_fills_have_the_white_ring(browser, served):
    context, page, log = _open(browser, served, "office", f"/maps/villages?as_of={AS_OF}")
    status = page.evaluate("() => window.gsTiledMap.status()")
    markers = page.evaluate(
        """(fills) => Array.from(document.querySelectorAll('.leaflet-tile path'))
        .filter(p => fills.includes(p.getAttribute('fill')) && p.getAttribute('d').includes('a'))
        .map(p => [p.getAttribute('stroke'), Number(p.getAttribute('stroke-width'))])""",
        sorted({p["c"] for p in status["problems"].values()}),
    )
    context.close()
    assert markers
    assert {stroke for stroke, _w in markers} == {styles.PROBLEM_OUTLINE}
    assert min(w for _s, w in markers) >= 2
    assert log == {"blocked": [], "errors": [], "bad": []}
