"""Reading the audit log (Article 6): filters and pages, newest first.

``actor`` keeps rows whose actor contains the text (e.g. ``police`` or a person's name);
``action`` keeps one action (``export``) or a family of them (``import`` matches
``import.replace`` and ``import.append``). Each row gives when, who, what, on what, from
which address (``from``, for requests made through the service) and the full detail.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from geoservice.base.errors import OptionError, message
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import has_table

__all__ = ["MAX_LIMIT", "audit_page", "audit_version", "check_page", "filter_audit"]

MAX_LIMIT = 1000


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


def _row(at: Any, actor: Any, action: Any, target: Any, text: Any) -> dict[str, Any]:
    detail = _detail(text)
    origin = detail.get("from") if isinstance(detail, dict) else None
    return {
        "at": str(at),
        "actor": str(actor),
        "action": str(action),
        "target": str(target),
        "from": str(origin) if origin is not None else None,
        "detail": detail,
    }


def _where(actor: str | None, action: str | None) -> tuple[str, list[str]]:
    """The SQL condition of :func:`filter_audit` (``actor`` contained, case-sensitive;
    ``action`` or its family) and its parameters."""
    terms, params = ["1"], []
    if actor:
        terms.append("instr(actor, ?) > 0")
        params.append(actor)
    if action:
        terms.append("(action = ? OR substr(action, 1, ?) = ?)")
        params += [action, str(len(action) + 1), action + "."]
    return " AND ".join(terms), params


def audit_version(ws: Workspace, actor: str | None, action: str | None) -> tuple[int, int]:
    """How many audit rows match ``actor`` and ``action`` and the id of the newest (0 when
    none): it changes whenever the rows of :func:`audit_page` can (rows are only added)."""
    where, params = _where(actor, action)
    with ws.read_connection() as con:
        if not has_table(con, "audit_log"):
            return (0, 0)
        row = con.execute(f"SELECT count(*), max(id) FROM audit_log WHERE {where}", params)
        count, newest = row.fetchone()
    return int(count), int(newest or 0)


def audit_page(
    ws: Workspace,
    *,
    limit: int = 100,
    offset: int = 0,
    actor: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """One page of the audit rows matching ``actor`` and ``action``, newest first:
    ``total`` (rows matching), ``limit``, ``offset`` and ``rows`` (detail parsed from JSON).

    The page is cut in SQL (``ORDER BY id DESC LIMIT ? OFFSET ?``): only its rows are read.

    Raises
    ------
    OptionError
        Unless ``1 <= limit <= MAX_LIMIT`` and ``offset >= 0``.
    """
    check_page(limit, offset)
    where, params = _where(actor, action)
    with ws.read_connection() as con:
        if not has_table(con, "audit_log"):
            return {"total": 0, "limit": limit, "offset": offset, "rows": []}
        total = int(
            con.execute(f"SELECT count(*) FROM audit_log WHERE {where}", params).fetchone()[0]
        )
        found = con.execute(
            f"SELECT at, actor, action, target, detail FROM audit_log WHERE {where} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
    rows = [_row(*values) for values in found]
    return {"total": total, "limit": limit, "offset": offset, "rows": rows}
