"""Rows as JSON text: carrying the text of unchanged rows over, and one word per value."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geoservice.webmaps import json_rows
from geoservice.webmaps.json_rows import Encoded, carried_over, encode_rows, joined


def _table(rows: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "n"]).astype({"id": "string"})


def _encode(frame: pd.DataFrame) -> Encoded:
    text = frame["n"].astype(str).to_numpy(dtype=object)
    return encode_rows(frame["id"], {"n": text})


def _encode_hit(frame: pd.DataFrame):
    return lambda hit: _encode(frame if hit is None else frame[hit])


_ids = st.sampled_from(["a", "b", "c", "d", "e", "f", "村1", "村2"])
_rows = st.lists(st.tuples(_ids, st.integers(0, 9)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(old_rows=_rows, fresh_rows=_rows, changed_extra=st.sets(_ids, max_size=3))
def test_carried_over_equals_encoding_the_new_table(old_rows, fresh_rows, changed_extra):
    # the kept table's update: the rows of the changed keys replaced (added, removed),
    # the others kept, then sorted by key (stable)
    changed = {k for k, _ in fresh_rows} | changed_extra
    old = _table(old_rows).sort_values("id", kind="stable").reset_index(drop=True)
    kept = old[~old["id"].isin(list(changed)).to_numpy()]
    fresh = _table(fresh_rows)
    new = pd.concat([kept, fresh], ignore_index=True).sort_values("id", kind="stable")
    new = new.reset_index(drop=True)
    ids = json_rows.text_ids(new["id"])
    got = carried_over(_encode(old), ids, frozenset(changed), _encode_hit(new))
    assert got is not None
    want = _encode(new)
    for part in ("ids", "keys", "records"):
        assert list(getattr(got, part)) == list(getattr(want, part))
    assert joined(got) == joined(want)


def test_carried_over_encodes_only_the_changed_rows():
    old = _table([("a", 1), ("b", 2), ("c", 3)])
    new = _table([("a", 1), ("b", 5), ("c", 3)])
    seen: list[int] = []

    def encode(hit):
        seen.append(int(hit.sum()))
        return _encode(new[hit])

    got = carried_over(_encode(old), json_rows.text_ids(new["id"]), frozenset({"b"}), encode)
    assert seen == [1]
    assert got is not None and joined(got) == '{"a": {"n": 1}, "b": {"n": 5}, "c": {"n": 3}}'


def test_carried_over_refuses_rows_put_in_another_order():
    old = _table([("b", 2), ("a", 1), ("c", 3)])  # not sorted: the update sorts it
    new = _table([("a", 1), ("b", 2), ("c", 4)])
    ids = json_rows.text_ids(new["id"])
    assert carried_over(_encode(old), ids, frozenset({"c"}), _encode_hit(new)) is None


def test_carried_over_refuses_a_table_not_derived_from_the_old_one():
    old = _table([("a", 1), ("b", 2)])
    new = _table([("a", 1), ("b", 2), ("x", 3)])  # a row under a key not said to change
    ids = json_rows.text_ids(new["id"])
    assert carried_over(_encode(old), ids, frozenset({"b"}), _encode_hit(new)) is None


def test_carried_over_of_an_empty_table_is_empty():
    empty = _table([])
    got = carried_over(
        _encode(empty), json_rows.text_ids(empty["id"]), frozenset(), _encode_hit(empty)
    )
    assert got is not None and joined(got) == "{}"


_values = st.one_of(
    st.sampled_from(["open", "verified", "", "村", 'a"b']),
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
    st.floats(0, 1, allow_nan=False),
)


def _word(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"<{value}>"


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_values, max_size=80))
def test_json_each_unique_gives_each_values_word_whatever_the_count(values):
    got = json_rows.json_each_unique(np.asarray(values, dtype=object), _word)
    assert list(got) == [json.dumps(_word(v), ensure_ascii=False) for v in values]
