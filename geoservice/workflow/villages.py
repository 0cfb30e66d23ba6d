"""The per-village rectification status (``docs/design.md#workflow-states``).

Problems are tied to villages of the ``villages`` layer by the one mechanism of
:mod:`layers.attribution` (code, then name, then location at import). Names that match
nothing are reported with the closest village names (difflib).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation import Thresholds
from geoservice.workflow.patch_progress import (
    patch_items,
    patch_progress,
    read_village_patch_states,
)
from geoservice.workflow.patrols import patrols_in_month
from geoservice.workflow.store import history, read_problems
from geoservice.workflow.village_parts import (
    STATUS_COLUMNS,
    assemble,
    outside_layer,
    problem_aggregates,
    problem_items,
    unmatched_problems,
    village_rows,
)
from layers.codes import code_key

__all__ = ["STATUS_COLUMNS", "rebuild_village_status", "village_status"]


def targets_per_village(ws: Workspace) -> pd.Series:
    """Enforcement targets per village code key (targets whose ``village_codes`` name it)."""
    if "targets" not in ws.layer_names():
        return pd.Series(dtype="int64")
    frame = ws.read("targets", use_arrow=False, read_geometry=False)
    if "village_codes" not in frame.columns:
        return pd.Series(dtype="int64")
    codes = frame["village_codes"].astype("string").str.split(";").explode().str.strip()
    codes = code_key(codes[codes.notna() & (codes != "")])
    return codes.value_counts()


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
    if thresholds is not None:
        return rebuild_village_status(ws, as_of, thresholds)
    from geoservice.workflow.village_updates import kept_village_status

    return kept_village_status(ws, as_of)


def rebuild_village_status(
    ws: Workspace, as_of: date, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """:func:`village_status` computed from everything in the workspace again."""
    villages = read_villages(ws)
    probs = read_problems(ws)
    hist = history(ws) if len(probs) else None
    items = problem_items(probs, hist, villages, as_of, thresholds)
    states = read_village_patch_states(ws, as_of)
    outside = outside_layer(items)
    patches = patch_progress(patch_items(states, villages))
    rows = village_rows(
        villages, outside, patches, targets_per_village(ws), patrols_in_month(ws, as_of)
    )
    out = assemble(rows, villages, problem_aggregates(items), outside, as_of)
    out.attrs["unmatched"] = unmatched_problems(items)
    return out
