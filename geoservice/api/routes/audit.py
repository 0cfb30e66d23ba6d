"""The audit log over the web (Article 6), for the forest-chief office only.

``GET /audit?limit=&offset=&actor=&action=``
    Audit rows, newest first. ``actor`` keeps rows whose actor contains the text (e.g.
    ``police`` or a person's name); ``action`` keeps one action (``export``) or a family
    of them (``import`` matches ``import.replace`` and ``import.append``). Each row gives
    when, who, what, on what, from which address (``from``, for requests made through the
    service) and the full detail.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from geoservice.api.deps import WorkspaceDep, audit, require
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message

router = APIRouter(tags=["audit"])

MAX_LIMIT = 1000


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


def check_page(limit: int, offset: int) -> None:
    """OptionError unless ``1 <= limit <= MAX_LIMIT`` and ``offset >= 0``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise OptionError(
            message(
                "audit.bad_limit",
                f"limit 为 {limit}，应为 1 到 {MAX_LIMIT} 之间的整数；更多记录请用 offset 翻页。",
                f"`limit` was {limit} but is expected to be between 1 and {MAX_LIMIT}; page "
                "through more rows with offset.",
            )
        )
    if offset < 0:
        raise OptionError(
            message(
                "audit.bad_offset",
                f"offset 为 {offset}，应为不小于 0 的整数。",
                f"`offset` was {offset} but is expected to be 0 or more.",
            )
        )


def filter_audit(log: pd.DataFrame, actor: str | None, action: str | None) -> pd.DataFrame:
    """Rows whose actor contains ``actor`` and whose action is ``action`` or in its family,
    newest first."""
    keep = pd.Series(True, index=log.index)
    if actor:
        keep &= log["actor"].astype("string").str.contains(actor, regex=False).fillna(False)
    if action:
        actions = log["action"].astype("string")
        keep &= (actions == action) | actions.str.startswith(action + ".").fillna(False)
    return log.loc[keep.to_numpy()].iloc[::-1]


def _detail(text: object) -> Any:
    try:
        return json.loads(str(text))
    except ValueError:
        return text


def _row(at: Any, actor: Any, action: Any, target: Any, text: Any) -> AuditRow:
    detail = _detail(text)
    origin = detail.get("from") if isinstance(detail, dict) else None
    return AuditRow.model_validate(
        {
            "at": str(at),
            "actor": str(actor),
            "action": str(action),
            "target": str(target),
            "from": str(origin) if origin is not None else None,
            "detail": detail,
        }
    )


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
    check_page(limit, offset)
    chosen = filter_audit(ws.audit(), actor, action)
    page = chosen.iloc[offset : offset + limit]
    rows = [
        _row(*values)
        for values in zip(
            page["at"], page["actor"], page["action"], page["target"], page["detail"], strict=True
        )
    ]
    audit(
        request,
        principal,
        "audit.read",
        "audit_log",
        {"rows": len(rows), "actor": actor, "action": action, "offset": offset},
    )
    return AuditPage(total=len(chosen), limit=limit, offset=offset, rows=rows)
