"""The per-village problem sums and the status table equal the pandas definitions they
replace."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geoservice.workflow.escalation import LEVELS
from geoservice.workflow.patch_progress import PATCH_STATUS_COLUMNS
from geoservice.workflow.rates import rate
from geoservice.workflow.village_parts import (
    _FLAGS,
    AGGREGATES,
    STATUS_COLUMNS,
    assemble,
    outside_layer,
    problem_aggregates,
)


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


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
@pytest.mark.parametrize(
    "codes",
    [set(), {"V1"}, {"V1", "V3"}, {"unknown"}, {"V3", "V1", "V2", "unknown", "V9"}],  # 5: many
)
def test_sums_of_chosen_villages_equal_the_named_aggregation(codes, storage):
    items = _items(40)
    items["vcode"] = items["vcode"].astype(pd.StringDtype(storage))
    pd.testing.assert_frame_equal(problem_aggregates(items, codes), _named(items, codes))


def test_a_village_whose_problems_have_no_found_date_has_no_last_inspection():
    items = _items(5).assign(vcode=pd.Series(["V1"] * 5, dtype="string"), found_on=pd.NaT)
    assert pd.isna(problem_aggregates(items).loc["V1", "last_inspection"])


def _assembled(rows, villages, inside, outside, as_of):
    """The status table by pandas merges and joins (the definition)."""
    keys = ["village_code", "village_name"]
    sums = villages[keys].merge(inside, left_on="village_code", right_index=True, how="left")
    sums = pd.concat([sums.drop(columns=keys), outside.drop(columns=keys)], ignore_index=True)
    out = rows.join(sums)
    counts = ["problems", "open", "overdue", "awaiting_verification", "verified", "due", "on_time"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["on_time_rate"] = rate(out["on_time"], out["due"])
    out["max_escalation"] = np.asarray(LEVELS, dtype=object)[out["level"].fillna(0).astype(int)]
    out["days_since_inspection"] = (pd.Timestamp(as_of) - out["last_inspection"]).dt.days
    return out[STATUS_COLUMNS].reset_index(drop=True)


def _status_parts(n: int, patch_only: int):
    items = _items(n)
    rng = np.random.default_rng(n + 100)
    lost = items["vcode"].isna()
    outside_codes = pd.Series(rng.choice(["X1", "X2", None], n), dtype="string")
    items["village_code"] = items["vcode"].where(~lost, outside_codes)
    items["village_name"] = items["village_code"].map({"V1": "一村", "V2": "二村"}.get)
    villages = pd.DataFrame(
        {"village_code": pd.array(["V1", "V2", "V3", "V4"], dtype="string"),
         "village_name": pd.array(["一村", "二村", "三村", "四村"], dtype="string")}
    )  # fmt: skip
    outside = outside_layer(items)
    keys = ["village_code", "village_name"]
    extra = pd.DataFrame(
        {"village_code": ["P9"] * patch_only, "village_name": ["九村"] * patch_only}
    )
    rows = pd.concat([villages[keys], outside[keys], extra.astype("string")], ignore_index=True)
    for column in [*PATCH_STATUS_COLUMNS, "targets", "patrols"]:
        rows[column] = rng.integers(0, 3, len(rows))
    return rows, villages, problem_aggregates(items), outside


@pytest.mark.parametrize(("n", "patch_only"), [(0, 0), (0, 1), (1, 0), (7, 1), (40, 0), (40, 2)])
def test_status_table_equals_the_merged_definition(n, patch_only):
    rows, villages, inside, outside = _status_parts(n, patch_only)
    day = date(2026, 11, 20)
    pd.testing.assert_frame_equal(
        assemble(rows, villages, inside, outside, day),
        _assembled(rows, villages, inside, outside, day),
    )


def test_status_table_of_villages_without_problems_counts_zero():
    rows, villages, inside, outside = _status_parts(0, 0)
    table = assemble(rows, villages, inside, outside, date(2026, 11, 20))
    assert table["problems"].tolist() == [0, 0, 0, 0]
    assert table["max_escalation"].tolist() == [LEVELS[0]] * 4
    assert table["days_since_inspection"].isna().all()


def test_status_table_needs_a_row_per_village_with_sums():
    rows, villages, inside, outside = _status_parts(40, 0)
    with pytest.raises(ValueError, match=r"\d+ village rows for \d+ villages with sums"):
        assemble(rows.iloc[:3], villages, inside, outside, date(2026, 11, 20))
