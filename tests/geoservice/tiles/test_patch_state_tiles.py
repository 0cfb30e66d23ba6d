"""Change patches are styled by workflow state as well as legality: the tiles carry each
patch's ``state`` (and the legality its field check recorded decides its class), a state
change gives new tile ETags, the light and standalone maps edge a patch by its stage."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import mapbox_vector_tile
import pandas as pd
import pytest

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.tiles.grid import TileAddress, tms
from geoservice.tiles.serve import read_features, render_tile, tile_etag
from geoservice.tiles.specs import DETAIL_ZOOM, TILE_LAYERS, columns_at
from geoservice.webmaps.build import targets_map_of, villages_map_of
from geoservice.webmaps.pages import page_layers
from geoservice.workflow.patch_store import read_patch_states, update_patch
from maps import styles
from tests.support.files import copy_workspace
from tests.support.patches import ILLEGAL, LEGAL, UNVERIFIED, patch_workspace

OFFICE = Principal("u1", "主任", "office")
PATCHES = TILE_LAYERS["patches"]
U, ILL, L = (r["PAN_NO_TB"] for r in (UNVERIFIED, ILLEGAL, LEGAL))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return patch_workspace(
        tmp_path_factory.mktemp("state_tiles"), [UNVERIFIED, ILLEGAL, LEGAL]
    ).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "ws.gpkg"
    copy_workspace(template, path)
    return Workspace(path)


def _by_id(ws: Workspace) -> pd.DataFrame:
    f = read_features(ws, OFFICE, "patches", zoom=DETAIL_ZOOM - 4)
    return f.attributes.set_index("patch_id")


def _tile_of(ws: Workspace, patch_id: str) -> TileAddress:
    patches = ws.read("patches").to_crs(4326)
    point = patches.loc[patches["patch_id"] == patch_id].geometry.iloc[0].representative_point()
    found = tms().tile(point.x, point.y, DETAIL_ZOOM + 2)
    return TileAddress(DETAIL_ZOOM + 2, found.x, found.y)


def test_the_state_is_a_tile_column_at_every_zoom():
    for z in (0, DETAIL_ZOOM):
        assert "state" in columns_at(PATCHES, z, ["patch_id", "illegal", "legality", "state"])


def test_a_low_zoom_tile_carries_the_workflow_state_of_each_patch(ws):
    got = _by_id(ws)["state"].to_dict()
    assert got == {U: "interpreted", ILL: "verified", L: "closed"}


def test_a_verification_recorded_in_the_workflow_decides_the_legality_class(ws):
    assert _by_id(ws).loc[U, "legality"] == "unverified"
    update_patch(ws, U, 1, actor="office:t", state="dispatched")
    update_patch(ws, U, 2, actor="office:t", state="verified", legality="legal", verifier="王五")
    row = _by_id(ws).loc[U]
    assert (row["state"], row["legality"]) == ("closed", "legal")


def test_a_state_change_gives_the_tile_a_new_etag_and_content(ws):
    tile = _tile_of(ws, ILL)
    before = tile_etag(ws, OFFICE, "patches", tile)
    update_patch(ws, ILL, 1, actor="office:t", state="investigating")
    after = tile_etag(ws, OFFICE, "patches", tile)
    assert before != after
    body = mapbox_vector_tile.decode(render_tile(ws, OFFICE, "patches", tile, after))
    states = {
        f["properties"]["patch_id"]: f["properties"]["state"] for f in body["patches"]["features"]
    }
    assert states[ILL] == "investigating"


def test_a_patch_the_workflow_does_not_hold_has_no_state_and_is_awaiting_check():
    frame = pd.DataFrame({"state": [None, "odd", "rectifying", "closed"]})
    assert styles.patch_stage(frame).tolist() == [
        "awaiting_check",
        "awaiting_check",
        "in_hand",
        "closed",
    ]
    assert styles.patch_stage(pd.DataFrame(index=[3])).tolist() == ["awaiting_check"]


def test_every_state_has_one_stage():
    states = [s for group in styles.PATCH_STAGE_STATES.values() for s in group]
    assert len(states) == len(set(states)) == 7


def test_the_stage_edges_a_patch_over_its_legality_fill():
    closed = styles.patch_style("illegal", "closed")
    assert closed["fillColor"] == styles.PATCH_COLOURS["illegal"]
    assert closed["fillOpacity"] < styles.patch_style("illegal")["fillOpacity"]
    in_hand = styles.patch_style("unverified", "in_hand")
    assert in_hand["color"] == styles.PATCH_STAGE_STYLES["in_hand"]["color"]
    assert in_hand["dashArray"] == styles.patch_style("unverified")["dashArray"]
    assert styles.patch_style("legal", "awaiting_check") == styles.patch_style("legal")


def test_the_light_targets_map_styles_patches_by_state_over_their_class():
    [layer] = [x for x in page_layers("targets", ["patches"], "zh") if x.name == "patches"]
    assert layer.overlay_field == "state"
    assert layer.overlay_styles["rectifying"] == styles.PATCH_STAGE_STYLES["in_hand"]
    assert layer.overlay_styles["closed"] == styles.PATCH_STAGE_STYLES["closed"]
    assert set(layer.overlay_styles) == {s for g in styles.PATCH_STAGE_STATES.values() for s in g}
    assert "state" in layer.fields


@pytest.mark.slow
def test_the_standalone_targets_map_shows_the_state_and_its_legend(tmp_path):
    from tests.support.builders import analysed_town

    town = analysed_town(Path(__file__).resolve().parents[3] / "sample_gis", tmp_path / "t.gpkg")
    page = targets_map_of(town, "zh").get_root().render()
    for word in ("办理环节", "查处整改中（黑色粗边）", "已销号（浅色）", "已判读"):
        assert word in page or json.dumps(word)[1:-1] in page, word
    states = read_patch_states(town, date.today())
    assert (states["state"] == "closed").any()


def _in_page(word: str, page: str) -> bool:
    return word in page or json.dumps(word)[1:-1] in page


def test_the_standalone_villages_map_popup_counts_a_village_s_patches(ws):
    page = villages_map_of(ws, date.today(), "zh").get_root().render()
    assert _in_page("图斑各环节数", page) and _in_page("已判读 1、已核实 1、已销号 1", page)
    english = villages_map_of(ws, date.today(), "en").get_root().render()
    assert _in_page("patches verified illegal", english)


def test_the_standalone_villages_map_of_a_viewer_has_no_patch_figures(ws):
    viewer = Principal("u2", "访客", "viewer")
    page = villages_map_of(ws, date.today(), "zh", principal=viewer).get_root().render()
    assert not _in_page("图斑各环节数", page)
    assert _in_page("问题数", page)
