"""Workflow properties a collection carries beyond its layer's columns.

The ``patches`` collection carries each change patch's workflow (森林督查 patch states,
:mod:`geoservice.workflow.patch_store`) for the roles that follow the patches' workflow,
the forest-chief office and departments (:data:`WORKFLOW_ROLES`): ``state``, ``legality``
(legal, illegal or other once verified in the field), ``stage_due`` (``YYYY-MM-DD``, the day
the current stage is due; null once closed), ``days_overdue`` (whole days, 0 when not
late), ``problem_id`` and ``target_id`` (the problem and enforcement target the patch
opened or joined). Deadlines are counted at today's date. Other roles get the layer's
columns only. The properties can be filtered on as the layer's columns are
(``?state=dispatched``), compared as text.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.ogc.geojson import matches_text

__all__ = [
    "WORKFLOW_FIELDS",
    "WORKFLOW_ROLES",
    "match_workflow",
    "with_workflow",
    "workflow_fields",
]

WORKFLOW_FIELDS: dict[str, tuple[str, ...]] = {
    "patches": ("state", "legality", "stage_due", "days_overdue", "problem_id", "target_id"),
}
WORKFLOW_ROLES: tuple[str, ...] = ("office", "department")
_ID = {"patches": "patch_id"}


def workflow_fields(principal: Principal, collection_id: str) -> tuple[str, ...]:
    """The workflow properties of ``collection_id`` that ``principal`` gets (maybe none)."""
    if principal.role not in WORKFLOW_ROLES:
        return ()
    return WORKFLOW_FIELDS.get(collection_id, ())


def _table(ws: Workspace, collection_id: str) -> pd.DataFrame:
    from geoservice.workflow.patch_store import read_patch_states

    frame = read_patch_states(ws, date.today()).drop_duplicates("patch_id")
    frame = frame.set_index(frame["patch_id"].astype(str))
    return frame[list(WORKFLOW_FIELDS[collection_id])]


def _joined(ws: Workspace, collection_id: str, ids: pd.Series) -> pd.DataFrame:
    table = _table(ws, collection_id)
    out = table.reindex(ids.astype("string").fillna("").astype(object).to_numpy())
    out.index = ids.index
    out["days_overdue"] = pd.to_numeric(out["days_overdue"], errors="coerce").astype("Int64")
    return out


def with_workflow(
    ws: Workspace, principal: Principal, collection_id: str, page: pd.DataFrame
) -> pd.DataFrame:
    """``page`` (rows of the layer, with its id column) with the workflow properties the
    principal gets, before the geometry column; the page itself when there are none."""
    fields = workflow_fields(principal, collection_id)
    if not fields or not len(page):
        return page
    flow = _joined(ws, collection_id, page[_ID[collection_id]])
    out = page.copy()
    position = (
        list(out.columns).index(out.geometry.name) if hasattr(out, "geometry") else len(out.columns)
    )
    for offset, name in enumerate(fields):
        out.insert(
            position + offset, name, flow[name].astype(object).where(flow[name].notna(), None)
        )
    return out


def match_workflow(
    ws: Workspace, collection_id: str, ids: pd.Series, filters: dict[str, str]
) -> np.ndarray:
    """Rows (``ids`` of the layer) whose workflow properties equal ``filters`` as text."""
    keep = np.ones(len(ids), dtype=bool)
    if not filters:
        return keep
    flow = _joined(ws, collection_id, ids)
    for name, wanted in filters.items():
        keep &= matches_text(flow[name], wanted)
    return keep
