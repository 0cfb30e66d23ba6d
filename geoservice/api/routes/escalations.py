"""Escalation documents over the web (提醒函, 督办函, 挂牌督办通知书; Art. 7).

Who sees what (:func:`geoservice.workflow.escalation_docs.list_documents`): the office every
document, a village those addressed to it, a department those it is copied on; viewers
none (403). A document outside the caller's scope does not exist for the caller (404
naming the number, the same answer as for a number never issued).

``GET /escalations``
    The caller's documents, newest first, one page (``limit``, ``offset``: ``total`` and
    ``next`` in the body, ``X-Total-Count``, ``Link`` and an ``ETag`` in the headers, as
    :mod:`geoservice.api.paging`), filtered by ``village`` (code or name). Each document
    gives its number, level and title in the caller's language, addressee, date, reply
    date, departments copied, how many items it covers and the addresses of its HTML
    and PDF.
``GET /escalations/{number}``
    One document with the problems and patches it covers as ``format=json`` (default),
    or the printable document as ``pdf`` or ``html`` (A4,
    :func:`geoservice.reports.escalation_letters.render_letter`). The number contains
    〔〕 and 号: send it percent-encoded as UTF-8 (``%E3%80%94`` for 〔).
``POST /escalations/issue``
    The office issues the documents due at ``as_of`` (``dry_run`` only lists them),
    recorded with the office user as the issuer; audit-logged.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import LangDep, RulesDep, WorkspaceDep, audit, require
from geoservice.api.paging import LIST_RESPONSES, PageDep, list_etag, not_modified, paging_headers
from geoservice.api.responses import content_disposition
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message
from geoservice.base.missing import village_word
from geoservice.base.records import json_records
from geoservice.reports.escalation_letters import render_letter
from geoservice.workflow.escalation_docs import (
    document_title,
    documents_version,
    issue_documents,
    list_documents,
    read_document,
)
from layers.messages import Lang

router = APIRouter(tags=["escalations"])

Reader = Annotated[Principal, require("office", "department", "village")]
Office = Annotated[Principal, require("office")]
FORMATS = ("json", "pdf", "html")


class DocumentLinks(BaseModel):
    html: str
    pdf: str


class DocumentItem(BaseModel):
    number: str
    kind: str = Field(description="problem or patch")
    item_id: str
    level: str
    days_overdue: int
    deadline: str | None = None
    category: str | None = None
    description: str | None = None
    status: str | None = Field(default=None, description="the item's state when issued")
    area_ha: float | None = None


class DocumentSummary(BaseModel):
    number: str
    level: str
    title: str
    year: int
    seq: int
    village_code: str
    village_name: str
    addressee: str
    issued_by: str
    issued_at: str
    as_of: str
    reply_by: str
    cc_departments: list[str]
    links: DocumentLinks


class ListedDocument(DocumentSummary):
    items: int = Field(description="how many problems and patches it covers")


class Document(DocumentSummary):
    items: list[DocumentItem]


class DocumentPage(BaseModel):
    total: int
    limit: int
    offset: int
    next: str | None = Field(default=None, description="absolute address of the next page")
    documents: list[ListedDocument]


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date = Field(description="the evaluation date, also the documents' date")
    dry_run: bool = Field(default=False, description="only list what would be issued")


class IssueResult(BaseModel):
    as_of: str
    dry_run: bool
    documents: list[Document]


def _links(number: str) -> dict[str, str]:
    path = f"/escalations/{quote(number, safe='')}"
    return {"html": f"{path}?format=html", "pdf": f"{path}?format=pdf"}


def _labelled(doc: dict[str, Any], lang: Lang) -> dict[str, Any]:
    return {
        **doc,
        "title": document_title(str(doc["level"]), lang),
        "addressee": village_word(doc["village_code"] or None, doc["village_name"] or None, lang),
        "links": _links(str(doc["number"])),
    }


@router.get("/escalations", response_model=DocumentPage, responses=LIST_RESPONSES)
def list_escalations(
    request: Request,
    response: Response,
    principal: Reader,
    ws: WorkspaceDep,
    lang: LangDep,
    page: PageDep,
    village: str | None = None,
) -> Any:
    """The caller's escalation documents (督办文书), newest first, one page."""
    etag = list_etag(request, ws, principal, lang, extra=documents_version(ws))
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    rows = json_records(list_documents(ws, principal, village=village))
    link = paging_headers(request, response, page, len(rows), etag)
    shown = [_labelled(r, lang) for r in page.cut(rows)]
    audit(request, principal, "escalations.list", "escalation_documents", {"rows": len(shown)})
    return {
        "total": len(rows),
        "limit": page.limit,
        "offset": page.offset,
        "next": link,
        "documents": shown,
    }


def _format(fmt: str | None) -> str:
    value = (fmt or "json").strip().lower()
    if value in FORMATS:
        return value
    raise OptionError(
        message(
            "escalations.bad_format",
            f"format 为“{fmt}”，应为 json、pdf 或 html 之一。",
            f"`format` was {fmt!r} but is expected to be one of json, pdf, html.",
        )
    )


@router.get(
    "/escalations/{number}",
    response_model=Document,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def get_escalation(
    number: str,
    request: Request,
    principal: Reader,
    ws: WorkspaceDep,
    rules: RulesDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
) -> Any:
    """One escalation document: JSON with its items, or the printable PDF or HTML."""
    kind = _format(fmt)
    if kind == "json":
        doc = _labelled(read_document(ws, number, principal), lang)
        audit(request, principal, "escalations.read", number, {"format": kind})
        return doc
    done = render_letter(ws, principal, number, kind, lang, rules)
    audit(request, principal, "escalations.read", number, {"format": done.fmt})
    disposition = content_disposition(done.name, done.fallback, "inline")
    return Response(
        done.body, media_type=done.media_type, headers={"Content-Disposition": disposition}
    )


@router.post("/escalations/issue", response_model=IssueResult)
def issue_escalations(
    body: IssueRequest, request: Request, principal: Office, ws: WorkspaceDep, lang: LangDep
) -> Any:
    """Issue the escalation documents due at ``as_of`` (office only); a second call at the
    same date issues nothing new."""
    docs = issue_documents(ws, body.as_of, principal.actor, dry_run=body.dry_run)
    detail = {"as_of": body.as_of.isoformat(), "dry_run": body.dry_run}
    numbers = [d["number"] for d in docs]
    audit(
        request,
        principal,
        "escalations.issue",
        body.as_of.isoformat(),
        {**detail, "numbers": numbers},
    )
    return {**detail, "documents": [_labelled(d, lang) for d in docs]}
