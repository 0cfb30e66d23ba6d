"""SQL writes of concurrent threads share a transaction; each is undone alone when it fails."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from geoservice.base.errors import StaleVersionError
from geoservice.base.workspace import Workspace
from geoservice.base.write_batch import _BATCHES, batch_counts, write_batched
from geoservice.workflow.store import ensure_workflow, history, read_problems, update_problem
from tests.support.workflow import workspace


def _notes(con: sqlite3.Connection, actor: str) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS notes (k TEXT PRIMARY KEY, v INTEGER)")


def _insert(k: str, v: int, fail: str | None = None) -> Callable[[sqlite3.Connection], int]:
    def write(con: sqlite3.Connection) -> int:
        con.execute("INSERT INTO notes VALUES (?, ?)", (k, v))
        if fail:
            raise ValueError(fail)
        return v

    return write


def _notes_in(ws: Workspace) -> dict[str, int]:
    with sqlite3.connect(ws.path) as con:
        return dict(con.execute("SELECT k, v FROM notes"))


def _queued(ws: Workspace, schema, n: int) -> None:
    """Wait until ``n`` writes are queued behind the batch being written."""
    key = (os.path.realpath(ws.path), schema)
    while key not in _BATCHES or len(_BATCHES[key]._pending) < n:
        threading.Event().wait(0.01)


def _run_behind_the_lock(
    ws: Workspace, schema, calls: Mapping[str, Callable[[], object]]
) -> dict[str, object]:
    """Run ``calls`` in threads while another thread holds the workspace lock; the first
    call waits for the lock and the others queue behind it. Results or errors by name."""
    results: dict[str, object] = {}
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with ws.lock():
            holding.set()
            assert release.wait(20)

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            results[name] = call()
        except Exception as exc:
            results[name] = exc

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    names = list(calls)
    threads = [threading.Thread(target=run, args=(names[0], calls[names[0]]))]
    threads[0].start()
    _queued(ws, schema, 0)
    threading.Event().wait(0.2)  # the first call is now the batch writer, waiting for the lock
    for name in names[1:]:
        threads.append(threading.Thread(target=run, args=(name, calls[name])))
        threads[-1].start()
    _queued(ws, schema, len(names) - 1)
    release.set()
    for t in [holder, *threads]:
        t.join(30)
    return results


def test_a_write_alone_is_committed_in_its_own_transaction(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    assert write_batched(ws, _insert("a", 1), "clerk", schema=_notes) == 1
    assert _notes_in(ws) == {"a": 1}
    assert batch_counts(ws) == (1, 1)


def test_a_write_alone_that_fails_is_rolled_back_and_raises(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_batched(ws, _insert("a", 1), "clerk", schema=_notes)
    with pytest.raises(ValueError, match="no room"):
        write_batched(ws, _insert("b", 2, fail="no room"), "clerk", schema=_notes)
    assert _notes_in(ws) == {"a": 1}


def test_writes_queued_meanwhile_share_one_transaction_and_a_failing_one_is_undone_alone(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path)
    calls = {
        k: (lambda k=k, fail=fail: write_batched(ws, _insert(k, ord(k), fail), "c", _notes))
        for k, fail in (("a", None), ("b", None), ("c", "c is refused"), ("d", None))
    }
    results = _run_behind_the_lock(ws, _notes, calls)
    assert {k: results[k] for k in "abd"} == {"a": 97, "b": 98, "d": 100}
    assert isinstance(results["c"], ValueError) and str(results["c"]) == "c is refused"
    assert _notes_in(ws) == {"a": 97, "b": 98, "d": 100}
    assert batch_counts(ws) == (2, 4)  # "a" alone, then "b", "c" and "d" together


def test_a_thread_holding_the_workspace_lock_writes_at_once(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    with ws.lock():
        assert write_batched(ws, _insert("a", 1), "clerk", schema=_notes) == 1
    assert _notes_in(ws) == {"a": 1}
    assert batch_counts(ws) == (0, 0)


def test_concurrent_problem_updates_share_a_transaction_and_a_stale_one_gets_412(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, [{"问题编号": f"P-{n}"} for n in range(1, 5)])
    version = {r.problem_id: int(r.version) for r in read_problems(ws).itertuples()}
    calls = {
        pid: (
            lambda pid=pid, v=version[pid] - (pid == "P-3"): update_problem(
                ws, pid, "in_progress", f"clerk-{pid}", expected_version=v
            )
        )
        for pid in ("P-1", "P-2", "P-3", "P-4")
    }
    results = _run_behind_the_lock(ws, ensure_workflow, calls)
    assert isinstance(results["P-3"], StaleVersionError)
    for pid in ("P-1", "P-2", "P-4"):
        change = results[pid]
        assert isinstance(change, dict) and change["version"] == version[pid] + 1
    after = read_problems(ws).set_index("problem_id")
    assert list(after.loc[["P-1", "P-2", "P-3", "P-4"], "status"]) == [
        "in_progress",
        "in_progress",
        "assigned",
        "in_progress",
    ]
    assert list(history(ws, "P-3")["to_state"]) == ["assigned"]
    assert batch_counts(ws) == (2, 4)
