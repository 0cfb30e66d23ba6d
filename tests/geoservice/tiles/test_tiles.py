"""Vector tiles of the workspace: features, attributes and coordinates against the layers,
scoping by caller, ETags, empty tiles, bad addresses, the size limit and static tile sets."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pandas as pd
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import TileType

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.access import Principal
from geoservice.base.errors import BadParameterError, NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.tiles import cut
from geoservice.tiles.build import build_tiles, scope_principal
from geoservice.tiles.cut import Features, encode_tile, plain_attributes, to_mercator
from geoservice.tiles.grid import EXTENT, TileAddress, parse_tile, tile_bounds, tms
from geoservice.tiles.serve import TILES, _TileCache, render_tile, tile_etag
from tests.support.builders import AS_OF, analysed_town, run_cli
from tests.support.files import copy_workspace

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"
VILLAGE = "441882101212"  # has open problems (as in the API tests)
OFFICE = Principal("u1", "主任", "office")
VIEWER = Principal("u2", "访客", "viewer")
TOWN_VILLAGE = Principal("u3", "村长", "village", village_code=VILLAGE)


@pytest.fixture(scope="module")
def town_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed_town(SAMPLE, tmp_path_factory.mktemp("tiles") / "town.gpkg").path


@pytest.fixture
def town(town_file: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "town.gpkg"
    copy_workspace(town_file, path)
    return Workspace(path)


def _decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def _tile_at(ws: Workspace, layer: str, fid: int, z: int) -> TileAddress:
    """The tile at zoom ``z`` holding a point inside feature ``fid`` of ``layer``."""
    frame = ws.read(layer, fids=[fid], fid_as_index=True)
    point = frame.to_crs(4326).geometry.iloc[0].representative_point()
    found = tms().tile(point.x, point.y, z)
    return TileAddress(z, found.x, found.y)


def _in_tile_units(ws: Workspace, layer: str, fid: int, tile: TileAddress) -> shapely.Geometry:
    frame = ws.read(layer, fids=[fid], fid_as_index=True)
    moved = to_mercator(frame.geometry.to_numpy(), str(frame.crs))[0]
    minx, _, maxx, maxy = tile_bounds(tile)
    scale = EXTENT / (maxx - minx)
    return shapely.transform(moved, lambda xy: (xy - [minx, maxy]) * [scale, -scale])


@pytest.mark.slow
def test_parcel_tile_holds_the_parcel_with_its_attributes_and_outline(town: Workspace) -> None:
    parcels = town.read("parcels", fid_as_index=True, use_arrow=False)
    fid = int(parcels.index[10])
    tile = _tile_at(town, "parcels", fid, 16)
    layer = _decode(render_tile(town, OFFICE, "parcels", tile))["parcels"]
    hit = [f for f in layer["features"] if f["id"] == fid]
    assert len(hit) == 1
    props = hit[0]["properties"]
    assert props["parcel_id"] == parcels.loc[fid, "parcel_id"]
    assert props["village_name"] == parcels.loc[fid, "village_name"]
    assert props["area_ha"] == pytest.approx(float(parcels.loc[fid, "area_ha"]))
    expected = _in_tile_units(town, "parcels", fid, tile)
    got = shapely.geometry.shape(hit[0]["geometry"])
    lo, hi = -cut.BUFFER, EXTENT + cut.BUFFER
    clipped = shapely.clip_by_rect(expected, lo, lo, hi, hi)
    # rounded to whole tile units and simplified by one: within two units everywhere
    assert shapely.hausdorff_distance(got, clipped) <= 2.0
    assert layer["extent"] == EXTENT


@pytest.mark.slow
def test_every_parcel_meeting_the_tile_is_in_it(town: Workspace) -> None:
    parcels = town.read("parcels", fid_as_index=True, use_arrow=False)
    tile = _tile_at(town, "parcels", int(parcels.index[0]), 15)
    minx, miny, maxx, maxy = tile_bounds(tile)
    box = shapely.box(minx, miny, maxx, maxy)
    moved = to_mercator(parcels.geometry.to_numpy(), str(parcels.crs))
    wanted = set(parcels.index[shapely.intersects(box, moved)].astype(int))
    got = {
        f["id"] for f in _decode(render_tile(town, OFFICE, "parcels", tile))["parcels"]["features"]
    }
    assert wanted <= got


def test_low_zoom_tile_keeps_only_overview_attributes(town: Workspace) -> None:
    targets = town.read("targets", fid_as_index=True)
    tile = _tile_at(town, "targets", int(targets.index[0]), 10)
    features = _decode(render_tile(town, OFFICE, "targets", tile))["targets"]["features"]
    assert features
    assert {k for f in features for k in f["properties"]} == {
        "target_id",
        "priority",
        "lead_department",
    }


def test_target_tile_at_detail_zoom_carries_popup_attributes(town: Workspace) -> None:
    targets = town.read("targets", fid_as_index=True, use_arrow=False)
    fid = int(targets.index[0])
    tile = _tile_at(town, "targets", fid, 14)
    (hit,) = [
        f
        for f in _decode(render_tile(town, OFFICE, "targets", tile))["targets"]["features"]
        if f["id"] == fid
    ]
    assert hit["properties"]["target_id"] == targets.loc[fid, "target_id"]
    assert hit["properties"]["reasons"] == targets.loc[fid, "reasons"]
    assert hit["properties"]["lead_department"] == targets.loc[fid, "lead_department"]


def test_village_problem_tile_holds_its_own_problems_only(town: Workspace) -> None:
    problems = town.read("problems", fid_as_index=True, use_arrow=False)
    own = problems[problems["village_code"] == VILLAGE]
    tile = _tile_at(town, "problems", int(own.index[0]), 10)
    office = _decode(render_tile(town, OFFICE, "problems", tile))["problems"]["features"]
    mine = _decode(render_tile(town, TOWN_VILLAGE, "problems", tile))["problems"]["features"]
    others = {f["id"] for f in office} - set(own.index.astype(int))
    assert others, "the tile must also hold other villages' problems for the office"
    assert {f["id"] for f in mine} == {f["id"] for f in office} & set(own.index.astype(int))
    assert {f["properties"]["problem_id"] for f in mine} <= set(own["problem_id"])


@pytest.mark.parametrize(
    ("who", "layer"),
    [(VIEWER, "parcels"), (TOWN_VILLAGE, "targets"), (VIEWER, "problems"), (OFFICE, "roads")],
)
def test_layer_not_visible_or_unknown_is_not_found_naming_it(
    town: Workspace, who: Principal, layer: str
) -> None:
    with pytest.raises(NotFoundError, match=f"tile layer '{layer}'"):
        render_tile(town, who, layer, TileAddress(10, 831, 439))
    with pytest.raises(NotFoundError, match=f"tile layer '{layer}'"):
        tile_etag(town, who, layer, TileAddress(10, 831, 439))


def test_viewer_sees_public_village_tiles(town: Workspace) -> None:
    body = render_tile(town, VIEWER, "villages", TileAddress(8, 207, 109))
    assert len(_decode(body)["villages"]["features"]) == town.count("villages")


@pytest.mark.parametrize(
    ("z", "x", "y", "named"),
    [
        ("23", "0", "0", "'23'"),
        ("3", "8", "0", "'8'"),
        ("3", "0", "-1", "'-1'"),
        ("a", "0", "0", "'a'"),
        ("3", "1.5", "0", "'1.5'"),
        ("3", "0", "٣", "'٣'"),
        ("", "0", "0", "''"),
    ],
)
def test_bad_tile_address_names_the_value(z: str, x: str, y: str, named: str) -> None:
    with pytest.raises(BadParameterError, match=named):
        parse_tile(z, x, y)


def test_good_tile_address_parses() -> None:
    assert parse_tile("0", "0", "0") == TileAddress(0, 0, 0)
    assert parse_tile("16", "53228", "28105") == TileAddress(16, 53228, 28105)


def test_tile_far_from_the_data_is_empty(town: Workspace) -> None:
    # the other side of the world: outside the Gauss-Kruger zone of the workspace
    body = render_tile(town, OFFICE, "parcels", TileAddress(16, 0, 0))
    assert body == b""
    assert _decode(body) == {}


def test_empty_features_encode_an_empty_tile() -> None:
    empty = Features("parcels", np.zeros(0, np.int64), np.zeros(0, object), pd.DataFrame())
    assert encode_tile([empty], TileAddress(12, 3326, 1756)) == b""
    assert encode_tile([], TileAddress(12, 3326, 1756)) == b""


def test_etag_differs_by_scope_tile_and_layer_and_repeats(town: Workspace) -> None:
    tile = TileAddress(10, 831, 439)
    tag = tile_etag(town, OFFICE, "problems", tile)
    assert tag is not None and tag.startswith('"')
    assert tile_etag(town, OFFICE, "problems", tile) == tag
    assert tile_etag(town, TOWN_VILLAGE, "problems", tile) != tag
    assert tile_etag(town, OFFICE, "problems", TileAddress(10, 831, 440)) != tag
    assert tile_etag(town, OFFICE, "villages", tile) != tag


def test_etag_changes_when_a_layer_is_imported_again(town: Workspace) -> None:
    tile = TileAddress(10, 831, 439)
    before = tile_etag(town, OFFICE, "villages", tile)
    import_file(town, SAMPLE / "villages.shp", "villages", actor="t")
    assert tile_etag(town, OFFICE, "villages", tile) != before


def test_etag_changes_when_the_analysis_runs_again(town: Workspace) -> None:
    tile = TileAddress(12, 3326, 1756)
    before = tile_etag(town, OFFICE, "parcel_risk", tile)
    analyze(town, as_of=AS_OF, rules=load_rules(None), actor="t")
    assert tile_etag(town, OFFICE, "parcel_risk", tile) != before


def test_plain_attributes_are_python_values_with_none_for_missing() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.Series([1, None], dtype="Int64"),
            "x": [np.float64(2.5), np.nan],
            "s": ["沙坪村", None],
            "d": pd.to_datetime(["2026-11-28", None]),
        }
    )
    rows = plain_attributes(frame).to_dict("records")
    assert rows[0] == {"n": 1, "x": 2.5, "s": "沙坪村", "d": "2026-11-28"}
    assert type(rows[0]["n"]) is int
    assert rows[1] == {"n": None, "x": None, "s": None, "d": None}


def test_tile_over_the_limit_drops_attributes_then_smaller_features(
    town: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    tile = TileAddress(12, 3326, 1756)
    full = render_tile(town, OFFICE, "parcels", tile)
    limit = len(full) // 5
    monkeypatch.setattr(cut, "MAX_TILE_BYTES", limit)
    small = render_tile(town, OFFICE, "parcels", tile)
    assert 0 < len(small) <= limit
    features = _decode(small)["parcels"]["features"]
    assert 0 < len(features) < len(_decode(full)["parcels"]["features"])
    assert {k for f in features for k in f["properties"]} <= {"parcel_id", "kind"}


@pytest.mark.slow
def test_pmtiles_archive_reads_back_with_the_service_tiles(town: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "town.pmtiles"
    tile = _tile_at(town, "parcels", 1, 13)
    report = build_tiles(town, out, OFFICE, min_zoom=10, max_zoom=13)
    with open(out, "rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert (header["min_zoom"], header["max_zoom"]) == (10, 13)
        assert header["tile_type"] == TileType.MVT
        names = [layer["id"] for layer in reader.metadata()["vector_layers"]]
        body = reader.get(tile.z, tile.x, tile.y)
    assert names == [
        "villages",
        "parcels",
        "parcel_risk",
        "targets",
        "patches",
        "problems",
        "complaints",
    ]
    assert report.tiles > 0 and report.largest[1] <= cut.MAX_TILE_BYTES
    assert body is not None
    decoded = _decode(gzip.decompress(body))
    served = _decode(render_tile(town, OFFICE, "parcels", tile))
    assert decoded["parcels"]["features"] == served["parcels"]["features"]


def test_tile_folder_holds_the_service_tiles_for_the_scope(town: Workspace, tmp_path: Path) -> None:
    report = build_tiles(town, tmp_path / "tiles", TOWN_VILLAGE, min_zoom=12, max_zoom=12)
    assert report.layers == ["villages", "problems"]
    written = sorted((tmp_path / "tiles").rglob("*.mvt"))
    assert len(written) == report.tiles > 0
    some = written[0].relative_to(tmp_path / "tiles")
    layer, z, x, y = some.parts[0], *some.parts[1:3], some.stem
    tile = TileAddress(int(z), int(x), int(y))
    assert _decode(written[0].read_bytes()) == _decode(render_tile(town, TOWN_VILLAGE, layer, tile))


def test_build_refuses_bad_zooms_and_hidden_layers(town: Workspace, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="14 to 12"):
        build_tiles(town, tmp_path / "t", OFFICE, min_zoom=14, max_zoom=12)
    with pytest.raises(NotFoundError, match="parcels"):
        build_tiles(town, tmp_path / "t", VIEWER, layers=["parcels"])


def test_tile_cut_for_an_etag_is_served_again_for_it(town: Workspace) -> None:
    tile = TileAddress(12, 3326, 1756)
    tag = tile_etag(town, OFFICE, "villages", tile)
    assert tag is not None
    body = render_tile(town, OFFICE, "villages", tile, tag)
    assert TILES.get(tag) == body
    # the office's tile is never handed to a scope whose ETag differs
    village_tag = tile_etag(town, TOWN_VILLAGE, "villages", tile)
    assert village_tag != tag and TILES.get(str(village_tag)) is None


def test_tile_cache_drops_the_least_recently_used_past_its_limit() -> None:
    cache = _TileCache(limit=10)
    cache.put('"a"', b"123456")
    cache.put('"b"', b"123456")
    assert cache.get('"a"') is None
    assert cache.get('"b"') == b"123456"
    assert cache.size == 6


def test_scope_of_a_static_tile_set_is_a_known_role_with_its_department_or_village() -> None:
    assert scope_principal("village", village=VILLAGE).village_code == VILLAGE
    assert scope_principal("department", department="police").department == "police"
    with pytest.raises(OptionError, match="'mayor'"):
        scope_principal("mayor")
    with pytest.raises(OptionError, match="--village"):
        scope_principal("village")


def _mercator_features(layer: str, shapes: list[shapely.Geometry], id_column: str) -> Features:
    ids = [f"{layer}-{i}" for i in range(len(shapes))]
    frame = pd.DataFrame({id_column: ids})
    return Features(layer, np.arange(1, len(shapes) + 1), np.array(shapes, dtype=object), frame)


def test_points_within_two_screen_pixels_are_thinned_below_detail_zoom_only() -> None:
    low, high = TileAddress(10, 831, 439), TileAddress(16, 53227, 28104)
    minx, miny, maxx, maxy = tile_bounds(high)  # inside the low tile too
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    # 1 m apart: one screen pixel at zoom 10 is about 150 m
    shapes = [shapely.Point(cx + i, cy) for i in range(3)] + [shapely.Point(minx + 1, miny + 1)]
    points = _mercator_features("complaints", shapes, "complaint_id")
    kept = _decode(encode_tile([points], low))["complaints"]["features"]
    # the three 1 m apart share a cell; the fourth, 600 m off, has its own
    assert [f["properties"]["complaint_id"] for f in kept] == ["complaints-0", "complaints-3"]
    assert len(_decode(encode_tile([points], high))["complaints"]["features"]) == 4


def test_polygons_under_a_screen_pixel_are_left_out_below_detail_zoom() -> None:
    minx, miny, maxx, maxy = tile_bounds(TileAddress(16, 53227, 28104))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    small = shapely.box(cx, cy, cx + 50, cy + 50)  # 0.25 ha
    large = shapely.box(cx - 3000, cy - 3000, cx, cy)  # 900 ha
    parcels = _mercator_features("parcels", [small, large], "parcel_id")
    kept = _decode(encode_tile([parcels], TileAddress(10, 831, 439)))["parcels"]["features"]
    assert [f["properties"]["parcel_id"] for f in kept] == ["parcels-1"]
    detail = _decode(encode_tile([parcels], TileAddress(14, 13306, 7026)))["parcels"]["features"]
    assert len(detail) == 2


def test_cli_writes_a_pmtiles_archive_and_says_what_it_holds(
    town: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "set.pmtiles"
    args = ("tiles", "build", "--out", out, "--min-zoom", "10", "--max-zoom", "11")
    res = run_cli(*args, "--role", "viewer", "-w", town.path, "--json")
    assert res.returncode == 0, res.stderr
    answer = json.loads(res.stdout)
    assert answer["layers"] == ["villages"] and answer["tiles"] > 0
    with open(out, "rb") as f:
        header = Reader(MmapSource(f)).header()
    assert (header["min_zoom"], header["max_zoom"]) == (10, 11)


def test_cli_refuses_a_village_scope_without_its_code(town: Workspace, tmp_path: Path) -> None:
    res = run_cli("tiles", "build", "--out", tmp_path / "t", "--role", "village", "-w", town.path)
    assert res.returncode == 2
    assert "--village" in res.stderr
    assert not (tmp_path / "t").exists()
