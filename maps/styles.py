"""Colours, labels and the legend of the map products, as plain functions.

Everything here works on plain values or pandas objects and is tested without a browser.
Labels are given in Chinese and English; ``lang`` is ``"zh"`` (default) or ``"en"``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.codes import (
    APPROVED_CAUSES,
    ESCALATION_LABELS,
    ILLEGAL_CAUSES,
    PRIORITY_WORDS,
    PROBLEM_STATE_LABELS,
)
from layers.messages import Lang, pick

__all__ = [
    "COMPLAINT_COLOURS",
    "COMPLAINT_LABELS",
    "COMPLAINT_STATE_LABELS",
    "ESCALATION_LABELS",
    "HIDDEN_COMPLAINT_STATES",
    "MISSING_LABELS",
    "PATCH_CLASSES",
    "PATCH_COLOURS",
    "PATCH_LABELS",
    "PATCH_STAGES",
    "PATCH_STAGE_LABELS",
    "PATCH_STAGE_STATES",
    "PATCH_STAGE_STYLES",
    "PATCH_STAGE_SWATCHES",
    "PRIORITY_COLOURS",
    "PRIORITY_LABELS",
    "PROBLEM_OUTLINE",
    "STATE_COLOURS",
    "STATE_LABELS",
    "STATUS_CLASSES",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "UNKNOWN_COLOUR",
    "column_text",
    "complaint_hidden",
    "label",
    "legend_html",
    "or_missing",
    "patch_class",
    "patch_stage",
    "patch_style",
    "priority_colour",
    "state_colour",
    "status_class",
    "status_classes",
    "status_colour",
    "village_labels",
]

UNKNOWN_COLOUR = "#9e9e9e"

PRIORITY_COLOURS: dict[str, str] = {"P1": "#c62828", "P2": "#ef6c00", "P3": "#f9a825"}
PRIORITY_LABELS: dict[str, tuple[str, str]] = {
    p: (f"{p} {zh}", f"{p} {en}") for p, (zh, en) in PRIORITY_WORDS.items()
}

# Village status classes, worst first.
STATUS_CLASSES: tuple[str, ...] = ("escalated", "overdue", "open", "verified", "none")
STATUS_COLOURS: dict[str, str] = {
    "escalated": "#d32f2f",
    "overdue": "#fb8c00",
    "open": "#fdd835",
    "verified": "#43a047",
    "none": "#bdbdbd",
}
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "escalated": ("督办函/挂牌督办", "supervision letter or listed"),
    "overdue": ("逾期未整改", "overdue"),
    "open": ("整改期限内", "open, within deadline"),
    "verified": ("全部验收销号", "all verified"),
    "none": ("无问题", "no problems"),
}
_ESCALATED_LEVELS = ("supervision", "listed")

STATE_COLOURS: dict[str, str] = {
    "assigned": "#e53935",
    "in_progress": "#fb8c00",
    "reported": "#1e88e5",
    "verified": "#43a047",
    "rejected": "#8e24aa",
}
STATE_LABELS = PROBLEM_STATE_LABELS
# The ring around a problem marker: white, a colour no village status fill uses, so a
# red marker stays readable on a red village.
PROBLEM_OUTLINE = "#ffffff"

# Change patches by legality and verification. Purple, green, brown (dashed) and blue-grey:
# none is a target priority colour (red, orange, yellow), the flagged-parcel blue or the
# complaint teal.
PATCH_CLASSES: tuple[str, ...] = ("illegal", "legal", "unverified", "other")
PATCH_COLOURS: dict[str, str] = {
    "illegal": "#7b1fa2",
    "legal": "#2e7d32",
    "unverified": "#8d6e63",
    "other": "#78909c",
}
PATCH_LABELS: dict[str, tuple[str, str]] = {
    "illegal": ("违法违规图斑", "illegal change"),
    "legal": ("合法（已审批）图斑", "legal (approved) change"),
    "unverified": ("未核实图斑", "not yet verified"),
    "other": ("其他变化图斑", "other change"),
}
_DASHED_PATCHES = frozenset({"unverified"})
# Change patches by workflow stage (森林督查 patch states), drawn over the legality fill:
# waiting for the field check as the legality class draws it, in enforcement or
# rectification with a thick near-black edge, closed (销号) faded.
PATCH_STAGES: tuple[str, ...] = ("awaiting_check", "in_hand", "closed")
PATCH_STAGE_STATES: dict[str, tuple[str, ...]] = {
    "awaiting_check": ("interpreted", "dispatched"),
    "in_hand": ("verified", "investigating", "rectifying", "awaiting_acceptance"),
    "closed": ("closed",),
}
PATCH_STAGE_LABELS: dict[str, tuple[str, str]] = {
    "awaiting_check": ("待现地核实（已判读、已下发）", "awaiting field check"),
    "in_hand": ("查处整改中（黑色粗边）", "in enforcement or rectification (thick edge)"),
    "closed": ("已销号（浅色）", "closed (faded)"),
}
PATCH_STAGE_STYLES: dict[str, dict[str, object]] = {
    "awaiting_check": {},
    "in_hand": {"color": "#212121", "weight": 3.5, "opacity": 1},
    "closed": {"fillOpacity": 0.08, "opacity": 0.45, "weight": 1},
}
PATCH_STAGE_SWATCHES: dict[str, str] = {
    "awaiting_check": "#ffffff",
    "in_hand": "#212121",
    "closed": "#eeeeee",
}

# Complaints by verification: closed and unfounded ones are hidden until asked for.
HIDDEN_COMPLAINT_STATES: tuple[str, ...] = ("closed", "unfounded")
COMPLAINT_COLOURS: dict[str, str] = {"open": "#00838f", "hidden": "#757575"}
COMPLAINT_LABELS: dict[str, tuple[str, str]] = {
    "open": ("举报投诉（待核实、属实）", "complaints (new, verified)"),
    "hidden": ("已办结、不属实举报", "closed or unfounded complaints"),
}
COMPLAINT_STATE_LABELS: dict[str, tuple[str, str]] = {
    "new": ("待核实", "new"),
    "verified": ("属实", "verified"),
    "unfounded": ("不属实", "unfounded"),
    "closed": ("已办结", "closed"),
}


# Words shown for values the survey files did not give (the same words as
# geoservice.base.missing; the maps package does not import the service).
MISSING_LABELS: dict[str, tuple[str, str]] = {
    "village": ("未知村", "unknown village"),
    "category": ("未分类", "no category"),
    "date": ("日期不详", "date unknown"),
    "deadline": ("未定整改期限", "no deadline set"),
    "text": ("（无说明）", "(no description)"),
    "value": ("不详", "unknown"),
}


def _blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.where(text != "")


def or_missing(values: pd.Series, key: str, lang: Lang = "zh") -> pd.Series:
    """``values`` as text, the :data:`MISSING_LABELS` word of ``key`` where missing or
    blank (same index)."""
    return _blank_to_na(values).fillna(label(MISSING_LABELS, key, lang)).astype(object)


def village_labels(codes: pd.Series, names: pd.Series, lang: Lang = "zh") -> pd.Series:
    """Village names; ``未知村（代码 …）`` where only the code is known, ``未知村`` where
    neither is (index of ``names``). Codes and names may be ``;``-joined lists."""
    name = _blank_to_na(names).str.replace(";", "、")
    code = _blank_to_na(pd.Series(codes.to_numpy(), index=names.index)).str.replace(";", "、")
    unknown = label(MISSING_LABELS, "village", lang)
    only_code = unknown + (" (code " if lang == "en" else "（代码 ") + code
    only_code = only_code + (")" if lang == "en" else "）")
    return name.fillna(only_code).fillna(unknown).astype(object)


def label(table: dict[str, tuple[str, str]], key: str, lang: Lang = "zh") -> str:
    """The label of ``key`` in ``lang``; the key itself when unknown."""
    return pick(lang, *table.get(key, (key, key)))


def priority_colour(priority: str) -> str:
    """Fill colour of a target of priority ``P1``/``P2``/``P3`` (grey when unknown)."""
    return PRIORITY_COLOURS.get(str(priority), UNKNOWN_COLOUR)


def state_colour(state: str) -> str:
    """Marker colour of a problem in workflow state ``state`` (grey when unknown)."""
    return STATE_COLOURS.get(str(state), UNKNOWN_COLOUR)


def status_colour(status_class_: str) -> str:
    """Fill colour of a village of status class ``status_class_`` (see :func:`status_class`)."""
    return STATUS_COLOURS.get(str(status_class_), UNKNOWN_COLOUR)


def column_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Lower-case stripped text of ``column`` (all missing when absent), frame's index."""
    values = frame[column] if column in frame else pd.Series(pd.NA, index=frame.index)
    return values.astype("string").str.strip().str.lower()


def patch_class(patches: pd.DataFrame) -> pd.Series:
    """The legality and verification class of each change patch.

    Parameters
    ----------
    patches : pandas.DataFrame
        The ``patches`` layer: ``illegal`` (``true``/``false``/``unknown``, as
        :mod:`layers.normalize` writes it) and ``change_cause`` (a 森林督查 cause code).

        An optional ``legality`` column (``legal``/``illegal``/``other``: what the field
        check of the patch workflow recorded) decides where it is given.

    Returns
    -------
    pandas.Series
        ``illegal`` (verified illegal), ``legal`` (verified legal: an approved cause or
        是否违法 no), ``unverified`` (legality unknown and the cause missing or one the
        field check decides on, so only interpreted so far), ``other`` (legality unknown
        and a cause that is neither approved nor illegal, e.g. fire or a natural change,
        or checked in the field as other); same index.
    """
    checked = column_text(patches, "legality")
    legality = column_text(patches, "illegal")
    cause = column_text(patches, "change_cause")
    decided = cause.isin(APPROVED_CAUSES | ILLEGAL_CAUSES).fillna(False).to_numpy(bool)
    conditions = [
        (checked == "illegal").fillna(False).to_numpy(bool),
        (checked == "legal").fillna(False).to_numpy(bool),
        (checked == "other").fillna(False).to_numpy(bool),
        legality.isin(["true", "1", "yes"]).fillna(False).to_numpy(bool),
        legality.isin(["false", "0", "no"]).fillna(False).to_numpy(bool),
        cause.isna().to_numpy(bool) | decided,
    ]
    choices = ["illegal", "legal", "other", "illegal", "legal", "unverified"]
    return pd.Series(
        np.select(conditions, choices, default="other"), index=patches.index, dtype=object
    )


def patch_stage(patches: pd.DataFrame) -> pd.Series:
    """The workflow stage of each change patch (:data:`PATCH_STAGES`) from its ``state``.

    A patch with no state (not yet in the workflow) or an unknown one is
    ``awaiting_check``, as a patch that has only been interpreted; same index.
    """
    state = column_text(patches, "state")
    stage = pd.Series("awaiting_check", index=patches.index, dtype=object)
    for name, states in PATCH_STAGE_STATES.items():
        stage[state.isin(states).fillna(False).to_numpy(bool)] = name
    return stage


def patch_style(klass: str, stage: str | None = None) -> dict[str, object]:
    """Leaflet path style of a change patch of class ``klass`` (see :func:`patch_class`),
    with the edge and opacity of its workflow ``stage`` (:func:`patch_stage`) when given."""
    colour = PATCH_COLOURS.get(klass, UNKNOWN_COLOUR)
    style: dict[str, object] = {
        "color": colour,
        "fillColor": colour,
        "weight": 2,
        "fillOpacity": 0.35,
    }
    if klass in _DASHED_PATCHES:
        style["dashArray"] = "5 4"
    return {**style, **PATCH_STAGE_STYLES.get(stage or "", {})}


def complaint_hidden(complaints: pd.DataFrame) -> pd.Series:
    """Boolean Series: the complaint is closed or unfounded (hidden by default)."""
    status = column_text(complaints, "status")
    return status.isin(HIDDEN_COMPLAINT_STATES).fillna(False).astype(bool)


def status_class(status: pd.DataFrame) -> pd.Series:
    """The status class of each village row of ``village_status``.

    Parameters
    ----------
    status : pandas.DataFrame
        Columns ``problems``, ``overdue``, ``verified`` and ``max_escalation``.

    Returns
    -------
    pandas.Series
        ``escalated`` (督办函 or 挂牌督办 reached), else ``overdue`` (any overdue problem),
        else ``none`` (no problems), else ``verified`` (every problem verified), else
        ``open`` (open or awaiting verification within the deadline); same index.
    """
    classes = status_classes(
        status["problems"].fillna(0).to_numpy(),
        status["overdue"].fillna(0).to_numpy(),
        status["verified"].fillna(0).to_numpy(),
        status["max_escalation"].isin(_ESCALATED_LEVELS).to_numpy(),
    )
    return pd.Series(classes, index=status.index, dtype=object)


def status_classes(
    problems: np.ndarray, overdue: np.ndarray, verified: np.ndarray, escalated: np.ndarray
) -> np.ndarray:
    """:func:`status_class` from aligned arrays: the counts (no missing values) and
    whether 督办函 or 挂牌督办 was reached; an object array of class names."""
    conditions = [escalated, overdue > 0, problems == 0, verified >= problems]
    choices = ["escalated", "overdue", "none", "verified"]
    return np.asarray(np.select(conditions, choices, default="open"), dtype=object)


def legend_html(title: str, entries: Iterable[tuple[str, str]], kind: str = "box") -> str:
    """A fixed legend box (bottom right) as an HTML fragment.

    Parameters
    ----------
    title : str
    entries : iterable of (colour, label)
    kind : {"box", "dot"}
        Square swatches (areas) or round ones (point markers).
    """
    radius = "50%" if kind == "dot" else "2px"
    rows = "".join(
        f'<div class="gs-legend-row"><span class="gs-swatch" style="background:'
        f'{html.escape(colour)};border-radius:{radius}"></span>{html.escape(text)}</div>'
        for colour, text in entries
    )
    return (
        f'<div class="gs-legend-block"><div class="gs-legend-title">{html.escape(title)}</div>'
        f"{rows}</div>"
    )


LEGEND_CSS = """
.gs-legend{background:#fff;white-space:nowrap;padding:6px 10px;border:1px solid #999;
border-radius:4px;font:12px/1.5 sans-serif;max-height:50vh;overflow:auto}
.gs-village-label{background:transparent;border:none;box-shadow:none;font-weight:bold;
color:#333;text-shadow:0 0 3px #fff}
.gs-village-label:before{display:none}
.gs-legend-title{font-weight:bold;margin-top:4px}
.gs-swatch{display:inline-block;width:12px;height:12px;margin-right:6px;
vertical-align:middle;border:1px solid #555}
"""
