"""Light map pages in headless Chromium: page size, bytes before first paint, paint time.

Usage::

    python bench/map_pages.py [--scale town|county|both] [--keep DIR] [--repeat 3]
        [--workspace town=PATH --workspace county=PATH] [--settle SECONDS]

Setup, not timed: the sample town's files (``sample_gis/``) or ``geoservice sample --scale
county --seed 1`` imported and analysed with the command line (the steps of
``bench/import_scale.py``, run by its :func:`run`), unless an analysed workspace is given
with ``--workspace`` (it is copied: an office user is added to the copy).

Then ``geoservice serve`` runs on the copy (one worker, a separate process) and, for each
served map (``/maps/targets``, ``/maps/villages``), a fresh Chromium context (cold cache,
network limited to the server) opens it signed in as the office. Measured per load:

- the page's size (HTML bytes, as sent);
- first paint (the first load after the server started, ``--settle`` seconds after it
  answered ``/health`` (default 0), and the median of the later loads, whose tiles the
  server keeps by ETag; every load has a cold browser cache): from navigation start until
  every vector tile layer on screen has loaded and drawn its tiles (the page's
  ``gsTiledMap`` grids, after the status object arrived);
- the first load's tile requests outside the first views each worker warms in the
  background (:mod:`geoservice.tiles.warm`): 0 when the warm-up foresaw the window;
- bytes transferred before it (encoded body plus headers of every response that
  finished by then: page, scripts, styles, status object, tiles) and the requests;
- the status object's size, and the server time of a cold and a warm page request.

Prints a Markdown table per scale (``--repeat`` loads; bytes and requests: median); figures are recorded by
hand in ``bench/README.md`` with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_scale import STEPS, run  # noqa: E402

from geoservice.base.access import add_user  # noqa: E402
from geoservice.base.connection_pool import close_idle  # noqa: E402
from geoservice.base.workspace import Workspace  # noqa: E402

AS_OF = "2026-11-28"
MAPS = ("/maps/targets", f"/maps/villages?as_of={AS_OF}")
PAINTED = """() => { const t = window.gsTiledMap;
  return !!t && t.grids.length > 0 && t.grids.every(g => !g._map
    || Object.values(g._tiles).every(tile => tile.loaded)); }"""


def analysed(scale: str, root: Path) -> Path:
    """An analysed workspace of ``scale`` in ``root`` (generated, imported, analysed)."""
    root.mkdir(parents=True, exist_ok=True)
    data = ROOT / "sample_gis" if scale == "town" else root / "data"
    if scale != "town":
        run(["sample", "--scale", scale, "--seed", "1", "--out", str(data)])
    ws = root / f"{scale}.gpkg"
    ws.unlink(missing_ok=True)
    for kind, name, options in STEPS:
        run(["import", kind, str(data / name), "-w", str(ws), *options])
    run(["analyze", "-w", str(ws), "--as-of", AS_OF])
    return ws


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``geoservice serve`` on ``path`` (one worker); its process and base URL."""
    port = _free_port()
    env = {**os.environ, "GEOSERVICE_USER": "bench"}
    cmd = [sys.executable, "-m", "geoservice", "serve", "-w", str(path), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/health", timeout=2).close()
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("geoservice serve did not start")


def _get(base: str, url: str, token: str) -> tuple[float, int]:
    """(seconds, bytes) of one GET as the office."""
    request = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as res:
        body = res.read()
    return time.perf_counter() - start, len(body)


def load(browser: object, base: str, url: str, token: str) -> dict[str, Any]:
    """One cold load of ``url``: paint seconds, bytes and requests before it."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    context.add_cookies([{"name": "geoservice_token", "value": token, "url": base}])
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    page = context.new_page()
    done: list[tuple[float, int]] = []

    def finished(request: object) -> None:
        sizes = request.sizes()  # type: ignore[attr-defined]
        at = time.perf_counter()
        done.append((at, int(sizes["responseBodySize"]) + int(sizes["responseHeadersSize"])))

    tiles: list[str] = []
    page.on("requestfinished", finished)
    page.on("request", lambda r: tiles.append(r.url) if "/tiles/" in r.url else None)
    start = time.perf_counter()
    page.goto(base + url, wait_until="commit")
    page.wait_for_function(PAINTED, timeout=600_000, polling=50)
    painted = time.perf_counter()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
    before = [size for at, size in done if at <= painted]
    context.close()
    paths = {u.split("/tiles/", 1)[1].removesuffix(".mvt") for u in tiles}
    return {
        "paint_s": painted - start,
        "bytes": sum(before),
        "requests": len(before),
        "tiles": paths,
    }


def warmed_tiles(path: Path) -> set[str]:
    """``layer/z/x/y`` of the tiles the service warms for the office's first views."""
    from geoservice.api.first_views import first_views
    from geoservice.tiles.warm import first_view_tiles

    out = set()
    for view in first_views(Workspace(path)):
        if view.principal.role != "office":
            continue
        for zoom, tiles in first_view_tiles(view.bounds).items():
            names = [n for n, low in view.layers.items() if zoom >= low]
            out |= {f"{n}/{t}" for n in names for t in tiles}
    return out


def measure(path: Path, repeat: int, settle: float = 0.0) -> list[str]:
    from playwright.sync_api import sync_playwright

    _, token = add_user(Workspace(path), name="bench office", role="office", by="bench")
    warmed = warmed_tiles(path)
    proc, base = serve(path)
    time.sleep(settle)
    rows = [
        "| map | page KB | status KB | page cold s | page warm s | first paint s, first load "
        "| first paint s, later loads | KB before paint | requests before paint "
        "| first load's tiles not warmed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or None,
                args=["--headless", "--no-sandbox", "--disable-gpu"],
            )
            for url in MAPS:
                cold, size = _get(base, url, token)
                warm, _ = _get(base, url, token)
                kind = "targets" if "targets" in url else "villages"
                _, status = _get(base, f"/maps/status.json?kind={kind}&as_of={AS_OF}", token)
                loads = [load(browser, base, url, token) for _ in range(repeat)]
                first = loads[0]["paint_s"]
                later = statistics.median(r["paint_s"] for r in loads[1:]) if repeat > 1 else first
                sent = statistics.median(r["bytes"] for r in loads)
                requests = statistics.median(r["requests"] for r in loads)
                rows.append(
                    f"| {url.split('?')[0]} | {size / 1000:.1f} | {status / 1000:.1f} "
                    f"| {cold:.2f} | {warm:.3f} | {first:.2f} | {later:.2f} | {sent / 1000:.0f} "
                    f"| {requests:.0f} | {len(loads[0]['tiles'] - warmed)} "
                    f"of {len(loads[0]['tiles'])} |"
                )
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="both", choices=["town", "county", "both"])
    parser.add_argument("--repeat", type=int, default=3, help="cold loads per map")
    parser.add_argument("--keep", type=Path, help="write data and workspaces here")
    parser.add_argument(
        "--settle", type=float, default=0.0, help="seconds between the start and the first load"
    )
    parser.add_argument(
        "--workspace", action="append", default=[], help="SCALE=PATH of an analysed workspace"
    )
    args = parser.parse_args()
    os.environ.setdefault("GEOSERVICE_USER", "bench")
    given = dict(item.split("=", 1) for item in args.workspace)
    root = args.keep or Path(tempfile.mkdtemp(prefix="geoservice-map-pages-"))
    root.mkdir(parents=True, exist_ok=True)
    for scale in ("town", "county") if args.scale == "both" else (args.scale,):
        source = Path(given[scale]) if scale in given else analysed(scale, root / scale)
        copy = root / f"{scale}-served.gpkg"
        close_idle(source)  # built in this process: its log folded back first
        shutil.copy2(source, copy)
        ws = Workspace(copy)
        counts = ", ".join(
            f"{n} {ws.count(n):,}"
            for n in ("parcels", "complaints", "targets")
            if n in ws.layer_names()
        )
        print(f"\n### {scale} ({counts}; cpus={os.cpu_count()})\n")
        print("\n".join(measure(copy, args.repeat, args.settle)))


if __name__ == "__main__":
    main()
