"""Field capture of new problems: position in the cadre's village, area, photos, replays."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pyproj
import pytest
import shapely
from PIL import Image

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError
from geoservice.base.workspace import Workspace
from geoservice.workflow.capture import capture_problem, captured
from geoservice.workflow.field_scope import position, village_outline
from geoservice.workflow.photos import problem_photos
from geoservice.workflow.store import read_problems
from tests.support.files import copy_workspace
from tests.support.workflow import workspace

FENGYANG = "441882101202"  # 丰阳村
SHAPING = "441882101203"  # 沙坪村
CADRE = Principal("u1", "张三", "village", village_code=FENGYANG, village_name="丰阳村")
TODAY = date(2026, 12, 6)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample villages and one imported problem, built once."""
    return workspace(tmp_path_factory.mktemp("template")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    copy_workspace(template, tmp_path / "ws.gpkg")
    return Workspace(tmp_path / "ws.gpkg")


def _lonlat(ws: Workspace, code: str = FENGYANG, dx: float = 0.0) -> tuple[float, float]:
    p = village_outline(ws, code)[1].representative_point()
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    return back.transform(p.x + dx, p.y)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="JPEG")
    return out.getvalue()


def _capture(ws: Workspace, tmp_path: Path, **kw):  # type: ignore[no-untyped-def]
    lon, lat = kw.pop("where", None) or _lonlat(ws)
    who = kw.pop("who", CADRE)
    values = {
        "category": "盗伐",
        "description": "山脚新伐树桩 5 个",
        "lon": lon,
        "lat": lat,
        "accuracy_m": 12,
        "evidence_folder": tmp_path / "evidence",
        "max_photo_bytes": 5_000_000,
        "today": TODAY,
        **kw,
    }
    return capture_problem(ws, who, **values)


def test_cadre_records_a_problem_in_their_village(ws: Workspace, tmp_path: Path) -> None:
    pid, created = _capture(ws, tmp_path)
    row = read_problems(ws).set_index("problem_id").loc[pid]
    assert (created, row["village_code"], row["status"]) == (True, FENGYANG, "assigned")


def test_deadline_defaults_to_thirty_days(ws: Workspace, tmp_path: Path) -> None:
    pid, _ = _capture(ws, tmp_path)
    row = read_problems(ws).set_index("problem_id").loc[pid]
    assert row["deadline"].date() == date(2027, 1, 5)


def test_accuracy_and_position_are_stored(ws: Workspace, tmp_path: Path) -> None:
    pid, _ = _capture(ws, tmp_path)
    [record] = captured(ws, "problem", pid)
    assert record["accuracy_m"] == 12.0
    assert (record["lon"], record["lat"]) == pytest.approx(_lonlat(ws))


def test_point_outside_the_village_names_it_and_the_distance(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(PermissionDeniedError, match=r"outside 丰阳村, [\d,]+ m from its boundary"):
        _capture(ws, tmp_path, where=_lonlat(ws, SHAPING))
    assert len(read_problems(ws)) == 1  # only the imported one


def test_point_just_over_the_boundary_is_accepted(ws: Workspace, tmp_path: Path) -> None:
    outline = village_outline(ws, FENGYANG)[1]
    edge = shapely.get_point(
        outline.exterior if outline.geom_type == "Polygon" else outline.geoms[0].exterior, 0
    )
    outside = shapely.Point(edge.x, edge.y).buffer(10).difference(outline).representative_point()
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    _pid, created = _capture(ws, tmp_path, where=back.transform(outside.x, outside.y))
    assert created


def test_department_may_not_record_a_problem(ws: Workspace, tmp_path: Path) -> None:
    officer = Principal("u3", "赵六", "department", department="police")
    with pytest.raises(PermissionDeniedError, match="cannot record a new problem"):
        _capture(ws, tmp_path, who=officer)


def test_poor_gps_fix_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="accurate to ±900 m"):
        _capture(ws, tmp_path, accuracy_m=900)


def test_missing_position_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="`lon` was ''"):
        position(ws, "", 24.8)


def test_replayed_submission_adds_nothing(ws: Workspace, tmp_path: Path) -> None:
    first, _ = _capture(ws, tmp_path, submission_id="phone-7")
    again, created = _capture(ws, tmp_path, submission_id="phone-7")
    assert (again, created) == (first, False)
    assert len(read_problems(ws)) == 2


def test_drawn_area_is_stored_in_square_metres(ws: Workspace, tmp_path: Path) -> None:
    centre = village_outline(ws, FENGYANG)[1].representative_point()
    square = shapely.box(centre.x, centre.y, centre.x + 50, centre.y + 40)
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    ring = [back.transform(x, y) for x, y in square.exterior.coords]
    area = json.dumps({"type": "Polygon", "coordinates": [ring]})
    pid, _ = _capture(ws, tmp_path, area=area)
    assert captured(ws, "problem", pid)[0]["area_m2"] == pytest.approx(2000, rel=1e-3)


def test_area_reaching_into_another_village_is_refused(ws: Workspace, tmp_path: Path) -> None:
    a, b = _lonlat(ws), _lonlat(ws, SHAPING)
    ring = [a, b, (b[0], a[1]), a]
    area = json.dumps({"type": "Polygon", "coordinates": [ring]})
    with pytest.raises(PermissionDeniedError, match="area drawn on the map is outside 丰阳村"):
        _capture(ws, tmp_path, area=area)


def test_area_that_is_not_a_polygon_is_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="not a polygon"):
        _capture(ws, tmp_path, area='{"type": "Point", "coordinates": [112.4, 24.8]}')


def test_photos_are_kept_with_the_new_problem(ws: Workspace, tmp_path: Path) -> None:
    pid, _ = _capture(ws, tmp_path, photos=[("a.jpg", _jpeg())])
    stored = problem_photos(tmp_path / "evidence", pid)
    assert len(stored) == 1
    assert captured(ws, "problem", pid)[0]["photos"] == stored


def test_refused_photo_stores_no_problem(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"notes\.txt"):
        _capture(ws, tmp_path, photos=[("notes.txt", b"not a photo")])
    assert len(read_problems(ws)) == 1
    assert not any((tmp_path / "evidence").glob("*/*"))


def test_position_outside_the_survey_zone_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="outside the area of the town's survey CRS"):
        position(ws, 31.0, 0.0)
