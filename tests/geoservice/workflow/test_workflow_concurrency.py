from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geoservice.workflow.store import history, read_problems, update_problem
from tests.support.workflow import workspace

# Updates raced from several processes.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ONE_SHOT = """
import sys, time, json
from pathlib import Path
from geoservice.base.errors import ConflictError
from geoservice.base.workspace import Workspace
from geoservice.workflow.store import update_problem
ws = Workspace(sys.argv[1]); go = Path(sys.argv[2])
while not go.exists(): time.sleep(0.01)
try:
    update_problem(ws, "P-1", "in_progress", sys.argv[3], expected_version=1)
    print("won")
except ConflictError as e:
    print("conflict")
"""
CYCLE = """
import sys, time
from pathlib import Path
from geoservice.base.errors import ConflictError
from geoservice.base.workspace import Workspace
from geoservice.workflow.store import read_problems, update_problem
NEXT = {"in_progress": "reported", "reported": "rejected", "rejected": "in_progress"}
ws = Workspace(sys.argv[1]); go = Path(sys.argv[2]); done = 0
while not go.exists(): time.sleep(0.01)
while done < 3:
    row = read_problems(ws).iloc[0]
    try:
        update_problem(ws, "P-1", NEXT[row["status"]], sys.argv[3], expected_version=int(row["version"]))
        done += 1
    except ConflictError:
        pass
"""
KILL = """
import sys, time
from pathlib import Path
import geoservice.workflow.store as store
from geoservice.base.workspace import Workspace
original = store.append_history
def stall(*args, **kwargs):
    original(*args, **kwargs)
    Path(sys.argv[2]).touch()
    time.sleep(60)
store.append_history = stall
store.update_problem(Workspace(sys.argv[1]), "P-1", "reported", "killed")
"""


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env
    )


def test_concurrent_updates_from_same_version_one_wins(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    go = tmp_path / "go"
    procs = [_spawn(ONE_SHOT, str(ws.path), str(go), f"w{i}") for i in range(5)]
    time.sleep(1.0)
    go.touch()
    results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert results == ["conflict"] * 4 + ["won"]
    h = history(ws, "P-1")
    assert h["to_state"].tolist() == ["assigned", "in_progress"]
    assert read_problems(ws).iloc[0]["version"] == 2


def test_concurrent_retrying_updates_lose_nothing(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{"整改状态": "整改中"}])
    go = tmp_path / "go"
    procs = [_spawn(CYCLE, str(ws.path), str(go), f"w{i}") for i in range(4)]
    time.sleep(1.0)
    go.touch()
    for p in procs:
        p.communicate(timeout=60)
        assert p.returncode == 0
    h = history(ws, "P-1")
    assert read_problems(ws).iloc[0]["version"] == 1 + 12
    assert h["version"].tolist() == list(range(1, 14))
    assert (h["from_state"].iloc[1:].to_numpy() == h["to_state"].iloc[:-1].to_numpy()).all()
    assert sorted(h["by"].iloc[1:].value_counts().tolist()) == [3, 3, 3, 3]


def test_process_killed_mid_update_leaves_workspace_intact(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    ready = tmp_path / "ready"
    proc = _spawn(KILL, str(ws.path), str(ready))
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    row = read_problems(ws).iloc[0]
    assert (row["status"], row["version"]) == ("assigned", 1)
    assert history(ws, "P-1")["to_state"].tolist() == ["assigned"]
    update_problem(ws, "P-1", "in_progress", "next", expected_version=1)
