"""Generation numbers of the kept village tables, and what changed from one to the next.

Each kept table (:mod:`geoservice.workflow.village_updates`: the village status, the
problems) carries a number that is new whenever the table is replaced. A table that was
updated from the previous one for a few rows is registered with its parent and the keys
of those rows (:func:`derive`): every row under another key is the same row (the rows
may have been put in another order: callers compare the keys' order). What callers keep derived from a table (the JSON text of each row,
:mod:`geoservice.webmaps.status_text`) can then be carried over from an ancestor for all
rows but those keys (:func:`ancestor`), instead of being built again for every row.

The registry is small and per process; a generation not in it is treated as new.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

__all__ = ["ancestor", "derive", "new_generation"]

_KEPT = 512  # derivations remembered
_MAX_STEPS = 16  # ancestors looked at
_NUMBERS = itertools.count(1)
_PARENTS: OrderedDict[int, tuple[int, frozenset[str]]] = OrderedDict()
_LOCK = threading.Lock()


def new_generation() -> int:
    """A number no table had before (nothing is known of how it came about)."""
    return next(_NUMBERS)


def derive(parent: int, keys: Iterable[str]) -> int:
    """A new number for a table made from the table ``parent`` by replacing, adding or
    removing only the rows under ``keys`` (the keys as text): every other row is the
    same row (possibly in another order)."""
    number = next(_NUMBERS)
    with _LOCK:
        _PARENTS[number] = (parent, frozenset(keys))
        while len(_PARENTS) > _KEPT:
            _PARENTS.popitem(last=False)
    return number


def ancestor(generation: int, known: Callable[[int], bool]) -> tuple[int, frozenset[str]] | None:
    """The nearest ancestor of ``generation`` that ``known`` accepts, with the keys of
    every row that may differ between the two (the union along the way); None when
    there is none within a few steps."""
    keys: frozenset[str] = frozenset()
    current = generation
    for _ in range(_MAX_STEPS):
        with _LOCK:
            step = _PARENTS.get(current)
        if step is None:
            return None
        current, changed = step
        keys = keys | changed
        if known(current):
            return current, keys
    return None
