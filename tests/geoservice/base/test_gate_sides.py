"""The gate keeps GDAL's use of a workspace file apart from Python's, within a process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from geoservice.base.workspace_gate import Gate, file_lock
from tests.support.workflow import workspace


def _start(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _hold(
    enter: Callable[[], contextlib.AbstractContextManager[None]],
    entered: threading.Event,
    leave: threading.Event,
) -> None:
    with enter():
        entered.set()
        assert leave.wait(10)


@pytest.mark.parametrize(
    ("held", "wanted"),
    [("sql", "reading"), ("writing", "reading"), ("reading", "sql"), ("reading", "writing")],
)
def test_one_side_waits_for_the_other_sides_use_in_another_thread(held, wanted):
    gate, entered, leave, done = Gate(), threading.Event(), threading.Event(), threading.Event()
    holder = _start(lambda: _hold(getattr(gate, held), entered, leave))
    assert entered.wait(10)

    def use() -> None:
        with getattr(gate, wanted)():
            done.set()

    waiter = _start(use)
    assert not done.wait(0.2)
    leave.set()
    assert done.wait(10)
    holder.join(10)
    waiter.join(10)


@pytest.mark.parametrize(
    ("held", "wanted"),
    [("sql", "sql"), ("writing", "sql"), ("sql", "writing"), ("reading", "reading")],
)
def test_uses_of_one_side_in_two_threads_share_the_gate(held, wanted):
    gate, entered, leave = Gate(), threading.Event(), threading.Event()
    holder = _start(lambda: _hold(getattr(gate, held), entered, leave))
    assert entered.wait(10)
    started = time.monotonic()
    with getattr(gate, wanted)():
        assert time.monotonic() - started < 1.0
    leave.set()
    holder.join(10)


def test_a_waiting_gdal_read_goes_before_new_python_readers():
    gate, order = Gate(), []
    entered, leave = threading.Event(), threading.Event()
    holder = _start(lambda: _hold(gate.sql, entered, leave))
    assert entered.wait(10)

    def gdal() -> None:
        with gate.reading():
            order.append("gdal")

    def python() -> None:
        with gate.sql():
            order.append("python")

    reader = _start(gdal)
    while not gate._waiting["gdal"]:
        time.sleep(0.01)
    newcomer = _start(python)
    time.sleep(0.1)
    assert order == []
    leave.set()
    for t in (holder, reader, newcomer):
        t.join(10)
    assert order == ["gdal", "python"]


def test_a_gdal_read_inside_this_threads_python_read_is_refused():
    gate = Gate()
    with (
        gate.sql(),
        pytest.raises(RuntimeError, match="finish one before starting the other"),
        gate.reading(),
    ):
        pass


def test_a_python_read_inside_this_threads_gdal_read_is_refused():
    gate = Gate()
    with (
        gate.reading(),
        pytest.raises(RuntimeError, match="finish one before starting the other"),
        gate.sql(),
    ):
        pass
    assert gate._active == {"gdal": 0, "python": 0}


def test_the_workspace_lock_holder_is_refused_a_gdal_read_inside_its_connection(tmp_path):
    # in WAL mode a GDAL close inside the holder's own connection would delete the log
    # under that connection, whoever holds <workspace>.lock
    path = tmp_path / "ws.gpkg"
    gate = Gate(path)
    with (
        file_lock(path),
        gate.writing(),
        pytest.raises(RuntimeError, match="delete its write-ahead log"),
        gate.reading(),
    ):
        pass
    assert gate._active == {"gdal": 0, "python": 0}


def test_nested_use_of_one_side_passes():
    gate = Gate()
    with gate.writing(), gate.sql(), gate.writing():
        pass
    with gate.reading(), gate.reading():
        pass
    assert gate._active == {"gdal": 0, "python": 0}


def test_a_python_read_connection_keeps_gdal_reads_of_the_workspace_out(tmp_path):
    ws = workspace(tmp_path)
    read, entered, leave = threading.Event(), threading.Event(), threading.Event()

    def hold_connection() -> None:
        with ws.read_connection() as con:
            con.execute("BEGIN")
            con.execute("SELECT count(*) FROM problems").fetchone()
            entered.set()
            assert leave.wait(10)
            con.execute("COMMIT")

    holder = _start(hold_connection)
    assert entered.wait(10)
    reader = _start(lambda: (ws.read("problems"), read.set()))
    assert not read.wait(0.3)
    leave.set()
    assert read.wait(30)
    holder.join(10)
    reader.join(10)


def test_no_gdal_use_starts_before_the_first_has_closed_the_idle_connections():
    gate = Gate()
    closing, release = threading.Event(), threading.Event()
    entered: list[str] = []

    def close_idle() -> None:
        closing.set()
        assert release.wait(10)
        entered.append("closed")

    gate.before_gdal = close_idle

    second_in = threading.Event()

    def read(name: str) -> None:
        with gate.reading():
            entered.append(name)
            if name == "first":
                assert second_in.wait(10)  # both on the GDAL side at once
            else:
                second_in.set()

    first = threading.Thread(target=read, args=("first",))
    first.start()
    assert closing.wait(10)
    second = threading.Thread(target=read, args=("second",))
    second.start()
    time.sleep(0.2)
    assert entered == []  # the second GDAL user waits for the closing
    release.set()
    for thread in (first, second):
        thread.join(10)
    assert entered[0] == "closed"
    assert sorted(entered[1:]) == ["first", "second"]
    assert entered.count("closed") == 1  # only the first user of the GDAL side closes


def test_file_lock_makes_the_missing_folder_of_its_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "ws.gpkg"
    with file_lock(path):
        assert (tmp_path / "new" / "deeper" / "ws.gpkg.lock").is_file()
