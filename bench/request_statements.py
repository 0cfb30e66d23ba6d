"""SQL statements a warm worker runs per field request, counted in this process.

    python bench/request_statements.py --workspace COUNTY.gpkg [--n 20]

Setup, not timed: a copy of the workspace (as ``service_load.py`` makes it), one office
token and one village token (the village with the most problems that can move), the
service in this process behind FastAPI's test client. Every SQLite connection the
process opens from then on counts its statements (``set_trace_callback``; the statements
of triggers are counted too). Then ``--n`` rounds of what a village client does: read a
problem (``GET /problems/{id}``), move it one step (``PATCH`` with ``If-Match``), and ask
for its village's map status (``GET /maps/status.json``). The first round is not counted
(warm-up), nor are the statements of the service's background threads (the tile
warmer, the pool's reaper). Prints the median and the range of statements per request
kind (``--show``: also the statements of the last status request).

Each statement lets the interpreter go to another thread; under load, getting it back
takes up to the switch interval (5 ms) while another thread computes, which is why the
count matters beside the CPU time. Run it from the source tree to measure
(``PYTHONPATH=OTHER_TREE`` measures another).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

MOVES = {"assigned": "in_progress", "in_progress": "reported", "rejected": "in_progress"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="an analysed workspace")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print the last round's statements")
    args = parser.parse_args()

    from service_load import tokens
    from service_load import workspace as copy_of

    seen: list[str] = []
    real = sqlite3.connect
    background = {"tile-warmer", "sqlite-pool-reaper"}  # not the requests' statements

    def keep(sql: str) -> None:
        if threading.current_thread().name not in background:
            seen.append(sql)

    def traced(*a, **k):  # type: ignore[no-untyped-def]
        con = real(*a, **k)
        con.set_trace_callback(keep)
        return con

    sqlite3.connect = traced  # type: ignore[assignment]

    from fastapi.testclient import TestClient

    from geoservice.api.app import create_app
    from geoservice.base.settings import Settings
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.store import read_problems

    with tempfile.TemporaryDirectory(prefix="request_statements_") as folder:
        path = copy_of(Path(folder), args.workspace)
        problems = read_problems(Workspace(path))
        movable = problems[
            problems["status"].isin([*MOVES, "reported"]) & problems["village_code"].notna()
        ]
        if movable.empty:
            print("no problem that can move: analyse the workspace and add problems first")
            return 1
        village = str(movable["village_code"].astype(str).value_counts().index[0])
        ids = movable.loc[movable["village_code"].astype(str) == village, "problem_id"].tolist()
        office_token, villages = tokens(path, [village])
        office = {"Authorization": f"Bearer {office_token['office']}"}
        headers = {"Authorization": f"Bearer {villages[village]}"}
        counts: dict[str, list[int]] = defaultdict(list)
        with TestClient(create_app(Settings(workspace=path))) as client:
            for n in range(args.n + 1):
                problem_id = ids[n % len(ids)]
                seen.clear()
                got = client.get(f"/problems/{problem_id}", headers=headers)
                counts["GET /problems/{id}"].append(len(seen))
                state, etag = got.json()["status"], got.headers["etag"]
                if state == "reported":  # the office's move, not counted
                    back = client.patch(
                        f"/problems/{problem_id}",
                        headers={**office, "If-Match": etag},
                        json={"status": "rejected"},
                    )
                    state, etag = back.json()["to_state"], back.headers["etag"]
                to = MOVES[state]
                seen.clear()
                changed = client.patch(
                    f"/problems/{problem_id}",
                    headers={**headers, "If-Match": etag},
                    json={"status": to},
                )
                counts["PATCH /problems/{id}"].append(len(seen))
                seen.clear()
                status = client.get("/maps/status.json?kind=villages", headers=headers)
                counts["GET /maps/status.json"].append(len(seen))
                if args.show and n == args.n:
                    print("\n".join(f"    {sql[:100]}" for sql in seen))
                if n == 0:
                    assert got.status_code == 200, got.text
                    assert changed.status_code == 200, changed.text
                if changed.status_code != 200:
                    raise SystemExit(f"PATCH {problem_id}: {changed.status_code} {changed.text}")
                    assert status.status_code == 200, status.text
                    counts.clear()
    print(f"statements per request, {args.n} rounds after one warm-up round")
    for kind, values in counts.items():
        print(f"{kind:24} median {statistics.median(values):5.1f}  "
              f"range {min(values)}-{max(values)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
