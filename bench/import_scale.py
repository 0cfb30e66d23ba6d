"""Measure sample generation and import at a given scale: wall time and peak memory.

Usage::

    python bench/import_scale.py --scale county --seed 1 [--keep DIR]

Each step runs in its own process (``python -m geoservice ...``) so that its peak resident
memory is its own (read from ``wait4``). Prints a Markdown table; figures are recorded by
hand in ``bench/README.md`` with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (kind, file, extra import options), in the order the demo imports them.
STEPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("villages", "villages.shp", ()),
    ("parcels", "xiaoban.shp", ("--kind", "forest")),
    ("parcels", "wetlands.shp", ("--kind", "wetland")),
    ("complaints", "complaints.csv", ()),
    ("complaints", "complaints_wechat.csv", ("--crs", "GCJ-02", "--mode", "append")),
    ("patches", "patches.shp", ()),
    ("problems", "problems.xlsx", ()),
)


def run(args: list[str]) -> tuple[float, float, str]:
    """Run ``python -m geoservice ARGS``; return (seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "geoservice", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = "", ""
    assert proc.stdout is not None and proc.stderr is not None
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"geoservice {' '.join(args)} failed:\n{stderr}")
    return seconds, usage.ru_maxrss / 1024.0, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="county", choices=["town", "county", "province"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write data and workspace here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="geoservice-bench-"))
    data, ws = root / "data", root / "bench.gpkg"
    ws.unlink(missing_ok=True)
    rows = [
        "| step | rows imported | village by code / name / location / none | seconds | peak RSS (MiB) |",
        "|---|---:|---|---:|---:|",
    ]
    seconds, rss, _ = run(
        ["sample", "--scale", args.scale, "--seed", str(args.seed), "--out", str(data)]
    )
    rows.append(f"| generate {args.scale} sample | - | - | {seconds:.1f} | {rss:.0f} |")
    total = 0.0
    for kind, name, options in STEPS:
        cmd = ["import", kind, str(data / name), "-w", str(ws), "--json", *options]
        seconds, rss, out = run(cmd)
        total += seconds
        answer = json.loads(out)
        report = answer.get("report") or answer["problems_import"]
        imported = report.get("rows_imported", report["rows_read"] - report["rows_rejected"])
        rows.append(
            f"| import {name} | {imported:,} | {_by(report.get('villages'))} "
            f"| {seconds:.1f} | {rss:.0f} |"
        )
    rows.append(f"| all imports | - | - | {total:.1f} | - |")
    size = ws.stat().st_size / 1024**2
    print(f"scale={args.scale} seed={args.seed} cpus={os.cpu_count()} workspace={size:.0f} MiB")
    print("\n".join(rows))
    _, _, out = run(["layers", "-w", str(ws), "--json"])
    print("\n| layer | by code | by name | by location | none |\n|---|---:|---:|---:|---:|")
    for layer, counts in json.loads(out)["village_coverage"].items():
        print(f"| {layer} | " + " | ".join(f"{counts[k]:,}" for k in _WAYS) + " |")


_WAYS = ("code", "name", "location", "none")


def _by(villages: dict | None) -> str:
    """``code / name / location / none`` counts of one import's village attribution."""
    if not villages:
        return "-"
    return " / ".join(f"{villages['by'][k]:,}" for k in _WAYS)


if __name__ == "__main__":
    main()
