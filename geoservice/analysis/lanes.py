"""Two lanes of work: the calling thread and a small thread pool.

The analysis runs on machines with two cores. GEOS (shapely 2), numpy and arrow release
the GIL in their heavy loops, so independent steps run side by side on threads:
:func:`pool` gives a pool of :data:`WORKERS` threads (or runs everything inline for small
inputs) and :class:`Shared` spreads a list of jobs over a pool and the calling thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["WORKERS", "Inline", "Shared", "pool"]

WORKERS = 2
T = TypeVar("T")
R = TypeVar("R")


class Inline:
    """A stand-in for a thread pool that runs everything in the calling thread."""

    def __enter__(self) -> Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., R], *iterables: Iterable[Any]) -> Iterator[R]:
        return map(fn, *iterables)


def pool(parallel: bool = True) -> ThreadPoolExecutor | Inline:
    """A pool of :data:`WORKERS` threads, or :class:`Inline` when not ``parallel``."""
    workers = min(WORKERS, os.cpu_count() or 1)
    if not parallel or workers == 1:
        return Inline()
    return ThreadPoolExecutor(max_workers=workers)


class Shared(Generic[T, R]):
    """``fn(item)`` for every item, shared between ``lane`` and the calling thread.

    Every item is submitted to ``lane`` at once, in order; :meth:`results` (called when
    the caller has nothing else to do) takes back the items ``lane`` has not started,
    from the last one, and runs them in the calling thread: the lane works from the
    front, the caller from the back, until they meet.
    """

    def __init__(self, lane: Executor, fn: Callable[[T], R], items: Sequence[T]) -> None:
        self.fn, self.items = fn, items
        self.jobs: list[Future[R]] = [lane.submit(fn, item) for item in items]

    def results(self) -> list[R]:
        out: dict[int, R] = {}
        for k in range(len(self.items) - 1, -1, -1):
            job = self.jobs[k]
            out[k] = self.fn(self.items[k]) if job.cancel() else job.result()
        return [out[k] for k in range(len(self.items))]
