"""The workflow commands as a clerk runs them (real subprocesses)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geoservice.base.workspace import Workspace
from geoservice.cli.app import DEMO_FILES
from geoservice.files.importing import import_file

# The command line run as a user runs it, one process per command.
pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"


def run(*args):
    env = {**os.environ, "GEOSERVICE_USER": "clerk"}
    return subprocess.run(
        [sys.executable, "-m", "geoservice", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("wf") / "town.gpkg")
    for f in DEMO_FILES:
        import_file(ws, SAMPLE / f.name, f.kind, actor="planner", **f.options())
    return ws


def test_problems_list_filters_overdue_as_json(ws):
    res = run("problems", "list", "-w", ws.path, "--overdue", "--as-of", "2026-11-28", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    rows = rows["problems"] if isinstance(rows, dict) else rows
    assert rows
    assert all(r["status"] in ("assigned", "in_progress", "rejected") for r in rows)


def test_update_then_stale_update_is_a_one_line_conflict(ws):
    listed = json.loads(
        run("problems", "list", "-w", ws.path, "--status", "assigned", "--json").stdout
    )
    rows = listed["problems"] if isinstance(listed, dict) else listed
    pid = rows[0]["problem_id"]
    first = run(
        "problems",
        "update",
        pid,
        "--to",
        "in_progress",
        "--by",
        "村干部",
        "--expected-version",
        "1",
        "-w",
        ws.path,
    )
    assert first.returncode == 0, first.stderr
    stale = run(
        "problems",
        "update",
        pid,
        "--to",
        "reported",
        "--by",
        "村干部",
        "--expected-version",
        "1",
        "-w",
        ws.path,
        "--lang",
        "en",
    )
    assert stale.returncode == 2
    assert len(stale.stderr.strip().splitlines()) == 1
    assert "version" in stale.stderr
    history = run("problems", "history", pid, "-w", ws.path, "--json")
    assert history.returncode == 0
    assert "in_progress" in history.stdout


def test_refused_transition_names_the_allowed_ones(ws):
    listed = json.loads(
        run("problems", "list", "-w", ws.path, "--status", "verified", "--json").stdout
    )
    rows = listed["problems"] if isinstance(listed, dict) else listed
    res = run(
        "problems",
        "update",
        rows[0]["problem_id"],
        "--to",
        "assigned",
        "--by",
        "x",
        "-w",
        ws.path,
        "--lang",
        "en",
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def test_villages_status_counts_every_problem(ws):
    res = run("villages", "status", "-w", ws.path, "--as-of", "2026-11-28", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    rows = data["villages"] if isinstance(data, dict) else data
    assert sum(r["problems"] for r in rows) == 40


@pytest.mark.parametrize("fmt", ["html", "xlsx"])
def test_report_departments_command_writes_the_meeting_report(ws, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    res = run(
        "report",
        "departments",
        "--from",
        "2026-01-01",
        "--to",
        "2026-11-28",
        "--out",
        out,
        "-w",
        ws.path,
    )
    assert res.returncode == 0, res.stderr
    assert out.is_file() and out.stat().st_size > 1000
    if fmt == "html":
        text = out.read_text(encoding="utf-8")
        assert "镇郊派出所" in text or "镇农业农村办" in text
        assert "http://" not in text and "https://" not in text


def test_report_period_backwards_is_a_one_line_error(ws, tmp_path):
    res = run(
        "report",
        "departments",
        "--from",
        "2026-11-28",
        "--to",
        "2026-01-01",
        "--out",
        tmp_path / "r.html",
        "-w",
        ws.path,
        "--lang",
        "en",
    )
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1


def test_import_problems_keeps_workflow_state_and_rejects_unknown_villages(ws, tmp_path):
    listed = json.loads(run("problems", "list", "-w", ws.path, "--json").stdout)
    rows = listed["problems"] if isinstance(listed, dict) else listed
    before = {r["problem_id"]: r["status"] for r in rows}
    again = run("import", "problems", SAMPLE / "problems.xlsx", "-w", ws.path, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["problems_import"]["mode"] == "merge"
    listed = json.loads(run("problems", "list", "-w", ws.path, "--json").stdout)
    rows = listed["problems"] if isinstance(listed, dict) else listed
    assert {r["problem_id"]: r["status"] for r in rows} == before
    import pandas as pd

    table = pd.read_excel(SAMPLE / "problems.xlsx")
    table.loc[0, "所属村"] = "不存在村"
    table.loc[0, ["经度", "纬度"]] = None
    bad = tmp_path / "bad.xlsx"
    table.to_excel(bad, index=False)
    res = run("import", "problems", bad, "-w", ws.path, "--lang", "en")
    assert res.returncode == 2
    assert "closest" in res.stderr


def test_import_problems_places_an_unknown_village_name_by_its_location_and_says_so(ws, tmp_path):
    import pandas as pd

    table = pd.read_excel(SAMPLE / "problems.xlsx")
    assert table.loc[0, ["经度", "纬度"]].notna().all()
    table.loc[0, "所属村"] = "不存在村"
    table.loc[0, "问题编号"] = "DC-NEW-001"
    moved = tmp_path / "moved.xlsx"
    table.to_excel(moved, index=False)
    res = run("import", "problems", moved, "-w", ws.path, "--lang", "en", "--json")
    assert res.returncode == 0, res.stderr
    detail = json.loads(res.stdout)["problems_import"]
    assert detail["villages"]["by"]["location"] >= 1
    assert any("DC-NEW-001: written 不存在村" in w for w in detail["warnings"])


def test_map_with_an_internet_basemap_needs_explicit_consent(ws, tmp_path, map_assets):
    refused = run(
        "map",
        "villages",
        "-w",
        ws.path,
        "--out",
        tmp_path / "v.html",
        "--basemap",
        "osm",
        "--lang",
        "en",
    )
    assert refused.returncode == 2
    assert "--allow-online-basemap" in refused.stderr
    allowed = run(
        "map",
        "villages",
        "-w",
        ws.path,
        "--out",
        tmp_path / "v.html",
        "--basemap",
        "osm",
        "--allow-online-basemap",
        "--json",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["offline"] is False
    assert "tile.openstreetmap.org" in (tmp_path / "v.html").read_text(encoding="utf-8")


def test_map_commands_write_offline_pages(ws, tmp_path, map_assets):
    no_targets = run("map", "targets", "-w", ws.path, "--out", tmp_path / "t.html", "--lang", "en")
    assert no_targets.returncode == 2
    assert "run geoservice analyze first" in no_targets.stderr
    assert run("analyze", "-w", ws.path, "--as-of", "2026-11-28").returncode == 0
    for args in (["targets"], ["villages", "--as-of", "2026-11-28"], ["department", "镇郊派出所"]):
        out = tmp_path / f"{args[0]}.html"
        res = run("map", *args, "-w", ws.path, "--out", out, "--json")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["offline"] is True
        assert "https://tile" not in out.read_text(encoding="utf-8")
