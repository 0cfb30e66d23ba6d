"""Joint-enforcement targets over the web: GeoJSON for maps, one target, file exports.

Who sees what (:meth:`Principal.target_mask`): the office every target, a department the
targets it leads or cooperates on; villages and viewers none (403). A target outside the
caller's scope does not exist for the caller (404 naming the id, the same answer as for an
id that was never issued). Before the first analysis run, the list and the export answer
404 ``analysis.not_run``, naming ``POST /analysis/runs``.

``GET /targets``
    A GeoJSON FeatureCollection in lon/lat (EPSG:4326), filtered by ``department`` (lead
    or cooperating, code or name), ``village`` (code or name), ``priority`` (``P1,P2``) and
    ``state`` (the outcome, e.g. ``in_action``); names and reasons in the caller's language
    (``?lang=`` or Accept-Language). Each target carries ``state``, ``state_label``,
    ``version`` and ``case_number``. One page (``limit``, ``offset``): ``numberMatched``,
    ``numberReturned`` and a ``links`` entry ``rel: next`` as OGC items pages, with an
    ``ETag`` (:mod:`geoservice.api.paging`).
``GET /targets/export``
    The same selection (or one ``target``) as ``xlsx`` (printable: A4 landscape, header
    row on every page), ``csv``, ``gpkg``, ``kml`` or ``geojson`` (labels beside the codes),
    each with the lon/lat of a point inside the target and its deadline, written by
    :func:`geoservice.files.target_export.export_targets` and sent with a Chinese file name.
``GET /targets/{target_id}``
    One target as a GeoJSON Feature with its reasons and evidence: the flagged parcels with
    their scores and the ids of the complaints, change patches and problems behind them.
``GET /targets/{target_id}/dossier``
    The target's joint-enforcement work order (联合执法任务书) as ``format=pdf`` (default)
    or ``html``, A4, in the caller's language; the reporter's phone for the office only
    (:func:`geoservice.reports.dossier.render_dossier`).
``PATCH /targets/{target_id}``
    A state change (``new`` → ``dispatched`` → ``in_action`` → ``case_opened`` →
    ``penalised`` or ``transferred`` → ``closed``; ``dismissed``) by the lead department or
    the office, with ``If-Match: "<version>"`` (the ETag of ``GET /targets/{target_id}``):
    428 without it, 412 when stale; a cooperating department gets 403.
``POST /targets/{target_id}/actions``, ``POST /targets/{target_id}/photos``
    An action record (date, what was done, people, seizures, note, photo names) by the
    lead or a cooperating department (for itself) or the office; its photos.
``GET /targets/{target_id}/history``
    Every state change and action record, including those of the targets it continues.

The queries and the GeoJSON are built by :mod:`geoservice.analysis.target_queries`; the
outcomes by :mod:`geoservice.workflow.target_actions`.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from geoservice.analysis.target_queries import target_feature, targets_collection
from geoservice.api.deps import (
    DepartmentNamesDep,
    LangDep,
    RulesDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    request_context,
    require,
)
from geoservice.api.forms import PhotoUploads, uploaded_files
from geoservice.api.limits import Note, ShortText
from geoservice.api.origin import public_base
from geoservice.api.paging import (
    LIST_RESPONSES,
    PageDep,
    list_etag,
    next_link,
    not_modified,
    paging_headers,
)
from geoservice.api.responses import content_disposition, download, scratch_folder
from geoservice.base.access import Principal
from geoservice.files.target_export import export_targets as write_export
from geoservice.reports.dossier import render_dossier
from geoservice.workflow import target_actions

router = APIRouter(tags=["targets"])

GEOJSON = "application/geo+json"
# tables changed in place whose rows a target list shows (state, version, case number)
TARGET_TABLES = ("target_state",)
Viewer = Annotated[Principal, require("office", "department")]


def _geojson(doc: dict[str, Any]) -> Response:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return Response(body, media_type=GEOJSON)


@router.get(
    "/targets",
    response_class=Response,
    responses={
        200: {
            "links": {
                "GetTarget": {
                    "operationRef": "#/paths/~1targets~1{target_id}/get",
                    "parameters": {"target_id": "$response.body#/features/0/properties/target_id"},
                    "description": "Read the first target listed.",
                }
            }
        },
        **LIST_RESPONSES,
    },
)
def list_targets(
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    names: DepartmentNamesDep,
    lang: LangDep,
    page: PageDep,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    state: str | None = None,
) -> Response:
    """The caller's joint-enforcement targets as GeoJSON (联合执法目标), lon/lat, one page
    (``numberMatched``, ``numberReturned``, a ``next`` link; ``ETag``)."""
    # department names come from the rules, which may change without the data
    etag = list_etag(request, ws, principal, lang, TARGET_TABLES, tuple(sorted(names.items())))
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    filters = {"department": department, "village": village, "priority": priority}
    filters["state"] = state
    doc = targets_collection(
        ws, principal, names, lang, limit=page.limit, offset=page.offset, **filters
    )
    link = next_link(request, page, int(doc["numberMatched"]))
    doc["links"] = [] if link is None else [{"href": link, "rel": "next", "type": GEOJSON}]
    answer = _geojson(doc)
    paging_headers(request, answer, page, int(doc["numberMatched"]), etag)
    detail = {"rows": len(doc["features"]), **{k: v for k, v in filters.items() if v}}
    audit(request, principal, "targets.list", "targets", detail)
    return answer


@router.get("/targets/export", response_class=FileResponse)
def export_targets(
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    rules: RulesDep,
    names: DepartmentNamesDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    target: str | None = None,
) -> FileResponse:
    """Download the caller's targets (or one ``target``) as xlsx, csv, gpkg, kml or geojson."""
    with scratch_folder("geoservice-export-") as folder:
        done = write_export(
            ws,
            principal,
            folder,
            fmt=fmt,
            lang=lang,
            rules=rules,
            names=names,
            department=department,
            village=village,
            priority=priority,
            target=target,
            context=request_context(request, principal),
        )
        return download(done.result.path, folder, done.media_type, done.shown, done.fallback)


@router.get("/targets/{target_id}", response_class=Response)
def get_target(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    names: DepartmentNamesDep,
    lang: LangDep,
) -> Response:
    """One target as a GeoJSON Feature with its reasons and evidence (目标详情)."""
    feature = target_feature(ws, principal, target_id, names, lang)
    audit(request, principal, "targets.read", target_id)
    reply = _geojson(feature)
    reply.headers["ETag"] = f'"{feature["properties"]["version"]}"'
    return reply


@router.get(
    "/targets/{target_id}/dossier",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def target_dossier(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    rules: RulesDep,
    settings: SettingsDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    """The target's joint-enforcement work order, PDF or HTML on A4 (联合执法任务书)."""
    done = render_dossier(
        ws,
        principal,
        target_id,
        rules,
        fmt,
        lang=lang,
        base_url=public_base(settings, request.scope),
    )
    audit(
        request, principal, "targets.read", target_id, {"document": "dossier", "format": done.fmt}
    )
    disposition = content_disposition(done.name, done.fallback, "inline")
    return Response(
        done.body, media_type=done.media_type, headers={"Content-Disposition": disposition}
    )


# --- outcomes: state changes, action records, history (geoservice.workflow.target_actions)


class TargetChange(BaseModel):
    """A state change; ``case_number`` for ``case_opened``, the reason in ``note`` for
    ``dismissed``."""

    model_config = ConfigDict(extra="forbid")

    state: ShortText
    note: Note | None = None
    case_number: ShortText | None = None


class TargetChangeResult(BaseModel):
    target_id: str
    from_state: str
    to_state: str
    state_label: str
    version: int
    at: str
    by: str
    note: str | None = None
    case_number: str | None = None


class NewAction(BaseModel):
    """What a department did; a department records for itself, the office names one."""

    model_config = ConfigDict(extra="forbid")

    action: Note = Field(description="what was done")
    acted_on: date | None = Field(default=None, description="date (default today)")
    department: ShortText | None = Field(default=None, description="office only")
    people: int | None = Field(default=None, ge=0, le=100_000, description="people deployed")
    seizures: Note | None = None
    note: Note | None = None
    photos: list[ShortText] = Field(
        default_factory=list, description="names of photos already uploaded for this target"
    )


class ActionRecord(BaseModel):
    target_id: str
    department: str
    acted_on: str
    action: str
    people: int | None = None
    seizures: str | None = None
    note: str | None = None
    photos: list[str]
    at: str
    by: str


class TargetHistoryEntry(BaseModel):
    target_id: str
    at: str
    by: str
    from_state: str | None = None
    to_state: str
    to_label: str
    note: str | None = None
    case_number: str | None = None
    version: int


class TargetHistory(BaseModel):
    target_id: str
    state: str
    state_label: str
    version: int
    history: list[TargetHistoryEntry]
    actions: list[ActionRecord]


class StoredPhotos(BaseModel):
    target_id: str
    stored: list[str]


@router.patch("/targets/{target_id}", response_model=TargetChangeResult)
def change_target(
    target_id: str,
    body: TargetChange,
    request: Request,
    response: Response,
    principal: Viewer,
    ws: WorkspaceDep,
    lang: LangDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Move a target to ``state`` (lead department or office): 428 without If-Match, 412
    when it is stale."""
    change = target_actions.change_target(
        ws,
        principal,
        target_id,
        lang,
        state=body.state,
        if_match=if_match,
        require_version=True,
        note=body.note,
        case_number=body.case_number,
        context=request_context(request, principal),
    )
    response.headers["ETag"] = f'"{change["version"]}"'
    return change


@router.post("/targets/{target_id}/actions", response_model=ActionRecord, status_code=201)
def add_target_action(
    target_id: str,
    body: NewAction,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Record what a department did on a target (lead, cooperating or the office)."""
    return target_actions.record_action(
        ws,
        principal,
        target_id,
        **body.model_dump(exclude={"acted_on"}),
        acted_on=body.acted_on or date.today(),
        evidence_folder=settings.evidence_path(),
        context=request_context(request, principal),
    )


@router.post("/targets/{target_id}/photos", response_model=StoredPhotos, status_code=201)
def upload_target_photos(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    settings: SettingsDep,
    files: PhotoUploads,
) -> dict[str, Any]:
    """Store photos for a target's action records; 201 with the stored names."""
    received = uploaded_files(files)
    stored = target_actions.attach_target_photos(
        ws,
        principal,
        target_id,
        received,
        settings.evidence_path(),
        max_bytes=settings.max_photo_bytes,
    )
    audit(request, principal, "target.photos.upload", target_id, {"stored": stored})
    return {"target_id": target_id, "stored": stored}


@router.get("/targets/{target_id}/history", response_model=TargetHistory)
def target_history(
    target_id: str,
    request: Request,
    response: Response,
    principal: Viewer,
    ws: WorkspaceDep,
    lang: LangDep,
) -> dict[str, Any]:
    """Every state change and action record of a target, with ``ETag: "<version>"``."""
    detail = target_actions.target_detail(ws, principal, target_id, lang)
    audit(request, principal, "targets.history", target_id)
    response.headers["ETag"] = f'"{detail["version"]}"'
    return detail
