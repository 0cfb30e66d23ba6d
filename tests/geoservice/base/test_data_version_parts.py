"""The data version reads every part in one statement, and gives what the parts read one
by one give, whichever tables the file has."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoservice.base import data_version as dv
from geoservice.base.connection_pool import close_idle
from tests.support.sql_trace import traced_connects

_TABLES = {
    "gpkg_contents": (
        "CREATE TABLE gpkg_contents (table_name TEXT, last_change TEXT)",
        "INSERT INTO gpkg_contents VALUES ('villages', '2026-12-01T00:00:00Z')",
    ),
    "complaints": (
        "CREATE TABLE complaints (fid INTEGER PRIMARY KEY)",
        "INSERT INTO complaints VALUES (7)",
    ),
    "layer_catalog": (
        "CREATE TABLE layer_catalog (imported_at TEXT)",
        "INSERT INTO layer_catalog VALUES ('2026-12-02')",
    ),
    "patch_state": (
        "CREATE TABLE patch_state (patch_id TEXT)",
        "INSERT INTO patch_state VALUES ('T1')",
    ),
    "patch_history": (
        "CREATE TABLE patch_history (id INTEGER PRIMARY KEY)",
        "INSERT INTO patch_history VALUES (4)",
    ),
}
_PARTS = [q[0] for q in dv._QUERIES]


def _file(path: Path, tables: set[str], problems: str | None, generation: int | None) -> Path:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        for name in sorted(tables):
            for sql in _TABLES[name]:
                con.execute(sql)
        if problems == "plain":
            con.execute("CREATE TABLE problems (problem_id TEXT)")
            con.execute("INSERT INTO problems VALUES ('P-1')")
        elif problems == "workflow":
            con.execute("CREATE TABLE problems (problem_id TEXT, version INT, updated_at TEXT)")
            con.execute("INSERT INTO problems VALUES ('P-1', 3, '2026-12-03')")
        if generation is not None:
            con.execute("CREATE TABLE workspace_meta (key TEXT PRIMARY KEY, value TEXT)")
            if generation > 0:
                con.execute(
                    "INSERT INTO workspace_meta VALUES ('generation', ?)", (str(generation),)
                )
    return path


def _one_by_one(path: Path, without: tuple[str, ...]) -> tuple[object, ...]:
    st_ = os.stat(path)
    with contextlib.closing(sqlite3.connect(path)) as con:
        tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}
        parts = [dv._part(con, tables, q[1], q[2]) for q in dv._QUERIES if q[0] not in without]
        return (st_.st_dev, st_.st_ino, dv.generation(con), *parts)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tables=st.sets(st.sampled_from(sorted(_TABLES))),
    problems=st.sampled_from([None, "plain", "workflow"]),
    generation=st.sampled_from([None, 0, 5]),
    without=st.sets(st.sampled_from(_PARTS)),
)
def test_the_parts_read_together_equal_the_parts_read_one_by_one(
    tmp_path_factory, tables, problems, generation, without
):
    path = _file(tmp_path_factory.mktemp("dv") / "w.gpkg", tables, problems, generation)
    left_out = tuple(sorted(without))
    try:
        assert dv.data_version(path, without=left_out) == _one_by_one(path, left_out)
    finally:
        close_idle(path)


def test_every_part_is_read_in_one_statement_after_the_table_names(tmp_path, monkeypatch):
    path = _file(tmp_path / "w.gpkg", set(_TABLES), "workflow", 2)
    seen = traced_connects(monkeypatch)
    version = dv.data_version(path)
    monkeypatch.undo()
    close_idle(path)
    assert version is not None and version[2] == 2
    between = seen[seen.index("BEGIN") + 1 : seen.index("ROLLBACK")]
    assert len(between) == 2 and "sqlite_master" in between[0]


def test_a_problems_layer_without_workflow_columns_gives_its_row_count(tmp_path):
    path = _file(tmp_path / "w.gpkg", set(_TABLES), "plain", None)
    version = dv.data_version(path)
    close_idle(path)
    assert version is not None
    assert version[3] == ("plain", 1)
    assert version[2] == 0
