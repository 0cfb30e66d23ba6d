"""``GET /health``: is the service up and its workspace readable (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from geoservice.api.deps import WorkspaceDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    workspace: bool
    layers: list[str]


@router.get("/health", response_model=Health)
def health(ws: WorkspaceDep) -> Health:
    """Whether the service runs and which layers its workspace holds."""
    exists = ws.exists()
    return Health(status="ok", workspace=exists, layers=ws.layer_names() if exists else [])
