"""The sample town's maps in headless Chromium with the network off."""

import os
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


def _open(browser, path: Path):
    """Load ``path`` offline; return the page, the failures and the paint time in seconds."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
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
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName", xy)
        if hit == "CANVAS":
            page.mouse.click(*xy)
            clicked = tid
            break
    assert clicked is not None, "no target was free of markers to click"
    popup = page.wait_for_selector(".leaflet-popup-content", timeout=3000)
    assert clicked in popup.inner_text()
    page.screenshot(path=str(tmp_path / "popup.png"))
    assert log["failed"] == [] and log["errors"] == []
    page.close()
