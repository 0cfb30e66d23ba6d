"""Items of concurrent threads are written in shared batches, each thread with its outcome."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from geoservice.base.group_commit import Failed, GroupCommit, Outcome


def _doubled(items: Sequence[int]) -> list[Outcome[int]]:
    return [2 * n for n in items]


def _queue_behind_a_held_batch(
    batch: GroupCommit[int, int], write, others: Sequence[int]
) -> tuple[list[threading.Thread], dict[int, object], threading.Event]:
    """Start item 0, whose batch waits for the returned event; queue ``others`` behind it."""
    results: dict[int, object] = {}
    writing, release = threading.Event(), threading.Event()

    def held(items: Sequence[int]) -> list[Outcome[int]]:
        if items == [0]:
            writing.set()
            assert release.wait(10)
        return write(items)

    def run(n: int) -> None:
        try:
            results[n] = batch.submit(n, held)
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(0,))]
    threads[0].start()
    assert writing.wait(10)
    for n in others:
        threads.append(threading.Thread(target=run, args=(n,)))
        threads[-1].start()
    while len(batch._pending) < len(others):
        threading.Event().wait(0.01)
    return threads, results, release


def _finish(threads: list[threading.Thread], release: threading.Event) -> None:
    release.set()
    for t in threads:
        t.join(10)


def test_an_item_alone_is_written_at_once_with_its_result():
    batch: GroupCommit[int, int] = GroupCommit()
    assert batch.submit(4, _doubled) == 8
    assert (batch.commits, batch.items) == (1, 1)


def test_items_queued_while_a_batch_is_written_share_the_next_batch_and_get_their_own_results():
    batch: GroupCommit[int, int] = GroupCommit()
    seen: list[list[int]] = []

    def write(items: Sequence[int]) -> list[Outcome[int]]:
        seen.append(list(items))
        return _doubled(items)

    threads, results, release = _queue_behind_a_held_batch(batch, write, [1, 2, 3])
    _finish(threads, release)
    assert results == {0: 0, 1: 2, 2: 4, 3: 6}
    assert seen[0] == [0] and sorted(seen[1]) == [1, 2, 3]
    assert (batch.commits, batch.items) == (2, 4)


def test_a_failed_item_raises_in_its_own_thread_only():
    batch: GroupCommit[int, int] = GroupCommit()

    def write(items: Sequence[int]) -> list[Outcome[int]]:
        return [Failed(ValueError(f"item {n} is stale")) if n == 2 else n for n in items]

    threads, results, release = _queue_behind_a_held_batch(batch, write, [1, 2, 3])
    _finish(threads, release)
    assert isinstance(results[2], ValueError) and str(results[2]) == "item 2 is stale"
    assert {n: results[n] for n in (0, 1, 3)} == {0: 0, 1: 1, 3: 3}


def test_an_error_escaping_the_writer_fails_every_item_of_its_batch():
    batch: GroupCommit[int, int] = GroupCommit()

    def write(items: Sequence[int]) -> list[Outcome[int]]:
        if items != [0]:
            raise OSError("disk full")
        return list(items)

    threads, results, release = _queue_behind_a_held_batch(batch, write, [1, 2])
    _finish(threads, release)
    assert results[0] == 0
    assert [str(results[n]) for n in (1, 2)] == ["disk full", "disk full"]


def test_a_writer_that_returns_too_few_outcomes_fails_the_batch():
    batch: GroupCommit[int, int] = GroupCommit()
    with pytest.raises(RuntimeError, match="returned 0 outcomes for 1"):
        batch.submit(1, lambda items: [])


def test_outcomes_are_dropped_once_every_thread_has_taken_its_own():
    batch: GroupCommit[int, int] = GroupCommit()
    threads, _, release = _queue_behind_a_held_batch(batch, _doubled, [1, 2, 3, 4])
    _finish(threads, release)
    assert batch._outcomes == {} and batch._unread == {}
