"""Change patch tiles carry their legality and verification class (``legality``, as
:func:`maps.styles.patch_class` gives it) at every zoom, so a light page colours them as
the standalone maps do."""

from __future__ import annotations

from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.tiles.cut import Features, encode_tile
from geoservice.tiles.grid import TileAddress, tile_bounds, tms
from geoservice.tiles.serve import render_tile
from geoservice.tiles.specs import DETAIL_ZOOM, TILE_LAYERS, columns_at
from maps.styles import patch_class
from tests.support.builders import analysed_town
from tests.support.files import copy_workspace

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"
OFFICE = Principal("u1", "主任", "office")
PATCHES = TILE_LAYERS["patches"]


def _decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def _patch_features(tile: TileAddress, legality: list[str | None]) -> Features:
    """Small squares inside ``tile``, one per ``legality`` value."""
    minx, miny, maxx, _maxy = tile_bounds(tile)
    step = (maxx - minx) / (len(legality) + 1)
    boxes = [
        shapely.box(
            minx + (i + 0.2) * step, miny + 0.4 * step, minx + (i + 0.8) * step, miny + step
        )
        for i in range(len(legality))
    ]
    attributes = pd.DataFrame(
        {
            "patch_id": [f"P{i}" for i in range(len(legality))],
            "illegal": ["unknown"] * len(legality),
            "legality": legality,
        }
    )
    fids = np.arange(1, len(legality) + 1, dtype=np.int64)
    return Features("patches", fids, np.array(boxes, dtype=object), attributes)


def test_the_legality_column_is_a_tile_column_at_every_zoom_once_derived():
    for z in (0, DETAIL_ZOOM - 1, DETAIL_ZOOM):
        assert "legality" in columns_at(PATCHES, z, ["patch_id", "illegal", "legality"])


def test_the_legality_column_is_not_read_from_a_file_that_lacks_it():
    assert "legality" not in columns_at(PATCHES, DETAIL_ZOOM, ["patch_id", "illegal"])


def test_a_low_zoom_patch_tile_keeps_the_legality_of_each_patch():
    tile = TileAddress(8, 210, 110)
    classes = ["illegal", "legal", "unverified", "other"]
    features = _decode(encode_tile([_patch_features(tile, classes)], tile))["patches"]["features"]
    assert {f["properties"]["patch_id"]: f["properties"]["legality"] for f in features} == {
        f"P{i}": k for i, k in enumerate(classes)
    }


@pytest.fixture(scope="module")
def town_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed_town(SAMPLE, tmp_path_factory.mktemp("patch_tiles") / "town.gpkg").path


@pytest.fixture
def town(town_file: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "town.gpkg"
    copy_workspace(town_file, path)
    return Workspace(path)


@pytest.mark.slow
def test_served_patch_tiles_carry_the_class_the_standalone_maps_colour_by(town):
    # The sample's patches hold every case: 是否违法 true, false and unknown, with
    # approved, illegal and other causes.
    patches = town.read("patches", fid_as_index=True)
    expected = patch_class(patches)
    assert set(expected) >= {"illegal", "legal", "unverified"}
    point = patches.to_crs(4326).geometry.loc[expected[expected == "illegal"].index[0]]
    found = tms().tile(*point.representative_point().coords[0], DETAIL_ZOOM + 2)
    tile = TileAddress(DETAIL_ZOOM + 2, found.x, found.y)
    features = _decode(render_tile(town, OFFICE, "patches", tile))["patches"]["features"]
    assert features
    got = {f["id"]: f["properties"]["legality"] for f in features}
    assert got == {fid: expected.loc[fid] for fid in got}
    assert "illegal" in got.values()
