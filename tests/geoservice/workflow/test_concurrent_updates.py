"""Two processes updating the same problems, with GDAL reads, audit rows and village
status reads beside the updates, lose no acknowledged update."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from geoservice.base.connection_pool import close_idle
from geoservice.workflow.store import update_problem
from tests.support.concurrent_updates import PROBLEMS
from tests.support.workflow import workspace

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_no_acknowledged_update_is_lost_between_two_busy_processes(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{"问题编号": p} for p in PROBLEMS])
    for problem_id in PROBLEMS:
        update_problem(ws, problem_id, "in_progress", "t")
    close_idle(ws.path)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.concurrent_updates", str(ws.path), name, "6"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2")
    ]
    acked: Counter[tuple[str, int]] = Counter()
    for run in runs:
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        acked.update((str(p), int(v)) for p, v in json.loads(out.strip().splitlines()[-1]))
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        rows = con.execute(
            "SELECT problem_id, version FROM problem_history WHERE note IN ('w1', 'w2')"
        ).fetchall()
    history = Counter((str(p), int(v)) for p, v in rows)
    assert sum(acked.values()) > 50  # the processes did update, and fought over versions
    assert acked == history
    assert max(acked.values()) == 1  # no version acknowledged twice
