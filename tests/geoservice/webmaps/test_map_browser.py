"""The sample town's maps in headless Chromium with the network off."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
CLI = (
    "import typer; from geoservice.cli.maps import map_app; a = typer.Typer(); "
    "a.add_typer(map_app, name='map'); a()"
)
MAP = "Object.values(window).find(v => v instanceof L.Map)"
DRAWN_TARGETS = f"""() => {{ let n = 0; {MAP}.eachLayer(l => {{
    const id = l.feature ? String(l.feature.properties.search || '') : '';
    if (id.startsWith('T-') && l._parts && l._parts.length) n++; }}); return n; }}"""


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    out = tmp_path_factory.mktemp("town")
    env = {**os.environ, "GEOSERVICE_USER": "planner"}
    res = subprocess.run(
        [sys.executable, "-m", "geoservice", "demo", "--out", str(out), "--json"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    ws = out / "demo.gpkg"
    for kind, extra in [
        ("targets", []),
        ("villages", ["--as-of", "2026-11-28"]),
        ("department", ["police", "--as-of", "2026-11-28"]),
    ]:
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                CLI,
                "map",
                kind,
                *extra,
                "-w",
                str(ws),
                "--out",
                str(out / f"{kind}.html"),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert res.returncode == 0, res.stderr
    return out


DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"


def _open(browser, path: Path, viewport=DESKTOP):
    """Load ``path`` offline; return the page, the failures and the paint time in seconds."""
    page = browser.new_page(viewport=viewport)
    log = {"failed": [], "errors": [], "blocked": []}

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda r: log["failed"].append(r.url))
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function(f"() => {{ const m = {MAP}; return m && m._loaded; }}")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page, log, time.perf_counter() - start


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_map_opens_offline_without_errors(browser, town, kind, tmp_path, record_property):
    page, log, seconds = _open(browser, town / f"{kind}.html")
    record_property(f"{kind}_paint_seconds", round(seconds, 3))
    print(f"{kind}: painted and interactive after {seconds:.3f} s")
    page.screenshot(path=str(tmp_path / f"{kind}.png"))
    assert log == {"failed": [], "errors": [], "blocked": []}
    page.close()


def test_leaflet_draws_every_target_and_a_click_opens_its_popup(browser, town, tmp_path):
    targets = pyogrio.read_dataframe(town / "demo.gpkg", layer="targets")
    page, log, _seconds = _open(browser, town / "targets.html")
    assert page.evaluate(DRAWN_TARGETS) == len(targets)
    points = targets.to_crs("EPSG:4326").representative_point()
    clicked = None
    for tid, pt in zip(targets["target_id"], points, strict=True):
        xy = page.evaluate(
            f"""([lat, lng]) => {{ const m = {MAP}; m.setView([lat, lng], 17, {{animate: false}});
            const p = m.latLngToContainerPoint([lat, lng]); const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top]; }}""",
            [pt.y, pt.x],
        )
        # targets are SVG paths in their own pane, above every marker and cluster
        hit = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('.leaflet-gs-targets-pane')"
            " ? document.elementFromPoint(x, y).tagName : ''",
            xy,
        )
        if hit == "path":
            page.mouse.click(*xy)
            clicked = tid
            break
    assert clicked is not None, "no target was free of markers to click"
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=3000)
    assert clicked in popup.inner_text()
    page.screenshot(path=str(tmp_path / "popup.png"))
    assert log["failed"] == [] and log["errors"] == []
    page.close()


def _screenshot(page, name: str) -> None:
    """Save a screenshot under test-output/screenshots/ when GEOSERVICE_SCREENSHOTS=1."""
    if os.environ.get("GEOSERVICE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


LEGEND = """() => { const d = document.querySelector('.gs-legend');
    const b = d.querySelector('.gs-legend-body').getBoundingClientRect();
    const layers = document.querySelector('.leaflet-control-layers');
    return {open: b.height > 0, height: d.getBoundingClientRect().height,
            area: d.getBoundingClientRect().width * d.getBoundingClientRect().height,
            layers: layers.classList.contains('leaflet-control-layers-expanded')}; }"""


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_legend_and_layer_switch_start_folded_on_a_phone(browser, town, kind):
    page, log, _seconds = _open(browser, town / f"{kind}.html", PHONE)
    _screenshot(page, f"{kind}-phone")
    folded = page.evaluate(LEGEND)
    assert not folded["open"] and not folded["layers"]
    assert folded["area"] < 0.02 * PHONE["width"] * PHONE["height"]
    page.click(".gs-legend-toggle")
    assert page.evaluate(LEGEND)["open"]
    _screenshot(page, f"{kind}-phone-legend")
    assert log["errors"] == []
    page.close()


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_legend_and_layer_switch_are_open_on_a_desktop(browser, town, kind):
    page, log, _seconds = _open(browser, town / f"{kind}.html", DESKTOP)
    _screenshot(page, f"{kind}-desktop")
    shown = page.evaluate(LEGEND)
    assert shown["open"] and shown["layers"] and shown["height"] > 100
    page.click(".gs-legend-toggle")
    assert not page.evaluate(LEGEND)["open"]
    assert log["errors"] == []
    page.close()


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_map_shows_a_metric_scale_a_dated_title_and_a_north_arrow(browser, town, kind):
    page, _log, _seconds = _open(browser, town / f"{kind}.html", PHONE)
    scale = page.inner_text(".leaflet-control-scale")
    assert re.fullmatch(r"\d+ k?m", scale.strip()), scale
    caption = page.inner_text(".gs-caption")
    assert re.search(r"截至：\d{4}-\d{2}-\d{2}", caption), caption
    assert page.is_visible(".gs-north svg")
    page.close()


def test_targets_pane_is_above_the_complaint_markers(browser, town):
    page, _log, _seconds = _open(browser, town / "targets.html")
    z = page.evaluate(
        """() => ['gs-targets', 'marker', 'overlay'].map(n => Number(getComputedStyle(
        document.querySelector('.leaflet-' + n + '-pane')).zIndex))"""
    )
    assert z[0] > z[1] > z[2]
    page.close()


CLUSTERS = f"""() => {{ let n = 0; {MAP}.eachLayer(l => {{
    if (l instanceof L.MarkerClusterGroup) n++; }}); return n; }}"""


def test_closed_complaints_appear_only_when_their_layer_is_switched_on(browser, town):
    page, log, _seconds = _open(browser, town / "targets.html")
    assert page.evaluate(CLUSTERS) == 1
    page.click(".leaflet-control-layers-overlays label:has-text('已办结、不属实举报') input")
    assert page.evaluate(CLUSTERS) == 2
    assert log["errors"] == []
    page.close()


FREE_COMPLAINT = f"""() => {{ const m = {MAP}; let group = null;
    m.eachLayer(l => {{ if (l instanceof L.MarkerClusterGroup) group = l; }});
    for (const marker of group.getLayers()) {{
        const ll = marker.getLatLng(); m.setView(ll, 18, {{animate: false}});
        const p = m.latLngToContainerPoint(ll); const r = m.getContainer().getBoundingClientRect();
        const x = p.x + r.left, y = p.y + r.top;
        if (document.elementFromPoint(x, y).tagName === 'CANVAS')
            return [x, y, marker.feature.properties.cid];
    }}
    return null; }}"""


def test_a_complaint_beside_a_target_still_opens_its_popup(browser, town):
    """The targets' pane lies over the whole map; its SVG lets clicks through elsewhere."""
    page, log, _seconds = _open(browser, town / "targets.html")
    found = page.evaluate(FREE_COMPLAINT)
    assert found is not None, "every complaint lies under a target"
    x, y, cid = found
    page.mouse.click(x, y)
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=3000)
    assert cid in popup.inner_text()
    assert log["errors"] == []
    page.close()
