"""The audit log over the web (Article 6), for the forest-chief office only.

``GET /audit?limit=&offset=&actor=&action=``
    Audit rows, newest first. ``actor`` keeps rows whose actor contains the text (e.g.
    ``police`` or a person's name); ``action`` keeps one action (``export``) or a family
    of them (``import`` matches ``import.replace`` and ``import.append``). Each row gives
    when, who, what, on what, from which address (``from``, for requests made through the
    service) and the full detail.

The page is read by :func:`geoservice.base.audit_log.audit_page`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import WorkspaceDep, audit, require
from geoservice.base.access import Principal
from geoservice.base.audit_log import audit_page

router = APIRouter(tags=["audit"])


class AuditRow(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    at: str
    actor: str
    action: str
    target: str
    from_: str | None = Field(default=None, alias="from")
    detail: Any


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    rows: list[AuditRow]


@router.get("/audit", response_model=AuditPage)
def read_audit(
    request: Request,
    principal: Annotated[Principal, require("office")],
    ws: WorkspaceDep,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
    action: str | None = None,
) -> AuditPage:
    """The audit log (操作日志), newest first, filtered by actor and action."""
    page = AuditPage.model_validate(
        audit_page(ws, limit=limit, offset=offset, actor=actor, action=action)
    )
    audit(
        request,
        principal,
        "audit.read",
        "audit_log",
        {"rows": len(page.rows), "actor": actor, "action": action, "offset": offset},
    )
    return page
