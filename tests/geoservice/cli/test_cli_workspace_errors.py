"""Every command that takes -w: a workspace that is not a GeoPackage, or is missing, is one
line on stderr and exit status 2; target exports before any analysis name the command."""

import json
import zipfile

import pytest
import typer.main
from typer.testing import CliRunner

from geoservice.base.workspace import Workspace
from geoservice.cli.app import app
from geoservice.files.importing import import_file
from tests.support.builders import run_cli, write_shp, xiaoban

# Commands that accept a workspace path that does not exist yet.
OPTIONAL = {("import",), ("problems", "import"), ("rules", "show")}
# Values for required parameters that get a command as far as opening its workspace.
VALUES = {
    "kind": "parcels",
    "layer": "parcels",
    "start": "2026-01-01",
    "end": "2026-11-28",
    "deadline": "2026-12-31",
    "role": "office",
    "to": "reported",
}


def _workspace_commands():
    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))
        if not hasattr(cmd, "commands") and any(p.name == "workspace" for p in cmd.params):
            yield path, cmd

    return list(walk(typer.main.get_command(app), ()))


COMMANDS = _workspace_commands()
# `serve` would start a server if it let a workspace through: run it as a process below.
IN_PROCESS = [(path, cmd) for path, cmd in COMMANDS if path != ("serve",)]


def _args(path, cmd, workspace):
    args = list(path)
    for param in cmd.params:
        if param.required:
            value = VALUES.get(param.name, "x")
            args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return [*args, "-w", str(workspace), "--lang", "en"]


def _one_line_exit_2(result):
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_commands_that_take_a_workspace_are_found():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"import", "layers", "export", "analyze", "serve", "map targets"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize(("path", "cmd"), IN_PROCESS, ids=[" ".join(p) for p, _ in IN_PROCESS])
@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "is an empty file (0 bytes)"),
        ("村名,村代码\n".encode(), "is a text file (it starts '村名,村代码')"),
    ],
    ids=["empty", "text"],
)
def test_a_workspace_that_is_not_a_geopackage_is_one_line_and_exit_2(
    tmp_path, path, cmd, content, what
):
    workspace = tmp_path / "town.gpkg"
    workspace.write_bytes(content)
    line = _one_line_exit_2(CliRunner().invoke(app, _args(path, cmd, workspace)))
    assert f"Workspace {workspace} {what}, not a GeoPackage" in line
    assert "-w/--workspace" in line or "delete it" in line
    assert workspace.read_bytes() == content


EXISTING = [(p, c) for p, c in IN_PROCESS if p not in OPTIONAL]


@pytest.mark.parametrize(("path", "cmd"), EXISTING, ids=[" ".join(p) for p, _ in EXISTING])
def test_a_command_that_reads_says_a_missing_workspace_does_not_exist(tmp_path, path, cmd):
    workspace = tmp_path / "town.gpkg"
    line = _one_line_exit_2(CliRunner().invoke(app, _args(path, cmd, workspace)))
    assert f"Workspace {workspace} does not exist; import data into it first" in line
    assert not workspace.exists()


def test_rules_show_needs_no_workspace_yet(tmp_path):
    result = CliRunner().invoke(app, ["rules", "show", "-w", str(tmp_path / "new.gpkg")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "new.gpkg").exists()


@pytest.mark.slow
def test_serve_refuses_to_start_on_a_file_that_is_not_a_geopackage(tmp_path):
    workspace = tmp_path / "town.gpkg"
    workspace.write_bytes(b"")
    res = run_cli("serve", "-w", workspace, "--port", "1", "--lang", "en", timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"Workspace {workspace} is an empty file (0 bytes)" in lines[0]


@pytest.mark.slow
def test_a_zip_given_as_workspace_is_a_json_error_with_json(tmp_path):
    workspace = tmp_path / "town.gpkg"
    write_shp(xiaoban(), tmp_path / "xb.shp")
    with zipfile.ZipFile(workspace, "w") as zf:
        for part in tmp_path.glob("xb.*"):
            zf.write(part, part.name)
    res = run_cli("layers", "-w", workspace, "--json")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "workspace.not_geopackage"
    assert "是一个 ZIP 压缩包，不是 GeoPackage" in error["message"]


# --- target exports before any analysis ---------------------------------------------------


@pytest.fixture
def parcels_only(tmp_path):
    ws = Workspace(tmp_path / "town.gpkg")
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="tester")
    return ws


@pytest.mark.parametrize("layer", ["targets", "parcel_risk"])
def test_exporting_analysis_results_before_any_analysis_names_the_command(
    parcels_only, tmp_path, layer
):
    out = tmp_path / "out.csv"
    args = ["export", layer, "--out", str(out), "-w", str(parcels_only.path), "--lang", "en"]
    line = _one_line_exit_2(CliRunner().invoke(app, args))
    assert line.startswith(f"Error: No analysis has been run on workspace {parcels_only.path}")
    assert f"run geoservice analyze -w {parcels_only.path} --as-of " in line
    assert not out.exists()


def test_the_no_analysis_error_is_in_chinese_by_default(parcels_only, tmp_path):
    args = ["export", "targets", "--out", str(tmp_path / "t.xlsx"), "-w", str(parcels_only.path)]
    line = _one_line_exit_2(CliRunner().invoke(app, args))
    assert "还没有运行过研判分析，因此还没有联合执法目标" in line
    assert f"geoservice analyze -w {parcels_only.path} --as-of" in line


@pytest.mark.slow
def test_targets_export_after_an_analysis_writes_the_file(parcels_only, tmp_path):
    ws = str(parcels_only.path)
    runner = CliRunner()
    assert runner.invoke(app, ["analyze", "-w", ws, "--as-of", "2026-11-28"]).exit_code == 0
    out = tmp_path / "t.csv"
    result = runner.invoke(app, ["export", "targets", "--out", str(out), "-w", ws])
    assert result.exit_code == 0, result.output
    assert out.exists()
