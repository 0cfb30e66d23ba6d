"""Parcel tiles per second at zooms 12-16: the service's tile code beside PostGIS ``ST_AsMVT``.

Usage::

    python bench/tiles_postgis.py --workspace PATH [--zooms 12-16] [--per-zoom 12]
        [--rounds 3] [--keep-cluster]

``PATH`` is an analysed workspace (e.g. ``geoservice sample --scale county --seed 1``
imported and analysed, as ``bench/tiles.py`` builds it); it is copied first and never
written to. Needs PostgreSQL 15 with PostGIS 3 (Debian: ``apt-get install
postgresql-15-postgis-3``), ``ogr2ogr`` (``gdal-bin``) and ``psycopg`` (a dependency of
the project: ``geoservice workspace copy`` writes to PostGIS). The cluster is turned on
for this comparison only.

Setup, not timed:

1. a throwaway cluster in a temporary folder (``initdb``, ``pg_ctl``; run as the
   ``postgres`` user when this runs as root), listening on a Unix socket in that folder
   only, with PostgreSQL's default settings;
2. the workspace's ``parcels`` layer loaded with ``ogr2ogr`` as it is stored (its projected
   CRS, a GiST index on the geometry), then ``ANALYZE``;
3. the tiles: for each zoom, the ``--per-zoom`` tiles holding most parcels (counted from
   their representative points, :func:`bench.tiles.densest`, as ``bench/tiles.py``
   chooses them).

Timed, one tile at a time in one thread, ``--rounds`` rounds after one untimed round:

- **service**: :func:`geoservice.tiles.serve.render_tile` as the office, no tile cache
  (the tile's box read from the GeoPackage through its spatial index, moved into Web
  Mercator, clipped with a 64-unit buffer, simplified, snapped, encoded with
  mapbox-vector-tile; the attributes of :data:`geoservice.tiles.specs.TILE_LAYERS`);
- **PostGIS**: one query per tile over the socket, ``ST_AsMVT`` of ``ST_AsMVTGeom``
  (extent 4096, buffer 64, clipped) of the parcels whose box meets the tile's envelope
  (``ST_TileEnvelope``, grown by the buffer, taken into the layer's CRS), moved with
  ``ST_Transform``, with the same attributes and the fid as feature id.

Prints a Markdown table per zoom and in all: tiles per second, median and p95 ms, median
KB and median features per tile of each (decoded back, to show both cut the same parcels). The cluster is stopped and its folder
removed at the end (``--keep-cluster`` leaves it for inspection).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mapbox_vector_tile  # noqa: E402
from tiles import OFFICE, densest  # noqa: E402

from geoservice.base.workspace import Workspace  # noqa: E402
from geoservice.tiles.cut import BUFFER  # noqa: E402
from geoservice.tiles.grid import EXTENT, TileAddress  # noqa: E402
from geoservice.tiles.serve import render_tile  # noqa: E402
from geoservice.tiles.specs import TILE_LAYERS, columns_at  # noqa: E402

LAYER = "parcels"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DB, ROLE = "bench", "bench"


def _as_postgres(cmd: list[str]) -> list[str]:
    """``cmd`` run as the ``postgres`` user when this runs as root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{res.stdout}\n{res.stderr}")


@contextmanager
def cluster(folder: Path, keep: bool = False) -> Iterator[str]:
    """A throwaway PostgreSQL cluster in ``folder`` with a PostGIS database; yields its
    libpq connection string (Unix socket in ``folder``); stopped and removed after."""
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    _run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust"]))
    options = f"-c listen_addresses='' -k {folder} -p 55432"
    log = folder / "server.log"
    _run(
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
        )
    )
    dsn = f"host={folder} port=55432 user={ROLE} dbname=postgres"
    try:
        _run(["psql", dsn, "-qc", f"CREATE DATABASE {DB}"])
        dsn = dsn.replace("dbname=postgres", f"dbname={DB}")
        _run(["psql", dsn, "-qc", "CREATE EXTENSION postgis"])
        yield dsn
    finally:
        _run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]))
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def load(dsn: str, gpkg: Path) -> int:
    """The workspace's parcels loaded into ``parcels`` (fid kept, GiST index); its SRID."""
    _run([
        "ogr2ogr", "-f", "PostgreSQL", f"PG:{dsn}", str(gpkg), LAYER, "-nln", LAYER,
        "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=GIST",
        "--config", "PG_USE_COPY", "YES",
    ])  # fmt: skip
    import psycopg

    with psycopg.connect(dsn) as con:
        con.execute(f"ANALYZE {LAYER}")
        row = con.execute(f"SELECT Find_SRID('public', '{LAYER}', 'geom')").fetchone()
    return int(row[0]) if row else 0


def tile_sql(columns: list[str], srid: int) -> str:
    """The query of one tile (parameters z, x, y): the tile's parcels as MVT."""
    cols = "".join(f', p."{c}"' for c in columns)
    pad = f"{BUFFER} / {EXTENT}.0 * (ST_XMax(e.box) - ST_XMin(e.box))"
    return f"""
WITH e AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS box),
     q AS (SELECT box, ST_Transform(ST_Segmentize(ST_Expand(box, {pad}), {pad}), {srid}) AS near
           FROM e),
     t AS (SELECT p.fid{cols},
                  ST_AsMVTGeom(ST_Transform(p.geom, 3857), q.box, {EXTENT}, {BUFFER}, true) AS geom
           FROM {LAYER} p, q WHERE p.geom && q.near)
SELECT ST_AsMVT(t, '{LAYER}', {EXTENT}, 'geom', 'fid') FROM t WHERE geom IS NOT NULL
"""


def timed(cut: Callable[[TileAddress], bytes], tiles: list[TileAddress], rounds: int):  # type: ignore[no-untyped-def]
    """(ms per cut, bytes per tile, features per tile) over ``rounds`` timed rounds after
    an untimed one."""
    bodies = [cut(t) for t in tiles]
    times = []
    for _ in range(rounds):
        for tile in tiles:
            start = time.perf_counter()
            cut(tile)
            times.append((time.perf_counter() - start) * 1000)
    features = [
        len(mapbox_vector_tile.decode(b).get(LAYER, {}).get("features", [])) for b in bodies
    ]
    return times, [len(b) for b in bodies], features


def _p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]
    )


def _cells(times: list[float], sizes: list[int], features: list[int]) -> str:
    rate = 1000 * len(times) / sum(times)
    return (
        f"{rate:.1f} | {statistics.median(times):.0f} | {_p95(times):.0f} "
        f"| {statistics.median(sizes) / 1000:.1f} | {statistics.median(features):.0f}"
    )


def compare(
    ws: Workspace, dsn: str, srid: int, zooms: list[int], per_zoom: int, rounds: int
) -> list[str]:
    import psycopg

    fields = [str(f) for f in ws.info(LAYER)["fields"]]
    rows = [
        "| zoom | tiles | parcels in densest | service tiles/s | median ms | p95 ms | median KB "
        "| median features | PostGIS tiles/s | median ms | p95 ms | median KB "
        "| median features |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    every: dict[str, tuple[list[float], list[int], list[int]]] = {
        "ours": ([], [], []),
        "pg": ([], [], []),
    }
    with psycopg.connect(dsn, autocommit=True) as con:
        for z in zooms:
            tiles, most = densest(ws, LAYER, z, per_zoom)
            sql = tile_sql(columns_at(TILE_LAYERS[LAYER], z, fields), srid)

            def ours(t: TileAddress) -> bytes:
                return render_tile(ws, OFFICE, LAYER, t)

            def pg(t: TileAddress, sql: str = sql) -> bytes:
                row = con.execute(sql, {"z": t.z, "x": t.x, "y": t.y}).fetchone()
                return bytes(row[0]) if row and row[0] is not None else b""

            mine = timed(ours, tiles, rounds)
            theirs = timed(pg, tiles, rounds)
            for key, got in (("ours", mine), ("pg", theirs)):
                for kept, new in zip(every[key], got, strict=True):
                    kept.extend(new)
            rows.append(f"| {z} | {len(tiles)} | {most:,} | {_cells(*mine)} | {_cells(*theirs)} |")
    rows.append(f"| all | | | {_cells(*every['ours'])} | {_cells(*every['pg'])} |")
    return rows


def _zooms(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="an analysed workspace")
    parser.add_argument("--zooms", default="12-16", help="zoom or range, e.g. 12-16")
    parser.add_argument("--per-zoom", type=int, default=12, help="densest tiles per zoom")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over the tiles")
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="geoservice-postgis-"))
    copy = folder / "workspace.gpkg"
    shutil.copy2(args.workspace, copy)
    ws = Workspace(copy)
    print(f"\n### {LAYER} {ws.count(LAYER):,} (cpus={os.cpu_count()}, load {os.getloadavg()})\n")
    with cluster(Path(tempfile.mkdtemp(prefix="geoservice-pg-")), args.keep_cluster) as dsn:
        start = time.perf_counter()
        srid = load(dsn, copy)
        print(f"loaded with ogr2ogr in {time.perf_counter() - start:.1f} s (EPSG:{srid})\n")
        print("\n".join(compare(ws, dsn, srid, _zooms(args.zooms), args.per_zoom, args.rounds)))
    print(f"\nload average after: {os.getloadavg()}")
    if not args.keep_cluster:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
