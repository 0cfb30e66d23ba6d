"""Plain words for missing values (presentation only)."""

import numpy as np
import pandas as pd
import pytest

from geoservice.base.missing import NO_DEADLINE, is_missing, or_word, village_word, village_words


@pytest.mark.parametrize("value", [None, np.nan, pd.NA, pd.NaT, "", "  "])
def test_none_nan_na_nat_and_blank_text_are_missing(value):
    assert is_missing(value)


@pytest.mark.parametrize("value", ["0", 0, 0.0, False, ["a"]])
def test_zero_false_and_lists_are_values(value):
    assert not is_missing(value)


@pytest.mark.parametrize(
    ("code", "name", "lang", "expected"),
    [
        ("441882101211", "黄岗村", "zh", "黄岗村"),
        ("441882109999", None, "zh", "未知村（代码 441882109999）"),
        ("441882109999", pd.NA, "en", "unknown village (code 441882109999)"),
        (None, None, "zh", "未知村"),
        (np.nan, "", "en", "unknown village"),
        (None, "石坑村", "en", "石坑村"),
    ],
)
def test_village_word(code, name, lang, expected):
    assert village_word(code, name, lang) == expected


def test_village_words_match_village_word_row_by_row_and_keep_the_index():
    codes = pd.Series(["441882101211", "441882109999", None, None], index=[5, 6, 7, 8])
    names = pd.Series(["黄岗村", None, " ", None], index=[5, 6, 7, 8], dtype="string")
    for lang in ("zh", "en"):
        words = village_words(codes, names, lang)
        assert list(words.index) == [5, 6, 7, 8]
        assert words.tolist() == [
            village_word(c, n, lang) for c, n in zip(codes, names, strict=True)
        ]


def test_village_words_of_empty_series_are_empty():
    empty = pd.Series([], dtype="string")
    assert village_words(empty, empty).empty


def test_or_word_keeps_values_and_fills_missing_in_the_language():
    assert or_word("2026-12-31", NO_DEADLINE) == "2026-12-31"
    assert or_word(pd.NaT, NO_DEADLINE, "en") == "no deadline set"
