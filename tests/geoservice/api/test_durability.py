"""A service killed with SIGKILL and started again has every update it acknowledged."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from geoservice.workflow.store import history, read_problems

from .conftest import VILLAGE

# A real server process killed with SIGKILL mid-write.
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GEOSERVICE_WORKSPACE": str(path), "GEOSERVICE_USER": "service"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "geoservice", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the service did not start: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def server(town, tmp_path):
    port = _free_port()
    log = tmp_path / "server.log"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[str, subprocess.Popen[bytes]]:
        procs.append(_serve(town.path, port, log))
        return f"http://127.0.0.1:{port}", procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_acknowledged_updates_survive_kill_9(town, server):
    base, proc = server()
    office = {"Authorization": f"Bearer {town.tokens['office']}"}
    village = {"Authorization": f"Bearer {town.tokens['village']}"}
    mine = read_problems(town.ws)
    open_ids = mine.loc[
        (mine["village_code"] == VILLAGE) & mine["status"].isin(["assigned", "rejected"]),
        "problem_id",
    ].tolist()
    assert open_ids
    acked: dict[str, int] = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        for pid in open_ids:
            for to in ("in_progress", "reported"):
                etag = http.get(f"/problems/{pid}", headers=village).headers["etag"]
                res = http.patch(
                    f"/problems/{pid}",
                    json={"status": to, "note": "整改"},
                    headers={**village, "If-Match": etag},
                )
                assert res.status_code == 200, res.text
                acked[pid] = res.json()["version"]
        filed = http.post(
            "/complaints",
            json={"text": "有人在山上砍树，拉走了好几车木头", "village": VILLAGE},
            headers=office,
        )
        assert filed.status_code == 201, filed.text
    # SIGKILL right after the last answer: no shutdown hook runs.
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    base, _ = server()
    with httpx.Client(base_url=base, timeout=30, headers=office) as http:
        for pid, version in acked.items():
            body = http.get(f"/problems/{pid}").json()
            assert (body["version"], body["status"]) == (version, "reported")
        complaint = http.get(f"/complaints/{filed.json()['complaint_id']}")
        assert complaint.status_code == 200
    assert len(history(town.ws, open_ids[0])) >= 3
    with contextlib.closing(sqlite3.connect(town.path)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
