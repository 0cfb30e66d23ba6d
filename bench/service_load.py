"""Load on one uvicorn: field clients updating problems and reading maps at once.

    python bench/service_load.py [--clients 50] [--rounds 8] [--workers N] [--keep DIR]
    python bench/service_load.py --workspace COUNTY.gpkg --villages 16 --workers 2

Setup, not timed: the sample town (``geoservice demo``) in a temporary folder, or a copy of
an analysed workspace given with ``--workspace`` (e.g. a county sample imported as
``bench/import_scale.py`` does, then analysed); one office token and one token per village
the clients work in, then ``geoservice serve`` in a child process. ``--villages N`` keeps
the clients to the N villages with the most open problems (default: every village with one),
so that at county scale several clients still share each village.

Each client is a thread with its own HTTP connection, like a phone. Village clients work on
their own village's problems, in rounds: read the problem (``GET /problems/{id}``, which
gives the version as ``ETag``), then report progress or completion with ``PATCH`` and
``If-Match``; office clients reject reported problems back to rectification the same way,
so the same problems are fought over; every third round a client reads a map instead
(``GET /maps/villages``, then its status object ``GET /maps/status.json``, as the page
does). Several clients share each village, so stale versions happen.

Checks, after the load:

- **no lost update**: for every problem, its final version is 1 + the number of
  acknowledged (200) updates, and the history holds exactly the acknowledged versions;
- **every 412 correct**: a 412 was only given when the version sent had already been
  superseded by an acknowledged update of another client;
- **durability**: the server is killed with SIGKILL and started again; every acknowledged
  update is there;
- **an intact file**: SQLite's ``PRAGMA quick_check`` of the workspace after the kill and
  at the end;
- **every read audited**: each problem read answered 200 during the load has its
  ``problem.read`` row in the audit log, counted after the load and again after the kill;
- **no worker lost**: every server process that served the load is still there at its
  end (uvicorn replaces a worker that died or did not answer its health check for 5 s;
  the workers run with ``PYTHONFAULTHANDLER``, so a crash leaves its stacks in the log).

Before the load, the script waits until every worker has warmed up (its CPU time stops
growing), so that the clients' keep-alive connections spread over all workers; it prints
each server process's CPU time during the load. With ``--spy DIR``, ``py-spy record --gil``
samples every worker from the first request to the last (``pip install py-spy``; Linux needs
ptrace permission) and writes ``DIR/worker-PID.txt`` (py-spy's ``raw`` format: one stack
and its sample count per line), where the server's CPU goes under the load.

Prints p50/p95 latency per request kind, requests per second, the load average before and
after, and the check results; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
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
from typing import Any
from urllib.parse import urlsplit

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
    reads: int = 0  # problem reads answered 200 (each has an audit row)

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


def workspace(folder: Path, source: Path | None) -> Path:
    """The sample town made in ``folder``, or a copy of the workspace ``source`` there."""
    if source is None:
        env = {**os.environ, "GEOSERVICE_USER": "bench"}
        _geoservice("demo", "--out", str(folder), "--json", env=env)
        return folder / "demo.gpkg"
    ws = folder / "load.gpkg"
    # a log or index left by an earlier run in a kept folder belongs to another file:
    # SQLite would apply that log's pages to the new copy
    for side in ("", "-wal", "-shm", "-journal"):
        ws.with_name(ws.name + side).unlink(missing_ok=True)
    with (  # SQLite's copy: what the source's own log holds too
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(ws)) as dst,
    ):
        src.backup(dst)
    return ws


def tokens(ws: Path, codes: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """An office token and one token per village code in ``codes``."""
    env = {**os.environ, "GEOSERVICE_USER": "bench", "GEOSERVICE_WORKSPACE": str(ws)}
    office = json.loads(
        _geoservice("users", "add", "--role", "office", "--name", "办公室", "--json", env=env)
    )
    tokens = {}
    for code in codes:
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
    return {"office": office["token"]}, tokens


def start_server(ws: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GEOSERVICE_WORKSPACE": str(ws),
        "GEOSERVICE_USER": "service",
        "PYTHONFAULTHANDLER": "1",  # a worker that crashes leaves its stacks in the log
    }
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                _settle(proc.pid, workers, deadline)
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the service did not start; see {log}")


def _children(pid: int) -> list[int]:
    """Process ids of ``pid``'s children (Linux ``/proc``)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settle(pid: int, workers: int, deadline: float) -> None:
    """Wait until every worker has warmed up: ``/health`` answers as soon as one worker is
    ready, and 50 keep-alive connections opened then would all stay on that worker. A
    worker is taken as ready once its CPU time stops growing (warming reads the layers)."""
    last: dict[int, float] = {}
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        time.sleep(0.5)
        now = {c: cpu_seconds(c) for c in _children(pid)}
        busy = any(now[c] - last.get(c, 0.0) > 0.05 for c in now)
        quiet = 0 if busy or len(now) < workers else quiet + 1
        last = now


class _Failed:
    """A request that got no HTTP answer (connection reset, timeout)."""

    def __init__(self, error: Exception) -> None:
        self.status_code = f"no answer: {type(error).__name__}: {error}"


@dataclass
class Answer:
    """What a client got back: the status code, the headers (lower-case names), the body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Phone:
    """One client's keep-alive HTTP/1.1 connection, on the standard library's
    ``http.client``.

    The clients share the machine's two cores with the server, and the time a client
    spends on a response is counted in the latency it measures (50 threads of one
    process also wait for each other's turn to run Python). httpx took 1.1 ms of CPU per
    request here, ``http.client`` 0.4 ms (``/health``, one thread, 500 requests), so the
    load generator takes less of the server's CPU and adds less to what it measures. A
    connection that failed is opened again by the next request.
    """

    def __init__(self, base: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(base)
        self.headers = headers
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        sent = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            sent["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=sent)
            res = self.conn.getresponse()
            content = res.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request connects again
            raise
        return Answer(res.status, {k.lower(): v for k, v in res.getheaders()}, content)

    def close(self) -> None:
        self.conn.close()


def _timed(
    log: Log,
    kind: str,
    phone: Phone,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    start = time.perf_counter()
    try:
        res = phone.request(method, path, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        return _Failed(exc)  # type: ignore[return-value]
    log.time(kind, time.perf_counter() - start)
    return res


def client(
    name: str, base: str, token: str, problems: list[str], office: bool, rounds: int, log: Log
) -> None:
    rng = random.Random(name)
    phone = Phone(base, {"Authorization": f"Bearer {token}"}, timeout=120)
    with contextlib.closing(phone):
        for i in range(rounds):
            if i % 3 == 2:
                res = _timed(log, "GET /maps/villages", phone, "GET", "/maps/villages")
                if res.status_code != 200:
                    with log.lock:
                        log.other.append(("map", res.status_code, name))
                res = _timed(log, "GET /maps/status.json", phone, "GET", "/maps/status.json")
                if res.status_code != 200:
                    with log.lock:
                        log.other.append(("map status", res.status_code, name))
                continue
            pid = rng.choice(problems)
            res = _timed(log, "GET /problems/{id}", phone, "GET", f"/problems/{pid}")
            with log.lock:
                if res.status_code != 200:
                    log.other.append((pid, res.status_code, name))
                    continue
                log.reads += 1
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
            match = {"If-Match": f'"{version}"'}
            res = _timed(
                log, "PATCH /problems/{id}", phone, "PATCH", f"/problems/{pid}", body, match
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
    for key, names in acked_by.items():
        if len(names) > 1:
            failures.append(f"version {key} acknowledged to {len(names)} clients: {names}")
    headers = {"Authorization": f"Bearer {token}"}
    touched = {pid for pid, _, _ in log.acked} | {pid for pid, _, _ in log.stale}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for pid in sorted(touched):
            res = http.get(f"/problems/{pid}")
            if res.status_code != 200:
                failures.append(f"{pid}: reading it back gave HTTP {res.status_code}")
                continue
            data = res.json()
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


def integrity(ws: Path) -> str:
    """SQLite's ``PRAGMA quick_check`` of the workspace file, read only: "ok" or the
    first problems it names."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{ws}?mode=ro", uri=True)) as con:
        try:
            rows = con.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            return f"unreadable: {exc}"
    return "; ".join(str(r[0]) for r in rows)


def audit_reads(ws: Path, after: int, upto: int | None = None) -> tuple[int, int]:
    """The last ``audit_log`` id, and how many problem-read rows have ids above ``after``
    (and up to ``upto``), read only."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{ws}?mode=ro", uri=True)) as con:
        last = int(con.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0])
        top = last if upto is None else upto
        sql = "SELECT count(*) FROM audit_log WHERE action = 'problem.read' AND id > ? AND id <= ?"
        return last, int(con.execute(sql, (after, top)).fetchone()[0])


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _spies(folder: Path, pids: list[int]) -> list[subprocess.Popen[bytes]]:
    """One ``py-spy record`` per worker, sampling while the workers hold the GIL."""
    folder.mkdir(parents=True, exist_ok=True)
    beside = Path(sys.executable).with_name("py-spy")  # installed in this environment
    program = str(beside) if beside.is_file() else "py-spy"
    spies = []
    for pid in pids:
        out = folder / f"worker-{pid}.txt"
        command = [program, "record", "--gil", "--format", "raw", "-p", str(pid), "-o", str(out)]
        spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    time.sleep(1.0)  # py-spy attaches before the first request
    for spy in spies:
        if spy.poll() is not None:
            error = spy.stderr.read().decode(errors="replace") if spy.stderr else ""
            raise SystemExit(f"py-spy did not start: {error.strip()}")
    return spies


def _workers(pids: list[int]) -> list[int]:
    """The server processes of ``pids`` that serve requests (not multiprocessing's
    resource tracker, which uvicorn's supervisor also starts)."""
    serving = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            serving.append(pid)
    return serving


def _stop_spies(spies: list[subprocess.Popen[bytes]]) -> None:
    """Stop the samplers (SIGINT: py-spy writes what it sampled) and wait for them."""
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        spy.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--keep", type=Path, help="folder to keep the workspace and log in")
    parser.add_argument(
        "--workspace", type=Path, help="an analysed workspace to copy (default: the sample town)"
    )
    parser.add_argument(
        "--villages", type=int, help="only the N villages with the most open problems"
    )
    parser.add_argument(
        "--spy", type=Path, help="sample the workers with py-spy during the load, into DIR"
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="service_load_"))
    folder.mkdir(parents=True, exist_ok=True)
    ws = workspace(folder, args.workspace)
    import pyogrio

    problems = pyogrio.read_dataframe(ws, layer="problems", read_geometry=False)
    open_ = problems[problems["status"] != "verified"]
    by_village = open_.groupby("village_code")["problem_id"].apply(list).to_dict()
    codes = sorted(by_village)
    if args.villages:
        codes = sorted(sorted(codes, key=lambda c: (-len(by_village[c]), c))[: args.villages])
        open_ = open_[open_["village_code"].isin(codes)]
    office, villages = tokens(ws, [str(c) for c in codes])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = folder / "server.log"
    proc = start_server(ws, port, server_log, args.workers)
    worker_cpu = {c: cpu_seconds(c) for c in _children(proc.pid)}
    log = Log()
    jobs = []
    for i in range(args.clients):
        if i % 5 == 4:  # one client in five is the office, over every open problem
            jobs.append((f"office{i}", office["office"], list(open_["problem_id"]), True))
        else:
            code = codes[i % len(codes)]
            jobs.append((f"village{i}", villages[str(code)], by_village[code], False))
    load_before = _loadavg()
    audit_before, _ = audit_reads(ws, 0)
    serving = _workers(list(worker_cpu)) or [proc.pid]  # one worker: the server itself
    spies = _spies(args.spy, serving) if args.spy else []
    start = time.perf_counter()
    client_cpu = time.process_time()
    try:
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            futures = [
                pool.submit(client, name, base, tok, pids, off, args.rounds, log)
                for name, tok, pids, off in jobs
            ]
            for fut in futures:
                fut.result()
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        _stop_spies(spies)
        load_after = _loadavg()
        gone = sorted(set(worker_cpu) - set(_children(proc.pid)))
        worker_cpu = {c: cpu_seconds(c) - cpu for c, cpu in worker_cpu.items() if c not in gone}
        audit_after, audited = audit_reads(ws, audit_before)
        failures = check(base, office["office"], log)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    file_after_kill = integrity(ws)
    _, audited_after_kill = audit_reads(ws, audit_before, audit_after)
    proc = start_server(ws, port, server_log)
    try:
        after_restart = check(base, office["office"], log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    file_at_end = integrity(ws)
    requests = sum(len(v) for v in log.latency.values())
    print(
        f"workspace {args.workspace or 'sample town'}, villages {len(codes)}, "
        f"open problems {len(open_)}"
    )
    print(
        f"clients {args.clients}, rounds {args.rounds}, workers {args.workers}, "
        f"requests {requests}, wall {wall:.1f} s, {requests / wall:.1f} requests/s"
    )
    print(f"load average before {load_before}, after {load_after}")
    print(
        "server CPU s during the load, per process: "
        + ", ".join(f"{cpu:.1f}" for cpu in sorted(worker_cpu.values(), reverse=True))
        + f"; the clients' process: {client_cpu:.1f}"
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
    print(
        f"workspace file (PRAGMA quick_check) after kill -9: {file_after_kill}; at the end: {file_at_end}"
    )
    print(
        f"problem reads answered {log.reads}, with an audit row: {audited}; "
        f"after kill -9: {audited_after_kill}"
    )
    print(f"server processes gone during the load (died, or killed as hung): {len(gone)}")
    for line in (failures + after_restart + [str(o) for o in log.other])[:20]:
        print("  ", line)
    broken = file_after_kill != "ok" or file_at_end != "ok" or bool(gone)
    broken |= not log.reads == audited == audited_after_kill
    return 1 if failures or after_restart or log.other or broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
