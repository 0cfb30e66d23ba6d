"""Forest-supervision change patches (森林督查变化图斑) over the web: list, one patch, state
changes, history and verification photos.

Who sees what (:mod:`geoservice.workflow.patch_access`): the office and department
officers every patch, a village its own village's patches; viewers none (403). The office
and the forestry department (镇农业农村办) change patches; others get 403. A patch outside
the caller's scope does not exist for the caller (404 naming the id).

``GET /patches``
    One page (``limit``, ``offset``; ``total``, ``next`` and an ``ETag``) of the caller's
    patches at ``as_of`` (default today), filtered by ``state`` (comma-separated),
    ``village`` (code or name) and ``overdue``: state, legality, stage deadline, days
    overdue, escalation level, the problem and target linked, version.
``GET /patches/{patch_id}``
    One patch with its history, photos and the states the caller may move it to;
    ``ETag: "<version>"``.
``PATCH /patches/{patch_id}``
    A state change (``interpreted`` → ``dispatched`` → ``verified`` (legality, verifier) →
    ``investigating`` → ``rectifying`` → ``awaiting_acceptance`` → ``closed``; a patch
    verified legal closes at once) or a note, with ``If-Match: "<version>"``: 428 without
    it, 412 when stale. A patch verified illegal answers the problem it opened and the
    target it joined.
``GET /patches/{patch_id}/history``
    Every change and event of the patch, oldest first.
``POST /patches/{patch_id}/photos``, ``GET /patches/{patch_id}/photos/{name}``
    Verification photos (JPEG, PNG or WebP, stored as cleaned JPEG).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import (
    LangDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    request_context,
    require,
)
from geoservice.api.forms import PhotoUploads, uploaded_files
from geoservice.api.limits import Note, ShortText
from geoservice.api.paging import LIST_RESPONSES, PageDep, list_etag, not_modified, paging_headers
from geoservice.api.responses import photo_response
from geoservice.base.access import Principal
from geoservice.base.records import json_records
from geoservice.workflow import patch_access
from geoservice.workflow.access_rules import parse_day
from geoservice.workflow.patch_states import legality_label, patch_state_label
from geoservice.workflow.patch_store import patch_history

router = APIRouter(tags=["patches"])

Readers = Annotated[Principal, require("office", "department", "village")]


class NextState(BaseModel):
    state: str
    label: str


class PatchOut(BaseModel):
    """One change patch with its workflow state (areas in hectares, days as YYYY-MM-DD)."""

    patch_id: str
    village_code: str | None = None
    village_name: str | None = None
    category: str | None = None
    category_label: str | None = None
    area_ha: float | None = None
    illegal: str | None = None
    illegal_area_ha: float | None = None
    change_cause: str | None = None
    permit_no: str | None = None
    year: int | None = None
    state: str
    state_label: str
    legality: str | None = None
    legality_label: str | None = None
    verifier: str | None = None
    verified_on: str | None = None
    note: str | None = None
    version: int
    stage_started_on: str | None = None
    stage_due: str | None = None
    days_overdue: int
    level: str
    level_label: str
    problem_id: str | None = None
    target_id: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    next_states: list[NextState]


class PatchList(BaseModel):
    as_of: str
    total: int
    limit: int
    offset: int
    next: str | None = Field(default=None, description="absolute address of the next page")
    patches: list[PatchOut]


class HistoryEntry(BaseModel):
    patch_id: str
    at: str
    by: str
    event: str
    from_state: str | None = None
    to_state: str | None = None
    to_label: str | None = None
    legality: str | None = None
    legality_label: str | None = None
    note: str | None = None
    version: int


class PatchDetail(PatchOut):
    history: list[HistoryEntry]
    photos: list[str]


class PatchChange(BaseModel):
    """A state change (``legality`` and ``verifier`` with ``verified``) or, without
    ``state``, a note."""

    model_config = ConfigDict(extra="forbid")

    state: ShortText | None = None
    legality: ShortText | None = None
    verifier: ShortText | None = None
    verified_on: date | None = Field(default=None, description="day of the field check")
    note: Note | None = None


class PatchChangeResult(BaseModel):
    patch_id: str
    from_state: str
    to_state: str
    state_label: str
    legality: str | None = None
    legality_label: str | None = None
    version: int
    at: str
    by: str
    note: str | None = None
    problem_id: str | None = None
    target_id: str | None = None


class StoredPhotos(BaseModel):
    patch_id: str
    stored: list[str]


def _history(patch_id: str, ws: Any, lang: Any) -> list[dict[str, Any]]:
    rows = json_records(patch_history(ws, patch_id))
    for r in rows:
        r["to_label"] = patch_state_label(r["to_state"], lang) if r["to_state"] else None
        r["legality_label"] = legality_label(r.get("legality"), lang) or None
    return rows


@router.get("/patches", response_model=PatchList, responses=LIST_RESPONSES)
def list_patches(
    request: Request,
    response: Response,
    principal: Readers,
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    state: str | None = None,
    village: str | None = None,
    overdue: bool = False,
    as_of: str | None = None,
) -> Any:
    """The caller's change patches with their state and stage deadline (变化图斑), one page."""
    # the data version covers the patch states (their count, the last history id)
    etag = list_etag(request, ws, principal, lang)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    day = parse_day(as_of)
    frame = patch_access.visible_patches(ws, principal, day)
    frame = patch_access.filter_patches(ws, frame, state=state, village=village, overdue=overdue)
    link = paging_headers(request, response, page, len(frame), etag)
    chosen = frame.iloc[page.offset : page.offset + page.limit]
    rows = patch_access.patch_records(chosen, principal, lang)
    detail = {"rows": len(rows), "total": len(frame), "offset": page.offset}
    audit(request, principal, "patches.list", "patches", detail)
    return {
        "as_of": day.isoformat(),
        "total": len(frame),
        "limit": page.limit,
        "offset": page.offset,
        "next": link,
        "patches": rows,
    }


@router.get("/patches/{patch_id}", response_model=PatchDetail)
def get_patch(
    patch_id: str,
    request: Request,
    response: Response,
    principal: Readers,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
) -> dict[str, Any]:
    """One patch with its history, photos and next states; ``ETag: "<version>"``."""
    row = patch_access.find_patch(ws, principal, patch_id, date.today())
    record = patch_access.patch_records(row.to_frame().T, principal, lang)[0]
    record["history"] = _history(patch_id, ws, lang)
    record["photos"] = patch_access.patch_photos(settings.evidence_path(), patch_id)
    audit(request, principal, "patches.read", patch_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.patch("/patches/{patch_id}", response_model=PatchChangeResult)
def change_patch(
    patch_id: str,
    body: PatchChange,
    request: Request,
    response: Response,
    principal: Readers,
    ws: WorkspaceDep,
    lang: LangDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Move a patch on (office or forestry department): 428 without If-Match, 412 when
    stale."""
    patch_access.find_patch(ws, principal, patch_id, date.today())
    expected = patch_access.expected_patch_version(if_match, patch_id)
    change = patch_access.change_patch(
        ws,
        principal,
        patch_id,
        expected=expected,
        state=body.state,
        legality=body.legality,
        note=body.note,
        verifier=body.verifier,
        verified_on=body.verified_on,
        context=request_context(request, principal),
    )
    response.headers["ETag"] = f'"{change["version"]}"'
    return {**change, "state_label": patch_state_label(change["to_state"], lang)}


@router.get("/patches/{patch_id}/history", response_model=list[HistoryEntry])
def get_patch_history(
    patch_id: str,
    request: Request,
    principal: Readers,
    ws: WorkspaceDep,
    lang: LangDep,
) -> list[dict[str, Any]]:
    """Every change and event of a patch, oldest first (核查记录)."""
    patch_access.find_patch(ws, principal, patch_id, date.today())
    audit(request, principal, "patches.history", patch_id)
    return _history(patch_id, ws, lang)


@router.post("/patches/{patch_id}/photos", response_model=StoredPhotos, status_code=201)
def upload_patch_photos(
    patch_id: str,
    request: Request,
    principal: Readers,
    ws: WorkspaceDep,
    settings: SettingsDep,
    files: PhotoUploads,
) -> dict[str, Any]:
    """Store verification photos of a patch (office or forestry department); 201 with the
    stored names."""
    received = uploaded_files(files)
    stored = patch_access.attach_patch_photos(
        ws,
        principal,
        patch_id,
        received,
        settings.evidence_path(),
        max_bytes=settings.max_photo_bytes,
    )
    audit(request, principal, "patch.photos.upload", patch_id, {"stored": stored})
    return {"patch_id": patch_id, "stored": stored}


@router.get(
    "/patches/{patch_id}/photos/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def get_patch_photo(
    patch_id: str,
    name: str,
    request: Request,
    principal: Readers,
    ws: WorkspaceDep,
    settings: SettingsDep,
) -> FileResponse:
    """One verification photo (JPEG) of a patch in the caller's scope."""
    path = patch_access.patch_photo(ws, principal, patch_id, name, settings.evidence_path())
    audit(request, principal, "patch.photo.read", f"{patch_id}/{name}")
    return photo_response(path)
