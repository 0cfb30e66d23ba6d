"""Colours, labels and the legend of the map products, as plain functions.

Everything here works on plain values or pandas objects and is tested without a browser.
Labels are given in Chinese and English; ``lang`` is ``"zh"`` (default) or ``"en"``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.codes import ESCALATION_LABELS, PRIORITY_WORDS, PROBLEM_STATE_LABELS
from layers.messages import Lang, pick

__all__ = [
    "ESCALATION_LABELS",
    "MISSING_LABELS",
    "PRIORITY_COLOURS",
    "PRIORITY_LABELS",
    "STATE_COLOURS",
    "STATE_LABELS",
    "STATUS_CLASSES",
    "STATUS_COLOURS",
    "STATUS_LABELS",
    "UNKNOWN_COLOUR",
    "label",
    "legend_html",
    "or_missing",
    "priority_colour",
    "state_colour",
    "status_class",
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
    problems = status["problems"].fillna(0).to_numpy()
    conditions = [
        status["max_escalation"].isin(_ESCALATED_LEVELS).to_numpy(),
        status["overdue"].fillna(0).to_numpy() > 0,
        problems == 0,
        status["verified"].fillna(0).to_numpy() >= problems,
    ]
    choices = ["escalated", "overdue", "none", "verified"]
    return pd.Series(
        np.select(conditions, choices, default="open"), index=status.index, dtype=object
    )


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
