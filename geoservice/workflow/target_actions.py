"""What a caller does with enforcement targets: list, read, move on, record actions.

Who may do what (``docs/design.md#access-rules``):

- the office and the target's lead department change its state (the transitions of
  :mod:`~geoservice.workflow.target_states`);
- the lead and every cooperating department add action records, each for itself; the
  office records for any department;
- villages and viewers neither see nor change targets.

A target outside the caller's scope is "not found", like one that does not exist
(:meth:`~geoservice.base.access.Principal.target_mask`). Targets resolved by analysis
(no longer in the ``targets`` layer) stay listed from the register with their state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoservice.analysis.target_register import (
    SNAPSHOT_COLUMNS,
    TARGET_STATES,
    read_register,
    resolved_targets,
    with_states,
)
from geoservice.base.access import Principal
from geoservice.base.errors import (
    NotFoundError,
    OptionError,
    PermissionDeniedError,
    message,
)
from geoservice.base.records import json_records
from geoservice.base.workspace import Workspace
from geoservice.workflow.photos import check_evidence, save_photos
from geoservice.workflow.problem_actions import expected_version
from geoservice.workflow.target_states import (
    allowed_next,
    check_target_state,
    target_state_label,
)
from geoservice.workflow.target_store import (
    add_action,
    target_actions,
    target_history,
    update_target,
)
from layers.codes import DEPARTMENTS, department_codes
from layers.messages import Lang

__all__ = [
    "attach_target_photos",
    "change_target",
    "expected_target_version",
    "find_target",
    "photo_folder",
    "record_action",
    "state_counts",
    "target_detail",
    "target_list",
    "target_rows",
    "target_transitions",
    "visible_targets",
]

_LAYER_COLUMNS = ["target_id", "priority", "score", "area_ha", *SNAPSHOT_COLUMNS]
_LAYER_COLUMNS = list(dict.fromkeys(_LAYER_COLUMNS))
ROW_COLUMNS = [*_LAYER_COLUMNS, "in_layer", "state", "version", "case_number"]


def photo_folder(evidence_folder: Path) -> Path:
    """Where action photos are kept: one folder per target under ``targets``."""
    return evidence_folder / "targets"


def target_rows(ws: Workspace) -> pd.DataFrame:
    """Every listed target: those of the ``targets`` layer (in layer order) then those
    resolved by analysis, with ``state``, ``version``, ``case_number`` and ``in_layer``."""
    register = read_register(ws)
    layer = pd.DataFrame({c: pd.Series(dtype=object) for c in _LAYER_COLUMNS})
    if "targets" in ws.layer_names():
        fields = set(ws.info("targets")["fields"])
        cols = [c for c in _LAYER_COLUMNS if c in fields]
        layer = pd.DataFrame(ws.read("targets", columns=cols, read_geometry=False))
    layer = layer.reindex(columns=_LAYER_COLUMNS).assign(in_layer=True)
    gone = resolved_targets(register)
    gone = gone[~gone["target_id"].isin(layer["target_id"])]
    gone = gone.reindex(columns=_LAYER_COLUMNS).assign(in_layer=False)
    rows = pd.concat([layer, gone], ignore_index=True) if len(gone) else layer
    return with_states(rows, register)[ROW_COLUMNS].reset_index(drop=True)


def visible_targets(ws: Workspace, principal: Principal) -> pd.DataFrame:
    """:func:`target_rows` the principal may see."""
    rows = target_rows(ws)
    return rows[principal.target_mask(rows)].reset_index(drop=True)


def find_target(ws: Workspace, principal: Principal, target_id: str) -> pd.Series:
    """The target ``target_id`` if the principal may see it; NotFoundError otherwise (the
    same for a target outside the caller's scope)."""
    rows = visible_targets(ws, principal)
    hit = rows[rows["target_id"].astype(str) == target_id]
    if len(hit):
        return hit.iloc[0]
    raise NotFoundError(
        message(
            "targets.not_found",
            f"没有编号为“{target_id}”的目标，或该目标不在您的查看范围内；请从目标清单中选择"
            "（geoservice targets list）。",
            f"There is no target {target_id!r}, or it is outside what you may see; pick one "
            "from the target list ('geoservice targets list').",
        )
    )


def _leads(principal: Principal, row: Mapping[str, Any]) -> bool:
    return principal.role == "department" and str(row.get("lead_department")) == str(
        principal.department
    )


def target_transitions(principal: Principal, row: Mapping[str, Any]) -> tuple[str, ...]:
    """The states ``principal`` may move this target to now (state machine and role)."""
    if principal.role == "office" or _leads(principal, row):
        return allowed_next(str(row.get("state")))
    return ()


def _records(rows: pd.DataFrame, lang: Lang) -> list[dict[str, Any]]:
    idx = 1 if lang == "en" else 0
    out = rows.assign(
        state_label=rows["state"].map(lambda s: target_state_label(str(s), lang)),
        lead_department_name=rows["lead_department"].map(
            lambda c: DEPARTMENTS.get(str(c), (str(c), str(c)))[idx]
        ),
    )
    return json_records(out)


def target_list(
    ws: Workspace,
    principal: Principal,
    lang: Lang,
    *,
    state: str | None = None,
    department: str | None = None,
) -> list[dict[str, Any]]:
    """The caller's targets (layer order, then resolved ones), optionally in one state or
    of one department (lead or cooperating; code or name)."""
    rows = visible_targets(ws, principal)
    if state:
        if state not in TARGET_STATES:
            check_target_state(state)
        rows = rows[rows["state"] == state]
    if department:
        code = _department(department)
        as_department = Principal(
            user_id="filter", name="filter", role="department", department=code
        )
        rows = rows[as_department.target_mask(rows)]
    return _records(rows.reset_index(drop=True), lang)


def _department(text: str) -> str:
    codes, unknown = department_codes(pd.Series([text], dtype="string"))
    if unknown or pd.isna(codes.iloc[0]) or "," in str(codes.iloc[0]):
        raise OptionError(
            message(
                "targets.bad_department",
                f"department 为“{text}”，无法识别为一个部门；请使用部门代码或名称，如 police、"
                "镇郊派出所。",
                f"`department` was {text!r}, which names no single department; use a "
                "department code or name such as police or 镇郊派出所.",
            )
        )
    return str(codes.iloc[0])


def target_detail(
    ws: Workspace, principal: Principal, target_id: str, lang: Lang
) -> dict[str, Any]:
    """One target in the caller's scope with its state, history, action records and the
    states the caller may move it to."""
    row = find_target(ws, principal, target_id)
    record = _records(row.to_frame().T.infer_objects(), lang)[0]
    past = json_records(target_history(ws, target_id))
    return {
        **record,
        "history": [{**h, "to_label": target_state_label(h["to_state"], lang)} for h in past],
        "actions": json_records(target_actions(ws, target_id)),
        "next_states": [
            {"state": s, "label": target_state_label(s, lang)}
            for s in target_transitions(principal, row)
        ],
    }


def expected_target_version(if_match: str | None, target_id: str) -> int:
    """The version in ``If-Match: "<version>"``; PreconditionRequiredError when missing,
    OptionError when malformed (the same rule as for problems)."""
    return expected_version(if_match, target_id, ("目标", "target"))


def _snapshot(row: pd.Series) -> dict[str, Any]:
    return {c: (None if pd.isna(row.get(c)) else row.get(c)) for c in SNAPSHOT_COLUMNS}


def change_target(
    ws: Workspace,
    principal: Principal,
    target_id: str,
    lang: Lang,
    *,
    state: str,
    expected_version: int | None = None,
    if_match: str | None = None,
    require_version: bool = False,
    note: str | None = None,
    case_number: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move a target in the caller's scope to ``state`` (the office or the lead
    department), version-checked when ``expected_version`` is given; with
    ``require_version`` (the web API) the version comes from ``if_match`` and is required.

    Raises
    ------
    NotFoundError
        The target is not in the caller's scope.
    PermissionDeniedError
        A cooperating department (it records actions; the lead department and the office
        change the state).
    PreconditionRequiredError
        ``require_version`` without ``if_match``.
    OptionError, StaleVersionError
        A move the state machine refuses; a stale version.
    """
    row = find_target(ws, principal, target_id)
    if require_version:
        expected_version = expected_target_version(if_match, target_id)
    check_target_state(state)
    if not (principal.role == "office" or _leads(principal, row)):
        lead = str(row.get("lead_department"))
        lead_zh = DEPARTMENTS.get(lead, (lead, lead))[0]
        raise PermissionDeniedError(
            message(
                "targets.not_lead",
                f"用户“{principal.name}”不能修改目标 {target_id} 的状态：状态由牵头部门"
                f"（{lead_zh}）和镇林长办修改；配合部门可添加处置记录。",
                f"User {principal.name!r} may not change the state of target {target_id}: the "
                f"lead department ({lead}) and the forest-chief office do; cooperating "
                "departments add action records.",
            )
        )
    change = update_target(
        ws,
        target_id,
        state,
        principal.actor,
        note=note,
        case_number=case_number,
        expected_version=expected_version,
        snapshot=_snapshot(row),
        context=context,
    )
    return {**change, "state_label": target_state_label(state, lang), "note": note}


def record_action(
    ws: Workspace,
    principal: Principal,
    target_id: str,
    *,
    acted_on: date,
    action: str,
    evidence_folder: Path | None,
    department: str | None = None,
    people: int | None = None,
    seizures: str | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add an action record to a target in the caller's scope.

    A department records for itself (``department`` must be empty or its own); the office
    names the department (default: the lead department). ``photos`` are names of photos
    already stored for the target (:func:`attach_target_photos`); ``people`` >= 0.
    """
    row = find_target(ws, principal, target_id)
    who = _acting_department(principal, row, department)
    if not action.strip():
        raise OptionError(
            message(
                "targets.action_required",
                "处置记录需要填写做了什么（action），如“现场制止并查扣油锯 2 台”。",
                "An action record needs what was done (`action`), e.g. 'stopped the felling "
                "on site and seized 2 chainsaws'.",
            )
        )
    if people is not None and people < 0:
        raise OptionError(
            message(
                "targets.bad_people",
                f"出动人数为 {people}，应为不小于 0 的整数。",
                f"`people` was {people} but is expected to be a whole number >= 0.",
            )
        )
    names: list[str] = []
    if photos:
        if evidence_folder is None:
            raise OptionError(
                message(
                    "targets.no_evidence_folder",
                    "未设置照片目录（GEOSERVICE_EVIDENCE_DIR），不能引用照片。",
                    "No photo folder is set (GEOSERVICE_EVIDENCE_DIR), so photos cannot be "
                    "referenced.",
                )
            )
        names = check_evidence(photo_folder(evidence_folder), target_id, list(photos))
    return add_action(
        ws,
        target_id,
        principal.actor,
        department=who,
        acted_on=acted_on,
        action=action.strip(),
        people=people,
        seizures=seizures,
        note=note,
        photos=names,
        snapshot=_snapshot(row),
        context=context,
    )


def _acting_department(principal: Principal, row: pd.Series, department: str | None) -> str:
    if principal.role == "department":
        own = str(principal.department)
        if department and _department(department) != own:
            raise PermissionDeniedError(
                message(
                    "targets.other_department",
                    f"用户“{principal.name}”只能为本部门（{own}）添加处置记录，不能代"
                    f"“{department}”记录。",
                    f"User {principal.name!r} records actions for its own department ({own}) "
                    f"only, not for {department!r}.",
                )
            )
        return own
    return _department(department) if department else str(row.get("lead_department"))


def attach_target_photos(
    ws: Workspace,
    principal: Principal,
    target_id: str,
    files: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_bytes: int,
) -> list[str]:
    """Store action photos (``(file name, bytes)``) of a target in the caller's scope; the
    stored names."""
    find_target(ws, principal, target_id)
    return save_photos(photo_folder(evidence_folder), target_id, files, max_bytes=max_bytes)


def state_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Targets per department (lead or cooperating) and state: ``department``, ``state``,
    ``targets`` (int); departments with no target are left out."""
    keys = ["target_id", "department", "state"]
    lead = rows.assign(department=rows["lead_department"])[keys]
    coop = rows.assign(
        department=rows["cooperating_departments"].astype("string").fillna("").str.split(";")
    )[keys].explode("department")
    both = pd.concat([lead, coop], ignore_index=True)
    both = both[both["department"].notna() & (both["department"].astype(str) != "")]
    counts = both.drop_duplicates().groupby(["department", "state"]).size()
    return counts.rename("targets").reset_index().astype({"targets": np.int64})
