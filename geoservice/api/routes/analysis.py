"""Analysis runs over the web (研判).

``POST /analysis/runs`` (office)
    Runs the analysis at ``as_of`` (JSON ``{"as_of": "YYYY-MM-DD"}``, default today) with
    the effective rules and answers 201 with the summary ``geoservice analyze --json``
    prints: counts (flagged parcels, targets by priority and by lead department, criminal
    targets), the unmatched complaints and problems, the rules hash and the duration.
``GET /analysis/runs/latest`` (office, department)
    The latest run record (when, who, as of which date, rules hash, input hashes,
    counts); 404 before the first run.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel

from geoservice.analysis.effective_rules import department_labels, effective_rules
from geoservice.api.deps import LangDep, SettingsDep, WorkspaceDep, audit, require
from geoservice.api.limits import ShortText
from geoservice.base import dates
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, message
from geoservice.workflow.access_rules import json_records

router = APIRouter(tags=["analysis"])


class RunIn(BaseModel):
    """The evaluation date of a run (``YYYY-MM-DD``; today when left out)."""

    as_of: ShortText | None = None


class RunSummary(BaseModel):
    workspace: str
    as_of: str
    rules_hash: str
    duration_s: float
    counts: dict[str, Any]
    lead_department_names: dict[str, str]
    unmatched_complaints: list[dict[str, Any]]
    unmatched_problems: list[dict[str, Any]]


class RunRecord(BaseModel):
    run_at: str
    actor: str
    as_of: str
    rules_hash: str
    inputs: dict[str, Any]
    counts: dict[str, Any]
    duration_s: float


def parse_as_of(value: str | None) -> date:
    """The ``as_of`` date; today when not given; OptionError for anything but YYYY-MM-DD."""
    return dates.parse_day(value, "as_of", "analysis.bad_as_of")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ``YYYY-MM-DD``, missing values as None, no geometry."""
    return json_records(pd.DataFrame(frame.drop(columns="geometry", errors="ignore")))


@router.post("/analysis/runs", response_model=RunSummary, status_code=201)
def run_analysis(
    request: Request,
    principal: Annotated[Principal, require("office")],
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    body: RunIn | None = None,
) -> RunSummary:
    """Run the analysis and store parcel risk and targets (研判); 201 with the summary."""
    from geoservice.analysis.run import analyze

    day = parse_as_of(body.as_of if body else None)
    rules = effective_rules(settings)
    # The stored ``reasons`` column follows the service language, not the caller's: both
    # languages are kept in ``target_reasons`` anyway.
    result = analyze(ws, as_of=day, rules=rules, actor=principal.actor, lang=settings.lang)
    counts = result.counts()
    names = department_labels(settings)
    idx = 1 if lang == "en" else 0
    summary = RunSummary(
        workspace=str(ws.path),
        as_of=day.isoformat(),
        rules_hash=result.rules_hash,
        duration_s=round(result.duration_s, 3),
        counts=counts,
        lead_department_names={
            code: names.get(code, (code, code))[idx] for code in counts["targets_by_lead"]
        },
        unmatched_complaints=records(result.unmatched_complaints),
        unmatched_problems=records(result.unmatched_problems),
    )
    audit(
        request,
        principal,
        "analysis.run",
        "targets",
        {"as_of": summary.as_of, "rules_hash": summary.rules_hash, "targets": counts["targets"]},
    )
    return summary


@router.get("/analysis/runs/latest", response_model=RunRecord)
def latest_run(
    request: Request,
    principal: Annotated[Principal, require("office", "department")],
    ws: WorkspaceDep,
) -> RunRecord:
    """The latest analysis run (最近一次研判); 404 when the analysis has never run."""
    runs = ws.runs()
    if not len(runs):
        raise NotFoundError(
            message(
                "analysis.no_run",
                "尚未进行过研判；请镇林长办先运行研判（POST /analysis/runs 或 geoservice analyze）。",
                "The analysis has not been run yet; the forest-chief office runs it first "
                "(POST /analysis/runs or geoservice analyze).",
            )
        )
    row = runs.iloc[-1]
    record = RunRecord(
        run_at=str(row["run_at"]),
        actor=str(row["actor"]),
        as_of=str(row["as_of"]),
        rules_hash=str(row["rules_hash"]),
        inputs=json.loads(row["inputs"]),
        counts=json.loads(row["counts"]),
        duration_s=float(row["duration_s"]),
    )
    audit(request, principal, "analysis.latest", "analysis_runs", {"run_at": record.run_at})
    return record
