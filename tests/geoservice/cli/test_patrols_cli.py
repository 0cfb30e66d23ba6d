"""``geoservice patrols list``: each patrol, or counts per village and month."""

from __future__ import annotations

import json
from pathlib import Path

import pyproj
import pytest
from typer.testing import CliRunner

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.cli.app import app
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.patrols import record_patrol
from tests.support.files import copy_workspace
from tests.support.workflow import workspace

FENGYANG = "441882101202"
CADRE = Principal("u1", "张三", "village", village_code=FENGYANG, village_name="丰阳村")
T0 = 1_764_986_400_000  # 2025-12-06T02:00:00Z in milliseconds


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample villages with one patrol of 1.5 km and an hour in 丰阳村, built once."""
    ws = workspace(tmp_path_factory.mktemp("template"))
    p = village_outline(ws, FENGYANG)[1].representative_point()
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    a, b = back.transform(p.x, p.y), back.transform(p.x + 1500, p.y)
    record_patrol(ws, CADRE, [[*a, T0, 5], [*b, T0 + 3_600_000, 5]])
    return ws.path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    copy_workspace(template, tmp_path / "ws.gpkg")
    return Workspace(tmp_path / "ws.gpkg")


def _run(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["patrols", "list", "--workspace", str(ws.path), *args])


def test_list_gives_each_patrol_as_json(ws: Workspace) -> None:
    res = _run(ws, "--json")
    [patrol] = json.loads(res.stdout)["patrols"]
    assert (patrol["village_code"], patrol["length_m"], patrol["duration_s"]) == (
        FENGYANG,
        1500.0,
        3600.0,
    )


def test_by_month_counts_per_village(ws: Workspace) -> None:
    res = _run(ws, "--by-month", "--json")
    [row] = json.loads(res.stdout)["months"]
    assert (row["month"], row["patrols"], row["length_km"], row["hours"]) == (
        "2025-12",
        1,
        1.5,
        1.0,
    )


def test_table_names_the_village(ws: Workspace) -> None:
    assert "丰阳村" in _run(ws).stdout


def test_other_month_lists_nothing(ws: Workspace) -> None:
    assert json.loads(_run(ws, "--month", "2026-01", "--json").stdout)["patrols"] == []


def test_malformed_month_is_refused(ws: Workspace) -> None:
    res = _run(ws, "--by-month", "--month", "12-2025")
    assert res.exit_code == 2
    assert "YYYY-MM" in res.output


def test_villages_status_shows_the_months_patrols(ws: Workspace) -> None:
    res = CliRunner().invoke(
        app, ["villages", "status", "--as-of", "2025-12-31", "--json", "--workspace", str(ws.path)]
    )
    counts = {v["village_code"]: v["patrols"] for v in json.loads(res.stdout)["villages"]}
    assert counts[FENGYANG] == 1
