"""The geoservice command line, run as a user runs it (a real subprocess)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import geopandas as gpd
import pytest

from tests.support.builders import write_shp, xiaoban

# The command line run as a user runs it, one process per command.
pytestmark = pytest.mark.slow


def run(*args, cwd=None, env_extra=None):
    env = {**os.environ, "GEOSERVICE_USER": "tester", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "geoservice", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_import_prints_the_report_in_chinese(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    res = run("import", "parcels", shp, "-w", tmp_path / "ws.gpkg")
    assert res.returncode == 0, res.stderr
    assert "读取 3 行，导入 3 行" in res.stdout
    assert "GB18030" in res.stdout


def test_import_json_report_is_machine_readable(tmp_path):
    shp = write_shp(xiaoban(), tmp_path / "xb.shp")
    res = run("import", "parcels", shp, "-w", tmp_path / "ws.gpkg", "--json", "--lang", "en")
    data = json.loads(res.stdout)
    assert data["report"]["rows_imported"] == 3
    assert data["catalog_entry"]["imported_by"] == "tester"
    assert data["report"]["crs"].startswith("EPSG:4546")


def test_layers_lists_the_register(tmp_path):
    ws = tmp_path / "ws.gpkg"
    run("import", "parcels", write_shp(xiaoban(), tmp_path / "xb.shp"), "-w", ws)
    table = run("layers", "-w", ws, "--lang", "en")
    assert "Layer catalog" in table.stdout
    assert "xb.shp" in table.stdout
    data = json.loads(run("layers", "-w", ws, "--json").stdout)
    assert [e["layer"] for e in data["layers"]] == ["parcels"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["import", "parcels", "missing.shp"], "missing.shp"),
        (["import", "rivers", "x.shp"], "villages, parcels"),
        (["layers"], "import data into it first"),
    ],
)
def test_user_errors_are_one_line_exit_2_without_traceback(tmp_path, args, needle):
    res = run(*args, "-w", tmp_path / "ws.gpkg", "--lang", "en")
    assert res.returncode == 2
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_bad_workspace_setting_is_a_one_line_error(tmp_path):
    res = run("layers", env_extra={"GEOSERVICE_WORKSPACE": str(tmp_path / "ws.txt")})
    assert res.returncode == 2
    assert ".gpkg" in res.stderr
    assert "Traceback" not in res.stderr


def test_rejects_option_writes_a_csv_excel_opens(tmp_path):
    src = xiaoban(3, XIAO_BAN=["001", "001", "002"], DI_LEI=["111", "131", "111"])
    shp = write_shp(src, tmp_path / "xb.shp")
    out = tmp_path / "rejects.csv"
    res = run("import", "parcels", shp, "-w", tmp_path / "ws.gpkg", "--rejects", out)
    assert res.returncode == 0, res.stderr
    text = out.read_bytes().decode("utf-8-sig")
    assert "duplicate_id" in text
    assert "编号重复" in text


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Runs the command line in a child process that stops for good just before the finished copy
# replaces the workspace (it announces that by creating the marker file), so the test can kill
# it at exactly that point instead of racing the import's progress.
_HELD_IMPORT = """
import os, sys, time
from pathlib import Path

workspace, marker = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
real_replace = os.replace


def held_replace(src, dst):
    if Path(dst).resolve() == workspace:
        marker.touch()
        time.sleep(600)
    return real_replace(src, dst)


os.replace = held_replace
from geoservice.cli.app import main

sys.argv = ["geoservice", *sys.argv[3:]]
main()
"""


def test_import_killed_half_way_leaves_the_workspace_as_it_was(tmp_path):
    ws = tmp_path / "ws.gpkg"
    first = run("import", "parcels", write_shp(xiaoban(), tmp_path / "xb.shp"), "-w", ws)
    assert first.returncode == 0, first.stderr
    before = _sha(ws)
    more = write_shp(xiaoban(LIN_BAN=["0013"] * 3), tmp_path / "more" / "more.shp")
    marker = tmp_path / "about-to-replace"
    env = {**os.environ, "GEOSERVICE_USER": "tester"}
    args = ["import", "parcels", str(more), "-w", str(ws), "--mode", "append"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _HELD_IMPORT, str(ws), str(marker), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    reached = marker.exists()
    proc.send_signal(signal.SIGKILL)
    _out, err = proc.communicate()
    assert reached, f"the import never reached the replace step: {err.decode()[-2000:]}"
    assert _sha(ws) == before
    assert list(tmp_path.glob(".ws.gpkg.*.tmp.gpkg"))  # the finished copy never replaced it
    again = run("import", "parcels", write_shp(xiaoban(), tmp_path / "x2.shp"), "-w", ws)
    assert again.returncode == 0, again.stderr
    assert not list(tmp_path.glob(".ws.gpkg.*.tmp.gpkg"))
    assert len(gpd.read_file(ws, layer="parcels")) == 3


def test_with_json_errors_are_also_a_json_object_on_stdout(tmp_path):
    res = run("import", "parcels", tmp_path / "missing.shp", "-w", tmp_path / "ws.gpkg", "--json")
    assert res.returncode == 2
    error = json.loads(res.stdout)["error"]
    assert error["code"] == "source.missing"
    assert "missing.shp" in error["message"]
