"""A workspace path that is not a GeoPackage is refused with what it is and what to do."""

import contextlib
import sqlite3
import subprocess
import sys
import zipfile

import pytest

from geoservice.api.app import create_app
from geoservice.base.errors import WorkspaceError
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_file import check_workspace_file
from tests.support.builders import write_shp, xiaoban


def _empty(path):
    path.write_bytes(b"")


def _csv_in_gbk(path):
    path.write_bytes("举报编号,受理时间\nJB001,2026-03-01\n".encode("gb18030"))


def _zip_of_a_shapefile(path):
    shp = write_shp(xiaoban(), path.parent / "xb.shp")
    with zipfile.ZipFile(path, "w") as zf:
        for part in shp.parent.glob("xb.*"):
            zf.write(part, part.name)


def _sqlite_of_another_program(path):
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (id INTEGER, text TEXT)")


def _damaged_sqlite(path):
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)


def _binary(path):
    path.write_bytes(bytes(range(1, 256)) * 4)


def _folder(path):
    path.mkdir()


TRAPS = [
    (_empty, "an empty file \\(0 bytes\\).*delete it"),
    (_csv_in_gbk, "a text file \\(it starts '举报编号,受理时间'\\)"),
    (_zip_of_a_shapefile, "a ZIP archive.*geoservice import KIND FILE.zip"),
    (_sqlite_of_another_program, "an SQLite database without the GeoPackage tables"),
    (_damaged_sqlite, "a damaged SQLite database"),
    (_binary, "a binary file of another format \\(it starts with the bytes 01 02 03"),
    (_folder, "a folder.*e.g. -w .*town.gpkg/town.gpkg"),
]


@pytest.mark.parametrize(("make", "what"), TRAPS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_path_that_is_not_a_geopackage_says_what_it_is_and_the_fix(tmp_path, make, what):
    path = tmp_path / "town.gpkg"
    make(path)
    with pytest.raises(WorkspaceError, match=f"Workspace .*town.gpkg is {what}") as info:
        check_workspace_file(path)
    assert info.value.code == "workspace.not_geopackage"
    assert "expected to be the GeoPackage file (.gpkg" in info.value.message.en
    assert "不是 GeoPackage" in info.value.message.zh


@pytest.mark.parametrize(("make", "what"), TRAPS, ids=lambda v: getattr(v, "__name__", ""))
def test_reading_and_writing_refuse_a_path_that_is_not_a_geopackage(tmp_path, make, what):
    ws = Workspace(tmp_path / "town.gpkg")
    make(ws.path)
    for action in (ws.require, ws.layer_names, ws.crs, ws.catalog):
        with pytest.raises(WorkspaceError, match=what):
            action()
    with pytest.raises(WorkspaceError, match=what), ws.transaction():
        pass


def test_a_text_file_cut_inside_a_character_is_still_text(tmp_path):
    path = tmp_path / "town.gpkg"
    path.write_bytes(("小班" * 700).encode("utf-8"))  # the 4096-byte read ends mid-character
    with pytest.raises(WorkspaceError, match="a text file"):
        check_workspace_file(path)


def test_a_geopackage_and_a_path_not_there_yet_pass(tmp_path):
    gpkg = tmp_path / "town.gpkg"
    xiaoban().to_file(gpkg, driver="GPKG", layer="parcels")
    check_workspace_file(gpkg)
    check_workspace_file(tmp_path / "new.gpkg")
    assert not (tmp_path / "new.gpkg").exists()


def test_a_missing_workspace_is_not_called_a_wrong_file(tmp_path):
    with pytest.raises(WorkspaceError, match="does not exist; import data into it first"):
        Workspace(tmp_path / "new.gpkg").require()


def test_the_service_does_not_start_on_a_file_that_is_not_a_geopackage(tmp_path):
    path = tmp_path / "town.gpkg"
    _csv_in_gbk(path)
    with pytest.raises(WorkspaceError, match="is a text file") as info:
        create_app(Settings(workspace=path))
    assert info.value.code == "workspace.not_geopackage"


def test_the_service_starts_on_a_workspace_an_import_will_create(tmp_path):
    app = create_app(Settings(workspace=tmp_path / "new.gpkg"))
    assert app.state.settings.workspace == tmp_path / "new.gpkg"


_TRY_TO_WRITE = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    con.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError:
    print("locked")
else:
    print("free")
"""


def test_checking_a_workspace_keeps_the_write_lock_another_thread_holds(tmp_path):
    gpkg = tmp_path / "town.gpkg"
    xiaoban().to_file(gpkg, driver="GPKG", layer="parcels")
    with contextlib.closing(sqlite3.connect(gpkg, isolation_level=None)) as con:
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM parcels")
        check_workspace_file(gpkg)  # every request does this while others write
        other = subprocess.run(
            [sys.executable, "-c", _TRY_TO_WRITE, str(gpkg)],
            capture_output=True,
            text=True,
            check=True,
        )
        con.execute("ROLLBACK")
    assert other.stdout.strip() == "locked"
