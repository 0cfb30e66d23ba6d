"""Captions "taken N m from the problem, on date": distances measured in the workspace's
metric CRS from the problem point to the photo's EXIF GPS position."""

from __future__ import annotations

from pathlib import Path

import pyproj
import pytest

from geoservice.base.workspace import Workspace
from geoservice.workflow.photo_places import photo_notes
from geoservice.workflow.photos import save_photos
from tests.support.exif_photos import exif_photo, gps_block
from tests.support.workflow import workspace

# A point inside 丰阳村 of the sample villages (EPSG:4546 metres, and its lon/lat).
X, Y = 639457.26, 2749481.07
TO_LONLAT = pyproj.Transformer.from_crs("EPSG:4546", "EPSG:4326", always_xy=True)
LON, LAT = TO_LONLAT.transform(X, Y)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("places")
    return workspace(
        folder,
        [
            {"问题编号": "P-1", "经度": f"{LON:.7f}", "纬度": f"{LAT:.7f}"},
            {"问题编号": "P-2"},
        ],
    )


def _at(dx: float, dy: float, **kw: str) -> bytes:
    """A photo taken ``dx`` m east and ``dy`` m north of the problem."""
    lon, lat = TO_LONLAT.transform(X + dx, Y + dy)
    return exif_photo(gps=gps_block(lat, lon), **kw)


def _notes(ws: Workspace, folder: Path, data: bytes, lang: str = "zh", pid: str = "P-1"):  # type: ignore[no-untyped-def]
    name = save_photos(folder, pid, [("a.jpg", data)], max_bytes=10 * MB)[0]
    return photo_notes(ws, folder, "problem", pid, [name], lang)[name]  # type: ignore[arg-type]


@pytest.mark.parametrize(("dx", "dy"), [(0, 120), (120, 0), (-85, -85)])
def test_distance_is_metres_in_the_workspace_crs(ws, tmp_path, dx, dy):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(dx, dy, when="2026:11:20 10:31:05"))
    assert note.distance_m == pytest.approx((dx**2 + dy**2) ** 0.5, abs=0.5)


def test_the_chinese_caption_gives_time_and_distance(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(0, 12, when="2026:11:20 10:31:05", offset="+08:00"))
    assert note.text == "拍摄于 2026-11-20 10:31，距问题位置 12 米"
    assert note.far is False


def test_the_english_caption_gives_distance_and_date(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(0, 12, when="2026:11:20 10:31:05"), "en")
    assert note.text == "taken 12 m from the problem, on 2026-11-20 10:31"


def test_a_time_in_utc_is_shown_in_china_standard_time(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(0, 0, when="2026:11:20 02:31:05", offset="+00:00"))
    assert note.taken == "2026-11-20 10:31"


def test_a_photo_far_from_the_problem_is_flagged_in_kilometres(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(2400, 0, when="2026:11:20 10:31:05"))
    assert note.far is True
    assert (
        note.text == "拍摄于 2026-11-20 10:31，距问题位置 2.4 公里（距离较远，请核实是否现场拍摄）"
    )


def test_a_photo_without_gps_says_so(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, exif_photo(when="2026:11:20 10:31:05"))
    assert (note.distance_m, note.text) == (None, "拍摄于 2026-11-20 10:31，照片没有位置信息")


def test_a_zero_zero_fix_is_named_as_no_fix(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, exif_photo(gps=gps_block(0, 0)), "en")
    assert note.text == "no capture time; the photo's GPS had no fix (0, 0)"


def test_a_problem_without_a_location_cannot_be_measured_from(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, _at(0, 0, when="2026:11:20 10:31:05"), pid="P-2")
    assert note.text == "拍摄于 2026-11-20 10:31，问题没有位置，无法计算距离"


def test_photos_without_metadata_get_no_caption(ws, tmp_path):  # type: ignore[no-untyped-def]
    assert photo_notes(ws, tmp_path, "problem", "P-1", ["old.jpg"]) == {}


def test_no_photos_no_captions(ws, tmp_path):  # type: ignore[no-untyped-def]
    assert photo_notes(ws, tmp_path, "problem", "P-1", []) == {}


def test_a_photo_with_neither_time_nor_position_says_both_are_missing(ws, tmp_path):  # type: ignore[no-untyped-def]
    note = _notes(ws, tmp_path, exif_photo(), "en")
    assert note.text == "the photo has no capture time or position"
