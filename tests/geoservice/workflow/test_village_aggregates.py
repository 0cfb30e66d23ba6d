"""The per-village problem sums equal the named aggregation they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoservice.workflow.village_parts import _FLAGS, AGGREGATES, problem_aggregates


def _named(items: pd.DataFrame, codes: set[str] | None = None) -> pd.DataFrame:
    """The sums as one named aggregation per column (the definition)."""
    chosen = items if codes is None else items[items["vcode"].isin(list(codes)).to_numpy()]
    return chosen[["vcode", *_FLAGS]].groupby("vcode").agg(**AGGREGATES)


def _items(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    vcode = pd.Series(rng.choice(["V2", "V1", "V3"], n), dtype="string")
    vcode[rng.random(n) < 0.2] = pd.NA  # problems of no village of the layer
    found = pd.Series(pd.to_datetime("2026-10-01") + pd.to_timedelta(rng.integers(0, 60, n), "D"))
    found[rng.random(n) < 0.3] = pd.NaT  # no found date
    flags = {c: rng.integers(0, 2, n) for c in _FLAGS if c not in ("level", "found_on")}
    return pd.DataFrame(
        {"vcode": vcode, **flags, "level": rng.integers(0, 5, n), "found_on": found}
    )


@pytest.mark.parametrize("n", [0, 1, 7, 40])
def test_sums_equal_the_named_aggregation(n):
    items = _items(n)
    pd.testing.assert_frame_equal(problem_aggregates(items), _named(items))


@pytest.mark.parametrize("codes", [set(), {"V1"}, {"V1", "V3"}, {"unknown"}])
def test_sums_of_chosen_villages_equal_the_named_aggregation(codes):
    items = _items(40)
    pd.testing.assert_frame_equal(problem_aggregates(items, codes), _named(items, codes))


def test_a_village_whose_problems_have_no_found_date_has_no_last_inspection():
    items = _items(5).assign(vcode=pd.Series(["V1"] * 5, dtype="string"), found_on=pd.NaT)
    assert pd.isna(problem_aggregates(items).loc["V1", "last_inspection"])
