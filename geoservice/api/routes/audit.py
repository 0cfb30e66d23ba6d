"""The audit log over the web (Article 6), for the forest-chief office only.

``GET /audit?limit=&offset=&actor=&action=``
    Audit rows, newest first, one page (``limit`` default 100, at most 1000; ``total``,
    ``next`` and an ``ETag``: :mod:`geoservice.api.paging`). ``actor`` keeps rows whose actor contains the text (e.g.
    ``police`` or a person's name); ``action`` keeps one action (``export``) or a family
    of them (``import`` matches ``import.replace`` and ``import.append``). Each row gives
    when, who, what, on what, from which address (``from``, for requests made through the
    service) and the full detail.

The page is read by :func:`geoservice.base.audit_log.audit_page`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import LangDep, WorkspaceDep, audit, require
from geoservice.api.paging import LIST_RESPONSES, PageDep, list_etag, not_modified, paging_headers
from geoservice.base.access import Principal
from geoservice.base.audit_log import audit_page, audit_version

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
    next: str | None = Field(default=None, description="absolute address of the next page")
    rows: list[AuditRow]


@router.get("/audit", response_model=AuditPage, responses=LIST_RESPONSES)
def read_audit(
    request: Request,
    response: Response,
    principal: Annotated[Principal, require("office")],
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    actor: str | None = None,
    action: str | None = None,
) -> Any:
    """The audit log (操作日志), newest first, filtered by actor and action, one page."""
    # the matching rows alone: a filtered page stays the same while other rows are added
    matching = audit_version(ws, actor, action)
    etag = list_etag(request, ws, principal, lang, extra=matching)
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    found = audit_page(ws, limit=page.limit, offset=page.offset, actor=actor, action=action)
    link = paging_headers(request, response, page, int(found["total"]), etag)
    result = AuditPage.model_validate({**found, "next": link})
    audit(
        request,
        principal,
        "audit.read",
        "audit_log",
        {"rows": len(result.rows), "actor": actor, "action": action, "offset": page.offset},
    )
    return result
