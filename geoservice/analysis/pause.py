"""The process settings a batch analysis runs under: no cyclic GC, arrow on the system
allocator.

The settings are process-wide, so only batch entry points switch them on (the CLI
``analyze`` and ``demo`` commands, the bench scripts), around the whole call; the analysis
functions themselves never do, so a request that scores parcels (complaint intake, the
API) leaves the server's collector and allocator alone.

**Garbage collection.** Every shapely geometry is an object the cyclic collector tracks,
so a county's inputs add about 330,000 of them, and the analysis allocates many more
short-lived containers on top. Each full collection walks every tracked object, and a run
triggered several of them (about 0.2-0.4 s of a 2.5 s run at county scale). Reference
counting still frees the arrays, frames and geometries as soon as they are no longer
used; only reference cycles wait until the run ends.

**Arrow's memory pool.** pyarrow allocates from mimalloc by default, which maps fresh
segments and hands freed pages back to the kernel after a short delay, so the strings
and buffers of a run keep touching new pages (each first touch is a page fault). During
a run arrow allocates from the C library's malloc instead, which reuses the memory the
run has freed (county scale: 1.85 s against 1.99 s median, alternating runs of both).
Every arrow buffer keeps the pool it came from, so switching the default is safe for
buffers that outlive the run.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

import pyarrow as pa

__all__ = ["analysis_runtime"]


class _Runtime:
    """The process-wide state: on while any :func:`analysis_runtime` block runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume_gc = False
        self.pool: pa.MemoryPool | None = None

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.resume_gc = gc.isenabled()
                gc.disable()
                self.pool = pa.default_memory_pool()
                pa.set_memory_pool(pa.system_memory_pool())
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                if self.pool is not None:
                    pa.set_memory_pool(self.pool)
                    self.pool = None
                if self.resume_gc:
                    gc.enable()


_RUNTIME = _Runtime()


@contextlib.contextmanager
def analysis_runtime() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off and arrow on the system pool.

    Nested and concurrent blocks share one state: the collector is switched back on (if
    it was on before the first block) and arrow's previous default pool restored when the
    last block ends.
    """
    _RUNTIME.enter()
    try:
        yield
    finally:
        _RUNTIME.leave()
