"""A field capture is stored whole or not at all: the problem or target action, its capture
row, its photos and its audit rows, however a submission fails or is replayed."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pyproj
import pytest
from PIL import Image

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.workflow import capture
from geoservice.workflow.capture import capture_problem, captured, observe_target
from geoservice.workflow.capture_photos import STAGE_PREFIX
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.photos import problem_photos
from geoservice.workflow.store import read_problems
from geoservice.workflow.target_actions import photo_folder, target_rows
from geoservice.workflow.target_store import target_actions
from tests.support.files import copy_workspace
from tests.support.workflow import workspace

FENGYANG = "441882101202"  # 丰阳村
CADRE = Principal("u1", "张三", "village", village_code=FENGYANG, village_name="丰阳村")
OFFICE = Principal("u2", "林长办", "office")
TODAY = date(2026, 12, 6)


class DiskGone(RuntimeError):
    """The failure injected between the record and its capture row."""


def _fail_capture_row(*_args: Any) -> None:
    raise DiskGone("disk gone while writing the capture row")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="JPEG")
    return out.getvalue()


def _degrees(ws: Workspace, x: float, y: float) -> tuple[float, float]:
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    lon, lat = back.transform(x, y)
    return float(lon), float(lat)


def _audit(ws: Workspace, action: str) -> int:
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        return int(
            con.execute("SELECT count(*) FROM audit_log WHERE action = ?", (action,)).fetchone()[0]
        )


def _staged(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{STAGE_PREFIX}*")) if folder.is_dir() else []


# --- a village cadre's new problem ---------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workspace(tmp_path_factory.mktemp("atomic")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    copy_workspace(template, tmp_path / "ws.gpkg")
    return Workspace(tmp_path / "ws.gpkg")


def _problem(ws: Workspace, evidence: Path, submission_id: str | None) -> tuple[str, bool]:
    p = village_outline(ws, FENGYANG)[1].representative_point()
    lon, lat = _degrees(ws, p.x, p.y)
    return capture_problem(
        ws,
        CADRE,
        category="盗伐",
        description="山脚新伐树桩 5 个",
        lon=lon,
        lat=lat,
        accuracy_m=8,
        photos=[("stump.jpg", _jpeg())],
        evidence_folder=evidence,
        max_photo_bytes=5_000_000,
        submission_id=submission_id,
        today=TODAY,
    )


def test_failure_before_the_capture_row_leaves_no_problem(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(read_problems(ws)), _audit(ws, "problem.add")
    monkeypatch.setattr(capture, "_insert", _fail_capture_row)
    with pytest.raises(DiskGone, match="capture row"):
        _problem(ws, tmp_path / "evidence", "phone-1")
    assert (len(read_problems(ws)), _audit(ws, "problem.add")) == before
    assert capture.submitted(ws, "phone-1") is None


def test_failed_problem_capture_removes_its_photos(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "_insert", _fail_capture_row)
    with pytest.raises(DiskGone, match="capture row"):
        _problem(ws, tmp_path / "evidence", "phone-1")
    assert not [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]


def test_replay_after_a_failure_stores_the_problem_once(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(read_problems(ws)), _audit(ws, "problem.add")
    with monkeypatch.context() as m:
        m.setattr(capture, "_insert", _fail_capture_row)
        with pytest.raises(DiskGone, match="capture row"):
            _problem(ws, tmp_path / "evidence", "phone-2")
    pid, created = _problem(ws, tmp_path / "evidence", "phone-2")
    again = _problem(ws, tmp_path / "evidence", "phone-2")
    assert created and again == (pid, False)
    assert (len(read_problems(ws)), _audit(ws, "problem.add")) == (before[0] + 1, before[1] + 1)
    assert [r["submission_id"] for r in captured(ws, "problem", pid)] == ["phone-2"]
    assert _audit(ws, "capture.problem") == 1


def test_successful_replay_returns_the_first_problem(ws: Workspace, tmp_path: Path) -> None:
    first = _problem(ws, tmp_path / "evidence", "phone-3")
    again = _problem(ws, tmp_path / "evidence", "phone-3")
    assert again == (first[0], False)
    assert len(problem_photos(tmp_path / "evidence", first[0])) == 1
    assert _staged(tmp_path / "evidence") == []


def test_replay_that_arrives_while_the_first_is_stored_adds_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, _ = _problem(ws, tmp_path / "evidence", "phone-4")
    count = len(read_problems(ws))
    # The replay read the queue before the first was committed: it finds it under the lock.
    monkeypatch.setattr(capture, "submitted", lambda *_a: None)
    assert _problem(ws, tmp_path / "evidence", "phone-4") == (pid, False)
    assert len(read_problems(ws)) == count
    assert len(problem_photos(tmp_path / "evidence", pid)) == 1
    assert _staged(tmp_path / "evidence") == []


def test_replay_moves_photos_left_staged_by_a_stop_after_the_commit(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setattr(capture, "place", lambda *_a: None)  # the process stops after COMMIT
        pid, _ = _problem(ws, tmp_path / "evidence", "phone-5")
    assert problem_photos(tmp_path / "evidence", pid) == []
    assert _problem(ws, tmp_path / "evidence", "phone-5") == (pid, False)
    assert problem_photos(tmp_path / "evidence", pid) == captured(ws, "problem", pid)[0]["photos"]
    assert _staged(tmp_path / "evidence") == []


def test_submission_id_with_path_parts_names_a_safe_stage(ws: Workspace, tmp_path: Path) -> None:
    pid, _ = _problem(ws, tmp_path / "evidence", "../../outside/phone")
    assert len(problem_photos(tmp_path / "evidence", pid)) == 1
    assert not (tmp_path / "outside").exists()


# --- a department officer's observation at a target (the analysed sample town) ---------


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.builders import run_demo

    return run_demo(tmp_path_factory.mktemp("atomic-town"))


@pytest.fixture
def town(analysed: Path, tmp_path: Path) -> Workspace:
    copy_workspace(analysed, tmp_path / "town.gpkg")
    return Workspace(tmp_path / "town.gpkg")


def _observe(ws: Workspace, evidence: Path, submission_id: str) -> tuple[str, bool]:
    target = str(target_rows(ws)["target_id"].iloc[0])
    frame = ws.read("targets", columns=["target_id"])
    p = frame[frame["target_id"] == target].geometry.iloc[0].representative_point()
    lon, lat = _degrees(ws, p.x, p.y)
    created = observe_target(
        ws,
        OFFICE,
        target,
        note="现场有新伐树桩，未见人员",
        lon=lon,
        lat=lat,
        accuracy_m=6,
        photos=[("site.jpg", _jpeg())],
        evidence_folder=evidence,
        max_photo_bytes=5_000_000,
        submission_id=submission_id,
        today=TODAY,
    )
    return target, created


@pytest.mark.slow
def test_failure_before_the_capture_row_leaves_no_target_action(
    town: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "_insert", _fail_capture_row)
    with pytest.raises(DiskGone, match="capture row"):
        _observe(town, tmp_path / "evidence", "obs-1")
    target = str(target_rows(town)["target_id"].iloc[0])
    assert len(target_actions(town, target)) == 0
    assert captured(town, "target", target) == []
    assert not [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]


@pytest.mark.slow
def test_replay_after_a_failure_stores_the_observation_once(
    town: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setattr(capture, "_insert", _fail_capture_row)
        with pytest.raises(DiskGone, match="capture row"):
            _observe(town, tmp_path / "evidence", "obs-2")
    target, created = _observe(town, tmp_path / "evidence", "obs-2")
    assert created
    assert _observe(town, tmp_path / "evidence", "obs-2") == (target, False)
    actions = target_actions(town, target)
    assert len(actions) == 1 and len(captured(town, "target", target)) == 1
    assert actions["photos"].iloc[0] == captured(town, "target", target)[0]["photos"]
    folder = photo_folder(tmp_path / "evidence")
    assert all((folder / target / n).is_file() for n in actions["photos"].iloc[0])
    assert _staged(folder) == []
    assert _audit(town, "target.action") == _audit(town, "capture.target") == 1
