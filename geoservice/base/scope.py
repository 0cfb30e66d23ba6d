"""What of each served layer a caller may see: the layer at all, then which of its rows.

Shared by every way the service hands out features (OGC API items, vector tiles), so a
layer is scoped the same wherever it is read:

- the shared layers (``villages``, ``parcels``, ``complaints``, ``patches``) by the most
  restrictive classification of their catalog rows (a layer without catalog rows counts
  as ``restricted``: default deny), then every row;
- ``parcel_risk`` as an ``internal`` layer, every row;
- ``targets`` for the office and departments; a department the targets it leads or
  cooperates on (:meth:`~geoservice.base.access.Principal.target_mask`);
- ``problems`` for the office, departments and villages; a department those copied to it,
  a village its own (:meth:`~geoservice.base.access.Principal.problem_mask`).

Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.workspace import CLASSIFICATIONS, Workspace

__all__ = [
    "LAYER_SCOPES",
    "layer_classifications",
    "scope_columns",
    "scope_mask",
    "visible_layers",
]

# How each layer is scoped: ``layer`` (catalog classification, the default), ``internal``
# (as an internal layer), ``targets`` or ``problems`` (by role, then per row).
LAYER_SCOPES: dict[str, str] = {
    "problems": "problems",
    "targets": "targets",
    "parcel_risk": "internal",
}
# Roles that see a row-scoped layer at all, and the columns their row mask needs.
_ROLES = {"targets": ("office", "department"), "problems": ("office", "department", "village")}
_SCOPE_COLUMNS = {
    "targets": ("lead_department", "cooperating_departments"),
    "problems": ("cc_departments", "village_code"),
}


def _scope(layer: str) -> str:
    return LAYER_SCOPES.get(layer, "layer")


def layer_classifications(ws: Workspace) -> dict[str, str]:
    """The most restrictive classification of each catalogued layer."""
    rank = {c: i for i, c in enumerate(CLASSIFICATIONS)}
    level: dict[str, int] = {}
    for e in ws.catalog():  # an unknown classification counts as the most restrictive
        level[e.layer] = max(level.get(e.layer, 0), rank.get(e.classification, len(rank) - 1))
    return {layer: CLASSIFICATIONS[i] for layer, i in level.items()}


def visible_layers(ws: Workspace, principal: Principal, layers: Iterable[str]) -> list[str]:
    """Those of ``layers`` (in their order) that are stored and ``principal`` may see."""
    ws.require()
    present = set(ws.layer_names())
    classes = layer_classifications(ws)
    out = []
    for layer in layers:
        scope = _scope(layer)
        if scope in _ROLES:
            ok = principal.role in _ROLES[scope]
        else:
            ok = principal.can_read(
                "internal" if scope == "internal" else classes.get(layer, "restricted")
            )
        if ok and layer in present:
            out.append(layer)
    return out


def scope_columns(principal: Principal, layer: str) -> tuple[str, ...]:
    """The columns :func:`scope_mask` needs to scope ``layer``'s rows for ``principal``
    (none when every row of a visible layer is shown)."""
    return () if principal.role == "office" else _SCOPE_COLUMNS.get(_scope(layer), ())


def scope_mask(principal: Principal, layer: str, frame: pd.DataFrame) -> np.ndarray:
    """Which rows of ``frame`` (rows of ``layer``, with :func:`scope_columns`) the
    principal may see, aligned to its rows."""
    if not scope_columns(principal, layer):
        return np.ones(len(frame), dtype=bool)
    scope = _scope(layer)
    return (principal.target_mask if scope == "targets" else principal.problem_mask)(frame)
