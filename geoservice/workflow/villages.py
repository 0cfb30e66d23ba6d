"""The per-village rectification status (``docs/design.md#workflow-states``).

Problems are tied to villages of the ``villages`` layer by the one mechanism of
:mod:`layers.attribution` (code, then name, then location at import). Names that match
nothing are reported with the closest village names (difflib).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geoservice.base.villages import match_villages, read_villages
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation import LEVELS, Thresholds, escalate
from geoservice.workflow.patch_progress import (
    PATCH_STATUS_COLUMNS,
    add_patch_progress,
    read_village_patch_states,
)
from geoservice.workflow.patrols import patrols_in_month
from geoservice.workflow.rates import on_time_flags, rate
from geoservice.workflow.states import OPEN_STATES
from geoservice.workflow.store import history, read_problems
from layers.codes import code_key

__all__ = ["STATUS_COLUMNS", "village_status"]

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


def reported_dates(ws: Workspace) -> pd.Series:
    """Date of each problem's last transition to ``reported`` (imports excluded)."""
    h = history(ws)
    real = h[(h["to_state"] == "reported") & h["from_state"].notna()]
    real = real[~real["note"].fillna("").astype(str).str.startswith("[import")]
    last = real.groupby("problem_id")["at"].max()
    return pd.to_datetime(last.str.slice(0, 10)).rename("reported_on")


def _targets_per_village(ws: Workspace) -> pd.Series:
    if "targets" not in ws.layer_names():
        return pd.Series(dtype="int64")
    frame = ws.read("targets", use_arrow=False, read_geometry=False)
    if "village_codes" not in frame.columns:
        return pd.Series(dtype="int64")
    codes = frame["village_codes"].astype("string").str.split(";").explode().str.strip()
    codes = code_key(codes[codes.notna() & (codes != "")])
    return codes.value_counts()


_AGGREGATES = {
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


def _outside_layer(flags: pd.DataFrame, probs: pd.DataFrame) -> pd.DataFrame:
    """Counts of the problems whose village is not in the villages layer, one row per
    village code and name they give (missing ones stay missing: one row for problems
    with no village at all)."""
    lost = probs["vcode"].isna().to_numpy()
    keys = probs.loc[lost, ["village_code", "village_name"]].astype("string")
    keys = keys.apply(lambda s: s.str.strip().replace("", pd.NA))
    grouped = flags[lost].drop(columns="vcode").join(keys)
    agg = grouped.groupby(["village_code", "village_name"], dropna=False, sort=True)
    return agg.agg(**_AGGREGATES).reset_index()


def village_status(
    ws: Workspace, as_of: date, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """Per village: problem counts, on-time rate, escalation and inspection recency.

    Parameters
    ----------
    ws : Workspace
        Needs the ``villages`` layer; ``problems`` and ``targets`` are optional.
    as_of : datetime.date
    thresholds : Thresholds, optional

    Returns
    -------
    pandas.DataFrame
        One row per village (layer order), then one per village code or name of problems
        that are not in the villages layer (``village_code`` and ``village_name`` as the
        problems give them, missing when they do not; one row with both missing for
        problems with no village), columns :data:`STATUS_COLUMNS`: ``problems``
        (total), ``open`` (assigned, in progress or rejected), ``overdue``,
        ``awaiting_verification`` (reported), ``verified``, ``due``, ``on_time`` and
        ``on_time_rate`` (the one definition of
        :data:`~geoservice.workflow.rates.ON_TIME_RATE`, counting every deadline up to
        ``as_of``; NaN when nothing is due),
        ``max_escalation`` (highest level reached, see
        :mod:`~geoservice.workflow.escalation`), ``last_inspection`` (latest found_on),
        ``days_since_inspection`` (NaN when never inspected) and ``targets`` (enforcement
        targets whose ``village_codes`` name the village), then the change-patch figures
        of :data:`~geoservice.workflow.patch_progress.PATCH_STATUS_COLUMNS` (a village
        outside the layer that only patches name has a row of its own).
        ``patrols`` counts the village's patrol tracks in the calendar month of ``as_of``
        up to that day. ``attrs["unmatched"]`` lists problems whose village matched
        nothing, with suggestions.
    """
    villages = read_villages(ws)
    probs = read_problems(ws)
    codes, unknown = match_villages(probs["village_code"], probs["village_name"], villages)
    probs = probs.assign(vcode=codes)
    rep = reported_dates(ws) if len(probs) else pd.Series(dtype="datetime64[ns]")
    reported_on = pd.to_datetime(
        probs["problem_id"].astype(object).map(dict(rep.items())), errors="coerce"
    )
    esc = escalate(probs, as_of, thresholds, reported_on=reported_on)
    day = pd.Timestamp(as_of)
    status = probs["status"]
    # the one definition of the on-time rate, every deadline up to as_of
    due, on_time = on_time_flags(
        probs["deadline"], status, reported_on, probs["found_on"], None, as_of
    )
    flags = pd.DataFrame(
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
        }
    )
    agg = flags.groupby("vcode").agg(**_AGGREGATES)
    out = villages.merge(agg, left_on="village_code", right_index=True, how="left")
    out = pd.concat([out, _outside_layer(flags, probs)], ignore_index=True)
    out = add_patch_progress(out, read_village_patch_states(ws, as_of), villages)
    counts = ["problems", "open", "overdue", "awaiting_verification", "verified", "due", "on_time"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["on_time_rate"] = rate(out["on_time"], out["due"])
    out["max_escalation"] = np.asarray(LEVELS, dtype=object)[out["level"].fillna(0).astype(int)]
    out["days_since_inspection"] = (day - pd.to_datetime(out["last_inspection"])).dt.days
    targets = _targets_per_village(ws)
    out["targets"] = code_key(out["village_code"]).map(targets).fillna(0).astype("int64")
    patrols = patrols_in_month(ws, as_of)
    patrols.index = code_key(pd.Series(patrols.index, dtype="string")).to_numpy()
    out["patrols"] = code_key(out["village_code"]).map(patrols).fillna(0).astype("int64")
    out = out[STATUS_COLUMNS].reset_index(drop=True)
    out.attrs["unmatched"] = unknown.assign(
        problem_id=probs["problem_id"].reindex(unknown["row"]).to_numpy()
    )[["problem_id", "village_name", "suggestions"]]
    return out
