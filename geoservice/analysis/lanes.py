"""Two lanes of work: the calling thread and a small thread pool.

The analysis runs on machines with two cores. GEOS (shapely 2), numpy and arrow release
the GIL in their heavy loops, so independent steps run side by side on threads, but only
when the caller asks for it (``parallel=True``, passed down from the batch entry points:
the CLI ``analyze`` and ``demo`` commands and the bench scripts); by default every step
runs in the calling thread and no thread is started. :func:`lane` gives one extra
thread, :func:`pool` a pool of :data:`WORKERS` threads (both :class:`Inline` when not
``parallel``), and :class:`Shared` spreads a list of jobs over a lane and the calling
thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Generic, ParamSpec, TypeVar

__all__ = ["WORKERS", "Inline", "Shared", "lane", "pool"]

WORKERS = 2
T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


class Inline(Executor):
    """An executor that runs every job in the calling thread, when it is submitted."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def map(  # type: ignore[override]
        self, fn: Callable[..., R], *iterables: Iterable[Any]
    ) -> Iterator[R]:
        return map(fn, *iterables)


def pool(parallel: bool = False) -> Executor:
    """A pool of :data:`WORKERS` threads, or :class:`Inline` when not ``parallel``."""
    workers = min(WORKERS, os.cpu_count() or 1)
    if not parallel or workers == 1:
        return Inline()
    return ThreadPoolExecutor(max_workers=workers)


def lane(parallel: bool = False) -> Executor:
    """One thread beside the caller's, or :class:`Inline` when not ``parallel``."""
    if not parallel:
        return Inline()
    return ThreadPoolExecutor(max_workers=1)


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
