"""Each worker cuts the tiles of the map pages' first views in the background: at start and
after a data change, per scope, without holding up the service; nothing for an empty
workspace. A problem update changes the problem tiles' ETags only."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from geoservice.api.first_views import first_views
from geoservice.base.data_version import data_version
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.tiles.grid import TileAddress
from geoservice.tiles.serve import TILES, render_tile, tile_etag
from geoservice.tiles.warm import TileWarmer, first_view_tiles
from tests.support.builders import write_shp, xiaoban

from .conftest import DEPARTMENT, Town

REPORTED = "DC202503-002"  # a reported problem of the sample town


def _until(done: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the warm-up did not finish in time"
        time.sleep(0.05)


def _first_view(ws: Workspace, role: str = "office") -> list[tuple[object, str, TileAddress]]:
    """(principal, layer, tile) of every tile the first views of ``role`` draw."""
    out = []
    for view in first_views(ws):
        if view.principal.role != role:
            continue
        for zoom, tiles in first_view_tiles(view.bounds).items():
            for layer, low in view.layers.items():
                out += [(view.principal, layer, t) for t in tiles if zoom >= low]
    return out


def _kept(ws: Workspace, role: str = "office") -> list[bool]:
    return [
        TILES.get(str(tile_etag(ws, who, layer, tile))) is not None  # type: ignore[arg-type]
        for who, layer, tile in _first_view(ws, role)
    ]


def test_the_plan_holds_the_office_each_department_and_the_viewers(town: Town) -> None:
    views = {(v.principal.role, v.principal.department): v for v in first_views(town.ws)}
    assert set(views) == {
        ("office", None),
        ("department", DEPARTMENT),
        ("department", "education"),
        ("viewer", None),
    }
    office = views[("office", None)].layers
    assert office["villages"] == 0 and office["targets"] == 0 and office["problems"] == 0
    assert office["patches"] == 12 and office["complaints"] == 13
    assert "targets" not in views[("viewer", None)].layers  # viewers open the villages map only


@pytest.mark.slow
def test_a_worker_keeps_the_first_view_tiles_cut_by_the_service(town: Town) -> None:
    with town.client as client:
        assert client.get("/health").status_code == 200
        warmer: TileWarmer = client.app.state.tile_warmer  # type: ignore[attr-defined]
        _until(lambda: warmer.passes >= 1)
        assert all(_kept(town.ws)) and all(_kept(town.ws, "department"))
        who, layer, tile = next(t for t in _first_view(town.ws) if t[1] == "problems")
        tag = str(tile_etag(town.ws, who, layer, tile))  # type: ignore[arg-type]
        assert TILES.get(tag) == render_tile(town.ws, who, layer, tile)  # type: ignore[arg-type]
    assert not warmer._thread.is_alive()  # stopped with the worker


@pytest.mark.slow
def test_a_problem_update_makes_the_first_view_warm_again(town: Town) -> None:
    with town.client as client:
        warmer: TileWarmer = client.app.state.tile_warmer  # type: ignore[attr-defined]
        _until(lambda: warmer.passes >= 1)
        res = client.patch(
            f"/problems/{REPORTED}",
            json={"status": "verified"},
            headers={**town.headers("office"), "If-Match": '"1"'},
        )
        assert res.status_code == 200, res.text
        who, layer, tile = next(t for t in _first_view(town.ws) if t[1] == "problems")
        tag = str(tile_etag(town.ws, who, layer, tile))  # type: ignore[arg-type]
        assert TILES.get(tag) is None  # the problem tiles of the new data are not cut yet
        _until(lambda: warmer.warmed == data_version(town.path) and warmer.passes >= 2)
        assert all(_kept(town.ws))


def test_a_problem_update_keeps_the_etag_of_every_other_layers_tile(town: Town) -> None:
    tile = next(t for _, layer, t in _first_view(town.ws) if layer == "targets")
    url = f"/tiles/{{}}/{tile.z}/{tile.x}/{tile.y}.mvt"
    before = {n: town.get(url.format(n), "office").headers["etag"] for n in ("targets", "problems")}
    res = town.client.patch(
        f"/problems/{REPORTED}",
        json={"status": "verified"},
        headers={**town.headers("office"), "If-Match": '"1"'},
    )
    assert res.status_code == 200, res.text
    again = {
        n: town.get(url.format(n), "office", headers={"If-None-Match": before[n]}).status_code
        for n in before
    }
    assert again == {"targets": 304, "problems": 200}


def test_a_workspace_without_village_boundaries_warms_nothing(tmp_path) -> None:
    ws = Workspace(tmp_path / "parcels.gpkg")
    import_file(ws, write_shp(xiaoban(n=2), tmp_path / "xb.shp"), "parcels", actor="t")
    assert first_views(ws) == []
    assert TileWarmer(ws.path, first_views).warm_once() == 0


def test_a_service_on_a_missing_workspace_starts_and_its_warmer_stops(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from geoservice.api.app import create_app

    settings = Settings(workspace=tmp_path / "new.gpkg", user="t", evidence_dir=tmp_path / "ev")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        warmer: TileWarmer = client.app.state.tile_warmer  # type: ignore[attr-defined]
        assert warmer.passes == 0
    assert not warmer._thread.is_alive()
