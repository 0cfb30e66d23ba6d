"""What a caller does with inspection problems: list, read, add, move on, attach photos.

Every call on one problem first reads it by key in the caller's scope
(:func:`~geoservice.workflow.problem_by_key.scoped_problem`: one outside it is "not
found", like one that does not exist) and applies the rules of who may change what
(:mod:`geoservice.workflow.access_rules`). Dates are ``YYYY-MM-DD``; ``as_of`` defaults to
today. Labels are in ``lang``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PreconditionRequiredError, message
from geoservice.base.workspace import Workspace
from geoservice.workflow import access_rules as rules
from geoservice.workflow import problem_by_key as by_key
from geoservice.workflow.photos import check_evidence, problem_photos, save_photos, served_photo
from geoservice.workflow.records import add_problem
from geoservice.workflow.states import state_label
from geoservice.workflow.store import update_problem
from geoservice.workflow.villages import village_status
from layers.messages import Lang

__all__ = [
    "attach_photos",
    "change_status",
    "create_problem",
    "expected_version",
    "problem_detail",
    "problem_list",
    "problem_page",
    "problem_photo",
    "village_rows",
]


def problem_list(
    ws: Workspace,
    principal: Principal,
    lang: Lang,
    *,
    village: str | None = None,
    status: str | None = None,
    department: str | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """The problems the caller may see matching the filters, with their escalation at
    ``as_of``."""
    day = rules.parse_day(as_of)
    probs = rules.filter_problems(
        ws,
        rules.visible_problems(ws, principal),
        village=village,
        status=status,
        department=department,
    )
    return rules.problem_records(probs, day, lang)


def problem_page(
    ws: Workspace,
    principal: Principal,
    lang: Lang,
    *,
    limit: int,
    offset: int = 0,
    village: str | None = None,
    status: str | None = None,
    department: str | None = None,
    as_of: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """How many problems the caller may see match the filters, and the records of
    ``limit`` of them from ``offset`` (in the layer's order, which is stable): only the
    page's rows get labels and escalation."""
    day = rules.parse_day(as_of)
    probs = rules.filter_problems(
        ws,
        rules.visible_problems(ws, principal),
        village=village,
        status=status,
        department=department,
    )
    chosen = probs.iloc[offset : offset + limit]
    return len(probs), rules.problem_records(chosen, day, lang)


def create_problem(
    ws: Workspace,
    principal: Principal,
    lang: Lang,
    *,
    village: str,
    category: str,
    description: str,
    deadline: date,
    found_on: date | None = None,
    campaign: str | None = None,
    cc: str | Sequence[str] | None = None,
    lon: float | None = None,
    lat: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a problem found by hand (the office); the stored problem's record.

    ``cc`` departments (codes or names) default to the routing rule's; ``lon``/``lat``
    are degrees (CGCS2000).
    """
    row = add_problem(
        ws,
        village=village,
        category=category,
        description=description,
        deadline=deadline,
        by=principal.actor,
        found_on=found_on,
        campaign=campaign,
        cc=cc if cc is None or isinstance(cc, str) else ",".join(cc),
        lon=lon,
        lat=lat,
        context=context,
    )
    found = rules.find_problem(ws, principal, str(row["problem_id"]))
    return rules.problem_record(found, date.today(), lang)


def problem_detail(
    ws: Workspace,
    principal: Principal,
    problem_id: str,
    lang: Lang,
    evidence_folder: Path,
    as_of: str | None = None,
) -> dict[str, Any]:
    """One problem in the caller's scope with its history, its photo names (oldest
    first) and the states the caller may move it to."""
    day = rules.parse_day(as_of)
    found = by_key.scoped_problem(ws, principal, problem_id, with_patch=True)
    record = by_key.problem_record(found, day, lang)
    return {
        **record,
        "history": [{**h, "to_label": state_label(h["to_state"], lang)} for h in found.history],
        "photos": problem_photos(evidence_folder, problem_id),
        # the change patch the problem was opened for, if any (the link back)
        "patch_id": found.patch_id,
        "next_states": [
            {"state": s, "label": state_label(s, lang)}
            for s in rules.transitions_for(principal, found.row)
        ],
    }


def expected_version(
    if_match: str | None, object_id: str, noun: tuple[str, str] = ("问题", "problem")
) -> int:
    """The version in ``If-Match: "<version>"`` for a change of ``object_id``.

    ``noun`` names the object in Chinese and English (a problem by default, a target for
    target changes). PreconditionRequiredError when missing, OptionError when malformed.
    """
    zh, en = noun
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError(
            message(
                "api.if_match_required",
                f'修改{zh} {object_id} 需要请求头 If-Match: "<版本号>"（读取{zh}时 ETag 中的'
                f"版本号），以免覆盖别人的修改；请先读取{zh}再提交。",
                f'Changing {en} {object_id} needs the header If-Match: "<version>" (the '
                "ETag you got when reading it), so no one else's change is overwritten; read "
                f"the {en} first.",
            )
        )
    text = if_match.strip()
    bare = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    if not bare.isdigit():
        raise OptionError(
            message(
                "api.bad_if_match",
                f'If-Match 为 {text}，应为读取{zh}时 ETag 中带引号的版本号，如 "3"。',
                f"If-Match was {text} but is expected to be the quoted version from the "
                'ETag, such as "3".',
            )
        )
    return int(bare)


def change_status(
    ws: Workspace,
    principal: Principal,
    problem_id: str,
    lang: Lang,
    *,
    status: str,
    if_match: str | None,
    evidence_folder: Path,
    note: str | None = None,
    evidence: Sequence[str] = (),
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move a problem to ``status`` when ``if_match`` names its current version.

    ``evidence`` names photos already stored for the problem. Returns the change (from,
    to, version, when, by) with the new state's label, the note and the photo names.

    Raises
    ------
    NotFoundError
        When the problem is not in the caller's scope.
    PreconditionRequiredError, OptionError
        When ``if_match`` is missing or malformed.
    PermissionDeniedError
        When the caller may not make this move.
    StaleVersionError
        When the problem changed since the version in ``if_match``.
    """
    row = by_key.scoped_problem(ws, principal, problem_id, with_history=False).row
    expected = expected_version(if_match, problem_id)
    rules.check_change(principal, row, status)
    names = check_evidence(evidence_folder, problem_id, evidence)
    change = update_problem(
        ws,
        problem_id,
        status,
        principal.actor,
        note=note,
        evidence=names,
        expected_version=expected,
        context=context,
    )
    return {
        **change,
        "status_label": state_label(str(change["to_state"]), lang),
        "note": note,
        "evidence": names,
    }


def attach_photos(
    ws: Workspace,
    principal: Principal,
    problem_id: str,
    files: Sequence[tuple[str, bytes]],
    evidence_folder: Path,
    max_bytes: int,
) -> list[str]:
    """Store evidence photos (``(file name, bytes)``) of a problem in the caller's scope;
    the stored names."""
    by_key.scoped_problem(ws, principal, problem_id, with_history=False)
    return save_photos(evidence_folder, problem_id, files, max_bytes=max_bytes)


def problem_photo(
    ws: Workspace, principal: Principal, problem_id: str, name: str, evidence_folder: Path
) -> Path:
    """The stored photo ``name`` of a problem in the caller's scope: the office copy with
    the photo's EXIF for the office, the copy without metadata for everyone else
    (:func:`~geoservice.workflow.photos.served_photo`)."""
    by_key.scoped_problem(ws, principal, problem_id, with_history=False)
    return served_photo(evidence_folder, problem_id, name, principal.role)


def village_rows(
    ws: Workspace, principal: Principal, as_of: str | None = None
) -> tuple[date, list[dict[str, Any]]]:
    """The evaluation date and the rectification status per village at it, as the caller
    may see it (a village: only its own row)."""
    day = rules.parse_day(as_of)
    return day, rules.status_records(village_status(ws, day), principal)
