"""Who records what in the department ledger, on which objects (Art. 6, 9).

Rules (``docs/design.md#access-rules``), the same for the command line and the web API:

- a department records entries and writes its statement **for itself only**; the office
  (镇林长办) records and writes for any department; villages and viewers neither record
  nor read ledgers;
- a department records on the objects it may see: problems copied to it
  (:meth:`~geoservice.base.access.Principal.problem_mask`), targets it leads or cooperates
  on (:meth:`~geoservice.base.access.Principal.target_mask`), and change patches when it
  is one of :data:`PATCH_DEPARTMENTS` and may read the ``patches`` layer (its sharing
  classification, ``internal`` by default). Forest-supervision patches are interpreted,
  verified and followed up by the forestry side of the agriculture office (which runs the
  forest-chief office) and by the natural resources office (land use, survey and
  monitoring; Art. 10); another department records on a patch through the problem or
  target it led to. The office records on any object that exists;
- an object outside the caller's scope is "not found", with the same message as one that
  does not exist;
- a department reads its own ledger and statements; the office reads every department's.

A department's ledger lists its entries and, beside them, its action records on
enforcement targets (``target_actions``), each once (:func:`ledger_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, PermissionDeniedError, message
from geoservice.base.records import json_records
from geoservice.base.scope import layer_classifications
from geoservice.base.workspace import Workspace
from geoservice.workflow.access_rules import find_problem
from geoservice.workflow.ledger import (
    ENTRY_KINDS,
    OBJECT_KINDS,
    STATEMENT_COLUMNS,
    add_entry,
    check_department,
    parse_period,
    period_key,
    put_statement,
    read_entries,
    read_statement,
    read_statements,
    read_target_actions,
)
from geoservice.workflow.photos import check_evidence, save_photos
from geoservice.workflow.target_actions import find_target
from layers.codes import DEPARTMENTS
from layers.messages import Lang, pick

__all__ = [
    "LEDGER_COLUMNS",
    "PATCH_DEPARTMENTS",
    "acting_department",
    "attach_department_photos",
    "check_object",
    "department_list",
    "ledger_records",
    "ledger_rows",
    "photo_folder",
    "record_entry",
    "statement",
    "write_statement",
]

PATCH_DEPARTMENTS: tuple[str, ...] = ("agriculture", "natural_resources")
LEDGER_COLUMNS = [
    "entry_id",
    "source",
    "department",
    "kind",
    "object_kind",
    "object_id",
    "acted_on",
    "people",
    "action",
    "note",
    "photos",
    "created_by",
    "created_at",
]


def photo_folder(evidence_folder: Path) -> Path:
    """Where ledger photos are kept: one folder per department under ``departments``."""
    return evidence_folder / "departments"


def _name(code: str) -> str:
    return DEPARTMENTS.get(code, (code, code))[0]


def acting_department(principal: Principal, department: str) -> str:
    """The department code a caller records or writes for.

    Raises
    ------
    NotFoundError
        ``department`` is not a department code or name.
    PermissionDeniedError
        A village or viewer, or a department acting for another department.
    """
    principal.require("office", "department")
    code = check_department(department)
    if principal.role == "department" and code != principal.department:
        own = str(principal.department)
        raise PermissionDeniedError(
            message(
                "departments.other_department",
                f"用户“{principal.name}”属于{_name(own)}（{own}），只能为本部门记录台账和填写履职"
                f"情况，不能代{_name(code)}（{code}）记录；如需代记，请由镇林长办办理。",
                f"User {principal.name!r} belongs to {own} and records the ledger and statement "
                f"of its own department only, not for {code}; the forest-chief office records "
                "for other departments.",
            )
        )
    return code


def _check_kind(kind: str) -> str:
    value = kind.strip()
    if value in ENTRY_KINDS:
        return value
    by_name = {zh: code for code, (zh, _en) in ENTRY_KINDS.items()}
    if value in by_name:
        return by_name[value]
    raise OptionError(
        message(
            "departments.bad_kind",
            f"台账类别为“{kind}”，应为以下之一：{'、'.join(f'{k}（{zh}）' for k, (zh, _) in ENTRY_KINDS.items())}。",
            f"`kind` was {kind!r} but is expected to be one of {', '.join(ENTRY_KINDS)}.",
        )
    )


def _not_found(kind: str, object_id: str) -> NotFoundError:
    zh, en = OBJECT_KINDS[kind]
    return NotFoundError(
        message(
            "departments.no_object",
            f"没有编号为“{object_id}”的{zh}，或它不在你的查看范围内；请从{zh}清单中选择。",
            f"There is no {en} {object_id!r}, or it is outside what you may see; pick one from "
            f"the {en} list.",
        )
    )


def _patch(ws: Workspace, principal: Principal, department: str, patch_id: str) -> None:
    if principal.role == "department":
        if department not in PATCH_DEPARTMENTS:
            names = "、".join(_name(c) for c in PATCH_DEPARTMENTS)
            raise PermissionDeniedError(
                message(
                    "departments.patch_department",
                    f"变化图斑由{names}核实和跟进；{_name(department)}请在图斑形成的督查问题或执法"
                    "目标上记录（--object problem 或 --object target）。",
                    f"Change patches are verified and followed up by {', '.join(PATCH_DEPARTMENTS)}; "
                    f"{department} records on the problem or target the patch led to "
                    "(object kind problem or target).",
                )
            )
        level = layer_classifications(ws).get("patches", "restricted")
        if not principal.can_read(level):
            raise _not_found("patch", patch_id)
    if "patches" not in ws.layer_names():
        raise _not_found("patch", patch_id)
    ids = pd.DataFrame(ws.read("patches", columns=["patch_id"], read_geometry=False))["patch_id"]
    if not (ids.astype("string") == patch_id).any():
        raise _not_found("patch", patch_id)


def check_object(
    ws: Workspace, principal: Principal, department: str, kind: str, object_id: str | None
) -> tuple[str, str | None]:
    """The checked ``(object_kind, object_id)`` of an entry.

    ``kind`` is ``problem``, ``patch``, ``target`` or ``none`` (no object, and then no id).
    The object must exist and be in the caller's scope (module docstring).

    Raises
    ------
    OptionError
        An unknown object kind, an id without a kind or a kind without an id.
    NotFoundError
        The object does not exist or is outside the caller's scope.
    PermissionDeniedError
        A department outside :data:`PATCH_DEPARTMENTS` recording on a patch.
    """
    value = (kind or "none").strip()
    oid = (object_id or "").strip() or None
    if value not in OBJECT_KINDS:
        raise OptionError(
            message(
                "departments.bad_object_kind",
                f"对象类别为“{kind}”，应为 problem（督查问题）、patch（变化图斑）、target（执法目标）"
                "或 none（无具体对象）。",
                f"`object kind` was {kind!r} but is expected to be problem, patch, target or none.",
            )
        )
    if (value == "none") != (oid is None):
        raise OptionError(
            message(
                "departments.object_id",
                f"对象类别为 {value}、编号为“{oid or ''}”：problem、patch、target 需要编号，none 不能有编号。",
                f"The object kind was {value!r} with id {oid!r}: problem, patch and target need "
                "an id, none takes none.",
            )
        )
    if value == "problem":
        find_problem(ws, principal, str(oid))
    elif value == "target":
        find_target(ws, principal, str(oid))
    elif value == "patch":
        _patch(ws, principal, department, str(oid))
    return value, oid


def record_entry(
    ws: Workspace,
    principal: Principal,
    department: str,
    *,
    kind: str,
    acted_on: date,
    object_kind: str = "none",
    object_id: str | None = None,
    people: int | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    evidence_folder: Path | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record one ledger entry for ``department`` (code or name) as ``principal``.

    ``photos`` are names of photos already stored for the department
    (:func:`attach_department_photos`); ``people`` >= 0.

    Raises
    ------
    PermissionDeniedError
        A department recording for another (or on patches it does not follow), a village
        or viewer.
    NotFoundError
        An unknown department, or an object that does not exist or is out of scope.
    OptionError
        A bad kind, object kind, people count, or photo names that are not stored.
    """
    code = acting_department(principal, department)
    entry_kind = _check_kind(kind)
    if people is not None and people < 0:
        raise OptionError(
            message(
                "departments.bad_people",
                f"出动人数为 {people}，应为不小于 0 的整数。",
                f"`people` was {people} but is expected to be a whole number >= 0.",
            )
        )
    obj_kind, oid = check_object(ws, principal, code, object_kind, object_id)
    names: list[str] = []
    if photos:
        if evidence_folder is None:
            raise OptionError(
                message(
                    "departments.no_evidence_folder",
                    "未设置照片目录（GEOSERVICE_EVIDENCE_DIR），不能引用照片。",
                    "No photo folder is set (GEOSERVICE_EVIDENCE_DIR), so photos cannot be "
                    "referenced.",
                )
            )
        names = check_evidence(photo_folder(evidence_folder), code, list(photos))
    return add_entry(
        ws,
        principal.actor,
        department=code,
        kind=entry_kind,
        object_kind=obj_kind,
        object_id=oid,
        acted_on=acted_on,
        people=people,
        note=(note or "").strip() or None,
        photos=names,
        context=context,
    )


def attach_department_photos(
    principal: Principal,
    department: str,
    files: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_bytes: int,
) -> list[str]:
    """Store ledger photos (``(file name, bytes)``) for a department the caller records
    for; the stored names (:func:`geoservice.workflow.photos.save_photos`)."""
    code = acting_department(principal, department)
    return save_photos(photo_folder(evidence_folder), code, files, max_bytes=max_bytes)


def ledger_rows(
    ws: Workspace,
    department: str,
    first: date | None = None,
    last: date | None = None,
    kind: str | None = None,
) -> pd.DataFrame:
    """A department's ledger: its entries (``source`` ``ledger``, ``entry_id`` ``E<n>``) and
    its action records on targets (``source`` ``target_action``, kind ``target_action``,
    ``entry_id`` ``A<n>``), newest first (:data:`LEDGER_COLUMNS`).

    ``kind`` keeps one entry kind (or ``target_action``)."""
    wanted = None
    if kind:
        wanted = kind.strip() if kind.strip() == "target_action" else _check_kind(kind)
    entries = read_entries(ws, department, first, last)
    actions = read_target_actions(ws, department, first, last)
    own = entries.assign(
        entry_id="E" + entries["entry_id"].astype(str), source="ledger", action=None
    )
    acts = pd.DataFrame(
        {
            "entry_id": "A" + actions["id"].astype(str),
            "source": "target_action",
            "department": actions["department"],
            "kind": "target_action",
            "object_kind": "target",
            "object_id": actions["target_id"],
            "acted_on": actions["acted_on"],
            "people": actions["people"],
            "action": actions["action"],
            "note": actions["note"],
            "photos": actions["photos"],
            "created_by": actions["by"],
            "created_at": actions["at"],
        }
    )
    parts = [p.reindex(columns=LEDGER_COLUMNS) for p in (own, acts) if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_COLUMNS})
    rows = pd.concat(parts, ignore_index=True)
    if wanted:
        rows = rows[rows["kind"] == wanted]
    rows = rows.sort_values(["acted_on", "created_at"], ascending=False, kind="stable")
    rows["people"] = rows["people"].astype("Int64")
    return rows.reset_index(drop=True)


def ledger_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """:func:`ledger_rows` as JSON-ready records."""
    return json_records(rows)


def department_list(ws: Workspace, principal: Principal, lang: Lang) -> list[dict[str, Any]]:
    """The registered departments (registry order) with ``code``, ``name`` (in ``lang``),
    ``name_zh``, ``name_en``, ``may_record`` (whether the caller records for it) and, for
    the departments whose ledger the caller may read (its own, every one for the office;
    None otherwise), the counts of ``entries``, ``target_actions`` and ``statements``."""
    principal.require("office", "department")
    entries = read_entries(ws)["department"].value_counts()
    actions = read_target_actions(ws)["department"].value_counts()
    statements = read_statements(ws)["department"].value_counts()
    rows = []
    for code, (zh, en) in DEPARTMENTS.items():
        mine = principal.role == "office" or principal.department == code
        rows.append(
            {
                "code": code,
                "name": pick(lang, zh, en),
                "name_zh": zh,
                "name_en": en,
                "may_record": mine,
                "entries": int(entries.get(code, 0)) if mine else None,
                "target_actions": int(actions.get(code, 0)) if mine else None,
                "statements": int(statements.get(code, 0)) if mine else None,
            }
        )
    return rows


def _statement_doc(
    code: str, first: date, last: date, row: Mapping[str, Any] | None
) -> dict[str, Any]:
    base = {c: None for c in STATEMENT_COLUMNS}
    return {
        **base,
        **(row or {}),
        "department": code,
        "period": period_key(first, last),
        "period_start": first.isoformat(),
        "period_end": last.isoformat(),
    }


def statement(ws: Workspace, principal: Principal, department: str, period: str) -> dict[str, Any]:
    """The department's own account of ``period`` (:func:`geoservice.workflow.ledger.parse_period`):
    :data:`~geoservice.workflow.ledger.STATEMENT_COLUMNS` and ``period``; ``text`` and
    ``version`` None when none was written. A department reads its own, the office any."""
    code = acting_department(principal, department)
    first, last = parse_period(period)
    return _statement_doc(code, first, last, read_statement(ws, code, first, last))


def write_statement(
    ws: Workspace,
    principal: Principal,
    department: str,
    period: str,
    text: str,
    *,
    expected_version: int | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the department's own account of ``period`` as ``principal`` (a department for
    itself, the office for any); version-checked as
    :func:`geoservice.workflow.ledger.put_statement`."""
    code = acting_department(principal, department)
    first, last = parse_period(period)
    row = put_statement(
        ws,
        code,
        first,
        last,
        text,
        principal.actor,
        expected_version=expected_version,
        context=context,
    )
    return _statement_doc(code, first, last, row)
