"""The workspace's write paths: reads never write, audit rows bypass the import lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import shapely

from geoservice.base.errors import ConflictError
from geoservice.base.gpkg_sql import connect_file, gpkg_blob
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.store import campaigns, history, read_problems, transaction, update_problem
from tests.support.workflow import SAMPLE, workspace


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plainly_reimported(tmp_path: Path) -> Workspace:
    """P-1 changed by alice, P-2 never changed, then the layer rewritten by a plain import
    (which drops the workflow columns)."""
    ws = workspace(tmp_path, [{}, {"问题编号": "P-2", "整改状态": "整改中"}])
    update_problem(ws, "P-1", "reported", "alice")
    import_file(ws, tmp_path / "problems.csv", "problems", actor="t")
    return ws


@pytest.mark.slow
def test_reads_of_a_layer_without_workflow_columns_leave_the_file_untouched(tmp_path):
    ws = _plainly_reimported(tmp_path)
    before = _digest(ws.path)
    row = read_problems(ws).set_index("problem_id").loc["P-1"]
    assert (row["status"], row["version"], row["updated_by"]) == ("reported", 2, "alice")
    assert len(history(ws, "P-2")) == 1 and campaigns(ws).empty
    assert _digest(ws.path) == before
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        columns = {r[1] for r in con.execute("PRAGMA table_info(problems)")}
    assert "version" not in columns


@pytest.mark.slow
def test_a_read_sees_what_the_migration_then_stores(tmp_path):
    ws = _plainly_reimported(tmp_path)
    keep = ["problem_id", "status", "version", "updated_by"]
    seen, seen_history = read_problems(ws)[keep], history(ws).drop(columns="at")
    with transaction(ws, "system"):
        pass
    assert read_problems(ws)[keep].equals(seen)
    assert history(ws).drop(columns="at").equals(seen_history)
    assert history(ws, "P-2")["note"].tolist() == ["[import]"]


def test_a_read_of_a_workspace_without_problems_is_empty(tmp_path):
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    before = _digest(ws.path)
    assert read_problems(ws).empty and history(ws).empty and campaigns(ws).empty
    assert _digest(ws.path) == before


def test_an_audit_row_written_during_an_import_is_kept(tmp_path):
    ws = workspace(tmp_path)
    with ws.transaction() as work:
        ws.log("reader", "layer.read", "problems", {"rows": 1})
        with contextlib.closing(sqlite3.connect(work)) as con, con:
            con.execute(
                "INSERT INTO audit_log (at, actor, action, target, detail) "
                "VALUES ('2026-12-01T00:00:00+00:00', 'importer', 'import.replace', 'x', '{}')"
            )
    actions = ws.audit()["action"].tolist()
    assert actions[-2:] == ["import.replace", "layer.read"]


@pytest.mark.slow
def test_an_audit_row_from_another_process_during_an_import_is_kept(tmp_path):
    ws = workspace(tmp_path)
    code = (
        "import sys; from geoservice.base.workspace import Workspace; "
        "Workspace(sys.argv[1]).log('reader', 'layer.read', 'problems', {})"
    )
    with ws.transaction():
        run = subprocess.run(
            [sys.executable, "-c", code, str(ws.path)], capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr
    assert ws.audit()["action"].tolist()[-1] == "layer.read"


@pytest.mark.slow
def test_an_audit_row_does_not_wait_for_the_workspace_lock(tmp_path):
    ws = workspace(tmp_path)
    with open(tmp_path / "ws.gpkg.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        start = time.monotonic()
        ws.log("reader", "layer.read", "problems", {})
        assert time.monotonic() - start < 2.0
        with pytest.raises(ConflictError, match="another process"):
            update_problem(ws, "P-1", "in_progress", "clerk")
    assert ws.audit()["action"].tolist()[-1] == "layer.read"


def test_an_sql_transaction_nested_in_the_held_lock_joins_it(tmp_path):
    ws = workspace(tmp_path)
    with ws.lock(), ws.sql_transaction("clerk") as con:
        con.execute("INSERT INTO workspace_meta VALUES ('note', 'nested')")
    with ws.read_connection() as con:
        assert con.execute("SELECT value FROM workspace_meta WHERE key = 'note'").fetchone() == (
            "nested",
        )


def test_an_sql_transaction_rolls_back_on_error(tmp_path):
    ws = workspace(tmp_path)
    with pytest.raises(RuntimeError, match="stop"), ws.sql_transaction("clerk") as con:
        con.execute("INSERT INTO workspace_meta VALUES ('note', 'lost')")
        raise RuntimeError("stop")
    with ws.read_connection() as con:
        assert con.execute("SELECT 1 FROM workspace_meta WHERE key = 'note'").fetchone() is None


@pytest.mark.parametrize(
    "geom",
    [
        shapely.Point(412345.5, 2612345.25),
        shapely.box(10.0, 20.0, 30.0, 45.0),
        shapely.LineString([(0, 0), (-5, 7)]),
    ],
)
def test_geometry_blobs_read_back_through_the_trigger_functions(geom):
    with contextlib.closing(connect_file(Path(":memory:"))) as con:
        row = con.execute(
            "SELECT ST_MinX(?1), ST_MinY(?1), ST_MaxX(?1), ST_MaxY(?1), ST_IsEmpty(?1)",
            (gpkg_blob(geom, 4526),),
        ).fetchone()
    assert row == (*shapely.bounds(geom).tolist(), 0)


def test_trigger_functions_of_a_null_geometry_are_null():
    with contextlib.closing(connect_file(Path(":memory:"))) as con:
        row = con.execute("SELECT ST_MinX(NULL), ST_IsEmpty(NULL)").fetchone()
    assert row == (None, None)
