"""The status object's parts as JSON text, kept per scope and per version of their data.

:func:`~geoservice.webmaps.status.status_parts` builds the status object as a dict with
pandas; this module gives the same object as the same JSON text
(``json.dumps(..., ensure_ascii=False, sort_keys=True)``, byte for byte) at a fraction of
the cost after a problem update:

- each part (``villages``, ``problems``, ``targets``) is first encoded for every row it
  can show, once per version of the data it depends on and language (:class:`Encoded`:
  the row keys and each row's JSON text, built column by column with numpy);
- a scope's part is the rows its mask keeps, joined in key order; it is kept per scope
  and version too.

The versions: the kept village status and the kept problems carry a generation number
(:func:`~geoservice.workflow.village_updates.kept_view`) that changes whenever they do;
the targets part is keyed by the file's identity, the ``targets`` row of
``gpkg_contents`` and the ``target_state`` table (:func:`targets_version`), so a problem
update never builds it again, and a target state change does.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoservice.base.data_version import file_identity

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.village_updates import KeptView
    from layers.messages import Lang

__all__ = [
    "OWN",
    "PARTS",
    "Encoded",
    "clear_parts",
    "encode_rows",
    "joined",
    "status_text",
    "targets_version",
]

_KEPT = 64  # encoded tables and scope parts kept
_KEPT_OWN = 1024  # village users' parts (small, one per village and language)
_ESCAPE = re.compile(r'[\x00-\x1f\\"]')  # what json.dumps(ensure_ascii=False) escapes
_CONTROL = re.compile(r"[\x00-\x1f\\]")  # the same but the quote
_COUNTS = ["problems", "open", "overdue", "awaiting_verification", "verified"]


class _Lru:
    """A small thread-safe LRU of built values (a value may be built twice at once)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PARTS = _Lru(_KEPT)
OWN = _Lru(_KEPT_OWN)


def clear_parts() -> None:
    """Forget every kept part."""
    PARTS.clear()
    OWN.clear()


# --- JSON text, column by column ----------------------------------------------------------


def json_strings(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """``json.dumps(v, ensure_ascii=False)`` of each string, as an object array.

    When no value holds a character JSON escapes (one regular-expression search over the
    values joined), each is its text in quotes; otherwise :func:`json.dumps` encodes the
    values that do.
    """
    text = np.asarray(values, dtype=object)
    if not len(text):
        return text
    out = '"' + text + '"'
    whole = '"'.join(text)
    if _CONTROL.search(whole) is None and whole.count('"') == len(text) - 1:
        return out
    escape = np.fromiter((_ESCAPE.search(v) is not None for v in text), bool, len(text))
    out[escape] = [json.dumps(v, ensure_ascii=False) for v in text[escape]]
    return out


def json_each_unique(values: pd.Series | np.ndarray, word: Callable[[Any], str]) -> np.ndarray:
    """The JSON string of ``word(v)`` for each value, ``word`` called once per distinct
    value (missing values are given to ``word`` as they are)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    words = np.asarray([json.dumps(word(u), ensure_ascii=False) for u in uniques], dtype=object)
    return words[codes] if len(codes) else np.empty(0, dtype=object)


def json_ints(values: pd.Series) -> np.ndarray:
    """JSON numbers of whole numbers (missing as 0)."""
    return values.fillna(0).astype("int64").to_numpy().astype(str).astype(object)


@dataclass(frozen=True)
class Encoded:
    """Every row a part can show: its key's JSON text and its record's JSON text.

    Attributes
    ----------
    ids : numpy.ndarray
        The row keys (``str``), in row order.
    keys, records : numpy.ndarray
        JSON text of each key and of each record (keys sorted), aligned to ``ids``.
    """

    ids: np.ndarray
    keys: np.ndarray
    records: np.ndarray


def encode_rows(ids: pd.Series, columns: dict[str, np.ndarray]) -> Encoded:
    """:class:`Encoded` rows from their keys and each column's JSON text per row."""
    n = len(ids)
    text = np.full(n, "{", dtype=object)
    for i, name in enumerate(sorted(columns)):
        head = ("" if i == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
        text = text + head + columns[name] if n else text
    text = text + "}" if n else text
    keys = ids.astype(str).to_numpy(dtype=object)
    return Encoded(keys, json_strings(keys), text)


def joined(encoded: Encoded, mask: np.ndarray | None = None) -> str:
    """The JSON object of the rows ``mask`` keeps (all without it): the first row of each
    key, keys in sorted order, as ``json.dumps(..., sort_keys=True)`` writes it."""
    pick = np.arange(len(encoded.ids)) if mask is None else np.flatnonzero(mask)
    ids = encoded.ids[pick]
    first = ~pd.Index(ids).duplicated()
    pick, ids = pick[first], ids[first]
    if not len(pick):
        return "{}"
    order = pick[np.argsort(ids, kind="stable")]
    return "{" + ", ".join(encoded.keys[order] + ": " + encoded.records[order]) + "}"


# --- the parts ------------------------------------------------------------------------------


def _ints(values: pd.Series) -> np.ndarray:
    """Whole numbers, missing as 0 (as ``fillna(0).astype(int)``)."""
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    return np.nan_to_num(floats, nan=0.0).astype("int64")


def _encode_villages(status: pd.DataFrame, lang: Lang, patches: bool) -> Encoded:
    """The village rows of the status table with a code, as the villages part shows them
    (the change-patch figures only with ``patches``: not for viewers)."""
    from geoservice.webmaps.patch_status import POPUP_FIGURES, by_state_text
    from geoservice.workflow.patch_states import PATCH_STATES
    from maps import styles

    status = status[status["village_code"].notna().to_numpy()]
    counts = {c: _ints(status[c]) for c in _COUNTS}
    level = status["max_escalation"].to_numpy(dtype=object)
    level = np.where(pd.isna(level), "none", level).astype(object)
    klass = styles.status_classes(
        counts["problems"],
        counts["overdue"],
        counts["verified"],
        np.isin(level, ["supervision", "listed"]),
    )
    rate = pd.to_numeric(status["on_time_rate"], errors="coerce").to_numpy(dtype="float64")
    columns = {
        "c": json_each_unique(klass, styles.status_colour),
        "cls": json_each_unique(klass, lambda k: styles.label(styles.STATUS_LABELS, k, lang)),
        **{c: v.astype(str).astype(object) for c, v in counts.items()},
        "rate": json_each_unique(rate, lambda v: "—" if pd.isna(v) else f"{v:.0%}"),
        "esc": json_each_unique(level, lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)),
    }
    if patches:
        for c in POPUP_FIGURES:
            if c in status:
                columns[c] = _ints(status[c]).astype(str).astype(object)
        by_state = {s: _ints(status[f"patches_{s}"]) for s in PATCH_STATES}
        columns["patches_by_state"] = json_each_unique(
            by_state_text(by_state, len(status), lang), str
        )
    return encode_rows(status["village_code"], columns)


def _village_rows(status: pd.DataFrame, code: str) -> pd.DataFrame:
    """The status rows of the village ``code``."""
    codes = status["village_code"]
    return status[(codes.notna() & (codes.astype(str) == code)).to_numpy(dtype=bool)]


def _encode_problems(rows: pd.DataFrame, day: date, lang: Lang) -> Encoded:
    """Every kept problem, as the problems part shows it at ``day``."""
    from geoservice.workflow.escalation import escalate
    from maps import styles

    if not len(rows):
        return encode_rows(pd.Series([], dtype=object), {})
    level = escalate(rows, day)["escalation"].fillna("none")
    state = rows["status"].astype(str)
    columns = {
        "c": json_each_unique(state, styles.state_colour),
        "state": json_each_unique(state, lambda s: styles.label(styles.STATE_LABELS, s, lang)),
        "esc": json_each_unique(level, lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)),
    }
    return encode_rows(rows["problem_id"], columns)


@dataclass(frozen=True)
class _Targets:
    frame: pd.DataFrame
    encoded: Encoded


def _encode_targets(ws: Workspace, lang: Lang) -> _Targets | None:
    """Every target of the layer with its priority colour and register state (None
    without a targets layer)."""
    from geoservice.analysis.target_register import read_register
    from geoservice.workflow.target_states import target_state_label
    from maps import styles

    if "targets" not in ws.layer_names():
        return None
    columns = ["target_id", "priority", "lead_department", "cooperating_departments"]
    targets = ws.read("targets", columns=columns, read_geometry=False)
    register = read_register(ws)
    states = dict(zip(register["target_id"].astype(str), register["state"], strict=True))
    state = targets["target_id"].astype(str).map(states).fillna("new")
    encoded = encode_rows(
        targets["target_id"],
        {
            "c": json_each_unique(targets["priority"].astype(str), styles.priority_colour),
            "state": json_each_unique(state, lambda s: target_state_label(str(s), lang)),
        },
    )
    return _Targets(pd.DataFrame(targets), encoded)


def targets_version(ws: Workspace) -> tuple[Any, ...] | None:
    """What the targets part shows can change with: the file (device, inode, generation:
    :func:`~geoservice.base.data_version.file_identity`), the
    ``targets`` row of ``gpkg_contents`` and the ``target_state`` table (count, sum of
    ``version``, latest ``updated_at``); None when it cannot be read now."""
    try:
        st = os.stat(ws.path)
        with ws.read_connection() as con:
            identity = file_identity(con, st)
            tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}
            contents = con.execute(
                "SELECT last_change FROM gpkg_contents WHERE table_name = 'targets'"
            ).fetchall()
            register: tuple[Any, ...] = ("absent",)
            if "target_state" in tables:
                sql = "SELECT count(*), sum(version), max(updated_at) FROM target_state"
                register = tuple(con.execute(sql).fetchone())
    except (OSError, sqlite3.Error):
        return None
    return (*identity, tuple(tuple(r) for r in contents), register)


def _names(values: pd.Series, code: str) -> np.ndarray:
    from geoservice.webmaps.status import _names as names

    return names(values, code)


def _villages_text(ws: Workspace, principal: Principal, day: date, lang: Lang) -> tuple[str, str]:
    """The villages part and the problems part of a villages map."""
    from geoservice.base.data_version import scope_of
    from geoservice.workflow.village_updates import kept_view

    # a village user's part: its own rows and problems, current without bringing the whole
    # kept status up to date when the changes since were all elsewhere
    own_code = (principal.village_code or "") if principal.role == "village" else None
    kept = kept_view(ws, day, own_code)
    patches = principal.role != "viewer"
    where = os.path.realpath(ws.path)

    def encoded() -> str:
        return joined(_encode_villages(kept.status, lang, patches))

    if principal.role == "village":  # its own rows, kept while they are the same
        own, values = _own_rows(kept, where, principal.village_code or "")
        key: tuple[Any, ...] = ("village-own", where, lang, scope_of(principal), values)
        villages = str(OWN.get(key, lambda: joined(_encode_villages(own, lang, patches))))
    elif kept.status_generation is None:
        villages = encoded()
    else:
        key = ("villages", where, kept.status_generation, lang, patches)
        villages = str(PARTS.get(key, encoded))
    generation = kept.problems_generation
    problems = _problems_text(ws, principal, day, lang, None, kept.problems, generation)
    return villages, problems


def _own_rows(kept: KeptView, where: str, code: str) -> tuple[pd.DataFrame, str]:
    """The status rows of the village ``code`` and their values as text, kept per
    generation of the kept status."""

    def rows() -> tuple[pd.DataFrame, str]:
        own = _village_rows(kept.status, code)
        return own, repr(own.to_numpy(dtype=object).tolist())

    if kept.status_generation is None:
        return rows()
    key = ("own-rows", where, kept.status_generation, code)
    found: tuple[pd.DataFrame, str] = OWN.get(key, rows)
    return found


def _problems_text(
    ws: Workspace,
    principal: Principal,
    day: date,
    lang: Lang,
    dept: str | None,
    rows: pd.DataFrame | None = None,
    generation: int | None = None,
) -> str:
    from geoservice.base.data_version import scope_of
    from geoservice.workflow.village_updates import kept_view

    if rows is None:
        kept = kept_view(ws, day)
        rows, generation = kept.problems, kept.problems_generation
    frame = rows
    where = os.path.realpath(ws.path)

    def scoped() -> str:
        if generation is None:
            table = _encode_problems(frame, day, lang)
        else:
            key = ("problems", where, generation, day, lang)
            table = PARTS.get(key, lambda: _encode_problems(frame, day, lang))
        mask = principal.problem_mask(frame)
        if dept is not None and len(frame):
            mask = mask & _names(frame["cc_departments"], dept)
        return joined(table, mask)

    if generation is None:
        return scoped()
    return str(PARTS.get(("problems-scope", where, generation, day, lang,
                          scope_of(principal), dept), scoped))  # fmt: skip


def _targets_text(ws: Workspace, principal: Principal, lang: Lang, dept: str | None) -> str:
    from geoservice.base.data_version import scope_of

    version = targets_version(ws)
    where = os.path.realpath(ws.path)

    def scoped() -> str:
        if version is None:
            kept = _encode_targets(ws, lang)
        else:
            kept = PARTS.get(("targets", where, version, lang), lambda: _encode_targets(ws, lang))
        if kept is None:
            return "{}"
        targets = kept.frame
        mask = principal.target_mask(targets)
        if dept is not None:
            lead = targets["lead_department"].astype(str).to_numpy() == dept
            mask = mask & (lead | _names(targets["cooperating_departments"], dept))
        return joined(kept.encoded, mask)

    if version is None:
        return scoped()
    return str(PARTS.get(("targets-scope", where, version, lang, scope_of(principal), dept),
                         scoped))  # fmt: skip


def status_text(
    ws: Workspace,
    principal: Principal,
    kind: str,
    day: date,
    lang: Lang,
    dept: str | None,
    version: str,
) -> str:
    """The JSON text of ``json.dumps({**status_parts(...), "version": version},
    ensure_ascii=False, sort_keys=True)`` for a ``kind`` already checked, from the parts
    kept for their data versions (see the module notes)."""
    head = f'{{"as_of": {json.dumps(day.isoformat())}, "kind": {json.dumps(kind)}, '
    tag = json.dumps(version, ensure_ascii=False)
    if kind == "villages":
        villages, problems = _villages_text(ws, principal, day, lang)
        return head + f'"problems": {problems}, "version": {tag}, "villages": {villages}}}'
    targets = _targets_text(ws, principal, lang, dept)
    if kind == "department":
        problems = _problems_text(ws, principal, day, lang, dept)
        return head + f'"problems": {problems}, "targets": {targets}, "version": {tag}}}'
    return head + f'"targets": {targets}, "version": {tag}}}'
