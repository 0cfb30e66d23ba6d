"""Map bounds come from the villages layer read once and kept while it is the same."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.webmaps import pages
from maps.render import MapInputError
from tests.support.workflow import SAMPLE, workspace


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The layers the workspace reads with GDAL."""
    seen: list[str] = []
    real = Workspace.read

    def counted(self, layer, *args, **kwargs):
        seen.append(layer)
        return real(self, layer, *args, **kwargs)

    monkeypatch.setattr(Workspace, "read", counted)
    return seen


def _first_code(ws: Workspace) -> str:
    with sqlite3.connect(ws.path) as con:
        return str(con.execute("SELECT village_code FROM villages LIMIT 1").fetchone()[0])


def test_bounds_are_read_once_while_the_villages_layer_is_the_same(tmp_path: Path, reads):
    ws = workspace(tmp_path)
    code = _first_code(ws)
    reads.clear()
    first = pages.map_bounds(ws, code)
    assert pages.map_bounds(ws, code) == first
    whole = pages.map_bounds(ws, None)
    assert reads == ["villages"]
    assert first[1] == code and first[0] is not None
    assert whole[0] is not None and whole[0][0] <= first[0][0] <= first[0][2] <= whole[0][2]


def test_bounds_are_read_again_after_the_villages_layer_is_imported_again(tmp_path: Path, reads):
    ws = workspace(tmp_path)
    pages.map_bounds(ws, None)
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    reads.clear()
    pages.map_bounds(ws, None)
    pages.map_bounds(ws, None)
    assert reads == ["villages"]


def test_an_unknown_village_is_refused_every_time(tmp_path: Path):
    ws = workspace(tmp_path)
    for _ in range(2):
        with pytest.raises(MapInputError, match="not in the villages layer"):
            pages.map_bounds(ws, "no-such-village")
