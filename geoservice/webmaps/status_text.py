"""The status object's parts as JSON text, kept per scope and per version of their data.

:func:`~geoservice.webmaps.status.status_parts` builds the status object as a dict with
pandas; this module gives the same object as the same JSON text
(``json.dumps(..., ensure_ascii=False, sort_keys=True)``, byte for byte) at a fraction of
the cost after a problem update:

- each part (``villages``, ``problems``, ``targets``) is first encoded for every row it
  can show, once per version of the data it depends on and language
  (:class:`~geoservice.webmaps.json_rows.Encoded`: the row keys and each row's JSON
  text, built column by column with numpy); after an update of a few rows, the text of
  the other rows is carried over from the version before
  (:mod:`geoservice.workflow.generations`);
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
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoservice.base.data_version import file_identity
from geoservice.base.real_paths import real_path
from geoservice.webmaps.json_rows import (
    Encoded,
    carried_over,
    encode_rows,
    joined,
    json_each_unique,
    text_ids,
)

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.village_updates import KeptView
    from layers.messages import Lang

__all__ = ["OWN", "PARTS", "clear_parts", "status_text", "targets_version"]

_KEPT = 64  # encoded tables and scope parts kept
_KEPT_OWN = 1024  # village users' parts (small, one per village and language)
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

    def peek(self, key: Hashable) -> Any:
        """The value kept under ``key``, None when there is none (nothing is built)."""
        with self._lock:
            return self._items.get(key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PARTS = _Lru(_KEPT)
OWN = _Lru(_KEPT_OWN)


def clear_parts() -> None:
    """Forget every kept part."""
    PARTS.clear()
    OWN.clear()


# --- the kept tables' rows ------------------------------------------------------------------


def _derived(
    lru: _Lru,
    key: Callable[[int], Hashable],
    generation: int,
    ids: Callable[[], np.ndarray],
    encode: Callable[[np.ndarray | None], Encoded],
) -> Encoded:
    """The :class:`Encoded` rows of the kept table ``generation``, kept in ``lru``
    under ``key(generation)``: carried over from those of an ancestor kept there
    (:func:`~geoservice.workflow.generations.ancestor`) for the rows that did not change,
    encoded anew otherwise. ``encode(hit)`` encodes the table's rows where ``hit`` is
    True (all with None)."""
    from geoservice.workflow.generations import ancestor

    def build() -> Encoded:
        found = ancestor(generation, lambda g: lru.peek(key(g)) is not None)
        if found is not None:
            parent, changed = found
            old = lru.peek(key(parent))
            if old is not None:
                table = carried_over(old, ids(), changed, encode)
                if table is not None:
                    return table
        return encode(None)

    encoded: Encoded = lru.get(key(generation), build)
    return encoded


# --- the parts ------------------------------------------------------------------------------


def _encode_villages(status: pd.DataFrame, lang: Lang, patches: bool) -> Encoded:
    """The village rows of the status table with a code, as the villages part shows them
    (the change-patch figures only with ``patches``: not for viewers)."""
    from geoservice.webmaps.patch_status import POPUP_FIGURES, by_state_text
    from geoservice.workflow.patch_states import PATCH_STATES
    from maps import styles

    status = status[status["village_code"].notna().to_numpy()]
    figures = [c for c in POPUP_FIGURES if c in status] if patches else []
    by_state_columns = [f"patches_{s}" for s in PATCH_STATES] if patches else []
    names = [*_COUNTS, *figures, *by_state_columns]
    # every whole-number column in one conversion (missing as 0): a column at a time
    # costs a pandas call each, which is most of the time for a few rows
    block = status[names].to_numpy(dtype="float64", na_value=np.nan)
    ints = dict(zip(names, np.nan_to_num(block, nan=0.0).astype("int64").T, strict=True))
    counts = {c: ints[c] for c in _COUNTS}
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
        for c in figures:
            columns[c] = ints[c].astype(str).astype(object)
        by_state = {s: ints[f"patches_{s}"] for s in PATCH_STATES}
        columns["patches_by_state"] = json_each_unique(
            by_state_text(by_state, len(status), lang), str
        )
    return encode_rows(status["village_code"], columns)


def _village_rows(status: pd.DataFrame, code: str) -> pd.DataFrame:
    """The status rows of the village ``code``."""
    codes = status["village_code"].to_numpy(dtype=object, na_value=None)
    return status[pd.notna(codes) & (codes.astype(str) == code)]


def _encode_problems(rows: pd.DataFrame, day: date, lang: Lang) -> Encoded:
    """Every kept problem, as the problems part shows it at ``day``."""
    from geoservice.workflow.escalation import LEVELS, escalation_arrays
    from maps import styles

    if not len(rows):
        return encode_rows(pd.Series([], dtype=object), {})
    level = np.asarray(LEVELS, dtype=object)[escalation_arrays(rows, day).now]
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
    where = real_path(ws.path)

    def encoded() -> str:
        if kept.status_generation is None:
            return joined(_encode_villages(kept.status, lang, patches))
        rows = kept.status[kept.status["village_code"].notna().to_numpy()]
        table = _derived(
            PARTS,
            lambda g: ("villages-rows", where, g, lang, patches),
            kept.status_generation,
            lambda: text_ids(rows["village_code"]),
            lambda hit: _encode_villages(rows if hit is None else rows[hit], lang, patches),
        )
        return joined(table)

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
    generation of the kept status (carried over from an ancestor generation when the
    village's rows are not among those that changed since)."""
    from geoservice.workflow.generations import ancestor

    def rows() -> tuple[pd.DataFrame, str]:
        own = _village_rows(kept.status, code)
        return own, repr(own.to_numpy(dtype=object).tolist())

    generation = kept.status_generation
    if generation is None:
        return rows()

    def key(g: int) -> tuple[Any, ...]:
        return ("own-rows", where, g, code)

    def carried() -> tuple[pd.DataFrame, str]:
        found = ancestor(generation, lambda g: OWN.peek(key(g)) is not None)
        kept_rows = None if found is None or code in found[1] else OWN.peek(key(found[0]))
        return rows() if kept_rows is None else kept_rows

    found: tuple[pd.DataFrame, str] = OWN.get(key(generation), carried)
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
    where = real_path(ws.path)

    def scoped() -> str:
        if generation is None:
            table = _encode_problems(frame, day, lang)
        else:
            table = _derived(
                PARTS,
                lambda g: ("problems", where, g, day, lang),
                generation,
                lambda: text_ids(frame["problem_id"]),
                lambda hit: _encode_problems(frame if hit is None else frame[hit], day, lang),
            )
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
    where = real_path(ws.path)

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
