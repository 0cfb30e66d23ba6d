"""The kept village status's snapshot reads every part in one statement, and gives what
the parts read one by one give, whichever tables the file has."""

from __future__ import annotations

import contextlib
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow import village_snapshot as vs

_TABLES = {
    "gpkg_contents": (
        "CREATE TABLE gpkg_contents (table_name TEXT, last_change TEXT)",
        "INSERT INTO gpkg_contents VALUES ('villages', '2026-12-01T00:00:00.000Z'), "
        "('complaints', '2026-12-05T00:00:00.000Z'), ('问题', NULL), ('a', '2026-11-30')",
    ),
    "problem_history": (
        "CREATE TABLE problem_history (id INTEGER PRIMARY KEY)",
        "INSERT INTO problem_history VALUES (3), (9)",
    ),
    "patch_state": ("CREATE TABLE patch_state (v INT)", "INSERT INTO patch_state VALUES (1), (2)"),
    "patch_history": ("CREATE TABLE patch_history (id INTEGER PRIMARY KEY)", ""),
    "patrols": (
        "CREATE TABLE patrols (created_at TEXT)",
        "INSERT INTO patrols VALUES ('2026-12-01'), ('2026-12-04')",
    ),
}
_PROBLEMS = {
    "plain": ("CREATE TABLE problems (problem_id TEXT)", "INSERT INTO problems VALUES ('P-1')"),
    "workflow": (
        "CREATE TABLE problems (problem_id TEXT, version INT)",
        "INSERT INTO problems VALUES ('P-1', 2), ('P-2', NULL)",
    ),
    "empty": ("CREATE TABLE problems (problem_id TEXT, version INT)", ""),
}


def _db(tables: set[str], problems: str | None) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    statements = [s for t in sorted(tables) for s in _TABLES[t]]
    statements += list(_PROBLEMS[problems]) if problems else []
    for sql in statements:
        if sql:
            con.execute(sql)
    return con


def _tables(con: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@settings(max_examples=80, deadline=None)
@given(
    tables=st.sets(st.sampled_from(sorted(_TABLES))),
    problems=st.sampled_from([None, "plain", "workflow", "empty"]),
)
def test_the_snapshot_equals_the_parts_read_one_by_one(tables, problems):
    with contextlib.closing(_db(tables, problems)) as con:
        assert vs.snapshot(con) == vs._one_by_one(con, _tables(con))


def test_the_snapshot_is_two_statements_with_the_workflow_columns():
    seen: list[str] = []
    with contextlib.closing(_db(set(_TABLES), "workflow")) as con:
        con.set_trace_callback(seen.append)
        got = vs.snapshot(con)
    assert len(seen) == 2
    assert got.contents[0] == ("a", "2026-11-30")  # by table name, live tables left out
    assert [name for name, _ in got.contents] == ["a", "villages", "问题"]
    assert got.problems == (2, 2, 1)
    assert (got.problem_mark, got.patch_mark) == (9, None)


def test_a_problems_layer_without_workflow_columns_counts_its_rows_as_plain():
    with contextlib.closing(_db(set(), "plain")) as con:
        assert vs.snapshot(con).problems == ("plain", 1)
