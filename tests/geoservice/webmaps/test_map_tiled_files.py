"""``geoservice map … --tiled`` (and any map above town scale): a light page with its vector
tiles beside it, opened through a plain static web server."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from geoservice.base.workspace import Workspace
from geoservice.cli import map_files
from tests.support.builders import run_cli, run_demo

pytestmark = pytest.mark.usefixtures("map_assets")
LOADED = """() => window.gsTiledMap && window.gsTiledMap.grids.length > 0
  && window.gsTiledMap.grids.every(g => !g._map || Object.values(g._tiles).every(t => t.loaded))"""


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def tiled(town: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The town's targets map written with ``--tiled``, and the command's JSON."""
    out = tmp_path_factory.mktemp("tiled") / "targets.html"
    res = run_cli("map", "targets", "--tiled", "-w", town, "--out", out, "--json")
    assert res.returncode == 0, res.stderr
    return out, json.loads(res.stdout)


@pytest.mark.slow
def test_a_tiled_map_file_has_its_tiles_beside_it_and_stays_small(tiled):
    page, data = tiled
    folder = page.with_name("targets_tiles")
    assert data["tiles"] == str(folder) and data["tile_count"] > 0
    assert {p.name for p in folder.iterdir()} >= {"targets", "villages"}
    assert len(list(folder.rglob("*.mvt"))) == data["tile_count"]
    assert page.stat().st_size < 1_000_000
    assert "targets_tiles/{layer}/{z}/{x}/{y}.mvt" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_tiled_map_command_says_how_to_open_the_page(town, tmp_path):
    out = tmp_path / "villages.html"
    res = run_cli("map", "villages", "--tiled", "-w", town, "--out", out, "--lang", "en")
    assert res.returncode == 0, res.stderr
    assert "python -m http.server" in res.stdout
    assert "/maps/villages through geoservice serve" in res.stdout
    assert (tmp_path / "villages_tiles" / "villages").is_dir()


@pytest.mark.slow
def test_a_town_map_file_holds_its_data_and_writes_no_tiles(town, tmp_path):
    out = tmp_path / "targets.html"
    res = run_cli("map", "targets", "-w", town, "--out", out, "--json")
    assert res.returncode == 0, res.stderr
    assert "tiles" not in json.loads(res.stdout)
    assert not (tmp_path / "targets_tiles").exists()


def test_a_map_over_the_feature_threshold_needs_tiles(town, monkeypatch):
    ws = Workspace(town)
    assert not map_files.needs_tiles(ws, "targets")
    monkeypatch.setattr(map_files, "EMBED_FEATURES", 10)
    assert map_files.needs_tiles(ws, "targets")
    assert map_files.needs_tiles(ws, "villages")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged."""


@pytest.fixture
def static_server(tiled):
    """A plain static web server (no geoservice) of the folder holding the tiled page."""
    handler = functools.partial(_Quiet, directory=str(tiled[0].parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.slow
def test_the_tiled_page_draws_its_targets_through_a_static_server(
    browser, static_server, town, map_assets
):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    log: dict[str, list[str]] = {"blocked": [], "errors": []}

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(static_server + "/"):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.goto(static_server + "/targets.html")
    page.wait_for_function(LOADED, timeout=60_000)
    targets = Workspace(town).read("targets")
    drawn = page.evaluate(
        "() => document.querySelectorAll('.leaflet-tile path.leaflet-interactive').length"
    )
    page.close()
    assert drawn >= len(targets)
    assert log == {"blocked": [], "errors": []}


@pytest.mark.slow
def test_a_page_holding_its_data_over_the_size_limit_is_written_with_tiles(
    town, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from geoservice.cli.app import app

    monkeypatch.setattr(map_files, "PAGE_LIMIT", 50_000)  # the town's page holds more
    out = tmp_path / "department.html"
    res = CliRunner().invoke(
        app,
        ["map", "department", "police", "-w", str(town), "--out", str(out), "--json"],
        env={"GEOSERVICE_USER": "t"},
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["tiles"] == str(tmp_path / "department_tiles")
    assert out.stat().st_size < 1_000_000
    assert "department_tiles/{layer}/{z}/{x}/{y}.mvt" in out.read_text(encoding="utf-8")
