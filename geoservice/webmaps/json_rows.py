"""Rows of a table as JSON text, built column by column with numpy.

The map status object (:mod:`geoservice.webmaps.status_text`) is a JSON object of rows
keyed by an id (villages, problems, targets). Encoding it with :func:`json.dumps` per
request costs a Python call per value; here each column is turned into JSON text once for
every row (:func:`json_strings`, :func:`json_each_unique`), the rows are joined
(:func:`encode_rows`) and a selection of them is written as one object in key order
(:func:`joined`), byte for byte what ``json.dumps(..., ensure_ascii=False,
sort_keys=True)`` writes. :func:`carried_over` keeps the text of the rows that did not
change when a table is updated for a few rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Encoded",
    "carried_over",
    "encode_rows",
    "joined",
    "json_each_unique",
    "json_strings",
    "text_ids",
]

_ESCAPE = re.compile(r'[\x00-\x1f\\"]')  # what json.dumps(ensure_ascii=False) escapes
_CONTROL = re.compile(r"[\x00-\x1f\\]")  # the same but the quote
_FEW = 32  # values encoded one by one rather than factorized


def json_strings(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """``json.dumps(v, ensure_ascii=False)`` of each string, as an object array.

    When no value holds a character JSON escapes (one regular-expression search over the
    values joined), each is its text in quotes; otherwise :func:`json.dumps` encodes the
    values that do.
    """
    text = np.asarray(values, dtype=object)
    if not len(text):
        return text
    out = '"' + text + '"'
    whole = '"'.join(text)
    if _CONTROL.search(whole) is None and whole.count('"') == len(text) - 1:
        return out
    escape = np.fromiter((_ESCAPE.search(v) is not None for v in text), bool, len(text))
    out[escape] = [json.dumps(v, ensure_ascii=False) for v in text[escape]]
    return out


def json_each_unique(values: pd.Series | np.ndarray, word: Callable[[Any], str]) -> np.ndarray:
    """The JSON string of ``word(v)`` for each value, ``word`` called once per distinct
    value (missing values are given to ``word`` as they are)."""
    if len(values) <= _FEW:  # a dict costs less than factorizing a few values
        seen: dict[Any, str] = {}
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(np.asarray(values, dtype=object)):
            if v not in seen:
                seen[v] = json.dumps(word(v), ensure_ascii=False)
            out[i] = seen[v]
        return out
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    words = np.asarray([json.dumps(word(u), ensure_ascii=False) for u in uniques], dtype=object)
    return words[codes] if len(codes) else np.empty(0, dtype=object)


@dataclass(frozen=True)
class Encoded:
    """Every row a part can show: its key's JSON text and its record's JSON text.

    Attributes
    ----------
    ids : numpy.ndarray
        The row keys (``str``), in row order.
    keys, records : numpy.ndarray
        JSON text of each key and of each record (keys sorted), aligned to ``ids``.
    """

    ids: np.ndarray
    keys: np.ndarray
    records: np.ndarray


def encode_rows(ids: pd.Series, columns: dict[str, np.ndarray]) -> Encoded:
    """:class:`Encoded` rows from their keys and each column's JSON text per row."""
    n = len(ids)
    text = np.full(n, "{", dtype=object)
    for i, name in enumerate(sorted(columns)):
        head = ("" if i == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
        text = text + head + columns[name] if n else text
    text = text + "}" if n else text
    keys = text_ids(ids)
    return Encoded(keys, json_strings(keys), text)


def joined(encoded: Encoded, mask: np.ndarray | None = None) -> str:
    """The JSON object of the rows ``mask`` keeps (all without it): the first row of each
    key, keys in sorted order, as ``json.dumps(..., sort_keys=True)`` writes it."""
    pick = np.arange(len(encoded.ids)) if mask is None else np.flatnonzero(mask)
    ids = encoded.ids[pick]
    first = ~pd.Index(ids, dtype=object).duplicated()  # object: no type inference
    pick, ids = pick[first], ids[first]
    if not len(pick):
        return "{}"
    order = pick[np.argsort(ids, kind="stable")]
    return "{" + ", ".join(encoded.keys[order] + ": " + encoded.records[order]) + "}"


def text_ids(ids: pd.Series) -> np.ndarray:
    """Row keys as :func:`encode_rows` keeps them."""
    return ids.astype(str).to_numpy(dtype=object)


def carried_over(
    old: Encoded, ids: np.ndarray, changed: frozenset[str], encode: Callable[[np.ndarray], Encoded]
) -> Encoded | None:
    """The :class:`Encoded` rows of a table whose keys are ``ids``, made from ``old`` (the
    rows of a table it was derived from) for every row whose key is not in ``changed``,
    and by ``encode(hit)`` (the rows where ``hit`` is True, in order) for the others.

    None unless the rows outside ``changed`` have the same keys in the same order in both
    (the table was sorted anew, or is not derived from ``old``): then encode everything.
    """
    keys = list(changed)
    hit = pd.Index(ids, dtype=object).isin(keys)  # object: no type inference
    was = pd.Index(old.ids, dtype=object).isin(keys)
    if not np.array_equal(old.ids[~was], ids[~hit]):  # shapes too
        return None
    fresh = encode(hit) if hit.any() else Encoded(*(np.empty(0, dtype=object),) * 3)
    if len(fresh.ids) != int(hit.sum()) or not np.array_equal(fresh.ids, ids[hit]):
        return None
    text_keys = np.empty(len(ids), dtype=object)
    records = np.empty(len(ids), dtype=object)
    text_keys[~hit], records[~hit] = old.keys[~was], old.records[~was]
    text_keys[hit], records[hit] = fresh.keys, fresh.records
    return Encoded(ids, text_keys, records)
