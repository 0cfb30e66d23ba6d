"""Patrol tracks: length in metres, duration, scope, visits, replays and monthly counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyproj
import pytest
import shapely

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError
from geoservice.base.workspace import Workspace
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.patrols import (
    list_patrols,
    monthly_patrols,
    patrols_in_month,
    record_patrol,
)
from geoservice.workflow.records import add_problem
from tests.support.files import copy_workspace
from tests.support.workflow import workspace

FENGYANG = "441882101202"  # 丰阳村 of the sample town
SHAPING = "441882101203"  # 沙坪村
T0 = 1_764_986_400_000  # 2025-12-06T02:00:00Z in milliseconds
CADRE = Principal("u1", "张三", "village", village_code=FENGYANG, village_name="丰阳村")
OTHER = Principal("u2", "李四", "village", village_code=SHAPING, village_name="沙坪村")
OFFICE = Principal("u0", "王五", "office")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample villages and one imported problem, built once."""
    return workspace(tmp_path_factory.mktemp("template")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    copy_workspace(template, tmp_path / "ws.gpkg")
    return Workspace(tmp_path / "ws.gpkg")


def _inside(ws: Workspace, code: str = FENGYANG) -> shapely.Point:
    return village_outline(ws, code)[1].representative_point()


def _degrees(ws: Workspace, xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    return [back.transform(x, y) for x, y in xy]


def _track(ws: Workspace, offsets: list[tuple[float, float]], step_s: int = 60) -> list:
    """Points at metre offsets from a point inside 丰阳村, one every ``step_s`` seconds."""
    start = _inside(ws)
    xy = [(start.x + dx, start.y + dy) for dx, dy in offsets]
    return [
        [lon, lat, T0 + i * step_s * 1000, 8.0] for i, (lon, lat) in enumerate(_degrees(ws, xy))
    ]


def test_length_is_measured_in_metres_along_a_known_line(ws: Workspace) -> None:
    patrol = record_patrol(ws, CADRE, _track(ws, [(0, 0), (300, 0), (300, 400)]))
    assert patrol["length_m"] == pytest.approx(700.0, abs=0.5)


def test_duration_runs_from_the_first_to_the_last_position(ws: Workspace) -> None:
    patrol = record_patrol(ws, CADRE, _track(ws, [(0, 0), (50, 0), (100, 0)], step_s=300))
    assert patrol["duration_s"] == 600.0
    assert patrol["patrol_on"] == "2025-12-06"


def test_points_sent_out_of_order_are_joined_in_time_order(ws: Workspace) -> None:
    points = _track(ws, [(0, 0), (300, 0), (300, 400)])
    patrol = record_patrol(ws, CADRE, [points[2], points[0], points[1]])
    assert patrol["length_m"] == pytest.approx(700.0, abs=0.5)


def test_empty_patrol_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="fewer than two distinct positions"):
        record_patrol(ws, CADRE, [])


def test_patrol_standing_still_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="fewer than two distinct positions"):
        record_patrol(ws, CADRE, _track(ws, [(0, 0), (0, 0), (0, 0)]))


def test_imprecise_positions_are_left_out_of_the_line(ws: Workspace) -> None:
    points = _track(ws, [(0, 0), (100, 0), (2000, 0), (200, 0)])
    points[2][3] = 900.0  # a cell-tower fix far off the path
    patrol = record_patrol(ws, CADRE, points)
    assert patrol["length_m"] == pytest.approx(200.0, abs=0.5)
    assert patrol["points"] == 3


def test_village_cadre_track_outside_the_village_is_refused(ws: Workspace) -> None:
    with pytest.raises(PermissionDeniedError, match=r"outside 丰阳村, [\d,]+ m from its boundary"):
        record_patrol(ws, CADRE, _far_track(ws))


def _far_track(ws: Workspace) -> list:
    start = _inside(ws, SHAPING)
    xy = [(start.x, start.y), (start.x + 100, start.y)]
    return [[lon, lat, T0 + i * 1000, 5.0] for i, (lon, lat) in enumerate(_degrees(ws, xy))]


def test_viewer_may_not_record_a_patrol(ws: Workspace) -> None:
    viewer = Principal("u9", "访客", "viewer")
    with pytest.raises(PermissionDeniedError, match="viewer"):
        record_patrol(ws, viewer, _track(ws, [(0, 0), (100, 0)]))


@pytest.mark.slow
def test_problems_near_the_track_are_linked_and_far_ones_not(ws: Workspace) -> None:
    start = _inside(ws)
    (near, far) = _degrees(ws, [(start.x + 150, start.y + 30), (start.x + 150, start.y + 400)])
    ids = [
        add_problem(
            ws,
            village=FENGYANG,
            category="盗伐",
            description="伐桩",
            deadline=date(2026, 12, 31),
            by="t",
            found_on=date(2025, 12, 1),
            lon=lon,
            lat=lat,
        )["problem_id"]
        for lon, lat in (near, far)
    ]
    patrol = record_patrol(ws, CADRE, _track(ws, [(0, 0), (300, 0)]))
    assert patrol["visited_problems"] == [ids[0]]


def test_a_replayed_patrol_is_stored_once(ws: Workspace) -> None:
    points = _track(ws, [(0, 0), (100, 0)])
    first = record_patrol(ws, CADRE, points, submission_id="phone-1")
    again = record_patrol(ws, CADRE, points, submission_id="phone-1")
    assert (again["patrol_id"], again["replayed"]) == (first["patrol_id"], True)
    assert len(list_patrols(ws, OFFICE)) == 1


def test_a_village_sees_only_its_own_patrols(ws: Workspace) -> None:
    record_patrol(ws, CADRE, _track(ws, [(0, 0), (100, 0)]))
    assert list_patrols(ws, OTHER) == []
    assert [p["village_code"] for p in list_patrols(ws, CADRE)] == [FENGYANG]


def test_listing_by_a_malformed_month_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="YYYY-MM"):
        list_patrols(ws, OFFICE, month="12/2025")


def test_listed_track_comes_back_in_degrees(ws: Workspace) -> None:
    points = _track(ws, [(0, 0), (100, 0)])
    record_patrol(ws, CADRE, points)
    [patrol] = list_patrols(ws, CADRE)
    assert patrol["track"]["coordinates"][0] == pytest.approx(points[0][:2], abs=1e-6)


def test_patrols_are_counted_per_village_and_month(ws: Workspace) -> None:
    record_patrol(ws, CADRE, _track(ws, [(0, 0), (1000, 0)], step_s=1800))
    record_patrol(ws, CADRE, _track(ws, [(0, 0), (500, 0)]))
    table = monthly_patrols(ws)
    row = table.iloc[0]
    assert (row["village_code"], row["month"], row["patrols"]) == (FENGYANG, "2025-12", 2)
    assert row["length_km"] == pytest.approx(1.5, abs=0.01)
    assert patrols_in_month(ws, date(2025, 12, 31)).to_dict() == {FENGYANG: 2}
    assert patrols_in_month(ws, date(2026, 1, 31)).empty


def test_no_patrol_table_gives_empty_counts(ws: Workspace) -> None:
    assert monthly_patrols(ws).empty
    assert list_patrols(ws, OFFICE) == []


@pytest.mark.slow
def test_village_status_counts_the_months_patrols(ws: Workspace) -> None:
    from geoservice.workflow.villages import village_status

    record_patrol(ws, CADRE, _track(ws, [(0, 0), (100, 0)]))
    status = village_status(ws, date(2025, 12, 31)).set_index("village_code")["patrols"]
    assert (status[FENGYANG], status[SHAPING]) == (1, 0)
    assert village_status(ws, date(2026, 1, 5))["patrols"].sum() == 0
