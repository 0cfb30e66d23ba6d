"""Vector tile sizes and times at zooms 8-16, on the sample town and a county sample.

Usage::

    python bench/tiles.py [--scale town|county|both] [--per-zoom 12] [--keep DIR]
        [--workspace town=PATH --workspace county=PATH]

Setup, not timed: the sample town's files (``sample_gis/``) or ``geoservice sample --scale
county`` imported and analysed with the command line (``import``, ``analyze``) into a
workspace, unless an analysed one is given with ``--workspace``.

For every tile layer and zoom the densest tiles are measured: features are counted per
tile from their representative points (vectorised), and the ``--per-zoom`` tiles holding
most are cut as the service cuts them (:func:`geoservice.tiles.serve.render_tile`, as the
office: the tile's box read from the GeoPackage, then clipped, simplified and encoded).
Prints a Markdown table per scale: tiles measured, features in the densest, the largest
tile in KB and the median and largest time per tile. Figures are recorded by hand in
``bench/README.md`` with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geoservice.base.access import Principal  # noqa: E402
from geoservice.base.workspace import Workspace  # noqa: E402
from geoservice.tiles.cut import MAX_TILE_BYTES, to_mercator  # noqa: E402
from geoservice.tiles.grid import TileAddress, tms  # noqa: E402
from geoservice.tiles.serve import render_tile  # noqa: E402
from geoservice.tiles.specs import TILE_LAYERS  # noqa: E402

ZOOMS = range(8, 17)
OFFICE = Principal("bench", "bench", "office")
AS_OF = "2026-11-28"
# (kind, file, extra import options), in the order the demo imports them.
IMPORTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("villages", "villages.shp", ()),
    ("parcels", "xiaoban.shp", ("--kind", "forest")),
    ("parcels", "wetlands.shp", ("--kind", "wetland")),
    ("complaints", "complaints.csv", ()),
    ("complaints", "complaints_wechat.csv", ("--crs", "GCJ-02", "--mode", "append")),
    ("patches", "patches.shp", ()),
    ("problems", "problems.xlsx", ()),
)


def _geoservice(*args: str) -> None:
    env = {**os.environ, "GEOSERVICE_USER": "bench"}
    cmd = [sys.executable, "-m", "geoservice", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed:\n{res.stderr}")


def analysed(scale: str, root: Path) -> Path:
    """An analysed workspace of ``scale`` in ``root`` (generated and imported)."""
    root.mkdir(parents=True, exist_ok=True)
    data = ROOT / "sample_gis" if scale == "town" else root / "data"
    if scale != "town":
        _geoservice("sample", "--scale", scale, "--seed", "1", "--out", str(data))
    ws = root / f"{scale}.gpkg"
    ws.unlink(missing_ok=True)
    for kind, name, options in IMPORTS:
        _geoservice("import", kind, str(data / name), "-w", str(ws), *options)
    _geoservice("analyze", "-w", str(ws), "--as-of", AS_OF)
    return ws


def densest(ws: Workspace, layer: str, z: int, n: int) -> tuple[list[TileAddress], int]:
    """The ``n`` tiles of zoom ``z`` holding most features' representative points, and
    how many the densest holds."""
    frame = ws.read(layer, columns=[])
    points = to_mercator(shapely.point_on_surface(frame.geometry.to_numpy()), str(frame.crs))
    xy = shapely.get_coordinates(points)
    if len(xy) == 0:
        return [], 0
    origin = tms().xy_bounds(0, 0, 0)
    size = (origin.right - origin.left) / 2**z
    cols = np.floor((xy[:, 0] - origin.left) / size).astype(np.int64)
    rows = np.floor((origin.top - xy[:, 1]) / size).astype(np.int64)
    cells, counts = np.unique(np.column_stack([cols, rows]), axis=0, return_counts=True)
    top = np.argsort(-counts, kind="stable")[:n]
    return [TileAddress(z, int(c), int(r)) for c, r in cells[top]], int(counts[top[0]])


def measure(ws: Workspace, per_zoom: int) -> list[str]:
    rows = [
        "| layer | zoom | tiles | features in densest | largest KB | median ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    worst = (0, "")
    for layer in TILE_LAYERS:
        if layer not in ws.layer_names():
            continue
        for z in ZOOMS:
            tiles, most = densest(ws, layer, z, per_zoom)
            sizes, times = [], []
            for tile in tiles:
                start = time.perf_counter()
                body = render_tile(ws, OFFICE, layer, tile)
                times.append((time.perf_counter() - start) * 1000)
                sizes.append(len(body))
                worst = max(worst, (len(body), f"{layer} {tile}"))
            if not tiles:
                continue
            rows.append(
                f"| {layer} | {z} | {len(tiles)} | {most:,} | {max(sizes) / 1000:.1f} "
                f"| {statistics.median(times):.0f} | {max(times):.0f} |"
            )
    rows.append(
        f"\nlargest tile: {worst[1]}, {worst[0] / 1000:.1f} KB (limit {MAX_TILE_BYTES / 1000:.0f} KB)"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="both", choices=["town", "county", "both"])
    parser.add_argument("--per-zoom", type=int, default=12, help="densest tiles per zoom")
    parser.add_argument("--keep", type=Path, help="write data and workspaces here")
    parser.add_argument(
        "--workspace", action="append", default=[], help="SCALE=PATH of an analysed workspace"
    )
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.workspace)
    root = args.keep or Path(tempfile.mkdtemp(prefix="geoservice-tiles-"))
    root.mkdir(parents=True, exist_ok=True)
    for scale in ("town", "county") if args.scale == "both" else (args.scale,):
        path = Path(given[scale]) if scale in given else analysed(scale, root / scale)
        ws = Workspace(path)
        counts = ", ".join(
            f"{name} {ws.count(name):,}" for name in TILE_LAYERS if name in ws.layer_names()
        )
        print(f"\n### {scale} ({counts}; cpus={os.cpu_count()})\n")
        print("\n".join(measure(ws, args.per_zoom)))


if __name__ == "__main__":
    main()
