"""Department ledgers over the web (Art. 9): what each department did, and its own account.

Who (:mod:`geoservice.workflow.ledger_access`): the office records and reads for every
department; a department for itself only (403 for another department); villages and
viewers 403. Entries on problems, patches and targets are checked against the caller's
scope (404 for an object it may not see, as for one that does not exist).

``GET /departments``
    The 14 departments with their names and, where the caller may read the ledger, its
    counts.
``GET /departments/{code}/entries``
    The department's ledger: its entries and its action records on targets, newest first,
    filtered by ``from``, ``to`` (dates, both included) and ``kind``; one page (``limit``,
    ``offset``) as ``/targets``: ``numberMatched``, ``numberReturned``, a ``next`` link,
    ``X-Total-Count``, ``Link`` and ``ETag`` headers.
``POST /departments/{code}/entries``
    Record an entry (201): ``kind``, ``acted_on``, ``object_kind`` and ``object_id``,
    ``people``, ``note``, ``photos`` (names returned by ``POST /departments/{code}/photos``).
``POST /departments/{code}/photos``
    Store photos for the department's entries (201 with the stored names).
``GET /departments/{code}/statements/{period}``
    The department's own account of ``period`` (``2026-Q4``, ``2026-11``, ``2026``,
    ``2026-09-01_2026-11-30``), ``ETag: "<version>"`` once written.
``PUT /departments/{code}/statements/{period}``
    Write it: a new one without ``If-Match``; a change with ``If-Match: "<version>"`` (428
    without it, 412 when stale).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import LangDep, SettingsDep, WorkspaceDep, audit, request_context, require
from geoservice.api.forms import PhotoUploads, uploaded_files
from geoservice.api.limits import LongText, Note, ShortText
from geoservice.api.paging import (
    LIST_RESPONSES,
    PageDep,
    list_etag,
    next_link,
    not_modified,
    paging_headers,
)
from geoservice.base import dates
from geoservice.base.access import Principal
from geoservice.workflow import ledger_access
from geoservice.workflow.ledger import ledger_version
from geoservice.workflow.problem_actions import expected_version

router = APIRouter(tags=["departments"])

Member = Annotated[Principal, require("office", "department")]
JSON = "application/json"


class Department(BaseModel):
    code: str
    name: str
    name_zh: str
    name_en: str
    may_record: bool
    entries: int | None = None
    target_actions: int | None = None
    statements: int | None = None


class LedgerEntry(BaseModel):
    entry_id: str
    source: str = Field(description="ledger (an entry) or target_action (a target's record)")
    department: str
    kind: str
    object_kind: str
    object_id: str | None = None
    acted_on: str
    people: int | None = None
    action: str | None = None
    note: str | None = None
    photos: list[str]
    created_by: str
    created_at: str


class LedgerPage(BaseModel):
    department: str
    numberMatched: int
    numberReturned: int
    entries: list[LedgerEntry]
    links: list[dict[str, str]]


class NewEntry(BaseModel):
    """What the department did; ``object_kind`` problem, patch, target or none."""

    model_config = ConfigDict(extra="forbid")

    kind: ShortText = Field(
        description="co_verification, inspection, enforcement, publicity or other"
    )
    acted_on: date | None = Field(default=None, description="date (default today)")
    object_kind: ShortText = Field(default="none", description="problem, patch, target or none")
    object_id: ShortText | None = None
    people: int | None = Field(default=None, ge=0, le=100_000, description="people deployed")
    note: Note | None = None
    photos: list[ShortText] = Field(
        default_factory=list, description="names of photos already uploaded for the department"
    )


class StoredEntry(BaseModel):
    entry_id: int
    department: str
    kind: str
    object_kind: str
    object_id: str | None = None
    acted_on: str
    people: int | None = None
    note: str | None = None
    photos: list[str]
    created_by: str
    created_at: str


class Statement(BaseModel):
    department: str
    period: str
    period_start: str
    period_end: str
    text: str | None = None
    version: int | None = None
    updated_by: str | None = None
    updated_at: str | None = None
    created_by: str | None = None
    created_at: str | None = None


class StatementText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: LongText = Field(description="what the department did, results, problems, suggestions")


class StoredPhotos(BaseModel):
    department: str
    stored: list[str]


@router.get("/departments", response_model=list[Department])
def list_departments(
    request: Request, principal: Member, ws: WorkspaceDep, lang: LangDep
) -> list[dict[str, Any]]:
    """The 14 departments (部门清单), with ledger counts where the caller may read them."""
    rows = ledger_access.department_list(ws, principal, lang)
    audit(request, principal, "departments.list", "departments")
    return rows


@router.get(
    "/departments/{code}/entries",
    response_model=LedgerPage,
    responses={**LIST_RESPONSES},
)
def list_entries(
    code: str,
    request: Request,
    principal: Member,
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    kind: str | None = None,
) -> Response:
    """The department's ledger with its target action records, newest first (台账), one page."""
    department = ledger_access.acting_department(principal, code)
    first = dates.parse_date(start, "from", "departments.bad_date")
    last = dates.parse_date(end, "to", "departments.bad_date")
    etag = list_etag(request, ws, principal, lang, extra=ledger_version(ws))
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    rows = ledger_access.ledger_rows(ws, department, first, last, kind)
    total = len(rows)
    shown = ledger_access.ledger_records(rows.iloc[page.offset : page.offset + page.limit])
    link = next_link(request, page, total)
    body = {
        "department": department,
        "numberMatched": total,
        "numberReturned": len(shown),
        "entries": shown,
        "links": [] if link is None else [{"href": link, "rel": "next", "type": JSON}],
    }
    answer = JSONResponse(body)
    paging_headers(request, answer, page, total, etag)
    audit(request, principal, "departments.entries", department, {"rows": len(shown)})
    return answer


@router.post("/departments/{code}/entries", response_model=StoredEntry, status_code=201)
def add_entry(
    code: str,
    body: NewEntry,
    request: Request,
    principal: Member,
    ws: WorkspaceDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Record what the department did (记录履职台账): for itself, or any department by the office."""
    return ledger_access.record_entry(
        ws,
        principal,
        code,
        kind=body.kind,
        acted_on=body.acted_on or date.today(),
        object_kind=body.object_kind,
        object_id=body.object_id,
        people=body.people,
        note=body.note,
        photos=body.photos,
        evidence_folder=settings.evidence_path(),
        context=request_context(request, principal),
    )


@router.post("/departments/{code}/photos", response_model=StoredPhotos, status_code=201)
def upload_photos(
    code: str,
    request: Request,
    principal: Member,
    settings: SettingsDep,
    files: PhotoUploads,
) -> dict[str, Any]:
    """Store photos for the department's ledger entries; 201 with the stored names."""
    received = uploaded_files(files)
    stored = ledger_access.attach_department_photos(
        principal,
        code,
        received,
        settings.evidence_path(),
        max_bytes=settings.max_photo_bytes,
    )
    audit(request, principal, "department.photos.upload", code, {"stored": stored})
    return {"department": ledger_access.acting_department(principal, code), "stored": stored}


@router.get("/departments/{code}/statements/{period}", response_model=Statement)
def get_statement(
    code: str,
    period: str,
    request: Request,
    response: Response,
    principal: Member,
    ws: WorkspaceDep,
) -> dict[str, Any]:
    """The department's own account of the period (履职情况自述); ``ETag: "<version>"``."""
    doc = ledger_access.statement(ws, principal, code, period)
    audit(request, principal, "departments.statement", doc["department"], {"period": period})
    if doc["version"] is not None:
        response.headers["ETag"] = f'"{doc["version"]}"'
    return doc


@router.put("/departments/{code}/statements/{period}", response_model=Statement)
def put_statement(
    code: str,
    period: str,
    body: StatementText,
    request: Request,
    response: Response,
    principal: Member,
    ws: WorkspaceDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Write the department's account of the period: new without If-Match, a change with
    ``If-Match: "<version>"`` (428 without it, 412 when stale)."""
    version = None
    if if_match is not None and if_match.strip():
        version = expected_version(if_match, f"{code} {period}", ("履职情况", "statement"))
    doc = ledger_access.write_statement(
        ws,
        principal,
        code,
        period,
        body.text,
        expected_version=version,
        context=request_context(request, principal),
    )
    response.headers["ETag"] = f'"{doc["version"]}"'
    return doc
