"""Plain words for values the survey files did not give (presentation only).

Stored layers keep a missing village, category, date or text missing. Tables, maps,
reports, pages and reasons show these words instead of a blank, ``nan`` or ``<NA>``, in
the reader's language. Nothing here writes to the workspace.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from layers.messages import Lang, pick

__all__ = [
    "NO_CATEGORY",
    "NO_DATE",
    "NO_DEADLINE",
    "NO_TEXT",
    "UNKNOWN_VILLAGE",
    "is_missing",
    "or_word",
    "village_word",
    "village_words",
    "word",
]

UNKNOWN_VILLAGE = ("未知村", "unknown village")
NO_CATEGORY = ("未分类", "no category")
NO_DATE = ("日期不详", "date unknown")
NO_DEADLINE = ("未定整改期限", "no deadline set")
NO_TEXT = ("（无说明）", "(no description)")


def word(pair: tuple[str, str], lang: Lang = "zh") -> str:
    """The Chinese or English word of a ``(zh, en)`` pair."""
    return pick(lang, *pair)


def is_missing(value: Any) -> bool:
    """True for None, NaN, ``pd.NA``, ``NaT`` and blank text."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-likes are values, not missing
        return False


def or_word(value: Any, pair: tuple[str, str], lang: Lang = "zh") -> str:
    """``value`` as text, or the word of ``pair`` when it is missing."""
    return word(pair, lang) if is_missing(value) else str(value)


def village_word(code: Any, name: Any, lang: Lang = "zh") -> str:
    """A village in words: its name; ``未知村（代码 …）`` when only its code is known;
    ``未知村`` / ``unknown village`` when neither is."""
    if not is_missing(name):
        return str(name)
    if not is_missing(code):
        return word((f"未知村（代码 {code}）", f"unknown village (code {code})"), lang)
    return word(UNKNOWN_VILLAGE, lang)


def village_words(codes: pd.Series, names: pd.Series, lang: Lang = "zh") -> pd.Series:
    """:func:`village_word` of each row, aligned to ``names``' index (vectorised)."""
    name = names.astype("string").str.strip()
    code = pd.Series(codes.to_numpy(), index=names.index).astype("string").str.strip()
    name, code = name.where(name != ""), code.where(code != "")
    only_code = (
        word(("未知村（代码 ", "unknown village (code "), lang) + code + word(("）", ")"), lang)
    )
    out = name.fillna(only_code).fillna(word(UNKNOWN_VILLAGE, lang))
    return out.astype(object)
