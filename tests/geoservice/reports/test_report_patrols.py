"""Patrol tracks in the Art. 9 report: per department officer and per village."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyproj
import pytest

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.reports.departments import department_report
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.patrols import record_patrol
from tests.support.files import copy_workspace
from tests.support.workflow import workspace

FENGYANG = "441882101202"  # 丰阳村, where the imported problem is
CADRE = Principal("u1", "张三", "village", village_code=FENGYANG, village_name="丰阳村")
OFFICER = Principal("u2", "李四", "department", department="police")
T0 = 1_791_165_600_000  # 2026-10-05T02:00:00Z in milliseconds


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return workspace(tmp_path_factory.mktemp("template")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    copy_workspace(template, tmp_path / "ws.gpkg")
    ws = Workspace(tmp_path / "ws.gpkg")
    p = village_outline(ws, FENGYANG)[1].representative_point()
    back = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    a, b = back.transform(p.x, p.y), back.transform(p.x + 200, p.y)
    for who in (CADRE, OFFICER, CADRE):
        record_patrol(ws, who, [[*a, T0, 5], [*b, T0 + 600_000, 5]])
    return ws


def test_department_table_counts_its_officers_patrols(ws: Workspace) -> None:
    report = department_report(ws, date(2026, 10, 1), date(2026, 10, 31))
    patrols = report.departments.set_index("department")["patrols"]
    assert (patrols["police"], patrols.drop("police").sum()) == (1, 0)


def test_village_table_counts_every_patrol_in_the_village(ws: Workspace) -> None:
    report = department_report(ws, date(2026, 10, 1), date(2026, 10, 31))
    row = report.villages.set_index("village_code").loc[FENGYANG]
    assert (row["patrols"], report.summary["patrols"]) == (3, 3)


def test_patrols_outside_the_period_are_not_counted(ws: Workspace) -> None:
    report = department_report(ws, date(2026, 11, 1), date(2026, 11, 30))
    assert report.summary["patrols"] == 0
    assert report.departments["patrols"].sum() == 0
