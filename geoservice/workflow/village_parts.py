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

import numpy as np
import pandas as pd

from geoservice.base.villages import match_villages
from geoservice.workflow.escalation import LEVELS, Thresholds, escalate
from geoservice.workflow.patch_progress import PATCH_STATUS_COLUMNS, merge_patch_progress
from geoservice.workflow.rates import on_time_flags, rate
from geoservice.workflow.states import OPEN_STATES
from layers.codes import code_key

__all__ = [
    "AGGREGATES",
    "STATUS_COLUMNS",
    "assemble",
    "outside_layer",
    "problem_aggregates",
    "problem_items",
    "replace_rows",
    "reported_from",
    "unmatched_problems",
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
_FLAGS = [
    "problems",
    "open",
    "overdue",
    "awaiting_verification",
    "verified",
    "due",
    "on_time",
    "level",
    "found_on",
]


def reported_from(h: pd.DataFrame) -> pd.Series:
    """Date of each problem's last transition to ``reported`` in history rows ``h``
    (imports excluded), indexed by problem id."""
    real = h[(h["to_state"] == "reported") & h["from_state"].notna()]
    real = real[~real["note"].fillna("").astype(str).str.startswith("[import")]
    last = real.groupby("problem_id")["at"].max()
    return pd.to_datetime(last.str.slice(0, 10)).rename("reported_on")


def problem_items(
    probs: pd.DataFrame,
    hist: pd.DataFrame | None,
    villages: pd.DataFrame,
    as_of: date,
    thresholds: Thresholds | None = None,
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
    codes, unknown = match_villages(probs["village_code"], probs["village_name"], villages)
    probs = probs.assign(vcode=codes)
    rep = pd.Series(dtype="datetime64[ns]")
    if len(probs) and hist is not None:
        rep = reported_from(hist)
    reported_on = pd.to_datetime(
        probs["problem_id"].astype(object).map(dict(rep.items())), errors="coerce"
    )
    esc = escalate(probs, as_of, thresholds, reported_on=reported_on)
    status = probs["status"]
    # the one definition of the on-time rate, every deadline up to as_of
    due, on_time = on_time_flags(
        probs["deadline"], status, reported_on, probs["found_on"], None, as_of
    )
    missing = pd.Series(None, index=probs.index, dtype=object)
    return pd.DataFrame(
        {
            "vcode": probs["vcode"],
            "problems": 1,
            "open": status.isin(OPEN_STATES).astype(int),
            "overdue": esc["overdue"].astype(int),
            "awaiting_verification": (status == "reported").astype(int),
            "verified": (status == "verified").astype(int),
            "due": due.astype(int),
            "on_time": on_time.astype(int),
            "level": esc["escalation_reached"].map(LEVELS.index).astype(int),
            "found_on": probs["found_on"],
            "problem_id": probs["problem_id"],
            "version": probs["version"],
            "village_code": probs["village_code"],
            "village_name": probs["village_name"],
            "unmatched_name": missing.copy(),
            "suggestions": missing.copy(),
        },
        index=probs.index,
    ).pipe(_with_unknown, unknown)


def _with_unknown(items: pd.DataFrame, unknown: pd.DataFrame) -> pd.DataFrame:
    rows = unknown["row"].to_numpy()
    items.loc[rows, "unmatched_name"] = unknown["village_name"].to_numpy()
    items.loc[rows, "suggestions"] = pd.Series(list(unknown["suggestions"]), index=rows)
    return items


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
    """The sums of :data:`AGGREGATES` per village of the layer (indexed by code), of the
    villages ``codes`` only when given."""
    chosen = items if codes is None else items[items["vcode"].isin(list(codes)).to_numpy()]
    return chosen[["vcode", *_FLAGS]].groupby("vcode").agg(**AGGREGATES)


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


def assemble(
    villages: pd.DataFrame,
    inside: pd.DataFrame,
    outside: pd.DataFrame,
    patches: tuple[pd.DataFrame, pd.DataFrame],
    targets: pd.Series,
    patrols: pd.Series,
    as_of: date,
) -> pd.DataFrame:
    """The village status table (see :func:`~geoservice.workflow.villages.village_status`)
    from the problem sums inside and outside the layer, the patch figures (inside,
    outside: :func:`~geoservice.workflow.patch_progress.patch_progress`), targets per
    village code key and patrols per village code."""
    out = villages.merge(inside, left_on="village_code", right_index=True, how="left")
    out = pd.concat([out, outside], ignore_index=True)
    out = merge_patch_progress(out, *patches, villages)
    counts = ["problems", "open", "overdue", "awaiting_verification", "verified", "due", "on_time"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["on_time_rate"] = rate(out["on_time"], out["due"])
    out["max_escalation"] = np.asarray(LEVELS, dtype=object)[out["level"].fillna(0).astype(int)]
    day = pd.Timestamp(as_of)
    out["days_since_inspection"] = (day - pd.to_datetime(out["last_inspection"])).dt.days
    out["targets"] = code_key(out["village_code"]).map(targets).fillna(0).astype("int64")
    patrols = patrols.copy()
    patrols.index = code_key(pd.Series(patrols.index, dtype="string")).to_numpy()
    out["patrols"] = code_key(out["village_code"]).map(patrols).fillna(0).astype("int64")
    return out[STATUS_COLUMNS].reset_index(drop=True)
