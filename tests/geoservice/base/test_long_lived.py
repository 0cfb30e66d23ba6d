"""What a worker keeps is frozen out of the cyclic collector's full walks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
import shapely

from geoservice.base.long_lived import keep_out_of_collections


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    """Each test starts and ends with nothing frozen."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _tracked(obj: object) -> bool:
    """Whether a collection of any generation would walk ``obj``."""
    return any(o is obj for o in gc.get_objects())


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_objects_alive_are_frozen_and_walked_no_more() -> None:
    kept = [shapely.Point(i, i) for i in range(1000)]
    assert _tracked(kept)
    count = keep_out_of_collections()
    assert not _tracked(kept)
    assert count >= len(kept)


def test_garbage_in_a_cycle_is_collected_before_the_freeze() -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    keep_out_of_collections()
    assert gone() is None


def test_a_frozen_object_is_still_freed_when_dropped() -> None:
    kept = _Node()
    gone = weakref.ref(kept)
    keep_out_of_collections()
    del kept
    assert gone() is None


def test_objects_made_after_the_freeze_are_collected_as_before() -> None:
    keep_out_of_collections()
    later = _Node()
    assert _tracked(later)
    later.other = later
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
