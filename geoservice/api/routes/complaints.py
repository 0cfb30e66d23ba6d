"""Complaints taken over the web (举报受理), located and scored at once.

``POST /complaints`` (office, department, village; viewers 403)
    JSON ``{"text", "lon"?, "lat"?, "crs"?, "village"?, "category"?, "reported_at"?,
    "reporter_phone"?}``. ``crs`` is the datum of lon/lat: ``CGCS2000`` (default),
    ``WGS84``, ``GCJ-02`` (高德, 腾讯, WeChat) or ``BD-09`` (百度), any case; GCJ-02 and
    BD-09 are converted to CGCS2000 first and the answer's ``location.converted_from``
    gives the point as filed and the shift; another value is 422 naming the allowed ones.
    The complaint is stored (status ``new``), categorised from its
    text unless ``category`` is given, located to its parcel and village and the affected
    parcels' scores are updated in ``parcel_risk`` (:class:`geoservice.intake.complaints.ComplaintIntake`);
    201 with where it landed and the new scores. A village user files only in its own
    village: a point (or a named village) elsewhere is 422. The reporter's phone is
    stored only masked (``138****5678``) and shown only to the office.
``GET /complaints/{complaint_id}`` (office, department)
    The stored complaint. The complaints layer is ``restricted`` by default in the sharing
    register, which a department may not read: it gets 403 naming the classification,
    decided from the layer alone before the id is looked up, so nothing about the
    complaint leaks (not even whether it exists). When the office registers the layer as
    ``internal``, departments read complaints; an unknown id is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import (
    IntakeDep,
    LangDep,
    WorkspaceDep,
    audit,
    request_context,
    require,
)
from geoservice.api.limits import LongText, ShortText
from geoservice.base.access import Principal
from geoservice.intake.complaint_access import parse_reported_at, readable_complaint

router = APIRouter(tags=["complaints"])


class ComplaintIn(BaseModel):
    """A complaint as filed: text plus a point (lon/lat degrees in ``crs``) or a village."""

    text: LongText
    lon: float | None = None
    lat: float | None = None
    crs: ShortText | None = Field(
        default=None,
        description="Datum of lon/lat: CGCS2000 (default), WGS84, GCJ-02 (AutoNavi, "
        "Tencent, WeChat maps) or BD-09 (Baidu maps), any case (gcj02, bd09); GCJ-02 and "
        "BD-09 are converted to CGCS2000 before the complaint is located.",
        examples=["GCJ-02"],
    )
    village: ShortText | None = None
    category: ShortText | None = None
    reported_at: ShortText | None = None
    reporter_phone: ShortText | None = None


class CategoryOut(BaseModel):
    code: str
    zh: str
    en: str
    source: str


class ConvertedOut(BaseModel):
    """The point as filed in GCJ-02 or BD-09 and how far the conversion moved it."""

    crs: str
    lon: float
    lat: float
    shift_m: float


class LocationOut(BaseModel):
    lon: float
    lat: float
    converted_from: ConvertedOut | None = None
    x: float
    y: float
    crs: str | None
    source: str
    parcel_id: str | None
    matched: bool
    buffer_m: float
    nearest_parcel_id: str | None
    distance_m: float | None


class VillageOut(BaseModel):
    code: str
    name: str


class AffectedOut(BaseModel):
    parcel_id: str
    kind: str | None
    village_name: str | None
    old_score: float | None
    new_score: float
    complaint_score: float
    was_flagged: bool
    flagged: bool
    crossed: bool
    row: str


class ComplaintAnswer(BaseModel):
    """Where the complaint landed and what it changed; ``message`` in the caller's
    language, ``summary`` in both."""

    complaint_id: str
    received_at: str
    status: str
    as_of: str
    category: CategoryOut
    location: LocationOut
    village: VillageOut | None
    affected: list[AffectedOut]
    flag_score: float
    crossed_threshold: bool
    notes: list[dict[str, str]]
    summary: dict[str, str]
    message: str


class ComplaintOut(BaseModel):
    """A stored complaint: its canonical columns, where it is, and any other stored column
    (source fields kept at import)."""

    model_config = ConfigDict(extra="allow")

    complaint_id: str
    received_at: str | None
    category: str | None
    category_zh: str | None
    category_en: str | None
    description: str | None = None
    channel: str | None = None
    status: str | None
    village_code: str | None = None
    village_name: str | None = None
    lon: float | None
    lat: float | None
    x: float | None
    y: float | None


@router.post(
    "/complaints",
    response_model=ComplaintAnswer,
    status_code=201,
    responses={
        201: {
            "links": {
                "GetComplaint": {
                    "operationRef": "#/paths/~1complaints~1{complaint_id}/get",
                    "parameters": {"complaint_id": "$response.body#/complaint_id"},
                    "description": "Read the complaint back (office and departments).",
                }
            }
        }
    },
)
def submit_complaint(
    body: ComplaintIn,
    request: Request,
    principal: Annotated[Principal, require("office", "department", "village")],
    ws: WorkspaceDep,
    intake: IntakeDep,
    lang: LangDep,
) -> ComplaintAnswer:
    """File a complaint (举报受理): stored, located and scored at once; 201 with the result."""
    answer = intake.submit(
        ws,
        text=body.text,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        village=body.village,
        category=body.category,
        reported_at=parse_reported_at(body.reported_at),
        reporter_phone=body.reporter_phone,
        own_village=principal.village_code if principal.role == "village" else None,
        by=principal.actor,
        request=request_context(request, principal),  # audited in the complaint's transaction
    )
    return ComplaintAnswer(**answer, message=answer["summary"][lang])


@router.get("/complaints/{complaint_id}", response_model=ComplaintOut)
def get_complaint(
    complaint_id: str,
    request: Request,
    principal: Annotated[Principal, require("office", "department")],
    ws: WorkspaceDep,
) -> ComplaintOut:
    """One stored complaint (举报详情); 403 when the caller may not read the complaints
    layer's classification, 404 for an unknown id."""
    row, level = readable_complaint(ws, principal, complaint_id)
    audit(request, principal, "complaint.read", complaint_id, {"classification": level})
    return ComplaintOut.model_validate(row)
