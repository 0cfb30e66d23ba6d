"""Builders shared by the workflow tests: a tiny workspace with villages and problems."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pandas as pd

from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.states import TRANSITIONS
from geoservice.workflow.store import read_problems, update_problem

SAMPLE = Path(__file__).resolve().parents[2] / "sample_gis"


def problems_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    base = {
        "问题编号": "P-1",
        "村名": "丰阳村",
        "问题类别": "盗伐滥伐林木",
        "问题描述": "伐桩",
        "发现日期": "2026-10-01",
        "整改期限": "2026-11-30",
        "整改状态": "未整改",
    }
    pd.DataFrame([{**base, **r} for r in rows]).to_csv(path, index=False, encoding="utf-8")
    return path


def workspace(tmp_path: Path, rows: list[dict[str, str]] | None = None) -> Workspace:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    csv = problems_csv(tmp_path / "problems.csv", rows or [{}])
    import_file(ws, csv, "problems", actor="t")
    return ws


def movable_problems(ws: Workspace) -> pd.DataFrame:
    """The problems of ``ws`` whose state has a next state."""
    probs = read_problems(ws)
    return probs[probs["status"].map(lambda s: bool(TRANSITIONS.get(str(s))))]


def move_problem(ws: Workspace, movable: pd.DataFrame, rng: random.Random) -> None:
    """Move a random row of ``movable`` to a random next state, at its version."""
    row = movable.iloc[rng.randrange(len(movable))]
    to = rng.choice(TRANSITIONS[str(row["status"])])
    update_problem(ws, str(row["problem_id"]), to, "t", expected_version=int(row["version"]))


def update_in_another_process(path: Path, problem_id: str, to: str, by: str) -> None:
    """Move a problem to ``to`` from a separate Python process (another worker's update)."""
    script = (
        "from pathlib import Path\n"
        "from geoservice.base.workspace import Workspace\n"
        "from geoservice.workflow.store import update_problem\n"
        f"update_problem(Workspace(Path({str(path)!r})), {problem_id!r}, {to!r}, {by!r})\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script], check=True, cwd=root)
