"""Problems found by hand and campaigns: new rows written in place in the workspace."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import pyproj
import shapely

from geoservice.base.errors import ConflictError, OptionError, WorkspaceError, message
from geoservice.base.gpkg_sql import audit, gpkg_blob
from geoservice.base.villages import read_villages, resolve_village
from geoservice.base.workspace import Workspace, now_iso
from geoservice.workflow.states import check_state
from geoservice.workflow.store import append_history, transaction
from layers.codes import CATEGORIES, category_from_text, department_codes

__all__ = [
    "add_campaign",
    "add_problem",
    "default_departments",
    "departments_from_text",
    "insert_problem",
    "problem_fields",
]


def default_departments(category: str) -> list[str]:
    """Lead then cooperating departments of ``category`` under the routing rules."""
    from geoservice.analysis.rules import load_rules

    rule = load_rules().routing.get(category)
    return [rule.lead, *rule.cooperating] if rule is not None else []


def _category(text: str) -> str:
    cat = category_from_text(pd.Series([text], dtype="string")).iloc[0]
    if pd.isna(cat) or (cat == "other" and text.strip() not in ("other", "其他")):
        known = "、".join(zh for zh, _ in CATEGORIES.values())
        raise OptionError(
            message(
                "workflow.bad_category",
                f"--category 为“{text}”，应为问题类别代码或中文名之一：{known}。",
                f"`category` was {text!r} but is expected to be a category code or Chinese "
                f"name: {', '.join(CATEGORIES)}.",
            )
        )
    return str(cat)


def departments_from_text(text: str | None, category: str) -> list[str]:
    """Department codes named in ``text`` (codes or names, comma-separated).

    Empty ``text`` gives the routing rules' departments of ``category``; a name that is
    not a department raises :class:`OptionError`.
    """
    if not text:
        return default_departments(category)
    codes, unknown = department_codes(pd.Series([text], dtype="string"))
    if unknown:
        raise OptionError(
            message(
                "workflow.bad_department",
                f"--cc 中的部门“{'、'.join(sorted(unknown))}”无法识别；请使用部门代码或名称，如 agriculture、镇郊派出所。",
                f"`cc` names unknown departments {', '.join(sorted(unknown))}; use department "
                "codes or names such as agriculture or 镇郊派出所.",
            )
        )
    value = codes.iloc[0]
    return [] if pd.isna(value) else str(value).split(",")


def _next_id(con: Any, found_on: date) -> str:
    prefix = f"SG{found_on:%Y%m}-"
    rows = con.execute(
        "SELECT problem_id FROM problems WHERE problem_id LIKE ?", (prefix + "%",)
    ).fetchall()
    numbers = [int(r[0][len(prefix) :]) for r in rows if r[0][len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _campaign_name(con: Any, campaign: str | None) -> str | None:
    if not campaign:
        return None
    row = con.execute(
        "SELECT name FROM campaigns WHERE campaign_id = ? OR name = ?", (campaign, campaign)
    ).fetchone()
    return str(row[0]) if row else campaign


def _location(con: Any, ws: Workspace, lon: float | None, lat: float | None) -> bytes | None:
    if lon is None and lat is None:
        return None
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise OptionError(
            message(
                "workflow.bad_location",
                f"位置为 lon={lon}、lat={lat}，应同时给出 --lon 与 --lat（CGCS2000 经纬度，度）。",
                f"The location was lon={lon}, lat={lat}; give both --lon and --lat in "
                "degrees (CGCS2000 / WGS 84).",
            )
        )
    srs = con.execute(
        "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'problems'"
    ).fetchone()
    crs = ws.crs()
    if srs is None or crs is None:
        raise WorkspaceError(
            message(
                "workflow.no_problems_layer",
                "工作空间还没有问题图层；请先用 geoservice import problems 导入问题清单。",
                "The workspace has no problems layer yet; import a problem list first with "
                "'geoservice import problems'.",
            )
        )
    x, y = pyproj.Transformer.from_crs(4490, crs, always_xy=True).transform(lon, lat)
    return gpkg_blob(shapely.Point(float(x), float(y)), int(srs[0]))


def add_problem(
    ws: Workspace,
    *,
    village: str,
    category: str,
    description: str,
    deadline: date,
    by: str,
    found_on: date | None = None,
    campaign: str | None = None,
    cc: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a problem found by hand (state ``assigned``, version 1); returns its row.

    ``village`` is a village code or name of the villages layer; ``category`` a category
    code or Chinese name; ``cc`` departments (codes or names; default: the routing rule's
    lead and cooperating departments of the category); ``lon``/``lat`` in degrees
    (CGCS2000), stored in the workspace CRS. The id is ``SG<yyyymm>-<nnn>`` of the
    found-on month.
    """
    fields = problem_fields(
        ws, village=village, category=category, deadline=deadline, found_on=found_on, cc=cc
    )
    with transaction(ws, by) as con:
        row = insert_problem(
            con,
            ws,
            **fields,
            description=description,
            by=by,
            campaign=campaign,
            lon=lon,
            lat=lat,
            context=context,
        )
    return row


def problem_fields(
    ws: Workspace,
    *,
    village: str,
    category: str,
    deadline: date,
    found_on: date | None = None,
    cc: str | None = None,
) -> dict[str, Any]:
    """The checked input of a new problem as :func:`insert_problem` takes it
    (``village_code``, ``village_name``, ``category``, ``departments``, ``deadline``,
    ``found_on``), for a caller that adds it in its own transaction.

    Raises
    ------
    OptionError
        An unknown village, category or department; a deadline before ``found_on``
        (default today).
    """
    code, name = resolve_village(village, read_villages(ws))
    cat = _category(category)
    depts = departments_from_text(cc, cat)
    found = found_on or date.today()
    if deadline < found:
        raise OptionError(
            message(
                "workflow.deadline_before_found",
                f"整改期限 {deadline} 早于发现日期 {found}；请检查 --deadline。",
                f"The deadline {deadline} is before the found-on date {found}; check --deadline.",
            )
        )
    return {
        "village_code": code,
        "village_name": name,
        "category": cat,
        "departments": depts,
        "deadline": deadline,
        "found_on": found,
    }


def insert_problem(
    con: Any,
    ws: Workspace,
    *,
    village_code: str,
    village_name: str,
    category: str,
    description: str,
    deadline: date,
    found_on: date,
    by: str,
    campaign: str | None = None,
    departments: list[str] | None = None,
    lon: float | None = None,
    lat: float | None = None,
    note: str = "[added]",
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert a checked problem (state ``assigned``, version 1) inside the caller's open
    workflow transaction (:func:`geoservice.workflow.store.transaction`), with its history
    row (``note``) and audit row; returns its row. :func:`add_problem` checks the input
    first; other records (a change patch verified illegal) call this to add the problem in
    their own transaction.
    """
    geom = _location(con, ws, lon, lat)
    cols = [r[1] for r in con.execute("PRAGMA table_info(problems)")]
    if not cols:
        _location(con, ws, 0.0, 0.0)  # raises: no problems layer
    geom_col = con.execute(
        "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = 'problems'"
    ).fetchone()[0]
    at = now_iso()
    row = {
        "problem_id": _next_id(con, found_on),
        "campaign": _campaign_name(con, campaign),
        "found_on": f"{found_on.isoformat()}T00:00:00",
        "village_code": village_code,
        "village_name": village_name,
        "category": category,
        "description": description,
        "deadline": f"{deadline.isoformat()}T00:00:00",
        "status": check_state("assigned"),
        "cc_departments": ",".join(departments or []) or None,
        "version": 1,
        "updated_at": at,
        "updated_by": by,
    }
    values = {**row, geom_col: geom}
    con.execute(
        f"INSERT INTO problems ({', '.join(f'{c!r}'.replace(chr(39), chr(34)) for c in values)}) "
        f"VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    pid = str(row["problem_id"])
    append_history(con, pid, at, by, None, "assigned", note, [], 1)
    audit(con, at, by, "problem.add", pid, {**(context or {}), **row})
    return row


def add_campaign(
    ws: Workspace,
    *,
    campaign_id: str,
    name: str,
    by: str,
    started_on: date | None = None,
    ended_on: date | None = None,
    departments: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Register a campaign (督查批次); ConflictError if the id is taken."""
    if started_on and ended_on and ended_on < started_on:
        raise OptionError(
            message(
                "workflow.campaign_dates",
                f"结束日期 {ended_on} 早于开始日期 {started_on}；请检查 --end。",
                f"The end date {ended_on} is before the start date {started_on}; check --end.",
            )
        )
    depts = departments_from_text(departments, "other") if departments else []
    row = {
        "campaign_id": campaign_id,
        "name": name,
        "started_on": started_on.isoformat() if started_on else None,
        "ended_on": ended_on.isoformat() if ended_on else None,
        "departments": ",".join(depts) or None,
        "note": note,
        "created_at": now_iso(),
        "created_by": by,
    }
    with transaction(ws, by) as con:
        if con.execute("SELECT 1 FROM campaigns WHERE campaign_id = ?", (campaign_id,)).fetchone():
            raise ConflictError(
                message(
                    "workflow.campaign_exists",
                    f"督查批次编号“{campaign_id}”已存在；请换一个编号。",
                    f"Campaign id {campaign_id!r} already exists; choose another id.",
                )
            )
        con.execute(
            f"INSERT INTO campaigns ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
        audit(con, str(row["created_at"]), by, "campaign.add", campaign_id, row)
    return row
