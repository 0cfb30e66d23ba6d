from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from geoservice.base.errors import ConflictError, NotFoundError, OptionError
from geoservice.workflow.store import history, read_problems, update_problem
from tests.support.workflow import workspace

ALLOWED = [
    ("未整改", "in_progress"),
    ("未整改", "reported"),
    ("整改中", "reported"),
    ("已整改", "verified"),
    ("已整改", "rejected"),
    ("退回", "in_progress"),
    ("退回", "reported"),
]
REFUSED = [
    ("未整改", "verified"),
    ("未整改", "rejected"),
    ("整改中", "verified"),
    ("整改中", "rejected"),
    ("已整改", "in_progress"),
    ("退回", "verified"),
    ("已销号", "in_progress"),
    ("已销号", "rejected"),
    ("未整改", "assigned"),
]


@pytest.mark.parametrize(("start", "to"), ALLOWED)
def test_allowed_transition_changes_state_and_version(tmp_path: Path, start: str, to: str) -> None:
    ws = workspace(tmp_path, [{"整改状态": start}])
    change = update_problem(ws, "P-1", to, "clerk", expected_version=1)
    row = read_problems(ws).iloc[0]
    assert (row["status"], row["version"], change["version"]) == (to, 2, 2)
    assert history(ws, "P-1")["to_state"].tolist()[-1] == to


@pytest.mark.slow
@pytest.mark.parametrize(("start", "to"), REFUSED)
def test_refused_transition_names_current_and_allowed(tmp_path: Path, start: str, to: str) -> None:
    ws = workspace(tmp_path, [{"整改状态": start}])
    with pytest.raises(OptionError, match=r"P-1 is '\w+' and cannot move to .*allowed next"):
        update_problem(ws, "P-1", to, "clerk")
    assert read_problems(ws).iloc[0]["version"] == 1


@pytest.mark.slow
def test_unknown_state_is_refused(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    with pytest.raises(OptionError, match="expected to be one of the problem states"):
        update_problem(ws, "P-1", "done", "clerk")


def test_unknown_problem_suggests_close_ids(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    with pytest.raises(NotFoundError, match=r"no problem 'P-2'.*Close ids: P-1"):
        update_problem(ws, "P-2", "in_progress", "clerk")


def test_stale_version_conflict_names_versions_and_editor(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "alice", expected_version=1)
    with pytest.raises(ConflictError, match=r"expected version 1 but it is at version 2.*by alice"):
        update_problem(ws, "P-1", "reported", "bob", expected_version=1)
    row = read_problems(ws).iloc[0]
    assert (row["status"], row["version"], row["updated_by"]) == ("in_progress", 2, "alice")


def test_update_writes_history_and_audit_in_place(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    inode = ws.path.stat().st_ino
    update_problem(ws, "P-1", "reported", "村委", note="已补植", evidence=["/x/photo1.jpg"])
    h = history(ws, "P-1").iloc[-1]
    assert (h["from_state"], h["to_state"], h["evidence"], h["note"]) == (
        "assigned",
        "reported",
        ["photo1.jpg"],
        "已补植",
    )
    assert ws.audit()["action"].tolist()[-1] == "problem.update"
    assert ws.path.stat().st_ino == inode
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        names = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    assert {"campaigns", "problem_history"} <= names
