"""The parts the per-village status is made of, and how they are summed per village.

:func:`geoservice.workflow.villages.village_status` is assembled from

- each problem's contribution (:func:`problem_items`: its village, 0/1 flags, escalation
  level reached and found date), summed per village of the layer
  (:func:`problem_aggregates`) and per village outside it (:func:`outside_layer`);
- each change patch's figures (:func:`~geoservice.workflow.patch_progress.patch_items`),
  summed the same way (:func:`~geoservice.workflow.patch_progress.patch_progress`);
- the enforcement targets and the patrols per village.

Every per-village sum depends only on the items of that village, so a change to a few
problems or patches needs the sums of their villages only
(:mod:`geoservice.workflow.village_updates`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geoservice.base.villages import match_villages
from geoservice.workflow.escalation import LEVELS, Escalation, Thresholds, escalation_arrays
from geoservice.workflow.patch_progress import PATCH_STATUS_COLUMNS, merge_patch_progress
from geoservice.workflow.rates import on_time_flags, rate
from geoservice.workflow.report_days import report_days, reported_from
from geoservice.workflow.states import OPEN_STATES
from layers.codes import code_key

__all__ = [
    "AGGREGATES",
    "STATUS_COLUMNS",
    "assemble",
    "item_flags",
    "outside_layer",
    "problem_aggregates",
    "problem_items",
    "replace_rows",
    "unmatched_problems",
    "village_rows",
]

STATUS_COLUMNS = [
    "village_code",
    "village_name",
    "problems",
    "open",
    "overdue",
    "awaiting_verification",
    "verified",
    "due",
    "on_time",
    "on_time_rate",
    "max_escalation",
    "last_inspection",
    "days_since_inspection",
    "targets",
    "patrols",
    *PATCH_STATUS_COLUMNS,
]

AGGREGATES = {
    "problems": ("problems", "sum"),
    "open": ("open", "sum"),
    "overdue": ("overdue", "sum"),
    "awaiting_verification": ("awaiting_verification", "sum"),
    "verified": ("verified", "sum"),
    "due": ("due", "sum"),
    "on_time": ("on_time", "sum"),
    "level": ("level", "max"),
    "last_inspection": ("found_on", "max"),
}
_FLAGS = [source for source, _ in AGGREGATES.values()]  # the item columns they read
FEW_PRIOR = 64  # problems and prior items up to which _prior_villages reads value by value
_FEW_CODES = 4  # villages up to which problem_aggregates compares codes one by one


def problem_items(
    probs: pd.DataFrame,
    hist: pd.DataFrame | None,
    villages: pd.DataFrame,
    as_of: date,
    thresholds: Thresholds | None = None,
    prior: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each problem's contribution to the status of its village at ``as_of``.

    Parameters
    ----------
    probs : pandas.DataFrame
        Rows of :func:`~geoservice.workflow.store.read_problems`.
    hist : pandas.DataFrame or None
        Their history rows (``problem_id``, ``at``, ``from_state``, ``to_state``, ``note``),
        oldest first (None when there are no problems).
    villages : pandas.DataFrame
        The villages layer (``village_code``, ``village_name``).
    prior : pandas.DataFrame, optional
        Items of the same problems against the same villages, computed before: when each
        problem still gives the village code and name it gave then, its village is taken
        from there instead of being matched again.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``probs``: ``vcode`` (village code of the layer, ``<NA>`` when none
        matched), the 0/1 flags and ``level`` (index of the escalation level reached in
        :data:`~geoservice.workflow.escalation.LEVELS`) summed by :data:`AGGREGATES`,
        ``found_on``, and ``problem_id``, ``version``, ``village_code``, ``village_name``,
        ``unmatched_name`` and ``suggestions`` (a village name that matched nothing, with
        the closest names; missing otherwise).
    """
    vcode, unmatched, suggestions = _village_of(probs, villages, prior)
    rep = pd.Series(dtype="datetime64[ns]")
    if len(probs) and hist is not None:
        rep = reported_from(hist)
    reported_on = report_days(probs, rep)
    esc = escalation_arrays(probs, as_of, thresholds, reported_on=reported_on)
    status = probs["status"]
    # the one definition of the on-time rate, every deadline up to as_of
    due, on_time = on_time_flags(
        probs["deadline"], status, reported_on, probs["found_on"], None, as_of
    )
    state = status.to_numpy(dtype=object, na_value=None)
    return pd.DataFrame(
        {
            "vcode": vcode,
            **item_flags(state, esc, due, on_time),
            "found_on": probs["found_on"],
            "problem_id": probs["problem_id"],
            "version": probs["version"],
            "village_code": probs["village_code"],
            "village_name": probs["village_name"],
            "unmatched_name": unmatched,
            "suggestions": suggestions,
        },
        index=probs.index,
    )


def item_flags(
    status: np.ndarray, esc: Escalation, due: np.ndarray, on_time: np.ndarray
) -> dict[str, np.ndarray]:
    """The 0/1 flags and the escalation level reached of each problem, as the items hold
    them, from its workflow state (objects), its escalation
    (:func:`~geoservice.workflow.escalation.escalation_values`) and its on-time flags
    (:func:`~geoservice.workflow.rates.on_time_values`)."""
    return {
        "problems": np.ones(len(status), dtype="int64"),
        "open": np.isin(status, list(OPEN_STATES)).astype("int64"),
        "overdue": esc.overdue.astype("int64"),
        "awaiting_verification": (status == "reported").astype("int64"),
        "verified": (status == "verified").astype("int64"),
        "due": due.astype("int64"),
        "on_time": on_time.astype("int64"),
        "level": esc.reached.astype("int64"),
    }


def _village_of(
    probs: pd.DataFrame, villages: pd.DataFrame, prior: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The matched village code, the unmatched village name and its suggestions of each
    problem, from ``prior`` items when every problem gives the village it gave there."""
    kept = _prior_villages(probs, prior)
    if kept is not None:
        return kept
    codes, unknown = match_villages(probs["village_code"], probs["village_name"], villages)
    rows = unknown["row"].to_numpy()
    unmatched = pd.Series(None, index=probs.index, dtype=object)
    suggestions = unmatched.copy()
    unmatched.loc[rows] = unknown["village_name"].to_numpy()
    suggestions.loc[rows] = pd.Series(list(unknown["suggestions"]), index=rows)
    return codes, unmatched, suggestions


def _prior_villages(
    probs: pd.DataFrame, prior: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series, pd.Series] | None:
    """What :func:`_village_of` gives, taken from ``prior``; None unless every problem is
    there (by id, first item) with the same village code and name (and no id is
    missing).

    Works on the ids as plain objects: the kept status calls it for the few problems an
    update changed, where each pandas call on the frames costs more than the rows.
    """
    if prior is None or not len(probs):
        return None
    if len(prior) <= FEW_PRIOR and len(probs) <= FEW_PRIOR:
        few = _few_prior_rows(probs, prior)
        if few is not None:
            return _taken(prior, few, probs.index) if len(few) else None
    old = prior["problem_id"].to_numpy(dtype=object, na_value=None)
    new = probs["problem_id"].to_numpy(dtype=object, na_value=None)
    if pd.isna(old).any() or pd.isna(new).any():
        return None
    first = np.flatnonzero(~pd.Index(old, dtype=object).duplicated())
    at = pd.Index(old[first], dtype=object).get_indexer(new)
    if not bool(np.all(at >= 0)):
        return None
    rows = first[at]  # the prior item of each problem
    for c in ("village_code", "village_name"):
        was = _text(prior[c]).to_numpy(dtype=object, na_value="\0")[rows]
        now = _text(probs[c]).to_numpy(dtype=object, na_value="\0")
        if not bool(np.all(was == now)):
            return None

    return _taken(prior, rows, probs.index)


def _taken(
    prior: pd.DataFrame, rows: np.ndarray, index: pd.Index
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The village columns of ``prior`` at positions ``rows``, on ``index``."""

    def taken(column: str) -> pd.Series:
        return prior[column].take(rows).set_axis(index)

    return taken("vcode"), taken("unmatched_name"), taken("suggestions")


def _few_prior_rows(probs: pd.DataFrame, prior: pd.DataFrame) -> np.ndarray | None:
    """The position in ``prior`` of each problem's prior item, read value by value (for
    the few rows of an update, where a pandas call costs more than the rows); an empty
    array when :func:`_prior_villages` finds none usable, None when a column is not
    pandas ``string`` (then the column-wise reading decides)."""
    names = ("problem_id", "village_code", "village_name")
    if not all(isinstance(f[c].dtype, pd.StringDtype) for f in (probs, prior) for c in names):
        return None
    was = [prior[c].to_numpy(dtype=object, na_value=None) for c in names]
    now = [probs[c].to_numpy(dtype=object, na_value=None) for c in names]
    first: dict[str, int] = {}
    for i, pid in enumerate(was[0]):
        if pid is None:
            return np.empty(0, dtype="intp")
        first.setdefault(pid, i)
    rows = np.empty(len(now[0]), dtype="intp")
    for j, (pid, code, name) in enumerate(zip(*now, strict=True)):
        at = first.get(pid) if pid is not None else None
        if at is None or was[1][at] != code or was[2][at] != name:
            return np.empty(0, dtype="intp")
        rows[j] = at
    return rows


def _text(values: pd.Series) -> pd.Series:
    """``values`` as pandas ``string`` (as they are when they already are)."""
    return values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")


def unmatched_problems(items: pd.DataFrame) -> pd.DataFrame:
    """``problem_id``, ``village_name`` and ``suggestions`` of the problems whose village
    name matched no village (item order)."""
    hit = items["unmatched_name"].notna().to_numpy()
    return pd.DataFrame(
        {
            "problem_id": items["problem_id"][hit].to_numpy(),
            "village_name": items["unmatched_name"][hit].to_numpy(),
            "suggestions": list(items["suggestions"][hit]),
        }
    )


def problem_aggregates(items: pd.DataFrame, codes: Collection[str] | None = None) -> pd.DataFrame:
    """The sums of :data:`AGGREGATES` per village of the layer (indexed by code, sorted),
    of the villages ``codes`` only when given.

    Equal to ``groupby("vcode").agg(**AGGREGATES)`` (problems of no village left out),
    computed with numpy: a grouped pandas reduction costs about a millisecond whatever
    the number of rows, and the kept village status sums a village again after each
    change.
    """
    vcode = items["vcode"]
    few = _few_groups(vcode, codes) if codes is not None else None
    if few is not None:
        chosen, group, keys = few
    else:
        chosen = vcode.notna().to_numpy(dtype=bool)
        if codes is not None:
            chosen = chosen & vcode.isin(list(codes)).to_numpy(dtype=bool)
        group, keys = pd.factorize(vcode[chosen], sort=True)
    n = len(keys)
    columns: dict[str, Any] = {}
    for name, (source, how) in AGGREGATES.items():
        values = items[source].to_numpy()[chosen]
        if how == "sum":
            columns[name] = np.bincount(group, weights=values, minlength=n).astype("int64")
        elif values.dtype.kind == "M":  # latest date; NaT only when every one is NaT
            ticks = np.full(n, np.iinfo("int64").min, dtype="int64")
            np.maximum.at(ticks, group, values.view("int64"))
            columns[name] = ticks.view(values.dtype)
        else:
            top = np.full(n, np.iinfo("int64").min, dtype="int64")
            np.maximum.at(top, group, values.astype("int64"))
            columns[name] = top
    index = pd.Index(keys, dtype=vcode.dtype, name="vcode")
    return pd.DataFrame(columns, index=index)


def _few_groups(
    vcode: pd.Series, codes: Collection[str]
) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """The rows of the villages ``codes``, their group numbers and the codes that have
    rows (sorted), as :func:`problem_aggregates` factorizes them, for up to
    :data:`_FEW_CODES` codes of a column of pandas ``string`` backed by arrow: one
    comparison per code (the kept status sums a village or two after each change);
    None otherwise."""
    if len(codes) > _FEW_CODES or not isinstance(vcode.array, pd.arrays.ArrowStringArray):
        return None
    column = pa.array(vcode.array)
    chosen = np.zeros(len(vcode), dtype=bool)
    number = np.zeros(len(vcode), dtype="intp")
    keys: list[str] = []
    for code in sorted({str(c) for c in codes}):
        hit = pc.fill_null(pc.equal(column, pa.scalar(code, column.type)), False)
        rows = np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
        if rows.any():
            chosen |= rows
            number[rows] = len(keys)
            keys.append(code)
    return chosen, number[chosen], keys


def replace_rows(kept: pd.DataFrame, codes: Collection[str], fresh: pd.DataFrame) -> pd.DataFrame:
    """``kept`` (indexed by village code) with the rows of ``codes`` replaced by those of
    ``fresh`` (a code absent from ``fresh`` has no items any more)."""
    rest = kept[~kept.index.isin(list(codes))]
    if fresh.empty:
        return rest
    if rest.empty:
        return fresh
    return pd.concat([rest, fresh])


def outside_layer(items: pd.DataFrame) -> pd.DataFrame:
    """Sums of the problems whose village is not in the villages layer, one row per
    village code and name they give (missing ones stay missing: one row for problems
    with no village at all)."""
    lost = items["vcode"].isna().to_numpy()
    keys = items.loc[lost, ["village_code", "village_name"]].astype("string")
    keys = keys.apply(lambda s: s.str.strip().replace("", pd.NA))
    grouped = items.loc[lost, _FLAGS].join(keys)
    agg = grouped.groupby(["village_code", "village_name"], dropna=False, sort=True)
    return agg.agg(**AGGREGATES).reset_index()


def village_rows(
    villages: pd.DataFrame,
    outside: pd.DataFrame,
    patches: tuple[pd.DataFrame, pd.DataFrame],
    targets: pd.Series,
    patrols: pd.Series,
) -> pd.DataFrame:
    """The rows of the village status table without their problem sums.

    Parameters
    ----------
    villages : pandas.DataFrame
        The villages layer (``village_code``, ``village_name``).
    outside : pandas.DataFrame
        :func:`outside_layer` (only its ``village_code`` and ``village_name`` are used).
    patches : tuple of pandas.DataFrame
        The patch figures inside and outside the layer
        (:func:`~geoservice.workflow.patch_progress.patch_progress`).
    targets, patrols : pandas.Series
        Targets per village code key, patrols per village code.

    Returns
    -------
    pandas.DataFrame
        One row per village of the layer (layer order), per village outside it that
        problems name (order of ``outside``), then per village outside it that only
        patches name: ``village_code``, ``village_name``, the patch figures, ``targets``
        and ``patrols``.
    """
    keys = ["village_code", "village_name"]
    out = pd.concat([villages[keys], outside[keys]], ignore_index=True)
    out = merge_patch_progress(out, *patches, villages)
    out["targets"] = code_key(out["village_code"]).map(targets).fillna(0).astype("int64")
    patrols = patrols.copy()
    patrols.index = code_key(pd.Series(patrols.index, dtype="string")).to_numpy()
    out["patrols"] = code_key(out["village_code"]).map(patrols).fillna(0).astype("int64")
    return out


def assemble(
    rows: pd.DataFrame,
    villages: pd.DataFrame,
    inside: pd.DataFrame,
    outside: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """The village status table (see :func:`~geoservice.workflow.villages.village_status`)
    from its :func:`village_rows` and the problem sums inside the layer
    (:func:`problem_aggregates`) and outside it (:func:`outside_layer`, the one
    :func:`village_rows` was given).

    The sums are placed by position: ``rows`` holds the villages of the layer, then those
    of ``outside``, then villages only patches name (no problem sums). Computed with numpy
    for the same reason as :func:`problem_aggregates`.
    """
    n_layer, n_rows = len(villages), len(rows)
    n_sums = n_layer + len(outside)
    if n_rows < n_sums:
        raise ValueError(f"{n_rows} village rows for {n_sums} villages with sums")
    found = inside.index.get_indexer(villages["village_code"])  # -1: no problem there
    sums = {name: _placed(inside[name], found, outside[name], n_rows) for name in AGGREGATES}
    out: dict[str, Any] = {c: rows[c].array for c in rows.columns}
    out.update({c: sums[c] for c in AGGREGATES if c != "level"})
    out["on_time_rate"] = rate(pd.Series(sums["on_time"]), pd.Series(sums["due"])).to_numpy()
    out["max_escalation"] = np.asarray(LEVELS, dtype=object)[sums["level"]]
    last = sums["last_inspection"]
    never = np.isnat(last)
    day = np.datetime64(as_of, "D")
    elapsed: np.ndarray = np.subtract(day, np.where(never, day, last))
    days = np.floor_divide(elapsed, np.timedelta64(1, "D"))
    out["days_since_inspection"] = np.where(never, np.nan, days) if never.any() else days
    return pd.DataFrame({c: out[c] for c in STATUS_COLUMNS})


def _placed(inside: pd.Series, found: np.ndarray, outside: pd.Series, n_rows: int) -> np.ndarray:
    """One sum per row of :func:`assemble`: for the villages of the layer, ``inside`` at
    positions ``found`` (-1: none), then ``outside``, then none; 0 (NaT for a date) for
    a row without a sum."""
    kept = inside.to_numpy()
    is_date = kept.dtype.kind == "M"
    dtype = kept.dtype if is_date else np.dtype("int64")
    out = np.full(n_rows, np.datetime64("NaT") if is_date else 0, dtype=dtype)
    hit = found >= 0
    out[: len(found)][hit] = kept[found[hit]]
    out[len(found) : len(found) + len(outside)] = outside.to_numpy().astype(dtype)
    return out
