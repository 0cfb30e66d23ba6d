"""Generation numbers of the kept tables and the keys changed from one to the next."""

from __future__ import annotations

from geoservice.workflow.generations import ancestor, derive, new_generation


def test_a_new_generation_has_no_ancestor():
    assert ancestor(new_generation(), lambda g: True) is None


def test_the_nearest_known_ancestor_comes_with_every_key_changed_since():
    root = new_generation()
    first = derive(root, ["p1"])
    second = derive(first, ["p2", "p3"])
    assert ancestor(second, lambda g: g == first) == (first, frozenset({"p2", "p3"}))
    assert ancestor(second, lambda g: g == root) == (root, frozenset({"p1", "p2", "p3"}))


def test_no_ancestor_when_none_is_known():
    root = new_generation()
    assert ancestor(derive(derive(root, ["a"]), ["b"]), lambda g: False) is None


def test_a_chain_broken_by_a_new_generation_stops_there():
    root = new_generation()
    rebuilt = new_generation()  # everything read again: not derived from root
    assert ancestor(derive(rebuilt, ["a"]), lambda g: g == root) is None
