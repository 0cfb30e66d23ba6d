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

The rules of who may change what live in :mod:`geoservice.workflow.access_rules`; each
handler makes one call to :mod:`geoservice.workflow.problem_actions`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
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
from geoservice.api.forms import PhotoUploads, uploaded_files
from geoservice.api.limits import LongText, Note, ShortText
from geoservice.api.paging import LIST_RESPONSES, PageDep, list_etag, not_modified, paging_headers
from geoservice.api.patch_models import PatchProgressFields
from geoservice.api.responses import photo_response
from geoservice.base.access import Principal
from geoservice.workflow import problem_actions as actions
from geoservice.workflow.photo_places import PhotoNote, photo_notes

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
    taken_at: str | None = Field(
        default=None,
        description="capture time from the photo's EXIF, YYYY-MM-DD HH:MM (China Standard "
        "Time when the photo records its UTC offset)",
    )
    distance_m: float | None = Field(
        default=None, description="metres from the problem to the photo's EXIF GPS position"
    )
    caption: str | None = Field(default=None, description="when and how far, as the page says")


class NextState(BaseModel):
    state: str
    label: str


class ProblemDetail(Problem):
    history: list[HistoryEntry]
    patch_id: str | None = Field(
        default=None, description="the change patch (图斑号) the problem was opened for"
    )
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


class VillageStatus(PatchProgressFields):
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
    patrols: int = Field(
        default=0, description="patrol tracks of the village in the month of as_of, to that day"
    )


def _etag(version: int) -> str:
    return f'"{version}"'


def _photo_url(request: Request, problem_id: str, name: str) -> str:
    return request.url_for("problem_photo", problem_id=problem_id, name=name).path


@router.get("/problems", response_model=list[Problem], responses=LIST_RESPONSES)
def list_problems(
    request: Request,
    response: Response,
    principal: Readers,
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    village: str | None = None,
    status: str | None = None,
    department: str | None = None,
    as_of: str | None = None,
) -> Any:
    """The problems the caller may see, with escalation at ``as_of`` (default today), one
    page: a JSON array, with ``X-Total-Count``, ``Link: <...>; rel="next"`` and ``ETag``."""
    etag = list_etag(request, ws, principal, lang)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    filters = {"village": village, "status": status, "department": department}
    total, rows = actions.problem_page(
        ws, principal, lang, limit=page.limit, offset=page.offset, as_of=as_of, **filters
    )
    paging_headers(request, response, page, total, etag)
    detail = {**filters, "count": len(rows), "total": total, "offset": page.offset}
    audit(request, principal, "problems.list", "problems", detail)
    return rows


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
    record = actions.create_problem(
        ws,
        principal,
        lang,
        **body.model_dump(),
        context=request_context(request, principal),
    )
    pid = str(record["problem_id"])
    response.headers["ETag"] = _etag(int(record["version"]))
    response.headers["Location"] = request.url_for("get_problem", problem_id=pid).path
    return record


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
    detail = actions.problem_detail(
        ws, principal, problem_id, lang, settings.evidence_path(), as_of
    )
    audit(request, principal, "problem.read", problem_id, {"version": detail["version"]})
    response.headers["ETag"] = _etag(int(detail["version"]))
    notes = photo_notes(ws, settings.evidence_path(), "problem", problem_id, detail["photos"], lang)
    photos = [_photo(request, problem_id, n, notes.get(n)) for n in detail["photos"]]
    return {**detail, "photos": photos}


def _photo(request: Request, problem_id: str, name: str, note: PhotoNote | None) -> dict[str, Any]:
    """A photo's name and address, with when and how far from the problem it was taken."""
    found = (
        {"taken_at": note.taken, "distance_m": note.distance_m, "caption": note.text}
        if note
        else {}
    )
    return {"name": name, "url": _photo_url(request, problem_id, name), **found}


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
    change = actions.change_status(
        ws,
        principal,
        problem_id,
        lang,
        status=body.status,
        if_match=if_match,
        evidence_folder=settings.evidence_path(),
        note=body.note,
        evidence=body.evidence,
        context=request_context(request, principal),
    )
    response.headers["ETag"] = _etag(int(change["version"]))
    return change


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
    files: PhotoUploads,
) -> dict[str, Any]:
    """Store evidence photos of a problem (its village or the office); 201 with names."""
    received = uploaded_files(files)
    stored = actions.attach_photos(
        ws,
        principal,
        problem_id,
        received,
        settings.evidence_path(),
        max_bytes=settings.max_photo_bytes,
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
    path = actions.problem_photo(ws, principal, problem_id, name, settings.evidence_path())
    audit(request, principal, "problem.evidence.read", f"{problem_id}/{name}")
    return photo_response(path)


@router.get("/villages/status", response_model=list[VillageStatus], responses=LIST_RESPONSES)
def villages_status(
    request: Request,
    response: Response,
    principal: Caller,
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    as_of: str | None = None,
) -> Any:
    """Rectification status per village at ``as_of`` (a village: only its own row), one
    page: a JSON array, with ``X-Total-Count``, ``Link: <...>; rel="next"`` and ``ETag``."""
    etag = list_etag(request, ws, principal, lang)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    day, rows = actions.village_rows(ws, principal, as_of)
    paging_headers(request, response, page, len(rows), etag)
    chosen = page.cut(rows)
    audit(
        request,
        principal,
        "villages.status",
        "villages",
        {"as_of": day.isoformat(), "rows": len(chosen), "total": len(rows)},
    )
    return chosen
