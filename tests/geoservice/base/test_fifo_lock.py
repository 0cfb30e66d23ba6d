"""The lock the threads of a process queue on before ``<workspace>.lock`` lets them in in
the order they came."""

from __future__ import annotations

import threading
import time

from geoservice.base.workspace_gate import FifoLock


def _wait_for_waiters(lock: FifoLock, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(lock._waiters) < n and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(lock._waiters) == n


def test_a_free_lock_is_got_at_once():
    lock = FifoLock()
    assert lock.acquire(timeout=0)
    lock.release()
    assert lock.acquire(timeout=0)


def test_a_held_lock_is_refused_after_the_timeout_and_the_waiter_leaves():
    lock = FifoLock()
    assert lock.acquire(timeout=0)
    start = time.monotonic()
    assert not lock.acquire(timeout=0.05)
    assert time.monotonic() - start >= 0.05
    assert len(lock._waiters) == 0
    lock.release()
    assert lock.acquire(timeout=0)  # nobody left queued in front


def test_waiters_get_the_lock_in_the_order_they_came():
    lock = FifoLock()
    assert lock.acquire(timeout=0)
    order: list[int] = []

    def wait(i: int) -> None:
        assert lock.acquire(timeout=10)
        order.append(i)
        lock.release()

    threads = []
    for i in range(8):
        thread = threading.Thread(target=wait, args=(i,))
        thread.start()
        threads.append(thread)
        _wait_for_waiters(lock, i + 1)  # the next one comes after this one queued
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(8))


def test_a_newcomer_does_not_pass_a_waiter():
    lock = FifoLock()
    assert lock.acquire(timeout=0)
    waiter = threading.Thread(target=lock.acquire, kwargs={"timeout": 10})
    waiter.start()
    _wait_for_waiters(lock, 1)
    lock.release()  # handed to the waiter, even before it runs again
    assert not lock.acquire(timeout=0)
    waiter.join(10)
    lock.release()
    assert lock.acquire(timeout=0)
