"""The status object a tiled map page fetches to colour its features.

What a problem update or a target's state changes is kept out of the map page and the
vector tiles' styling: the page (:mod:`geoservice.webmaps.pages`) fetches this small
object, by kind of map:

- ``villages`` (every role): ``villages`` (code → status colour ``c``, status class and
  counts: problems, open, overdue, awaiting verification, verified, on-time rate, highest
  escalation, and the change-patch figures of :mod:`geoservice.webmaps.patch_status` for
  all but viewers; a village caller gets its own village only) and ``problems`` (id → state
  colour ``c``, state and escalation; scoped by
  :meth:`~geoservice.base.access.Principal.problem_mask`);
- ``targets`` (office, department): ``targets`` (id → priority colour ``c``, state of the
  target register; scoped by :meth:`~geoservice.base.access.Principal.target_mask`);
- ``department`` (office any, a department its own): the targets it leads or cooperates
  on and the problems copied to it, as above.

Every part also carries ``version`` (a digest of the workspace's data version) and
``as_of``. The JSON text is kept per data version, scope and arguments in
:data:`STATUS` (its ETag is the digest of the text), so a revalidation costs a
fingerprint of the workspace only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoservice.base.data_version import data_version, scope_of
from geoservice.base.errors import OptionError, message
from geoservice.base.real_paths import real_path
from geoservice.webmaps.cache import PageCache
from layers.messages import Lang

if TYPE_CHECKING:
    from geoservice.base.access import Principal
    from geoservice.base.workspace import Workspace

__all__ = ["STATUS", "STATUS_KINDS", "MapStatus", "map_status", "status_for", "status_parts"]

STATUS_KINDS = ("villages", "targets", "department")
STATUS = PageCache(size=128)


@dataclass(frozen=True)
class MapStatus:
    """The JSON ``text`` of a status object and its quoted strong ``etag``."""

    text: str
    etag: str


def _records(ids: pd.Series, columns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{id: {column: value}}`` from aligned columns (vectorised into lists)."""
    frame = pd.DataFrame({k: list(v) for k, v in columns.items()})
    frame.index = ids.astype(str).to_numpy()
    frame = frame[~frame.index.duplicated()]
    return {str(k): v for k, v in frame.to_dict(orient="index").items()}


def _villages(ws: Workspace, principal: Principal, day: date, lang: Lang) -> dict[str, Any]:
    from geoservice.webmaps.patch_status import patch_status_columns
    from geoservice.workflow.villages import village_status
    from maps import styles

    status = village_status(ws, day)
    status = status[status["village_code"].notna()]
    if principal.role == "village":
        status = status[status["village_code"].astype(str) == (principal.village_code or "")]
    counts = ["problems", "open", "overdue", "awaiting_verification", "verified"]
    status = status.assign(**{c: status[c].fillna(0).astype(int) for c in counts})
    status = status.assign(max_escalation=status["max_escalation"].fillna("none"))
    klass = styles.status_class(status)
    rate = pd.to_numeric(status["on_time_rate"], errors="coerce")
    return _records(
        status["village_code"],
        {
            "c": klass.map(styles.status_colour),
            "cls": klass.map(lambda k: styles.label(styles.STATUS_LABELS, k, lang)),
            **{c: status[c] for c in counts},
            "rate": rate.map(lambda v: "—" if pd.isna(v) else f"{v:.0%}"),
            "esc": status["max_escalation"].map(
                lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)
            ),
            # change-patch progress: not for viewers (the patches layer is not theirs)
            **(patch_status_columns(status, lang) if principal.role != "viewer" else {}),
        },
    )


def _problems(
    ws: Workspace, principal: Principal, day: date, lang: Lang, dept: str | None
) -> dict[str, Any]:
    from geoservice.workflow.escalation import escalate
    from geoservice.workflow.village_updates import kept_problems
    from maps import styles

    rows = kept_problems(ws, day)  # kept with the village status, read again only if changed
    rows = rows[principal.problem_mask(rows)]
    if dept is not None:
        rows = rows[_names(rows["cc_departments"], dept)]
    if not len(rows):
        return {}
    level = escalate(rows, day)["escalation"].fillna("none")
    state = rows["status"].astype(str)
    return _records(
        rows["problem_id"],
        {
            "c": state.map(styles.state_colour),
            "state": state.map(lambda s: styles.label(styles.STATE_LABELS, s, lang)),
            "esc": level.map(lambda s: styles.label(styles.ESCALATION_LABELS, s, lang)),
        },
    )


def _names(values: pd.Series, code: str) -> np.ndarray:
    """Rows whose ``a;b`` list names ``code``."""
    parts = values.astype("string").fillna("").str.replace(",", ";").str.split(";")
    return np.asarray(parts.map(lambda xs: code in {x.strip() for x in xs}), dtype=bool)


def _targets(ws: Workspace, principal: Principal, lang: Lang, dept: str | None) -> dict[str, Any]:
    from geoservice.analysis.target_register import read_register
    from geoservice.workflow.target_states import target_state_label
    from maps import styles

    if "targets" not in ws.layer_names():
        return {}
    columns = ["target_id", "priority", "lead_department", "cooperating_departments"]
    targets = ws.read("targets", columns=columns, read_geometry=False)
    targets = targets[principal.target_mask(targets)]
    if dept is not None:
        lead = targets["lead_department"].astype(str).to_numpy() == dept
        targets = targets[lead | _names(targets["cooperating_departments"], dept)]
    register = read_register(ws)
    states = dict(zip(register["target_id"].astype(str), register["state"], strict=True))
    state = targets["target_id"].astype(str).map(states).fillna("new")
    return _records(
        targets["target_id"],
        {
            "c": targets["priority"].astype(str).map(styles.priority_colour),
            "state": state.map(lambda s: target_state_label(str(s), lang)),
        },
    )


def check_kind(kind: str) -> None:
    """OptionError unless ``kind`` is one of :data:`STATUS_KINDS`."""
    if kind not in STATUS_KINDS:
        raise OptionError(
            message(
                "maps.bad_status_kind",
                f"地图状态的 kind 为“{kind}”，应为 {'、'.join(STATUS_KINDS)} 之一。",
                f"The map status `kind` was {kind!r}; expected one of {', '.join(STATUS_KINDS)}.",
            )
        )


def status_parts(
    ws: Workspace,
    principal: Principal,
    kind: str,
    day: date,
    lang: Lang,
    dept: str | None = None,
) -> dict[str, Any]:
    """The status object of a map of ``kind`` for ``principal`` (see the module notes).

    ``dept`` is the department code of a ``department`` map (already checked against the
    principal). Check the principal's right to the map before calling.
    """
    check_kind(kind)
    out: dict[str, Any] = {"kind": kind, "as_of": day.isoformat()}
    if kind == "villages":
        out["villages"] = _villages(ws, principal, day, lang)
        out["problems"] = _problems(ws, principal, day, lang, None)
    else:
        out["targets"] = _targets(ws, principal, lang, dept)
    if kind == "department":
        out["problems"] = _problems(ws, principal, day, lang, dept)
    return out


def map_status(
    ws: Workspace,
    principal: Principal,
    kind: str,
    day: date,
    lang: Lang,
    dept: str | None = None,
) -> MapStatus:
    """:func:`status_parts` as JSON text with its ETag, kept in :data:`STATUS` while the
    workspace's data version (with the target register for a map of targets), the
    principal's scope and the arguments are unchanged.

    The text is built from parts kept per version of their own data
    (:func:`~geoservice.webmaps.status_text.status_text`), equal to that of
    :func:`status_parts`."""
    from geoservice.webmaps.status_text import status_text, targets_version

    check_kind(kind)
    version = data_version(ws.path)
    digest = hashlib.sha256(repr(version).encode("utf-8")).hexdigest()[:16]

    def build() -> str:
        return status_text(ws, principal, kind, day, lang, dept, digest)

    register = targets_version(ws) if kind != "villages" else ()
    if version is None or register is None:
        text = build()
    else:
        where = real_path(ws.path)
        key = (where, scope_of(principal), kind, day, lang, dept, version, register)
        text = STATUS.get(key, build)
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'
    return MapStatus(text, etag)


def status_for(
    ws: Workspace,
    principal: Principal,
    kind: str,
    day: date,
    lang: Lang,
    code: str | None = None,
) -> MapStatus:
    """:func:`map_status` after checking ``principal``'s right to the map of ``kind``
    (as the page: PermissionDeniedError for a role the map is not for, NotFoundError for
    another department); ``code`` is the department (code or name) of a ``department``
    map, required there (OptionError without it)."""
    from geoservice.webmaps.build import own_department

    dept = None
    if kind in ("targets", "department"):
        principal.require("office", "department")
    if kind == "department":
        if not code:
            raise OptionError(
                message(
                    "maps.status_no_code",
                    "部门地图的状态需要 code 参数（部门代码或名称，例如 police）。",
                    "The status of a department map needs `code` (a department code or "
                    "name, e.g. police).",
                )
            )
        dept = own_department(principal, code)
    return map_status(ws, principal, kind, day, lang, dept)
