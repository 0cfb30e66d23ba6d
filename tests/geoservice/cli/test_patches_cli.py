"""``geoservice patches list|update|history``: a patch from interpretation to 销号 at the
command line, a stale version, refused moves and the list's filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from geoservice.cli import patches as patches_cli
from tests.support.files import copy_workspace
from tests.support.patches import ILLEGAL, UNVERIFIED, patch_workspace

U, ILL = UNVERIFIED["PAN_NO_TB"], ILLEGAL["PAN_NO_TB"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return patch_workspace(tmp_path_factory.mktemp("cli")).path


@pytest.fixture
def ws_path(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ws.gpkg"
    copy_workspace(template, path)
    return path


def run(ws_path: Path, *args: str, lang: str = "zh") -> Any:
    root = typer.Typer()
    patches_cli.register(root)
    root.command("version")(lambda: None)  # a second command keeps ``patches`` a group
    argv = ["patches", *args, "--workspace", str(ws_path), "--lang", lang]
    return CliRunner().invoke(root, argv, env={"GEOSERVICE_USER": "clerk"})


def run_json(ws_path: Path, *args: str) -> Any:
    res = run(ws_path, *args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.slow
def test_a_patch_goes_from_interpreted_to_closed(ws_path: Path) -> None:
    steps = [
        ["--state", "dispatched"],
        ["--state", "verified", "--legality", "illegal", "--verifier", "林业站 李四"],
        ["--state", "investigating"],
        ["--state", "rectifying", "--note", "补植复绿"],
        ["--state", "awaiting_acceptance"],
        ["--state", "closed"],
    ]
    for version, step in enumerate(steps, start=1):
        doc = run_json(ws_path, "update", U, *step, "--expected-version", str(version))
        assert doc["version"] == version + 1
    assert doc["to_state"] == "closed"
    past = run_json(ws_path, "history", U)["history"]
    assert [h["to_state"] for h in past if h["event"] == "state"] == [s[1] for s in steps]
    assert all(h["by"] == "office:clerk" for h in past[1:])


def test_verifying_illegal_reports_the_problem_it_opened(ws_path: Path) -> None:
    run_json(ws_path, "update", U, "--state", "dispatched")
    res = run(
        ws_path, "update", U, "--state", "verified", "--legality", "illegal", "--verifier", "李四"
    )
    assert res.exit_code == 0, res.output
    assert "已关联问题（SG" in res.stdout


def test_a_stale_version_is_refused(ws_path: Path) -> None:
    run_json(ws_path, "update", U, "--state", "dispatched", "--expected-version", "1")
    res = run(ws_path, "update", U, "--state", "dispatched", "--expected-version", "1")
    assert res.exit_code != 0
    assert "你基于第 1 版，当前为第 2 版" in res.output


def test_a_move_the_states_do_not_allow_is_refused_in_english(ws_path: Path) -> None:
    res = run(ws_path, "update", ILL, "--state", "closed", lang="en")
    assert res.exit_code != 0
    assert "closes only after investigation" in res.output


@pytest.mark.slow
def test_the_list_filters_by_state_village_and_overdue(ws_path: Path) -> None:
    listed = run_json(ws_path, "list", "--state", "verified")["patches"]
    assert sorted(p["patch_id"] for p in listed) == [ILL, "44188220260004"]
    assert run_json(ws_path, "list", "--village", "竹山村")["patches"] == []
    assert len(run_json(ws_path, "list", "--village", "丰阳村")["patches"]) == 4
    # registered today: nothing is overdue now, the dispatch of U is a year later
    assert run_json(ws_path, "list", "--overdue")["patches"] == []
    late = run_json(ws_path, "list", "--overdue", "--as-of", "2099-01-01")["patches"]
    assert {p["level"] for p in late} == {"listed"}


def test_the_list_table_names_states_in_chinese(ws_path: Path) -> None:
    res = run(ws_path, "list")
    assert res.exit_code == 0, res.output
    assert "已判读" in res.stdout and "已销号" in res.stdout


def test_an_unknown_state_filter_is_refused(ws_path: Path) -> None:
    res = run(ws_path, "list", "--state", "verifed", lang="en")
    assert res.exit_code != 0
    assert "The patch state was 'verifed'" in res.output
