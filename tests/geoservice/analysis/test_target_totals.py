"""Evidence per target: each item once, as a stable sort and drop of duplicates gives it."""

import numpy as np
import pandas as pd
import pytest

from geoservice.analysis.target_totals import _once


def items(rng, n):
    return pd.DataFrame(
        {
            "group": rng.integers(0, 6, n),
            "id": pd.Series([f"JB{k:03d}" for k in rng.integers(0, 40, n)], dtype="str"),
            "status": pd.Series(rng.choice(["new", "verified"], n), dtype="str"),
            "effective": rng.choice([0.5, 1.0, 1.0, 2.0], n),
            "row": np.arange(n),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_each_item_once_per_target_at_its_largest_weight_in_sort_order(seed):
    frame = items(np.random.default_rng(seed), 400)
    ranked = frame.sort_values(["group", "id", "effective"], ascending=[True, True, False])
    expected = ranked.drop_duplicates(["group", "id"], keep="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(_once(frame), expected)


def test_no_items_give_an_empty_frame_with_the_same_columns():
    frame = items(np.random.default_rng(0), 0)
    assert list(_once(frame).columns) == list(frame.columns)
    assert _once(frame).empty
