"""Latency of ``POST /complaints`` through a real HTTP server, one client.

    python bench/intake_latency.py --scale town|county [--n 200] [--keep DIR] [--src DIR]
    python bench/intake_latency.py --scale county --keep DIR --profile 30

Setup, not timed: the sample town (``geoservice demo``), or a county sample generated and
imported as ``bench/import_scale.py`` does, then analysed (``geoservice analyze``); an
office token. With ``--keep DIR`` a workspace already there is reused.

Each run starts from a copy of the workspace: ``geoservice serve`` in a child process
(uvicorn, ``--workers``), timed until ``/health`` answers (``startup``: a worker warms its
complaint intake before it takes requests), then ``--n`` complaints posted one after the
other on one keep-alive connection, each at a point inside a different random parcel
(CGCS2000 lon/lat, fixed seed). Prints first, p50, p95, max and mean in milliseconds, the
load average before and after, the server's CPU time per complaint (user + system, all
its processes: less disturbed by other jobs than wall time), and exits 1 when a complaint is not accepted (201).

``--src DIR`` runs the server from another source tree (an export of an earlier commit) to
compare before and after on the same data. ``--profile N`` instead files N complaints in
this process through :class:`geoservice.intake.complaints.ComplaintIntake` under cProfile
and prints where the time went (the first complaint, then the warm ones).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_scale import STEPS, run  # noqa: E402  (a sibling script)

TEXTS = ("有人在山上砍树", "山脚有人挖土建房", "河边有人偷倒垃圾", "林子里有人烧山", "有人非法捕鸟")


def setup(scale: str, folder: Path) -> Path:
    """The analysed workspace of ``scale`` in ``folder`` (made when it is not there)."""
    folder.mkdir(parents=True, exist_ok=True)
    if scale == "town":
        ws = folder / "demo.gpkg"
        if not ws.exists():
            run(["demo", "--out", str(folder), "--json"])
        return ws
    ws = folder / "bench.gpkg"
    if ws.exists():
        return ws
    data = folder / "data"
    run(["sample", "--scale", scale, "--seed", "1", "--out", str(data)])
    for kind, name, options in STEPS:
        run(["import", kind, str(data / name), "-w", str(ws), "--json", *options])
    run(["analyze", "-w", str(ws)])
    return ws


def points(ws: Path, n: int, seed: int = 1) -> list[tuple[float, float]]:
    """lon/lat (CGCS2000) of a point inside each of ``n`` random parcels."""
    import pyogrio
    import pyproj
    import shapely

    parcels = pyogrio.read_dataframe(ws, layer="parcels", columns=[])
    pick = np.random.default_rng(seed).choice(len(parcels), size=n, replace=False)
    inside = shapely.point_on_surface(parcels.geometry.array[pick])
    to_geo = pyproj.Transformer.from_crs(parcels.crs, 4490, always_xy=True)
    lon, lat = to_geo.transform(shapely.get_x(inside), shapely.get_y(inside))
    return [(round(float(a), 7), round(float(b), 7)) for a, b in zip(lon, lat, strict=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(ws: Path, src: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GEOSERVICE_WORKSPACE": str(ws),
        "GEOSERVICE_USER": "bench",
        "PYTHONPATH": str(src),
    }


def office_token(ws: Path, src: Path) -> str:
    cmd = [sys.executable, "-m", "geoservice", "users", "add", "--role", "office"]
    out = subprocess.run(
        [*cmd, "--name", "林长办", "--json"],
        capture_output=True,
        text=True,
        env=_env(ws, src),
        cwd=src,
        check=True,
    )
    return str(json.loads(out.stdout)["token"])


def serve(
    ws: Path, src: Path, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str, float]:
    """``geoservice serve`` on a free port; the process, its URL and seconds to /health."""
    port = _free_port()
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "geoservice", "serve", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*cmd, "--workers", str(workers)],
            env=_env(ws, src),
            cwd=src,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - start < 300:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base, time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the service did not start; see {log}")


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants
    (Linux ``/proc``): less disturbed by other jobs on the machine than wall time."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family, total = {pid}, 0.0
    for _ in range(4):  # uvicorn: the command, its supervisor, the workers
        family |= {p for p, (ppid, _) in stats.items() if ppid in family}
    for p in family:
        total += stats.get(p, (0, 0.0))[1]
    return total


def post_all(base: str, token: str, where: list[tuple[float, float]]) -> list[float]:
    """Post one complaint per point; milliseconds each. Every complaint must get its own
    id (with several workers, each follows the others' complaints)."""
    times, ids = [], set()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for i, (lon, lat) in enumerate(where):
            body = {"text": TEXTS[i % len(TEXTS)], "lon": lon, "lat": lat}
            start = time.perf_counter()
            res = http.post("/complaints", json=body)
            times.append(1000 * (time.perf_counter() - start))
            if res.status_code != 201:
                raise SystemExit(f"complaint {i} got {res.status_code}: {res.text[:500]}")
            ids.add(res.json()["complaint_id"])
    if len(ids) != len(where):
        raise SystemExit(f"{len(where)} complaints filed but {len(ids)} distinct ids given")
    return times


def report(label: str, startup: float, times: list[float], cpu: float) -> str:
    """A table row: the first complaint, then p50/p95/max/mean of the others; server CPU
    ms per complaint over all of them."""
    warm = sorted(times[1:])
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    return (
        f"| {label} | {startup:.1f} | {times[0]:.0f} | {statistics.median(warm):.0f} "
        f"| {p95:.0f} | {max(warm):.0f} | {statistics.mean(warm):.0f} "
        f"| {1000 * cpu / len(times):.0f} | {len(times)} |"
    )


def profile(ws: Path, n: int, folder: Path) -> None:
    """File ``n`` complaints in this process under cProfile and print the top functions."""
    from geoservice.base.connection_pool import close_idle
    from geoservice.base.workspace import Workspace
    from geoservice.intake.complaints import ComplaintIntake

    close_idle(ws)  # set up in this process: its log folded back before the copy
    copy = Workspace(shutil.copy2(ws, folder / "profile.gpkg"))
    where = points(copy.path, n + 1)
    intake = ComplaintIntake(copy)
    for label, chunk in (("first", where[:1]), ("warm", where[1:])):
        prof = cProfile.Profile()
        start = time.perf_counter()
        for i, (lon, lat) in enumerate(chunk):
            prof.runcall(
                intake.submit, copy, text=TEXTS[i % len(TEXTS)], by="bench", lon=lon, lat=lat
            )
        ms = 1000 * (time.perf_counter() - start) / len(chunk)
        print(f"\n## {label}: {len(chunk)} complaint(s), {ms:.1f} ms each under cProfile")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="town", choices=["town", "county", "province"])
    parser.add_argument("--n", type=int, default=200, help="complaints to post")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder to make (or reuse) the workspace in")
    parser.add_argument("--src", type=Path, default=ROOT, help="source tree to serve from")
    parser.add_argument("--label", default=None, help="row label (default: the source tree)")
    parser.add_argument("--profile", type=int, default=0, help="profile N in-process instead")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="intake_latency_"))
    ws = setup(args.scale, folder)
    if args.profile:
        profile(ws, args.profile, folder)
        return 0
    work = folder / "run.gpkg"
    from geoservice.base.connection_pool import close_idle

    close_idle(ws)  # set up in this process: its log folded back before the copy
    shutil.copy2(ws, work)
    where = points(work, args.n)
    token = office_token(work, args.src.resolve())
    load = os.getloadavg()[0]
    proc, base, startup = serve(work, args.src.resolve(), args.workers, folder / "serve.log")
    try:
        before = server_cpu(proc.pid)
        times = post_all(base, token, where)
        cpu = server_cpu(proc.pid) - before
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    label = args.label or f"{args.scale}, {args.src.resolve().name}"
    print(f"scale={args.scale} n={args.n} workers={args.workers} cpus={os.cpu_count()}")
    print(f"load average before {load:.2f}, after {os.getloadavg()[0]:.2f}")
    print(
        "| run | startup s | first ms | p50 ms | p95 ms | max ms | mean ms "
        "| server CPU ms | complaints |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(report(label, startup, times, cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
