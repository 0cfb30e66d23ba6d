"""``geoservice departments``: list, record, entries, statement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from geoservice.base.workspace import Workspace
from geoservice.cli.departments import departments_app
from tests.support.workflow import workspace

app = typer.Typer()
app.add_typer(departments_app, name="departments")
app.command("noop")(lambda: None)  # keeps "departments" a sub-command


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return workspace(tmp_path, [{"问题编号": "P-1", "抄送部门": "派出所"}])


def _run(ws: Workspace, *args: str) -> dict:  # type: ignore[type-arg]
    res = CliRunner().invoke(app, ["departments", *args, "-w", str(ws.path), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_record_then_entries_lists_it_with_its_photo(ws: Workspace, tmp_path: Path) -> None:
    photo = tmp_path / "现场.jpg"
    Image.new("RGB", (64, 48), "green").save(photo)
    args = ["--kind", "联合核查", "--problem", "P-1", "--on", "2026-11-20", "--people", "3"]
    record = _run(ws, "record", "镇郊派出所", *args, "--note", "会同核查", "--photo", str(photo))
    assert (record["department"], record["kind"], record["people"]) == (
        "police",
        "co_verification",
        3,
    )
    assert len(record["photos"]) == 1 and record["photos"][0].endswith(".jpg")
    listed = _run(ws, "entries", "police")["entries"]
    assert [e["entry_id"] for e in listed] == [f"E{record['entry_id']}"]
    assert listed[0]["photos"] == record["photos"]


def test_record_refuses_two_objects_in_one_line(ws: Workspace) -> None:
    args = ["departments", "record", "police", "--kind", "inspection", "--problem", "P-1"]
    res = CliRunner().invoke(app, [*args, "--target", "T-1", "-w", str(ws.path), "--lang", "en"])
    assert res.exit_code == 2 and "give only one of --problem, --patch, --target" in res.stderr


def test_record_names_an_unknown_problem(ws: Workspace) -> None:
    args = ["departments", "record", "police", "--kind", "inspection", "--problem", "P-9"]
    res = CliRunner().invoke(app, [*args, "-w", str(ws.path), "--lang", "en"])
    assert res.exit_code == 2 and "There is no problem 'P-9'" in res.stderr


def test_statement_is_written_shown_and_changed_from_its_version(ws: Workspace) -> None:
    first = _run(ws, "statement", "police", "2026-Q4", "--text", "联合巡查3次")
    assert first["version"] == 1
    assert _run(ws, "statement", "police", "2026-Q4")["text"] == "联合巡查3次"
    changed = _run(ws, "statement", "police", "2026-Q4", "--text", "联合巡查4次", "--version", "1")
    assert changed["version"] == 2


def test_statement_change_with_a_stale_version_fails(ws: Workspace) -> None:
    _run(ws, "statement", "police", "2026-11", "--text", "一稿")
    _run(ws, "statement", "police", "2026-11", "--text", "二稿", "--version", "1")
    args = ["departments", "statement", "police", "2026-11", "--text", "三稿", "--version", "1"]
    res = CliRunner().invoke(app, [*args, "-w", str(ws.path), "--lang", "en"])
    assert res.exit_code == 2 and "expected version 1 but it is at version 2" in res.stderr


def test_list_shows_the_14_departments(ws: Workspace) -> None:
    rows = _run(ws, "list")["departments"]
    assert len(rows) == 14 and rows[4]["code"] == "justice" and rows[4]["entries"] == 0
