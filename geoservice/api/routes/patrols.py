"""Patrol tracks (巡护轨迹) over the web.

- ``POST /patrols``: save a track (the office, a department officer or a village cadre):
  its positions ``{lon, lat, t, accuracy}`` (degrees, milliseconds since 1970, metres),
  with the phone's ``submission_id`` so a replay from the offline queue is stored once
  (201 when stored, 200 with the stored patrol for a replay);
- ``GET /patrols``: the patrols the caller may see (the office all, a department its own,
  a village its own), filtered by ``village`` (code) and ``month`` (``YYYY-MM``).

The rules live in :mod:`geoservice.workflow.patrols`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import WorkspaceDep, audit, request_context, require
from geoservice.api.limits import Note, ShortText
from geoservice.base.access import Principal
from geoservice.workflow import patrols

router = APIRouter(tags=["patrols"])

Patrollers = Annotated[Principal, require("office", "department", "village")]
MAX_POINTS = 20_000  # one position a second for five and a half hours


class TrackPoint(BaseModel):
    """One position of the phone."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180, description="longitude, degrees (WGS 84 / CGCS2000)")
    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    t: float = Field(ge=0, le=1e14, description="the phone's time, milliseconds since 1970")
    accuracy: float | None = Field(default=None, ge=0, le=1e6, description="metres")


class NewPatrol(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: list[TrackPoint] = Field(max_length=MAX_POINTS)
    submission_id: ShortText | None = Field(
        default=None, description="the phone's id of this submission; a replay is stored once"
    )
    note: Note | None = None


class Track(BaseModel):
    type: str
    coordinates: list[list[float]]


class Patrol(BaseModel):
    patrol_id: str
    submission_id: str | None = None
    patrol_on: str = Field(description="date the patrol started, China Standard Time")
    started_at: str
    ended_at: str
    duration_s: float
    length_m: float = Field(description="metres, measured in the workspace CRS")
    points: int
    village_code: str | None = None
    village_name: str | None = None
    department: str | None = None
    role: str
    by: str
    note: str | None = None
    visited_problems: list[str]
    visited_targets: list[str]
    srs: str
    created_at: str
    track: Track | None = None


@router.post("/patrols", response_model=Patrol, status_code=201)
def create_patrol(
    request: Request, response: Response, body: NewPatrol, principal: Patrollers, ws: WorkspaceDep
) -> dict[str, Any]:
    """Save a patrol track; 201 with the stored patrol, 200 when it was already stored."""
    points = [[p.lon, p.lat, p.t, p.accuracy] for p in body.points]
    record = patrols.record_patrol(
        ws,
        principal,
        points,
        submission_id=body.submission_id,
        note=body.note,
        context=request_context(request, principal),
    )
    if record.pop("replayed"):
        response.status_code = 200
    return record


@router.get("/patrols", response_model=list[Patrol])
def read_patrols(
    request: Request,
    principal: Patrollers,
    ws: WorkspaceDep,
    village: str | None = None,
    month: str | None = None,
) -> list[dict[str, Any]]:
    """The patrols the caller may see, oldest first, each with its track in degrees."""
    rows = patrols.list_patrols(ws, principal, village=village, month=month)
    audit(request, principal, "patrols.list", "patrols", {"count": len(rows), "month": month})
    return rows
