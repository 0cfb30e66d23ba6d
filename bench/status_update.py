"""CPU time of the map status object after a problem changes, in this process.

    python bench/status_update.py --workspace COUNTY.gpkg [--n 40] [--role office|village]

Setup, not timed: a copy of the workspace in a temporary folder (as ``service_load.py``
makes it: SQLite's backup). Then, ``--n`` times: one problem that can move
(a random one of those in a village of the layer, fixed seed) is moved one step
(``in_progress`` → ``reported`` → ``rejected`` → ``in_progress``) with
:func:`~geoservice.workflow.store.update_problem`, the caller's status object having been
asked for just before (as a page open on it does), and the status object of the villages
map is asked for (:func:`~geoservice.webmaps.status.map_status`) as the office, or as the
village of the changed problem with ``--role village``; only that request is timed, in
CPU time of this thread (``time.thread_time``: less disturbed by other jobs than wall
time). Prints the median, the quartiles and the mean in milliseconds, and how the kept
village status was brought up to date (``village_updates.COUNTS``).

Run it from the source tree to measure (``PYTHONPATH=OTHER_TREE`` measures another).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

NEXT = {"assigned": "in_progress", "in_progress": "reported", "reported": "rejected",
        "rejected": "in_progress"}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="an analysed workspace")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--role", choices=["office", "village"], default="office")
    args = parser.parse_args()

    from service_load import workspace as copy_of  # the bench's copy: SQLite's backup

    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace
    from geoservice.webmaps.status import map_status
    from geoservice.workflow import village_updates
    from geoservice.workflow.store import read_problems, update_problem

    with tempfile.TemporaryDirectory(prefix="status_update_") as folder:
        ws = Workspace(copy_of(Path(folder), args.workspace))
        day = date.today()
        office = Principal("bench-office", "bench", "office")
        problems = read_problems(ws)
        movable = problems[problems["status"].isin(list(NEXT)) & problems["village_code"].notna()]
        if movable.empty:
            print("no problem that can move: analyse the workspace and add problems first")
            return 1
        state = dict(
            zip(movable["problem_id"].astype(str), movable["status"].astype(str), strict=True)
        )
        village = dict(
            zip(movable["problem_id"].astype(str), movable["village_code"].astype(str), strict=True)
        )
        picks = random.Random(1).choices(sorted(state), k=args.n)
        times = []
        for problem_id in picks:
            caller = office
            if args.role == "village":
                caller = Principal("bench-village", "bench", "village",
                                   village_code=village[problem_id])  # fmt: skip
            map_status(ws, caller, "villages", day, "zh")  # kept before the change
            to = NEXT[state[problem_id]]
            update_problem(ws, problem_id, to, "office:bench")
            state[problem_id] = to
            started = time.thread_time()
            map_status(ws, caller, "villages", day, "zh")
            times.append((time.thread_time() - started) * 1000)
        quartiles = statistics.quantiles(times, n=4)
        print(f"{args.role} status.json after a change of one problem, {args.n} changes")
        print(f"median {statistics.median(times):.2f} ms, quartiles {quartiles[0]:.2f} / "
              f"{quartiles[2]:.2f} ms, mean {statistics.fmean(times):.2f} ms")  # fmt: skip
        print("kept village status:", dict(village_updates.COUNTS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
