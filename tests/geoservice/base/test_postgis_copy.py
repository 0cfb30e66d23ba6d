"""A workspace GeoPackage copied into a PostGIS schema: every table, its rows, geometries
and CRS; one transaction; a schema in use only replaced when asked."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from geoservice.base.errors import ConflictError, WorkspaceError
from geoservice.base.postgis_copy import PostgisTarget, copy_to_postgis, parse_target
from geoservice.base.workspace import Workspace
from geoservice.cli.app import build_app
from geoservice.files.importing import import_file
from geoservice.workflow.store import update_problem
from tests.support.postgis import target as pg_target
from tests.support.workflow import SAMPLE, workspace


@pytest.fixture
def town(tmp_path: Path) -> Path:
    """Villages, parcels (a Gauss-Kruger layer) and problems with a change in the history."""
    ws = workspace(tmp_path)
    import_file(ws, SAMPLE / "xiaoban.shp", "parcels", actor="t", parcel_kind="forest")
    update_problem(ws, "P-1", "in_progress", "clerk")
    return ws.path


def _pg(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url)


def _gpkg_tables(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        names = [
            str(r[0])
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(r[0]).startswith(("gpkg_", "rtree_", "sqlite_"))
        ]
        return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}


def test_every_table_is_copied_with_its_rows(postgis, town):
    report = copy_to_postgis(town, pg_target(postgis, "rows"))
    expected = _gpkg_tables(town)
    assert report.rows == expected
    with _pg(postgis) as con:
        for name, count in expected.items():
            assert con.execute(f'SELECT count(*) FROM rows."{name}"').fetchone()[0] == count
    assert {"villages", "parcels", "problems", "problem_history", "audit_log"} <= set(expected)


def test_layers_keep_their_geometries_crs_and_attributes(postgis, town):
    report = copy_to_postgis(town, pg_target(postgis, "layers"))
    assert report.layers["villages"] == 4546
    frame = pyogrio.read_dataframe(town, layer="parcels")
    with _pg(postgis) as con:
        srid, kind = con.execute(
            "SELECT srid, type FROM geometry_columns "
            "WHERE f_table_schema = 'layers' AND f_table_name = 'parcels'"
        ).fetchone()
        rows = con.execute(
            'SELECT fid, "parcel_id", ST_AsBinary(geom) FROM layers.parcels ORDER BY fid'
        ).fetchall()
        indexed = con.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'layers' "
            "AND tablename = 'parcels' AND indexdef LIKE '%USING gist%'"
        ).fetchone()[0]
    assert srid == frame.crs.to_epsg() and indexed == 1
    assert kind in ("MULTIPOLYGON", "POLYGON", "GEOMETRY")
    assert [r[1] for r in rows] == frame["parcel_id"].tolist()
    copied = shapely.from_wkb([bytes(r[2]) for r in rows])
    assert shapely.equals_exact(copied, frame.geometry.to_numpy(), tolerance=0).all()


def test_plain_tables_keep_their_values_and_declared_types(postgis, town):
    copy_to_postgis(town, pg_target(postgis, "plain"))
    with contextlib.closing(sqlite3.connect(town)) as lite:
        history = lite.execute(
            'SELECT problem_id, "by", to_state, version FROM problem_history ORDER BY id'
        ).fetchall()
    with _pg(postgis) as con:
        copied = con.execute(
            'SELECT problem_id, "by", to_state, version FROM plain.problem_history ORDER BY id'
        ).fetchall()
        note = con.execute(
            "SELECT col_description('plain.problem_history'::regclass, ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = 'plain' "
            "AND table_name = 'problem_history' AND column_name = 'version'"
        ).fetchone()[0]
    assert copied == history and history
    assert note == "gpkg_type=INTEGER"


def test_a_schema_with_tables_is_refused_without_replace(postgis, town):
    target = pg_target(postgis, "taken")
    copy_to_postgis(town, target)
    with pytest.raises(ConflictError, match="--replace"):
        copy_to_postgis(town, target)


def test_replace_puts_the_new_snapshot_in_the_schema(postgis, town):
    target = pg_target(postgis, "again")
    copy_to_postgis(town, target)
    update_problem(Workspace(town), "P-1", "reported", "clerk")
    report = copy_to_postgis(town, target, replace=True)
    with _pg(postgis) as con:
        count = con.execute("SELECT count(*) FROM again.problem_history").fetchone()[0]
    assert count == report.rows["problem_history"] == _gpkg_tables(town)["problem_history"]


def test_a_copy_that_fails_leaves_the_schema_as_it_was(postgis, town):
    target = pg_target(postgis, "kept")
    first = copy_to_postgis(town, target)
    with contextlib.closing(sqlite3.connect(town)) as con, con:
        con.execute("CREATE TABLE visits (day DATE)")
        con.execute("INSERT INTO visits VALUES ('not a day')")
    with pytest.raises(WorkspaceError, match="visits"):
        copy_to_postgis(town, target, replace=True)
    with _pg(postgis) as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'kept'"
            )
        }
    assert tables == set(first.rows)


def test_a_layer_whose_crs_has_no_epsg_code_is_refused(postgis, town):
    with contextlib.closing(sqlite3.connect(town)) as con, con:
        con.execute(
            "UPDATE gpkg_spatial_ref_sys SET organization = 'NONE' WHERE srs_id IN "
            "(SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'villages')"
        )
    with pytest.raises(WorkspaceError, match=r"villages.*EPSG"):
        copy_to_postgis(town, pg_target(postgis, "nocrs"))


def test_an_unreachable_database_is_named_without_its_password(tmp_path, town):
    target = PostgisTarget("postgresql://gis:secret@/none?host=/nonexistent&port=1", "x")
    with pytest.raises(WorkspaceError, match=r"gis:\*\*\*@") as caught:
        copy_to_postgis(town, target)
    assert "secret" not in str(caught.value)


def test_the_command_copies_and_reports_rows_per_table(postgis, town):
    result = CliRunner().invoke(
        build_app(), ["workspace", "copy", str(town), f"{postgis}&schema=cli", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema"] == "cli" and data["rows"] == _gpkg_tables(town)


def test_the_command_refuses_a_destination_that_is_not_a_postgresql_url(town):
    result = CliRunner().invoke(build_app(), ["workspace", "copy", str(town), "out.gpkg"])
    assert result.exit_code == 2
    assert "postgresql://" in result.output


@pytest.mark.parametrize(
    ("url", "schema", "rest"),
    [
        ("postgresql://u@h/db", "geoservice", "postgresql://u@h/db"),
        ("postgres://u@h/db?schema=town_1", "town_1", "postgres://u@h/db"),
        (
            "postgresql://u@/db?host=/tmp/s&schema=a&port=5",
            "a",
            "postgresql://u@/db?host=%2Ftmp%2Fs&port=5",
        ),
    ],
)
def test_a_postgresql_url_names_the_database_and_the_schema(url, schema, rest):
    assert parse_target(url) == PostgisTarget(rest, schema)


@pytest.mark.parametrize("text", ["ws.gpkg", "/data/town.gpkg", "sqlite:///x.db"])
def test_anything_else_is_not_a_postgis_target(text):
    assert parse_target(text) is None


@pytest.mark.parametrize("schema", ["Town", "1town", "town-2", "a" * 64, ""])
def test_a_schema_name_that_needs_quoting_is_refused(schema):
    with pytest.raises(WorkspaceError, match=f"schema was '{schema}'"):
        parse_target(f"postgresql://u@h/db?schema={schema}")


@pytest.mark.parametrize(
    "value", ["postgresql://gis@db/forest?schema=town", Path("postgres://gis@db/forest")]
)
def test_a_database_url_as_the_workspace_says_to_make_a_geopackage_from_it(value):
    from pydantic import ValidationError

    from geoservice.base.settings import Settings

    with pytest.raises(ValidationError, match=r"a PostgreSQL database.*workspace copy"):
        Settings(workspace=value)


def test_the_commands_refuse_a_database_url_as_the_workspace_with_the_copy_line():
    result = CliRunner().invoke(build_app(), ["layers", "-w", "postgresql://gis@db/forest"])
    assert result.exit_code == 2
    assert "geoservice workspace copy" in result.output


@pytest.mark.slow
def test_a_copy_killed_half_way_leaves_the_schema_as_it_was(postgis, town, tmp_path):
    """kill -9 of the copying process while it writes rows: PostgreSQL rolls the open
    transaction back, so the schema keeps the snapshot before."""
    import os
    import signal
    import subprocess
    import sys
    import time

    target = pg_target(postgis, "killed")
    first = copy_to_postgis(town, target)
    with contextlib.closing(sqlite3.connect(town)) as con, con:  # a copy long enough to catch
        con.execute("CREATE TABLE bulk (n INTEGER)")
        con.executemany("INSERT INTO bulk VALUES (?)", ((i,) for i in range(2_000_000)))
    script = (
        "import sys; from pathlib import Path\n"
        "from geoservice.base.postgis_copy import copy_to_postgis, parse_target\n"
        "copy_to_postgis(Path(sys.argv[1]), parse_target(sys.argv[2]), replace=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(town), f"{postgis}&schema=killed"],
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        deadline = time.monotonic() + 60
        copying = None
        while copying is None and time.monotonic() < deadline and child.poll() is None:
            with _pg(postgis) as con:
                copying = con.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY %%bulk%%'"
                ).fetchone()
            time.sleep(0.02)
        assert copying is not None, "the copy of the big table was not seen under way"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    with _pg(postgis) as con:
        while (
            con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %%bulk%%'"
            ).fetchone()[0]
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'killed'"
            )
        }
        history = con.execute("SELECT count(*) FROM killed.problem_history").fetchone()[0]
    assert tables == set(first.rows)
    assert history == first.rows["problem_history"]
