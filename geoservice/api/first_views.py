"""The first views of the served map pages, for the tile warm-up of each worker.

Every served map (``/maps/targets``, ``/maps/villages``, ``/maps/department/{code}``) opens
on every village (:func:`geoservice.webmaps.pages.map_bounds`) unless asked otherwise, and
draws the layers :func:`~geoservice.webmaps.pages.page_layers` lists from their
``min_zoom``. Tiles are scoped, so they are warmed per scope: the office's always, and
each department and the viewers when the workspace has such users. Village users are
left out: their pages open on their own village, a few small tiles each, for hundreds of
villages.
"""

from __future__ import annotations

import pandas as pd

from geoservice.base.access import Principal, list_users
from geoservice.base.workspace import Workspace
from geoservice.tiles.warm import FirstView
from geoservice.webmaps.pages import drawn_layers, map_bounds, page_layers

__all__ = ["first_views"]

# The maps each warmed role may open (targets and department maps: office and departments).
_KINDS: dict[str, tuple[str, ...]] = {
    "office": ("targets", "villages", "department"),
    "department": ("targets", "villages", "department"),
    "viewer": ("villages",),
}


def _scopes(ws: Workspace) -> list[Principal]:
    """The office, then each department and the viewers that have an active user."""
    users = list_users(ws)
    active = users[users["revoked_at"].isna() & users["role"].isin(["department", "viewer"])]
    pairs = active[["role", "department"]].drop_duplicates().sort_values(["role", "department"])
    found = [(str(r), None if pd.isna(d) else str(d)) for r, d in pairs.itertuples(index=False)]
    scopes = [("office", None), *found]
    return [Principal("tiles", "tiles", role, department=dept) for role, dept in scopes]


def _layers(ws: Workspace, principal: Principal) -> dict[str, int]:
    """Tile layer → the map zoom it is first drawn at, over the maps ``principal`` opens
    (the layers shown when a page opens; those switched off until asked for left out)."""
    visible = drawn_layers(ws, principal)
    layers: dict[str, int] = {}
    for kind in _KINDS[principal.role]:
        for layer in page_layers(kind, visible, "zh"):
            if layer.show:
                layers[layer.name] = min(layer.min_zoom, layers.get(layer.name, layer.min_zoom))
    return layers


def first_views(ws: Workspace) -> list[FirstView]:
    """The first views of the served maps by scope (none without village boundaries)."""
    if not ws.exists() or "villages" not in ws.layer_names():
        return []
    bounds, _code = map_bounds(ws, None)
    if bounds is None:
        return []
    return [FirstView(p, bounds, _layers(ws, p)) for p in _scopes(ws)]
