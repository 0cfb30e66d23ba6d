"""Per-row lists of ``parcel_risk``: ``;``-joined ids and categories ranked by weight.

Built from (row, item) pairs with arrow list joins and numpy ranking, for all rows at
once (no Python loop per row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from geoservice.analysis.evidence_pairs import CATEGORY_CODES

__all__ = ["RowLists", "decode", "ranked_categories", "text_column"]

# rows per block where the category ranking makes (rows x categories) temporaries: small
# blocks reuse the same memory instead of touching new pages
_BLOCK_ROWS = 32_768


def text_column(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """An arrow string array as a pandas ``str`` column, without copying."""
    return pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


class RowLists:
    """Pairs of one evidence kind ordered by output row, for ``;``-joining per row."""

    def __init__(self, local: NDArray[np.int64], item: NDArray[np.int64], m: int) -> None:
        self.local, self.item, self.m = local, item, m
        # unique keys: a fast unstable sort still gives (row, item) order
        span = int(item.max()) + 1 if len(item) else 1
        self.order = np.argsort(local * span + item)

    def join(self, strings: pa.Array, keep: NDArray[np.bool_] | None = None) -> pd.Series:
        """``;``-join ``strings[item]`` per row, in pair order; ``keep`` limits the pairs."""
        order = self.order if keep is None else self.order[keep[self.order]]
        counts = np.bincount(self.local[order], minlength=self.m)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        values = strings.take(pa.array(self.item[order]))
        lists = pa.ListArray.from_arrays(pa.array(offsets), values)
        return text_column(pc.binary_join(lists, ";"))


def ranked_categories(
    local: NDArray[np.int64], cat: NDArray[np.int64], weight: NDArray[np.float64], m: int
) -> tuple[pd.Series, pd.Series]:
    """Per group: categories with weight > 0, heaviest first, ``;``-joined; and the heaviest.

    Rows are ranked in blocks (small temporaries, reused memory).
    """
    k = len(CATEGORY_CODES)
    names = list(CATEGORY_CODES)
    w = np.bincount(local * k + cat, weights=weight, minlength=m * k).reshape(m, k)

    def ranked(lo: int) -> NDArray[np.int16]:
        # each group's ranked list as digits: category + 1, 0 past the list's end
        part = w[lo : lo + _BLOCK_ROWS]
        order = np.argsort(-part, axis=1, kind="stable")
        positive = np.take_along_axis(part, order, axis=1) > 0
        return np.where(positive, order + 1, 0).astype(np.int16)

    blocks = [ranked(lo) for lo in range(0, m, _BLOCK_ROWS)]
    digits = np.concatenate(blocks) if blocks else np.zeros((0, k), dtype=np.int16)
    # the digits read as one number: groups share few distinct lists, so each distinct
    # list is joined once
    if (k + 1) ** k < 2**62:
        key = np.zeros(m, dtype=np.int64)
        for j in range(k):
            key = key * (k + 1) + digits[:, j]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(digits, axis=0, return_index=True, return_inverse=True)
    lists = [";".join(names[d - 1] for d in digits[row].tolist() if d) for row in first.tolist()]
    joined = decode(inverse.ravel(), lists)
    heaviest = np.where(digits[:, 0] > 0, digits[:, 0].astype(np.int64) - 1, k)
    return joined, decode(heaviest, [*names, ""])


def decode(codes: NDArray[np.int64], words: list[str]) -> pd.Series:
    """``words[code]`` per code, as a pandas ``str`` column."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(words, pa.string())
    )
    return text_column(dictionary.cast(pa.string()))
