"""An in-process cache of rendered map pages, keyed by scope, arguments and data version.

A served map page is a light shell (:mod:`geoservice.webmaps.pages`, about 20 KB) whose
features come from the vector tiles and whose colours come from the status object. It
depends only on the caller's scope (role, department, village), the request's arguments
and the workspace's layers, so the rendered HTML is kept in a small LRU (:data:`PAGES`, 64
pages) and reused while none of them changes.

The key holds the data version (:func:`~geoservice.base.data_version.data_version`,
shared with the vector tiles) without its problems and complaints parts:

- the file was rewritten (imports and analyses write a copy and write it back, raising
  its generation) or replaced by hand (another inode);
- layers written in place (live complaint intake updates ``parcel_risk`` and
  ``complaints`` and stamps ``gpkg_contents.last_change``; a first complaint creates the
  layer): the latest ``last_change``;
- the sharing register (what a department may read): row count and latest import time.

Problem updates and problems added by hand change the status object
(:mod:`geoservice.webmaps.status`) and the problem tiles, never a page.

The file's size and mtime are not used: every audited request appends to the audit log,
which changes both without changing any map. A version that cannot be read (no file yet,
the database busy past the timeout) bypasses the cache: the page is built and not kept.

Concurrent requests for the same page wait for one build instead of each building it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from geoservice.base.data_version import data_version, scope_of
from geoservice.base.real_paths import real_path

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace

__all__ = ["PAGES", "PageCache", "cached_page", "data_version", "scope_of"]

PAGE_LIMIT = 64
WAIT_SECONDS = 60.0  # a request waiting for another's build builds its own after this


class PageCache:
    """A thread-safe LRU of rendered pages; one build per key at a time.

    Parameters
    ----------
    size : int
        Pages kept; the least recently used is dropped first.

    Attributes
    ----------
    builds : int
        Pages built through :meth:`get` (stored or not).
    hits : int
        Pages served from the cache.
    """

    def __init__(self, size: int = PAGE_LIMIT) -> None:
        self.size = size
        self.builds = self.hits = 0
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def clear(self) -> None:
        """Drop every page and reset the counters."""
        with self._lock:
            self._pages.clear()
            self.builds = self.hits = 0

    def get(self, key: Hashable, build: Callable[[], str]) -> str:
        """The page of ``key``: cached, or built once by ``build`` (errors are not kept:
        the next request builds again)."""
        while True:
            with self._lock:
                page = self._pages.get(key)
                if page is not None:
                    self._pages.move_to_end(key)
                    self.hits += 1
                    return page
                pending = self._building.get(key)
                if pending is None:
                    pending = self._building[key] = threading.Event()
                    break
            if not pending.wait(WAIT_SECONDS):
                return self._count(build)
            # built (next loop finds it) or failed (next loop builds it)
        try:
            page = self._count(build)
            with self._lock:
                self._pages[key] = page
                self._pages.move_to_end(key)
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
        finally:
            with self._lock:
                del self._building[key]
            pending.set()
        return page

    def _count(self, build: Callable[[], str]) -> str:
        page = build()
        with self._lock:
            self.builds += 1
        return page


PAGES = PageCache()


def cached_page(
    ws: Workspace,
    principal: Principal | None,
    args: tuple[Any, ...],
    build: Callable[[], str],
    scope: tuple[Any, ...] | None = None,
) -> str:
    """The page ``build`` renders for ``principal`` with ``args`` (the page kind first),
    from :data:`PAGES` while the workspace's :func:`data_version` is unchanged, problems,
    complaints and patch states left out: a light map page draws them from the tiles and
    colours them from its status object, so a problem update never builds a page again (a first
    complaint creates its layer, which the ``gpkg_contents`` part still shows).

    Check the principal's right to the page before calling: a cached page is served to
    anyone of the same scope (``scope``, by default :func:`scope_of` the principal).
    """
    version = data_version(ws.path, without=("problems", "complaints", "patches"))
    if version is None:
        return build()
    key = (real_path(ws.path), scope_of(principal) if scope is None else scope, args, version)
    return PAGES.get(key, build)
