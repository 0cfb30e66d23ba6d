"""The problem index a village's status check reads is updated from the changed rows alone
and equals the index built from every row."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.workflow.village_scope import index_entries, item_index, updated_index

VILLAGES = pd.DataFrame({"village_code": ["V1", "V2", None]})
IDS = ["P1", "P2", "P3", "P4"]


def _items(rows: list[tuple[str | None, str | None, int]]) -> pd.DataFrame:
    """Problem items as ``problem_items`` gives them (the columns the index reads)."""
    return pd.DataFrame(
        {
            "problem_id": pd.Series([r[0] for r in rows], dtype="string"),
            "vcode": pd.Series([r[1] for r in rows], dtype="string"),
            "village_code": [r[1] for r in rows],
            "village_name": [None if r[1] is None else f"{r[1]}村" for r in rows],
            "version": pd.Series([r[2] for r in rows], dtype="int64"),
        }
    )


# a missing problem id is keyed "None", as the history's changed ids name it
_ROW = st.tuples(
    st.sampled_from([*IDS, None]), st.sampled_from(["V1", "V2", None]), st.integers(1, 9)
)


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(_ROW, max_size=8),
    after=st.lists(_ROW, max_size=4),
    data=st.data(),
    written=st.booleans(),
)
def test_an_updated_index_equals_the_index_of_every_row(before, after, data, written):
    changed = data.draw(st.lists(st.sampled_from([*IDS, "None"]), unique=True, max_size=4))
    old = _items(before)
    kept = [r for r in before if str(r[0]) not in changed]
    fresh = [r for r in after if str(r[0]) in changed]
    items = _items(kept + fresh)
    # with ``written``, the changed rows are given as the update wrote them
    entries = index_entries(_items(fresh)) if written else None
    got = updated_index(item_index(old, VILLAGES), items, changed, entries)
    want = item_index(items, VILLAGES)
    assert got.by_id == want.by_id
    assert got.items is items
    assert got.layer_codes == want.layer_codes


def test_a_problem_given_twice_after_the_change_is_ambiguous_in_the_index():
    old = _items([("P1", "V1", 1), ("P2", "V2", 1)])
    items = _items([("P2", "V2", 1), ("P1", "V1", 2), ("P1", "V2", 2)])
    got = updated_index(item_index(old, VILLAGES), items, ["P1"])
    assert got.by_id == {"P1": None, "P2": ("V2", "V2", "V2村", 1)}


def test_a_removed_problem_leaves_the_index():
    old = _items([("P1", "V1", 1), ("P2", "V2", 1)])
    items = _items([("P2", "V2", 1)])
    assert updated_index(item_index(old, VILLAGES), items, ["P1"]).by_id == {
        "P2": ("V2", "V2", "V2村", 1)
    }


def test_an_update_of_an_empty_index_adds_the_changed_rows():
    items = _items([("P3", None, 1)])
    got = updated_index(item_index(_items([]), VILLAGES), items, ["P3"])
    assert got.by_id == {"P3": (None, None, None, 1)}
