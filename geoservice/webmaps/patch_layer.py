"""The change patches of the standalone maps with their workflow state.

Adds to the ``patches`` layer, by 图斑号, the workflow ``state`` and the ``legality`` the
field check recorded (:func:`~geoservice.workflow.patch_store.read_patch_states`), and the
state in words (``state_text``), so :func:`maps.overlays.add_patches` fills a patch by
legality and edges it by stage as the tiled pages do.
"""

from __future__ import annotations

from typing import Any

from geoservice.base.workspace import Workspace
from geoservice.workflow.patch_states import PATCH_STATE_LABELS
from layers.messages import Lang, pick

__all__ = ["with_patch_states"]


def with_patch_states(ws: Workspace, patches: Any, lang: Lang) -> Any:
    """``patches`` (rows of the ``patches`` layer) with ``state``, ``legality`` and
    ``state_text`` (missing for a patch the workflow does not hold); same index."""
    from geoservice.workflow.patch_store import read_patch_states

    if not len(patches) or "patch_id" not in patches:
        return patches
    states = read_patch_states(ws).drop_duplicates("patch_id")
    states = states.set_index(states["patch_id"].astype(str))[["state", "legality"]]
    joined = states.reindex(patches["patch_id"].astype(str).to_numpy())
    words = {state: pick(lang, *pair) for state, pair in PATCH_STATE_LABELS.items()}
    text = joined["state"].map(words)
    return patches.assign(
        state=joined["state"].to_numpy(dtype=object),
        legality=joined["legality"].to_numpy(dtype=object),
        state_text=text.astype(object).where(text.notna(), None).to_numpy(dtype=object),
    )
