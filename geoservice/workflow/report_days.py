"""The day each problem was last reported done, from its history.

A problem's report day (its last real transition to ``reported``; imports do not count)
decides whether it was rectified on time and the escalation level it reached
(:mod:`geoservice.workflow.village_parts`). The kept village status reads the history of
the few problems an update changed, where a column-wide pandas call costs more than the
rows: up to :data:`FEW_HISTORY` history rows and :data:`FEW_ROWS` problems are read one by
one, with the same results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geoservice.workflow.problem_values import day_values

__all__ = ["FEW_HISTORY", "FEW_ROWS", "latest_reports", "report_days", "reported_from"]

FEW_ROWS = 64  # problems up to which report_days looks their day up one by one


def reported_from(h: pd.DataFrame) -> pd.Series:
    """Date of each problem's last transition to ``reported`` in history rows ``h``
    (imports excluded), indexed by problem id (sorted).

    Up to :data:`FEW_HISTORY` rows of plain text are read one by one
    (:func:`_few_reported`): the kept village status reads the history of the few problems
    an update changed, where the column-wide calls below cost about a millisecond.
    """
    if len(h) <= FEW_HISTORY:
        few = _few_reported(h)
        if few is not None:
            return few
    to_state = h["to_state"].to_numpy(dtype=object, na_value=None)
    real = (to_state == "reported") & pd.notna(h["from_state"].to_numpy(dtype=object))
    notes = pd.Series(h["note"].to_numpy(dtype=object)[real], dtype=object)
    real[real] = ~notes.fillna("").astype(str).str.startswith("[import").to_numpy(dtype=bool)
    ids = h["problem_id"].to_numpy(dtype=object, na_value=None)[real]
    at = h["at"].to_numpy(dtype=object, na_value=None)[real]
    group, keys = pd.factorize(ids, sort=True)  # a missing id (-1) belongs to no problem
    rank, texts = pd.factorize(at, sort=True)  # ISO text sorts by time; missing: -1
    latest = np.full(len(keys), -1, dtype="int64")
    np.maximum.at(latest, group[group >= 0], rank[group >= 0])
    last = pd.Series(
        np.concatenate([np.asarray(texts, dtype=object), [None]])[latest],  # -1: the None
        index=pd.Index(keys, name="problem_id"),
        dtype=object,
        name="at",
    )
    return pd.to_datetime(last.str.slice(0, 10)).rename("reported_on")


FEW_HISTORY = 64  # history rows read one by one by reported_from
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _few_reported(h: pd.DataFrame) -> pd.Series | None:
    """What :func:`reported_from` gives for ``h``, row by row (:func:`latest_reports`)."""
    columns = ["problem_id", "at", "from_state", "to_state", "note"]
    latest = latest_reports(
        zip(*(h[c].to_numpy(dtype=object, na_value=None) for c in columns), strict=True)
    )
    if latest is None:
        return None
    if not latest:  # what the column-wise reading gives for no report
        none = pd.Index(np.empty(0, dtype=object), name="problem_id")
        return pd.Series(np.empty(0, dtype="datetime64[s]"), index=none, name="reported_on")
    keys = sorted(latest)
    days = np.array([np.datetime64(latest[k][:10], "us") for k in keys], dtype="datetime64[us]")
    index = pd.Index(np.asarray(keys, dtype=object), name="problem_id")
    return pd.Series(days, index=index, name="reported_on")


def latest_reports(rows: Iterable[Sequence[Any]]) -> dict[str, str] | None:
    """The time (text) of each problem's last real report in history ``rows``
    (``problem_id``, ``at``, ``from_state``, ``to_state``, ``note``; missing values as
    None), by problem id: the day :func:`reported_from` gives is its first ten
    characters. None when a value is not what plain history rows hold (an id or time
    that is not text, a time that does not start with a ``YYYY-MM-DD`` day)."""
    latest: dict[str, str] = {}
    for pid, at, from_state, to_state, note in rows:
        if to_state != "reported" or from_state is None:
            continue
        if note is not None and str(note).startswith("[import"):
            continue
        if type(pid) is not str or type(at) is not str or not _ISO_DAY.fullmatch(at[:10]):
            return None
        if pid not in latest or at > latest[pid]:
            latest[pid] = at
    return latest


def report_days(probs: pd.DataFrame, rep: pd.Series) -> pd.Series:
    """The report day of each problem (NaT when none) from :func:`reported_from`'s
    ``rep`` (one row per id), aligned to ``probs``; up to :data:`FEW_ROWS` problems are
    looked up one by one (the few an update changed)."""
    ids = probs["problem_id"].to_numpy(dtype=object, na_value=None)
    if len(ids) <= FEW_ROWS:
        days = dict(zip(rep.index, day_values(rep), strict=True))
        nat = np.datetime64("NaT", "us")
        found = np.array([days.get(i, nat) for i in ids], dtype="datetime64[us]")
        return pd.Series(found, index=probs.index)
    found = rep.reindex(pd.Index(ids, dtype=object)).to_numpy()  # rep: one row per id
    return pd.to_datetime(pd.Series(found, index=probs.index), errors="coerce")
