"""Meeting reports over the web (Article 9).

``GET /reports/departments?from=&to=&as_of=&format=html|xlsx&town=``
    The department report for the forest-chief meeting (部门履职情况汇报) for the period
    ``from``–``to`` (both included), overdue evaluated at ``as_of`` (default ``to``): HTML
    shown in the browser, or an XLSX workbook to download.

Who: the office, which prepares the meeting, and the departments, which report at it
(Article 9) and need the same figures to prepare; the report is the town-wide document
tabled at the meeting. Villages and viewers: 403.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from geoservice.api.deps import LangDep, WorkspaceDep, audit, require
from geoservice.api.responses import download, scratch_folder
from geoservice.base import dates
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message

router = APIRouter(tags=["reports"])

MEDIA = {
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def query_date(value: str | None, name: str) -> date:
    """A ``YYYY-MM-DD`` query parameter; OptionError naming it when missing or malformed."""
    day = dates.parse_date(value, name, "report.bad_date")
    if day is None:
        raise OptionError(
            message(
                "report.missing_date",
                f"缺少查询参数 {name}；请给出 YYYY-MM-DD 格式的日期，如 {name}=2026-11-01。",
                f"The query parameter `{name}` is missing; give a date YYYY-MM-DD, e.g. "
                f"{name}=2026-11-01.",
            )
        )
    return day


def report_format(value: str | None) -> str:
    """``html`` (default) or ``xlsx``; OptionError otherwise."""
    chosen = (value or "html").strip().lower()
    if chosen not in MEDIA:
        raise OptionError(
            message(
                "report.bad_format",
                f"format 为“{value}”，应为 html 或 xlsx。",
                f"`format` was {value!r} but is expected to be html or xlsx.",
            )
        )
    return chosen


@router.get("/reports/departments", response_class=FileResponse)
def departments_report(
    request: Request,
    principal: Annotated[Principal, require("office", "department")],
    ws: WorkspaceDep,
    lang: LangDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    as_of: str | None = None,
    fmt: Annotated[str | None, Query(alias="format")] = None,
    town: str | None = None,
) -> FileResponse:
    """The Article 9 department report (部门履职情况汇报) as HTML or XLSX."""
    from geoservice.reports.departments import department_report
    from geoservice.reports.html import write_html
    from geoservice.reports.xlsx import write_xlsx

    kind = report_format(fmt)
    first, last = query_date(start, "from"), query_date(end, "to")
    day = query_date(as_of, "as_of") if as_of else None
    report = department_report(ws, first, last, day, town=town, lang=lang)
    stem = f"{first.isoformat()}_{last.isoformat()}"
    shown = (
        f"departments_report_{stem}.{kind}" if lang == "en" else f"部门履职情况汇报_{stem}.{kind}"
    )
    fallback = f"departments_report_{stem}.{kind}"
    write = write_html if kind == "html" else write_xlsx
    with scratch_folder("geoservice-report-") as folder:
        path = write(report, folder / fallback, lang)
        audit(
            request,
            principal,
            "report.departments",
            shown,
            {
                "format": kind,
                "lang": lang,
                "period_start": first.isoformat(),
                "period_end": last.isoformat(),
                "as_of": report.as_of.isoformat(),
                "departments": len(report.departments),
            },
        )
        disposition = "inline" if kind == "html" else "attachment"
        return download(path, folder, MEDIA[kind], shown, fallback, disposition)
