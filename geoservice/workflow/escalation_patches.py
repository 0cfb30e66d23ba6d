"""The change patches (森林督查图斑) an escalation document covers, and their events.

The patch workflow (:mod:`geoservice.workflow.patch_store`) gives each patch the level its
overdue stage has reached (:func:`read_patch_states`, column ``level``, the same levels as
problems); a document covering a patch adds an ``escalation`` event to the patch's history
(:func:`record_patch_event`).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import pandas as pd

from geoservice.base.workspace import Workspace
from geoservice.workflow.document_numbers import DOCUMENT_LEVELS
from geoservice.workflow.patch_states import patch_state_label
from geoservice.workflow.patch_store import read_patch_states, record_patch_event
from layers.messages import Lang

__all__ = ["ITEM_COLUMNS", "PATCH_EVENT", "patch_items", "patch_stage_label", "record_patch_events"]

# The history event of a patch covered by an issued document.
PATCH_EVENT = "escalation"
# The columns of a document's items, problems and patches alike.
ITEM_COLUMNS = [
    "kind",
    "item_id",
    "village_code",
    "village_name",
    "level",
    "days_overdue",
    "deadline",
    "category",
    "description",
    "status",
    "area_ha",
    "cc_departments",
]


def patch_items(ws: Workspace, as_of: date) -> pd.DataFrame:
    """The patches whose overdue stage is at a document level at ``as_of``.

    Returns
    -------
    pandas.DataFrame
        :data:`ITEM_COLUMNS` (``kind`` is
        ``patch``, ``deadline`` the stage's due day, ``status`` the patch's state,
        ``area_ha`` its area in hectares, no description and no copied departments).
    """
    states = read_patch_states(ws, as_of)
    rows = states.loc[states["level"].isin(DOCUMENT_LEVELS)]
    return pd.DataFrame(
        {
            "kind": "patch",
            "item_id": rows["patch_id"].astype(str),
            "village_code": rows["village_code"],
            "village_name": rows["village_name"],
            "level": rows["level"],
            "days_overdue": pd.to_numeric(rows["days_overdue"]).astype("int64"),
            "deadline": rows["stage_due"],
            "category": rows["category"],
            "description": None,
            "status": rows["state"],
            "area_ha": pd.to_numeric(rows["area_ha"], errors="coerce"),
            "cc_departments": [[] for _ in range(len(rows))],
        },
        columns=ITEM_COLUMNS,
    )


def record_patch_events(
    con: sqlite3.Connection, doc: dict[str, Any], title: str, actor: str
) -> None:
    """A history event on each patch ``doc`` covers (inside the caller's transaction)."""
    for item in doc["items"]:
        if item["kind"] == "patch":
            note = f"已发{title} {doc['number']}（逾期 {item['days_overdue']} 天）"
            record_patch_event(con, item["item_id"], PATCH_EVENT, note, actor)


def patch_stage_label(state: Any, lang: Lang = "zh") -> str:
    """The patch state's name in ``lang`` ('' when unknown)."""
    return "" if state is None else patch_state_label(str(state), lang)
