"""Workflow columns a tile layer carries from its workflow table, joined by id.

The change patches carry their workflow ``state`` (:mod:`geoservice.workflow.patch_states`)
at every zoom, so a page styles them by stage as well as legality, and the ``legality``
the field check recorded decides their legality class
(:func:`maps.styles.patch_class`). The states are read once per data version of the
workspace (a workflow change changes it: :func:`geoservice.base.data_version.data_version`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from geoservice.base.data_version import data_version
from geoservice.base.workspace import Workspace

__all__ = ["WORKFLOW_COLUMNS", "workflow_columns"]

# Layer -> (id column, columns joined from its workflow table); the first ones are also
# tile attributes (see geoservice.tiles.specs.WORKFLOW).
WORKFLOW_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patches": ("patch_id", ("state", "legality")),
}


def _patch_states(ws: Workspace) -> pd.DataFrame:
    from geoservice.workflow.patch_store import read_patch_states

    frame = read_patch_states(ws)
    frame = frame.drop_duplicates("patch_id").set_index(frame["patch_id"].astype(str))
    return frame[["state", "legality"]]


@lru_cache(maxsize=16)
def _cached(path: str, version: tuple[Any, ...]) -> pd.DataFrame:
    return _patch_states(Workspace(path))


def workflow_columns(ws: Workspace, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The workflow columns of ``layer`` for the rows of ``frame`` (which has the layer's
    id column), aligned to it; missing where a row has no workflow row."""
    id_column, columns = WORKFLOW_COLUMNS[layer]
    version = data_version(ws.path)
    table = _patch_states(ws) if version is None else _cached(str(ws.path), version)
    ids = frame[id_column].astype("string")
    out = table.reindex(ids.astype(object).to_numpy())[list(columns)]
    out.index = frame.index
    return out.astype(object).where(out.notna(), None)
