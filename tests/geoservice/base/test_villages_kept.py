"""The villages layer is read once per version of the layer, not on every call."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from geoservice.base.errors import NotFoundError
from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from tests.support.builders import write_shp
from tests.support.workflow import SAMPLE, problems_csv


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    return ws


def test_second_read_does_not_open_the_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(tmp_path)
    first = read_villages(ws)

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the villages layer was read again")

    monkeypatch.setattr(Workspace, "read", no_read)
    again = read_villages(ws)
    assert again.equals(first) and again is not first


def test_new_import_of_villages_is_read(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    read_villages(ws)
    layer = pyogrio.read_dataframe(SAMPLE / "villages.shp")
    text = [c for c in layer.columns if c != "geometry"]
    layer[text] = layer[text].replace("丰阳村", "新丰阳村")
    import_file(ws, write_shp(layer, tmp_path / "renamed.shp"), "villages", actor="t")
    assert "新丰阳村" in set(read_villages(ws)["village_name"])


def test_caller_changes_do_not_reach_the_kept_copy(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    first = read_villages(ws)
    first.loc[0, "village_name"] = "改名"
    assert "改名" not in set(read_villages(ws)["village_name"])


def test_workspace_without_villages_layer_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, problems_csv(tmp_path / "problems.csv", [{}]), "problems", actor="t")
    with pytest.raises(NotFoundError, match="villages"):
        read_villages(ws)
