"""A workspace copied into PostGIS and back: wall time and rows, with a check.

    python bench/workspace_copy.py --workspace COUNTY.gpkg

Setup, not timed: a copy of the workspace (as ``service_load.py`` makes it) and a
throwaway PostgreSQL cluster with PostGIS (``tiles_postgis.cluster``: ``initdb`` in a
temporary folder, Unix socket; Debian: ``apt-get install postgresql-15-postgis-3``).
Timed: ``copy_to_postgis`` into a schema, then ``copy_from_postgis`` into a new
GeoPackage. Checked: the same rows per table both ways, and every layer read back with
GDAL equal to the original (ids, attributes, geometries, CRS).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    args = parser.parse_args()

    import pyogrio
    from geopandas.testing import assert_geodataframe_equal
    from service_load import workspace as copy_of
    from tiles_postgis import DB, ROLE, cluster

    from geoservice.base.postgis_copy import copy_to_postgis, parse_target
    from geoservice.base.postgis_restore import copy_from_postgis

    with tempfile.TemporaryDirectory(prefix="workspace_copy_") as folder:
        source = copy_of(Path(folder), args.workspace)
        socket = Path(tempfile.mkdtemp(prefix="workspace_copy_pg_"))
        with cluster(socket):
            target = parse_target(f"postgresql://{ROLE}@/{DB}?host={socket}&port=55432&schema=ws")
            assert target is not None
            started = time.perf_counter()
            there = copy_to_postgis(source, target)
            to_pg = time.perf_counter() - started
            back = Path(folder) / "back.gpkg"
            started = time.perf_counter()
            again = copy_from_postgis(target, back)
            from_pg = time.perf_counter() - started
        rows = sum(there.rows.values())
        print(f"{len(there.rows)} tables, {len(there.layers)} layers, {rows:,} rows")
        print(f"GeoPackage -> PostGIS {to_pg:.1f} s; PostGIS -> GeoPackage {from_pg:.1f} s")
        if again.rows != there.rows:
            print("rows differ:", there.rows, again.rows)
            return 1
        for layer in there.layers:
            kept = pyogrio.read_dataframe(source, layer=layer, fid_as_index=True)
            made = pyogrio.read_dataframe(back, layer=layer, fid_as_index=True)
            assert_geodataframe_equal(made, kept)
        print(f"every layer equal after the round trip ({', '.join(sorted(there.layers))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
