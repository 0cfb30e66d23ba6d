"""Who may read a stored complaint, and the filing date of a complaint taken over the web.

The complaints layer is ``restricted`` by default in the sharing register, which a
department may not read: it is refused from the layer's classification alone, before the
id is looked up, so nothing about the complaint leaks (not even whether it exists). The
reporter's masked phone is shown only to the office.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from geoservice.base import dates
from geoservice.base.access import Principal
from geoservice.base.errors import PermissionDeniedError, message
from geoservice.base.workspace import Workspace
from geoservice.intake.store import complaints_classification, read_complaint

__all__ = ["parse_reported_at", "readable_complaint"]

_CLASS_ZH = {"public": "公开", "internal": "内部", "restricted": "受限"}


def parse_reported_at(value: str | None) -> date | None:
    """``reported_at`` as a date (None when left out; a date and time gives its date);
    OptionError unless YYYY-MM-DD."""
    return dates.parse_date(
        value, "reported_at", "complaints.bad_date", empty_means_today=True, with_time=True
    )


def readable_complaint(
    ws: Workspace, principal: Principal, complaint_id: str
) -> tuple[dict[str, Any], str]:
    """One stored complaint as the caller may see it, and the layer's classification.

    Raises
    ------
    PermissionDeniedError
        When the caller's role may not read the complaints layer's classification.
    NotFoundError
        Naming ``complaint_id`` when there is no such complaint.
    """
    level = complaints_classification(ws)
    if not principal.can_read(level):
        raise PermissionDeniedError(
            message(
                "complaints.classified",
                f"举报图层的密级为“{_CLASS_ZH.get(level, level)}”（{level}），你的角色不能查看；"
                "如工作需要，请镇林长办调整该图层的共享密级或代为查询。",
                f"The complaints layer is classified {level!r}, which your role may not read; "
                "ask the forest-chief office to change its classification or to look it up.",
            )
        )
    row = read_complaint(ws, complaint_id)
    if principal.role != "office":
        row.pop("reporter_phone_masked", None)
    return row, level
