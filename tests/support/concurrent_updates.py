"""One process of the concurrent-update test: threads that move problems at the version
they read, beside a GDAL reader, audit appends and village status reads of the same
workspace.

    python -m tests.support.concurrent_updates WORKSPACE NAME SECONDS

Prints the acknowledged updates as JSON: ``[[problem_id, version], ...]``.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from datetime import date
from pathlib import Path

from geoservice.base.errors import ConflictError
from geoservice.base.workspace import Workspace
from geoservice.workflow.states import TRANSITIONS
from geoservice.workflow.store import update_problem
from geoservice.workflow.village_updates import kept_view

PROBLEMS = ("P-1", "P-2", "P-3")
UPDATERS = 6


def main(path: Path, name: str, seconds: float) -> list[tuple[str, int]]:
    ws = Workspace(path)
    stop = time.monotonic() + seconds
    acks: list[tuple[str, int]] = []
    lock = threading.Lock()

    def current(problem_id: str) -> tuple[str, int]:
        with ws.read_connection() as con:
            sql = "SELECT status, version FROM problems WHERE problem_id = ?"
            status, version = con.execute(sql, (problem_id,)).fetchone()
        return str(status), int(version)

    def updater(i: int) -> None:
        rng = random.Random(f"{name}-{i}")
        while time.monotonic() < stop:
            problem_id = rng.choice(PROBLEMS)
            status, version = current(problem_id)
            moves = [s for s in TRANSITIONS.get(status, []) if s not in ("verified", "closed")]
            if not moves:
                continue
            try:
                change = update_problem(
                    ws, problem_id, rng.choice(moves), name, note=name, expected_version=version
                )
            except ConflictError:
                continue  # another thread or process moved it first
            with lock:
                acks.append((problem_id, int(change["version"])))

    def gdal_reader() -> None:
        while time.monotonic() < stop:
            ws.read("villages", read_geometry=False)
            time.sleep(0.005)

    def auditor() -> None:
        while time.monotonic() < stop:
            ws.log(name, "read", "problems", {})

    def status_reader() -> None:
        while time.monotonic() < stop:
            kept_view(ws, date.today())

    threads = [threading.Thread(target=updater, args=(i,)) for i in range(UPDATERS)]
    threads += [threading.Thread(target=f) for f in (gdal_reader, auditor, status_reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acks


if __name__ == "__main__":
    found = main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
    print(json.dumps(found))
