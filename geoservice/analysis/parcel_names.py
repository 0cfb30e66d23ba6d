"""小班 numbers named in free text, and the parcels they name.

Complaint and problem texts name a forest sub-compartment in several ways: ``0080-004``
(the id as the importer builds it), ``林班0080小班004`` or ``80林班4小班``. They are all
read as one key, ``LLLL-XXX`` (林班 padded to 4 digits, 小班 to 3, as
:mod:`layers.normalize` pads them), and compared with the same key of each parcel id
(a township prefix ``NNN-`` and a 细班 suffix ``-N`` are dropped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["named_pairs", "parcel_keys", "text_keys"]

# 林班0139小班006, 林班 139 小班 6
_LIN_THEN_XIAO = r"林班\s*0*([0-9]{1,4})\s*小班\s*0*([0-9]{1,3})(?![0-9])"
# 80林班4小班, 0080林班004小班
_NUMBER_LIN = r"(?<![0-9])0*([0-9]{1,4})\s*林班\s*0*([0-9]{1,3})\s*小班"
# 0080-004 (not part of a date, phone number or longer code)
_DASHED = r"(?<![0-9\-])([0-9]{4})-([0-9]{3})(?![0-9\-])"
_PATTERNS = (_LIN_THEN_XIAO, _NUMBER_LIN, _DASHED)
# what every pattern needs somewhere in the text
_ANY = r"林班|[0-9]{4}-[0-9]{3}"
_PARCEL_KEY = r"^(?:[0-9]{3}-)?([0-9]{4}-[0-9]{3})(?:-[0-9]+)?$"


def _key(lin: pd.Series, xiao: pd.Series) -> pd.Series:
    lin = lin.str.lstrip("0").str.zfill(4)
    xiao = xiao.str.lstrip("0").str.zfill(3)
    return lin + "-" + xiao


def text_keys(text: pd.Series) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Every 小班 a text names, as (position in ``text``, ``LLLL-XXX`` key) pairs.

    Parameters
    ----------
    text : pandas.Series
        Free text (missing values name nothing).

    Returns
    -------
    position : ndarray of int64
        Position of the text in ``text`` (0-based), one entry per name found.
    key : ndarray of object
        The named 小班 as ``LLLL-XXX``; duplicates per text removed.
    """
    values = pd.Series(text.to_numpy(dtype=object), dtype="string[pyarrow]").fillna("")
    # most texts name no 小班: one quick arrow scan picks the few to extract from
    values = values[values.str.contains(_ANY, regex=True).to_numpy(dtype=bool)]
    parts = []
    for pattern in _PATTERNS:
        found = values.str.extractall(pattern)
        if found.empty:
            continue
        keys = _key(found[0].astype("string"), found[1].astype("string"))
        where = found.index.get_level_values(0).to_numpy(dtype=np.int64)
        parts.append(pd.DataFrame({"position": where, "key": keys.to_numpy(dtype=object)}))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, dtype=object)
    both = pd.concat(parts, ignore_index=True).drop_duplicates()
    return both["position"].to_numpy(dtype=np.int64), both["key"].to_numpy(dtype=object)


def parcel_keys(parcel_ids: NDArray[np.object_]) -> NDArray[np.object_]:
    """The ``LLLL-XXX`` key of each parcel id (the id itself when it has another form)."""
    ids = pd.Series(np.asarray(parcel_ids, dtype=object), dtype="string")
    key = ids.str.extract(_PARCEL_KEY)[0]
    return key.fillna(ids).fillna("").to_numpy(dtype=object)


def named_pairs(
    text: pd.Series,
    item: NDArray[np.int64],
    parcel: NDArray[np.int64],
    parcel_ids: NDArray[np.object_],
) -> NDArray[np.bool_]:
    """Whether the text of each (item, parcel) pair names that parcel.

    Parameters
    ----------
    text : pandas.Series
        One text per item (position = item).
    item, parcel : ndarray of int64
        The pairs: positions into ``text`` and ``parcel_ids``.
    parcel_ids : ndarray of object

    Returns
    -------
    ndarray of bool
        Aligned to the pairs.
    """
    out = np.zeros(len(item), dtype=bool)
    if len(item) == 0:
        return out
    position, key = text_keys(text)
    if len(position) == 0:
        return out
    named = pd.MultiIndex.from_arrays([position, key])
    # only the pairs of texts that name some 小班 need their parcel's key
    ask = np.flatnonzero(np.isin(item, position))
    pair_keys = parcel_keys(np.asarray(parcel_ids, dtype=object)[parcel[ask]])
    asked = pd.MultiIndex.from_arrays([item[ask], pair_keys])
    out[ask] = np.asarray(asked.isin(named), dtype=bool)
    return out
