"""A workspace made from a PostGIS copy is the workspace that was copied: every table
with its rows, declared types and registration; it works as one."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import date
from pathlib import Path

import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from typer.testing import CliRunner

from geoservice.base.errors import ConflictError, WorkspaceError
from geoservice.base.postgis_copy import copy_to_postgis
from geoservice.base.postgis_restore import copy_from_postgis
from geoservice.base.workspace import Workspace
from geoservice.cli.app import build_app
from geoservice.files.importing import import_file
from geoservice.workflow.store import update_problem
from geoservice.workflow.villages import village_status
from tests.support.postgis import target as pg_target
from tests.support.workflow import SAMPLE, workspace


@pytest.fixture
def town(tmp_path: Path) -> Path:
    ws = workspace(tmp_path)
    import_file(ws, SAMPLE / "xiaoban.shp", "parcels", actor="t", parcel_kind="forest")
    import_file(ws, SAMPLE / "complaints.csv", "complaints", actor="t")
    update_problem(ws, "P-1", "in_progress", "clerk", note="已进场")
    return ws.path


def _user_tables(con: sqlite3.Connection) -> list[str]:
    return [
        str(r[0])
        for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not str(r[0]).startswith(("gpkg_", "rtree_", "sqlite_"))
    ]


def _described(path: Path) -> dict[str, object]:
    """Per table: declared columns, registration, and (plain tables) the statement and rows."""
    with contextlib.closing(sqlite3.connect(path)) as con:
        contents = {
            str(t): str(d)
            for t, d in con.execute("SELECT table_name, data_type FROM gpkg_contents")
        }
        out: dict[str, object] = {}
        for name in _user_tables(con):
            columns = [tuple(r[1:3]) for r in con.execute(f'PRAGMA table_info("{name}")')]
            entry: dict[str, object] = {"columns": columns, "kind": contents.get(name)}
            if contents.get(name) != "features":
                entry["sql"] = con.execute(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
                ).fetchone()[0]
                entry["rows"] = con.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
            out[name] = entry
        return out


def _round_trip(postgis: str, town: Path, schema: str, tmp_path: Path) -> Path:
    target = pg_target(postgis, schema)
    copy_to_postgis(town, target)
    back = tmp_path / "back.gpkg"
    copy_from_postgis(target, back)
    return back


def test_every_table_comes_back_with_its_columns_registration_and_rows(postgis, town, tmp_path):
    back = _round_trip(postgis, town, "trip", tmp_path)
    before, after = _described(town), _described(back)
    assert set(after) == set(before)
    for name in before:
        assert after[name] == before[name], name


def test_layers_come_back_equal_with_their_ids_and_crs(postgis, town, tmp_path):
    back = _round_trip(postgis, town, "layers_back", tmp_path)
    for layer in ("villages", "parcels", "problems", "complaints"):
        kept = pyogrio.read_dataframe(town, layer=layer, fid_as_index=True)
        made = pyogrio.read_dataframe(back, layer=layer, fid_as_index=True)
        assert_geodataframe_equal(made, kept, check_less_precise=False)


def test_the_workspace_made_from_postgis_works_as_the_one_copied(postgis, town, tmp_path):
    back = Workspace(_round_trip(postgis, town, "works", tmp_path))
    day = date(2026, 12, 1)
    assert village_status(back, day).equals(village_status(Workspace(town), day))
    change = update_problem(back, "P-1", "reported", "clerk")
    assert change["version"] == 3


def test_an_existing_file_is_not_replaced(postgis, town, tmp_path):
    target = pg_target(postgis, "exists")
    copy_to_postgis(town, target)
    with pytest.raises(ConflictError, match="already exists"):
        copy_from_postgis(target, town)


def test_a_schema_with_tables_no_copy_wrote_is_refused(postgis, town, tmp_path):
    import psycopg

    target = pg_target(postgis, "mixed")
    copy_to_postgis(town, target)
    with psycopg.connect(postgis) as con:
        con.execute("CREATE TABLE mixed.notes (x int)")
    with pytest.raises(WorkspaceError, match=r"notes.*were not written"):
        copy_from_postgis(target, tmp_path / "mixed.gpkg")
    assert not (tmp_path / "mixed.gpkg").exists()


def test_an_empty_schema_is_refused(postgis, tmp_path):
    with pytest.raises(WorkspaceError, match="holds no workspace copy"):
        copy_from_postgis(pg_target(postgis, "nothing_here"), tmp_path / "none.gpkg")
    assert not (tmp_path / "none.gpkg").exists()


def test_the_command_copies_both_ways(postgis, town, tmp_path):
    url = f"{postgis}&schema=cli_both"
    there = CliRunner().invoke(build_app(), ["workspace", "copy", str(town), url, "--json"])
    assert there.exit_code == 0, there.output
    back = tmp_path / "from_pg.gpkg"
    again = CliRunner().invoke(build_app(), ["workspace", "copy", url, str(back), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["rows"] == json.loads(there.output)["rows"]
    assert _described(back) == _described(town)


def test_the_command_refuses_two_postgresql_ends(postgis):
    url = f"{postgis}&schema=a"
    result = CliRunner().invoke(build_app(), ["workspace", "copy", url, url])
    assert result.exit_code == 2
    assert "GeoPackage" in result.output


def test_the_unfinished_file_of_a_killed_copy_is_removed_by_the_next(postgis, town, tmp_path):
    import subprocess
    import sys

    target = pg_target(postgis, "stale")
    copy_to_postgis(town, target)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that has ended
    dead.wait()
    left = tmp_path / f".new.gpkg.{dead.pid}.tmp.gpkg"
    left.write_bytes(b"half a copy")
    running = tmp_path / ".new.gpkg.1.tmp.gpkg"  # pid 1 is always there
    running.write_bytes(b"another copy under way")
    copy_from_postgis(target, tmp_path / "new.gpkg")
    assert not left.exists()
    assert running.exists()
    assert (tmp_path / "new.gpkg").is_file()


def test_a_table_note_that_is_not_a_create_statement_is_refused(postgis, town, tmp_path):
    import psycopg

    target = pg_target(postgis, "tampered")
    copy_to_postgis(town, target)
    note = 'gpkg_table={"data_type": null, "sql": "ATTACH DATABASE \'x.db\' AS x"}'
    with psycopg.connect(postgis) as con:
        quoted = note.replace("'", "''")
        con.execute(f"COMMENT ON TABLE tampered.audit_log IS '{quoted}'")
    with pytest.raises(WorkspaceError, match=r"audit_log.*CREATE TABLE"):
        copy_from_postgis(target, tmp_path / "t.gpkg")
    assert not (tmp_path / "t.gpkg").exists()
    assert not (tmp_path / "x.db").exists()
