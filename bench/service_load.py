"""Load on one uvicorn: field clients updating problems and reading maps at once.

    python bench/service_load.py [--clients 50] [--rounds 8] [--keep DIR]

Setup, not timed: the sample town (``geoservice demo``) in a temporary folder, one office
token and one token per village, then ``geoservice serve`` in a child process.

Each client is a thread with its own HTTP connection, like a phone. Village clients work on
their own village's problems, in rounds: read the problem (``GET /problems/{id}``, which
gives the version as ``ETag``), then report progress or completion with ``PATCH`` and
``If-Match``; office clients reject reported problems back to rectification the same way,
so the same problems are fought over; every third round a client reads a map instead
(``GET /maps/villages``). Several clients share each village, so stale versions happen.

Checks, after the load:

- **no lost update**: for every problem, its final version is 1 + the number of
  acknowledged (200) updates, and the history holds exactly the acknowledged versions;
- **every 412 correct**: a 412 was only given when the version sent had already been
  superseded by an acknowledged update of another client;
- **durability**: the server is killed with SIGKILL and started again; every acknowledged
  update is there.

Prints p50/p95 latency per request kind and the check results; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VILLAGE_MOVES = {"assigned": "in_progress", "in_progress": "reported", "rejected": "in_progress"}


@dataclass
class Log:
    """What the clients saw; appended to from many threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acked: list[tuple[str, int, str]] = field(default_factory=list)  # problem, version, client
    stale: list[tuple[str, int, str]] = field(default_factory=list)  # problem, sent, client
    other: list[tuple[str, object, str]] = field(default_factory=list)

    def time(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latency[kind].append(seconds)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _geoservice(*args: str, env: dict[str, str]) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "geoservice", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if res.returncode != 0:
        raise SystemExit(f"geoservice {' '.join(args)} failed:\n{res.stderr}")
    return res.stdout


def setup(folder: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The sample town workspace, an office token and one token per village code."""
    env = {**os.environ, "GEOSERVICE_USER": "bench"}
    _geoservice("demo", "--out", str(folder), "--json", env=env)
    ws = folder / "demo.gpkg"
    env["GEOSERVICE_WORKSPACE"] = str(ws)
    office = json.loads(
        _geoservice("users", "add", "--role", "office", "--name", "办公室", "--json", env=env)
    )
    import pyogrio

    villages = pyogrio.read_dataframe(ws, layer="villages", read_geometry=False)
    tokens = {}
    for code in villages["village_code"]:
        user = json.loads(
            _geoservice(
                "users",
                "add",
                "--role",
                "village",
                "--village",
                str(code),
                "--name",
                f"村{code}",
                "--json",
                env=env,
            )
        )
        tokens[str(code)] = user["token"]
    return ws, {"office": office["token"]}, tokens


def start_server(ws: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GEOSERVICE_WORKSPACE": str(ws), "GEOSERVICE_USER": "service"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "geoservice",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 reaches every worker
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the service did not start; see {log}")


class _Failed:
    """A request that got no HTTP answer (connection reset, timeout)."""

    def __init__(self, error: Exception) -> None:
        self.status_code = f"no answer: {type(error).__name__}: {error}"


def _timed(log: Log, kind: str, call: object) -> httpx.Response:
    start = time.perf_counter()
    try:
        res: httpx.Response = call()  # type: ignore[operator]
    except httpx.HTTPError as exc:
        return _Failed(exc)  # type: ignore[return-value]
    log.time(kind, time.perf_counter() - start)
    return res


def client(
    name: str, base: str, token: str, problems: list[str], office: bool, rounds: int, log: Log
) -> None:
    rng = random.Random(name)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for i in range(rounds):
            if i % 3 == 2:
                res = _timed(log, "GET /maps/villages", lambda: http.get("/maps/villages"))
                if res.status_code != 200:
                    with log.lock:
                        log.other.append(("map", res.status_code, name))
                continue
            pid = rng.choice(problems)
            res = _timed(log, "GET /problems/{id}", lambda pid=pid: http.get(f"/problems/{pid}"))
            if res.status_code != 200:
                with log.lock:
                    log.other.append((pid, res.status_code, name))
                continue
            state = res.json()["status"]
            version = int(res.headers["etag"].strip('W/"'))
            to = (
                ("rejected" if state == "reported" else None)
                if office
                else VILLAGE_MOVES.get(state)
            )
            if to is None:
                continue
            body = {"status": to, "note": f"{name} 第{i}轮"}
            res = _timed(
                log,
                "PATCH /problems/{id}",
                lambda pid=pid, body=body, version=version: http.patch(
                    f"/problems/{pid}", json=body, headers={"If-Match": f'"{version}"'}
                ),
            )
            with log.lock:
                if res.status_code == 200:
                    log.acked.append((pid, int(res.json()["version"]), name))
                elif res.status_code == 412:
                    log.stale.append((pid, version, name))
                else:
                    log.other.append((pid, res.status_code, name))


def check(base: str, token: str, log: Log) -> list[str]:
    """Compare what the clients were told with what the service holds."""
    failures = []
    acked_by: dict[tuple[str, int], list[str]] = defaultdict(list)
    for pid, version, who in log.acked:
        acked_by[(pid, version)].append(who)
    for key, who in acked_by.items():
        if len(who) > 1:
            failures.append(f"version {key} acknowledged to {len(who)} clients: {who}")
    headers = {"Authorization": f"Bearer {token}"}
    touched = {pid for pid, _, _ in log.acked} | {pid for pid, _, _ in log.stale}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for pid in sorted(touched):
            data = http.get(f"/problems/{pid}").json()
            ours = sorted(v for p, v, _ in log.acked if p == pid)
            in_history = sorted(
                int(h["version"])
                for h in data["history"]
                if h["note"] and "第" in (h["note"] or "")
            )
            if ours != in_history:
                failures.append(f"{pid}: acknowledged versions {ours} but history has {in_history}")
            if ours and int(data["version"]) != max(ours):
                failures.append(f"{pid}: version {data['version']} but last ack {max(ours)}")
    for pid, sent, who in log.stale:
        winners = [w for w in acked_by.get((pid, sent + 1), []) if w != who]
        if not winners:
            failures.append(
                f"412 to {who} on {pid} v{sent}, but no other client's update made v{sent + 1}"
            )
    return failures


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--keep", type=Path, help="folder to keep the workspace and log in")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="service_load_"))
    folder.mkdir(parents=True, exist_ok=True)
    ws, office, villages = setup(folder)
    import pyogrio

    problems = pyogrio.read_dataframe(ws, layer="problems", read_geometry=False)
    open_ = problems[problems["status"] != "verified"]
    by_village = open_.groupby("village_code")["problem_id"].apply(list).to_dict()
    codes = sorted(by_village)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = folder / "server.log"
    proc = start_server(ws, port, server_log, args.workers)
    log = Log()
    jobs = []
    for i in range(args.clients):
        if i % 5 == 4:  # one client in five is the office, over every open problem
            jobs.append((f"office{i}", office["office"], list(open_["problem_id"]), True))
        else:
            code = codes[i % len(codes)]
            jobs.append((f"village{i}", villages[code], by_village[code], False))
    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            futures = [
                pool.submit(client, name, base, tok, pids, off, args.rounds, log)
                for name, tok, pids, off in jobs
            ]
            for fut in futures:
                fut.result()
        wall = time.perf_counter() - start
        failures = check(base, office["office"], log)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    proc = start_server(ws, port, server_log)
    try:
        after_restart = check(base, office["office"], log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    requests = sum(len(v) for v in log.latency.values())
    print(
        f"clients {args.clients}, rounds {args.rounds}, workers {args.workers}, "
        f"requests {requests}, wall {wall:.1f} s"
    )
    print(f"{'request':<24} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, values in sorted(log.latency.items()):
        p50, p95 = percentiles(values)
        print(f"{kind:<24} {len(values):>5} {p50 * 1000:>8.0f} {p95 * 1000:>8.0f}")
    print(
        f"acknowledged updates {len(log.acked)}, 412 {len(log.stale)}, other errors {len(log.other)}"
    )
    print(
        f"lost or duplicated updates: {len(failures)}; after kill -9 and restart: {len(after_restart)}"
    )
    for line in (failures + after_restart + [str(o) for o in log.other])[:20]:
        print("  ", line)
    return 1 if failures or after_restart or log.other else 0


if __name__ == "__main__":
    raise SystemExit(main())
