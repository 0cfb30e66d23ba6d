"""The change-patch figures of a village in the village map's status object and popups.

Keys are the columns of the village status
(:data:`~geoservice.workflow.patch_progress.PATCH_STATUS_COLUMNS`), each labelled with its
one word (:data:`~geoservice.workflow.patch_progress.PATCH_FIGURE_WORDS`), plus
``patches_by_state``: the states a village's patches are in, with their counts, in words.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geoservice.workflow.patch_progress import BY_STATE_WORD, figure_word
from geoservice.workflow.patch_states import PATCH_STATE_LABELS, PATCH_STATES
from layers.messages import Lang, pick

__all__ = ["POPUP_FIGURES", "by_state_text", "patch_popup_fields", "patch_status_columns"]

# The figures a village popup shows (the by-state text after the total).
POPUP_FIGURES: tuple[str, ...] = (
    "patches",
    "patches_by_state",
    "patches_field_verified",
    "patches_illegal",
    "patches_overdue",
)


def _by_state(status: pd.DataFrame, lang: Lang) -> pd.Series:
    """``已判读 1、已核实 2`` per village (states with no patch left out; '—' for none)."""
    counts = {s: status[f"patches_{s}"].fillna(0).to_numpy(dtype=int) for s in PATCH_STATES}
    return pd.Series(by_state_text(counts, len(status), lang), index=status.index, dtype=object)


def by_state_text(counts: Mapping[str, np.ndarray], n: int, lang: Lang) -> np.ndarray:
    """The by-state text of ``n`` villages from their patch count per state (aligned
    integer arrays keyed by :data:`PATCH_STATES`), as an object array."""
    sep = pick(lang, "、", ", ")
    text = np.full(n, "", dtype=object)
    for state in PATCH_STATES:
        k = counts[state]
        part = pick(lang, *PATCH_STATE_LABELS[state]) + " " + k.astype(str)
        text = np.where(k > 0, np.where(text == "", part, text + sep + part), text)
    return np.asarray(np.where(text == "", "—", text), dtype=object)


def patch_status_columns(status: pd.DataFrame, lang: Lang) -> dict[str, pd.Series]:
    """The :data:`POPUP_FIGURES` of each village row of the village status."""
    counts = {c: status[c].fillna(0).astype(int) for c in POPUP_FIGURES if c in status}
    return {**counts, "patches_by_state": _by_state(status, lang)}


def patch_popup_fields(lang: Lang) -> dict[str, str]:
    """Popup rows of the patch figures: key → its word."""
    return {
        c: pick(lang, *BY_STATE_WORD) if c == "patches_by_state" else figure_word(c, lang)
        for c in POPUP_FIGURES
    }
