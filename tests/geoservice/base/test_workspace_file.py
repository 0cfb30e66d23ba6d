"""A workspace path that is not a GeoPackage is refused with what it is and what to do."""

import contextlib
import os
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
    with contextlib.closing(sqlite3.connect(path)) as con, con:
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


# --- the verdict remembered by file identity ----------------------------------------------


@pytest.fixture
def checks(monkeypatch):
    """Counts the checks that open the file; a file is trusted right after its last
    change (the settle time is left out, it has its own test)."""
    import geoservice.base.workspace_file as wf

    calls = []
    real = wf._sqlite

    def counted(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(wf, "_sqlite", counted)
    monkeypatch.setattr(wf, "_SETTLE_NS", 0)
    monkeypatch.setattr(wf, "_SETTLE_WHOLE_SECOND_NS", 0)
    return calls


def _geopackage(path):
    xiaoban().to_file(path, driver="GPKG", layer="parcels")
    return path


def test_a_geopackage_that_passed_is_not_opened_again_while_unchanged(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    for _ in range(3):
        check_workspace_file(gpkg)
    assert len(checks) == 1


def test_a_geopackage_replaced_by_another_file_is_refused_after_it_passed(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    _csv_in_gbk(tmp_path / "export.csv")
    (tmp_path / "export.csv").replace(gpkg)
    with pytest.raises(WorkspaceError, match="is a text file"):
        check_workspace_file(gpkg)


def test_a_geopackage_replaced_by_another_programs_database_is_refused(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    _sqlite_of_another_program(tmp_path / "notes.db")
    (tmp_path / "notes.db").replace(gpkg)
    with pytest.raises(WorkspaceError, match="an SQLite database without the GeoPackage"):
        check_workspace_file(gpkg)


def test_garbage_written_in_place_with_the_same_size_and_times_is_refused(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    before = gpkg.stat()
    with open(gpkg, "r+b") as fh:  # same inode, same size
        fh.write(bytes(range(1, 256)) * (before.st_size // 255) + b"\x01" * (before.st_size % 255))
    os.utime(gpkg, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old times put back
    after = gpkg.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    with pytest.raises(WorkspaceError, match="a binary file of another format"):
        check_workspace_file(gpkg)


def test_a_refused_file_is_checked_again_each_time(tmp_path, checks):
    path = tmp_path / "town.gpkg"
    _sqlite_of_another_program(path)
    for _ in range(2):
        with pytest.raises(WorkspaceError, match="without the GeoPackage tables"):
            check_workspace_file(path)
    assert len(checks) == 2


def test_a_path_not_there_yet_is_not_remembered_as_passing(tmp_path, checks):
    path = tmp_path / "town.gpkg"
    check_workspace_file(path)
    _csv_in_gbk(path)
    with pytest.raises(WorkspaceError, match="is a text file"):
        check_workspace_file(path)


def test_a_file_changed_just_before_its_check_is_not_trusted_by_its_times(tmp_path, monkeypatch):
    import geoservice.base.workspace_file as wf

    headers = []
    real = wf._header
    monkeypatch.setattr(wf, "_header", lambda path: headers.append(path) or real(path))
    monkeypatch.setattr(wf, "_SETTLE_NS", 60_000_000_000)  # "just changed" for a minute
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    check_workspace_file(gpkg)
    assert len(headers) == 1  # read again through SQLite, not passed on its times


def test_rows_written_through_sqlite_need_no_full_check_again(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    before = gpkg.stat()
    with contextlib.closing(sqlite3.connect(gpkg)) as con, con:
        con.execute("DELETE FROM parcels WHERE fid = 1")  # as an audited request writes
    assert gpkg.stat().st_mtime_ns != before.st_mtime_ns
    check_workspace_file(gpkg)
    assert len(checks) == 1


def test_a_schema_change_gets_the_full_check_again(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    with contextlib.closing(sqlite3.connect(gpkg)) as con, con:
        con.execute("DROP TABLE gpkg_contents")
    with pytest.raises(WorkspaceError, match="without the GeoPackage tables"):
        check_workspace_file(gpkg)
    assert len(checks) == 2


def test_another_programs_database_copied_over_it_in_place_is_refused(tmp_path, checks):
    gpkg = _geopackage(tmp_path / "town.gpkg")
    check_workspace_file(gpkg)
    inode = gpkg.stat().st_ino
    _sqlite_of_another_program(tmp_path / "notes.db")
    with open(gpkg, "r+b") as fh:  # what cp does: the same inode, new bytes
        fh.write((tmp_path / "notes.db").read_bytes())
        fh.truncate()
    assert gpkg.stat().st_ino == inode
    with pytest.raises(WorkspaceError, match="an SQLite database without the GeoPackage"):
        check_workspace_file(gpkg)


@pytest.mark.parametrize(
    ("mtime", "ctime", "checked", "settled"),
    [
        (1_000_000_000_123, 1_000_000_000_123, 1_000_000_000_123 + 49_000_000, False),
        (1_000_000_000_123, 1_000_000_000_123, 1_000_000_000_123 + 50_000_000, True),
        (1_000_000_000_123, 1_000_000_900_000, 1_000_000_000_123 + 50_000_000, False),
        # whole seconds: a file system that keeps seconds only (ext3, FAT: 2 s)
        (1_000_000_000_000, 1_000_000_000_000, 1_000_000_000_000 + 4_000_000_000, False),
        (1_000_000_000_000, 1_000_000_000_000, 1_000_000_000_000 + 5_000_000_000, True),
    ],
)
def test_times_are_trusted_once_a_tick_of_the_file_clock_has_passed(mtime, ctime, checked, settled):
    from geoservice.base.workspace_file import _settled

    assert _settled((1, 2, 3, mtime, ctime), checked) is settled


def test_a_workspace_removed_between_its_stat_and_its_header_read_is_not_created(tmp_path):
    from geoservice.base.workspace_file import _header

    gpkg = _geopackage(tmp_path / "town.gpkg")
    assert _header(gpkg) is not None
    gpkg.unlink()
    assert _header(gpkg) is None
    assert not gpkg.exists()


def test_the_header_fields_read_in_one_statement_are_those_of_the_pragmas(tmp_path):
    from geoservice.base.workspace_file import _HEADER_PRAGMAS, _header_of

    path = tmp_path / "h.gpkg"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as con:
        con.execute("PRAGMA application_id = 1196444487")
        con.execute("PRAGMA user_version = 10400")
        con.execute("CREATE TABLE t (x)")
        pragmas = tuple(int(con.execute(f"PRAGMA {n}").fetchone()[0]) for n in _HEADER_PRAGMAS)
        assert _header_of(con) == pragmas == (1, 1196444487, 10400)
