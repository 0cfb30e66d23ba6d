"""Inspection problems, their evidence photos and the village status.

Design: ``docs/design.md#workflow-states`` and ``docs/design.md#access-rules``.

- ``GET /problems``: the problems the caller may see (office all, a department those
  copied to it, a village its own; viewers are refused);
- ``POST /problems``: the office adds a problem found by hand;
- ``GET /problems/{id}``: one problem with history, photos, the caller's next states and
  ``ETag: "<version>"``;
- ``PATCH /problems/{id}``: a status change, with ``If-Match: "<version>"``;
- ``POST /problems/{id}/evidence`` and ``GET /problems/{id}/evidence/{name}``: photos;
- ``GET /villages/status``: rectification status per village.

The rules of who may change what live in :mod:`geoservice.workflow.access_rules`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import (
    Caller,
    LangDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    request_context,
    require,
)
from geoservice.api.limits import LongText, Note, ShortText
from geoservice.api.responses import content_disposition
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PreconditionRequiredError, message
from geoservice.workflow import access_rules as rules
from geoservice.workflow.photos import (
    check_evidence,
    photo_path,
    problem_photos,
    save_photos,
)
from geoservice.workflow.records import add_problem
from geoservice.workflow.states import state_label
from geoservice.workflow.store import history, update_problem
from geoservice.workflow.villages import village_status

router = APIRouter(tags=["problems"])

READERS = ("office", "department", "village")
Readers = Annotated[Principal, require(*READERS)]
Changers = Annotated[Principal, require("office", "village")]
Office = Annotated[Principal, require("office")]


class Problem(BaseModel):
    """One problem with its escalation at the evaluation date."""

    problem_id: str
    campaign: str | None = None
    found_on: date | None = None
    village_code: str | None = None
    village_name: str | None = None
    category: str | None = None
    category_label: str | None = None
    description: str | None = None
    deadline: date | None = None
    status: str
    status_label: str
    cc_departments: list[str] = Field(default_factory=list)
    version: int
    updated_at: str | None = None
    updated_by: str | None = None
    days_to_deadline: int | None = None
    overdue: bool
    days_overdue: int
    escalation: str
    escalation_label: str


class HistoryEntry(BaseModel):
    at: str
    by: str
    from_state: str | None = None
    to_state: str
    to_label: str
    note: str | None = None
    evidence: list[str] = Field(default_factory=list)
    version: int


class Photo(BaseModel):
    name: str
    url: str


class NextState(BaseModel):
    state: str
    label: str


class ProblemDetail(Problem):
    history: list[HistoryEntry]
    photos: list[Photo]
    next_states: list[NextState]


class NewProblem(BaseModel):
    """A problem found by hand; ``cc`` departments default to the routing rule's."""

    model_config = ConfigDict(extra="forbid")

    village: ShortText = Field(description="village code or name")
    category: ShortText = Field(description="category code or Chinese name")
    description: LongText
    deadline: date
    found_on: date | None = None
    campaign: ShortText | None = None
    cc: ShortText | list[ShortText] | None = Field(
        default=None, description="department codes or names"
    )
    lon: float | None = Field(default=None, description="longitude, degrees (CGCS2000)")
    lat: float | None = Field(default=None, description="latitude, degrees (CGCS2000)")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ShortText
    note: Note | None = None
    evidence: list[ShortText] = Field(
        default_factory=list, description="names of photos already uploaded for this problem"
    )


class ChangeResult(BaseModel):
    problem_id: str
    from_state: str
    to_state: str
    status_label: str
    version: int
    at: str
    by: str
    note: str | None = None
    evidence: list[str]


class StoredEvidence(BaseModel):
    problem_id: str
    stored: list[str]
    urls: list[str]


class VillageStatus(BaseModel):
    village_code: str | None = Field(
        default=None, description="null for problems that name no village"
    )
    village_name: str | None = None
    problems: int
    open: int
    overdue: int
    awaiting_verification: int
    verified: int
    due: int
    on_time: int
    on_time_rate: float | None = None
    max_escalation: str
    last_inspection: date | None = None
    days_since_inspection: int | None = None
    targets: int | None = Field(default=None, description="null for villages and viewers")


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(if_match: str | None, problem_id: str) -> int:
    """The version in ``If-Match: "<version>"``; 428 when missing, 422 when malformed."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError(
            message(
                "api.if_match_required",
                f'修改问题 {problem_id} 需要请求头 If-Match: "<版本号>"（读取问题时 ETag 中的'
                "版本号），以免覆盖别人的修改；请先读取问题再提交。",
                f'Changing problem {problem_id} needs the header If-Match: "<version>" (the '
                "ETag you got when reading it), so no one else's change is overwritten; read "
                "the problem first.",
            )
        )
    text = if_match.strip()
    bare = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    if not bare.isdigit():
        raise OptionError(
            message(
                "api.bad_if_match",
                f'If-Match 为 {text}，应为读取问题时 ETag 中带引号的版本号，如 "3"。',
                f"If-Match was {text} but is expected to be the quoted version from the "
                'ETag, such as "3".',
            )
        )
    return int(bare)


def _photo_url(request: Request, problem_id: str, name: str) -> str:
    return request.url_for("problem_photo", problem_id=problem_id, name=name).path


@router.get("/problems", response_model=list[Problem])
def list_problems(
    request: Request,
    principal: Readers,
    ws: WorkspaceDep,
    lang: LangDep,
    village: str | None = None,
    status: str | None = None,
    department: str | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """The problems the caller may see, with escalation at ``as_of`` (default today)."""
    day = rules.parse_day(as_of)
    probs = rules.filter_problems(
        ws,
        rules.visible_problems(ws, principal),
        village=village,
        status=status,
        department=department,
    )
    filters = {"village": village, "status": status, "department": department}
    audit(request, principal, "problems.list", "problems", {**filters, "count": len(probs)})
    return rules.problem_records(probs, day, lang)


# OpenAPI links: what a client (or a stateful test) can do next with the id it got back.
NEW_PROBLEM_ID = {"problem_id": "$response.body#/problem_id"}
PROBLEM_LINKS = {
    "GetProblem": {
        "operationRef": "#/paths/~1problems~1{problem_id}/get",
        "parameters": NEW_PROBLEM_ID,
        "description": "Read the new problem.",
    },
    "ChangeProblem": {
        "operationRef": "#/paths/~1problems~1{problem_id}/patch",
        "parameters": {**NEW_PROBLEM_ID, "header.if-match": "$response.header.ETag"},
        "description": "Move it to a new status, with its ETag as If-Match.",
    },
    "UploadEvidence": {
        "operationRef": "#/paths/~1problems~1{problem_id}~1evidence/post",
        "parameters": NEW_PROBLEM_ID,
        "description": "Attach photos to it.",
    },
}
PHOTO_LINKS = {
    "GetPhoto": {
        "operationRef": "#/paths/~1problems~1{problem_id}~1evidence~1{name}/get",
        "parameters": {
            "problem_id": "$response.body#/problem_id",
            "name": "$response.body#/stored/0",
        },
        "description": "Download the first stored photo.",
    }
}


@router.post(
    "/problems",
    response_model=Problem,
    status_code=201,
    responses={201: {"links": PROBLEM_LINKS}},
)
def create_problem(
    request: Request,
    response: Response,
    body: NewProblem,
    principal: Office,
    ws: WorkspaceDep,
    lang: LangDep,
) -> dict[str, Any]:
    """Add a problem found by hand (office only); 201 with the stored problem."""
    cc = ",".join(body.cc) if isinstance(body.cc, list) else body.cc
    row = add_problem(
        ws,
        village=body.village,
        category=body.category,
        description=body.description,
        deadline=body.deadline,
        by=principal.actor,
        found_on=body.found_on,
        campaign=body.campaign,
        cc=cc,
        lon=body.lon,
        lat=body.lat,
        context=request_context(request, principal),
    )
    pid = str(row["problem_id"])
    found = rules.find_problem(ws, principal, pid)
    response.headers["ETag"] = _etag(int(found["version"]))
    response.headers["Location"] = request.url_for("get_problem", problem_id=pid).path
    return rules.problem_record(found, date.today(), lang)


@router.get("/problems/{problem_id}", response_model=ProblemDetail)
def get_problem(
    problem_id: str,
    request: Request,
    response: Response,
    principal: Readers,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    as_of: str | None = None,
) -> dict[str, Any]:
    """One problem in the caller's scope (404 otherwise), with ``ETag: "<version>"``."""
    day = rules.parse_day(as_of)
    row = rules.find_problem(ws, principal, problem_id)
    record = rules.problem_record(row, day, lang)
    past = rules.json_records(history(ws, problem_id))
    photos = problem_photos(settings.evidence_path(), problem_id)
    audit(request, principal, "problem.read", problem_id, {"version": record["version"]})
    response.headers["ETag"] = _etag(int(record["version"]))
    return {
        **record,
        "history": [{**h, "to_label": state_label(h["to_state"], lang)} for h in past],
        "photos": [{"name": n, "url": _photo_url(request, problem_id, n)} for n in photos],
        "next_states": [
            {"state": s, "label": state_label(s, lang)}
            for s in rules.transitions_for(principal, row)
        ],
    }


@router.patch("/problems/{problem_id}", response_model=ChangeResult)
def change_problem(
    problem_id: str,
    body: StatusChange,
    request: Request,
    response: Response,
    principal: Changers,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Move a problem to ``status``: 428 without If-Match, 412 when it is stale."""
    row = rules.find_problem(ws, principal, problem_id)
    expected = _expected_version(if_match, problem_id)
    rules.check_change(principal, row, body.status)
    names = check_evidence(settings.evidence_path(), problem_id, body.evidence)
    change = update_problem(
        ws,
        problem_id,
        body.status,
        principal.actor,
        note=body.note,
        evidence=names,
        expected_version=expected,
        context=request_context(request, principal),
    )
    response.headers["ETag"] = _etag(int(change["version"]))
    return {
        **change,
        "status_label": state_label(str(change["to_state"]), lang),
        "note": body.note,
        "evidence": names,
    }


@router.post(
    "/problems/{problem_id}/evidence",
    response_model=StoredEvidence,
    status_code=201,
    responses={201: {"links": PHOTO_LINKS}},
)
def upload_evidence(
    problem_id: str,
    request: Request,
    principal: Changers,
    ws: WorkspaceDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP photos")],
) -> dict[str, Any]:
    """Store evidence photos of a problem (its village or the office); 201 with names."""
    rules.find_problem(ws, principal, problem_id)
    received = [(f.filename or "", f.file.read()) for f in files]
    stored = save_photos(
        settings.evidence_path(),
        problem_id,
        received,
        max_bytes=settings.max_photo_mb * 1024 * 1024,
    )
    detail = {"stored": stored, "received": [name for name, _data in received]}
    audit(request, principal, "problem.evidence.upload", problem_id, detail)
    return {
        "problem_id": problem_id,
        "stored": stored,
        "urls": [_photo_url(request, problem_id, n) for n in stored],
    }


@router.get(
    "/problems/{problem_id}/evidence/{name}",
    name="problem_photo",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_evidence(
    problem_id: str,
    name: str,
    request: Request,
    principal: Readers,
    ws: WorkspaceDep,
    settings: SettingsDep,
) -> FileResponse:
    """One evidence photo (JPEG) of a problem in the caller's scope."""
    rules.find_problem(ws, principal, problem_id)
    path = photo_path(settings.evidence_path(), problem_id, name)
    audit(request, principal, "problem.evidence.read", f"{problem_id}/{name}")
    headers = {
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(path.name, _ascii_name(path.name), "inline"),
    }
    return FileResponse(path, media_type="image/jpeg", headers=headers)


def _ascii_name(name: str) -> str:
    """``name`` with anything but ASCII letters, digits, ``.``, ``-``, ``_`` as ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "photo.jpg"


@router.get("/villages/status", response_model=list[VillageStatus])
def villages_status(
    request: Request,
    principal: Caller,
    ws: WorkspaceDep,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """Rectification status per village at ``as_of`` (a village: only its own row)."""
    day = rules.parse_day(as_of)
    rows = rules.status_records(village_status(ws, day), principal)
    audit(
        request,
        principal,
        "villages.status",
        "villages",
        {"as_of": day.isoformat(), "rows": len(rows)},
    )
    return rows
