"""The geoservice command line, run as a user runs it (a real subprocess)."""

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
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


# Runs the command line in a child process that stops for good half-way through writing the
# finished copy back into the workspace: SQLite's backup is made to copy one page per step
# (the destination's write transaction stays open across the steps until the last) and the
# progress callback announces the half-way point by creating the marker file, so the test
# can kill it inside the write-back's transaction instead of racing the import's progress.
_HELD_IMPORT = """
import sqlite3, sys, time
from pathlib import Path

workspace, marker = Path(sys.argv[1]).resolve(), Path(sys.argv[2])


class Held(sqlite3.Connection):
    def backup(self, target, **kw):
        def progress(status, remaining, total):
            if remaining <= total // 2:
                marker.touch()
                time.sleep(600)

        return super().backup(target, pages=1, progress=progress)


real_connect = sqlite3.connect
sqlite3.connect = lambda *a, **kw: real_connect(*a, **{"factory": Held, **kw})
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
    marker = tmp_path / "half-way-back"
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
    assert reached, f"the import never reached its write-back: {err.decode()[-2000:]}"
    assert _sha(ws) == before  # the pages written went to the log, uncommitted
    assert (tmp_path / "ws.gpkg-wal").exists()
    assert len(gpd.read_file(ws, layer="parcels")) == 3  # the log's open transaction is void
    with contextlib.closing(sqlite3.connect(ws)) as con, con:
        assert con.execute("PRAGMA quick_check").fetchone() == ("ok",)
    assert list(tmp_path.glob(".ws.gpkg.*.tmp.gpkg"))  # the finished copy never written back
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
