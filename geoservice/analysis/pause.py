"""Pausing Python's cyclic garbage collector while the analysis runs.

Every shapely geometry is an object the cyclic collector tracks, so a county's inputs add
about 330,000 of them, and the analysis allocates many more short-lived containers on top.
Each full collection walks every tracked object, and a run triggered several of them
(about 0.2-0.4 s of a 2.5 s run at county scale). Reference counting still frees the
arrays, frames and geometries as soon as they are no longer used; only reference cycles
wait until the pause ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["gc_paused"]


class _Pause:
    """The process-wide pause: on while any :func:`gc_paused` block runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.resume = gc.isenabled()
                gc.disable()
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.resume:
                gc.enable()


_PAUSE = _Pause()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off.

    Nested and concurrent blocks share one pause: the collector is switched back on (if
    it was on before the first block) when the last block ends.
    """
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()
