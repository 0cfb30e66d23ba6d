"""The escalation documents (提醒函, 督办函, 挂牌督办通知书) a village's phone page lists.

A village sees the documents addressed to it, newest first, each with its title, number,
date, reply date, how many items it covers and the addresses of its PDF and HTML
(``GET /escalations/{number}``, the number percent-encoded). Other roles see none here:
the office and departments read them through ``GET /escalations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation_docs import document_title, list_documents
from layers.messages import Lang

__all__ = ["LetterTask", "village_letters"]


@dataclass(frozen=True)
class LetterTask:
    """One document on a village's task page."""

    number: str
    level: str
    title: str
    as_of: str
    reply_by: str
    items: int
    pdf: str
    html: str


def village_letters(ws: Workspace, principal: Principal, lang: Lang = "zh") -> list[LetterTask]:
    """The documents addressed to ``principal``'s village, newest first (none for the other
    roles and for a workspace that has none)."""
    if principal.role != "village" or not ws.exists():
        return []
    docs = list_documents(ws, principal)
    out = []
    for row in docs.itertuples(index=False):
        path = f"/escalations/{quote(str(row.number), safe='')}"
        out.append(
            LetterTask(
                number=str(row.number),
                level=str(row.level),
                title=document_title(str(row.level), lang),
                as_of=str(row.as_of),
                reply_by=str(row.reply_by),
                items=int(row.items),
                pdf=f"{path}?format=pdf" + ("&lang=en" if lang == "en" else ""),
                html=f"{path}?format=html" + ("&lang=en" if lang == "en" else ""),
            )
        )
    return out
