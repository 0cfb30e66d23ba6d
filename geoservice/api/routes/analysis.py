"""Analysis runs over the web (研判).

``POST /analysis/runs`` (office)
    Runs the analysis at ``as_of`` (JSON ``{"as_of": "YYYY-MM-DD"}``, default today) with
    the effective rules and answers 201 with the summary ``geoservice analyze --json``
    prints: counts (flagged parcels, targets by priority and by lead department, criminal
    targets), the unmatched complaints and problems, the rules hash and the duration.
    Then every change patch established illegal gets its problem and, above a criminal
    threshold, its target (:mod:`geoservice.workflow.patch_links`).
``GET /analysis/runs/latest`` (office, department)
    The latest run record (when, who, as of which date, rules hash, input hashes,
    counts); 404 before the first run.

Both answers are built by :mod:`geoservice.analysis.run_summary`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from geoservice.analysis.run_summary import latest_run as read_latest_run
from geoservice.analysis.run_summary import run_summary
from geoservice.api.deps import (
    DepartmentNamesDep,
    LangDep,
    RulesDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    require,
)
from geoservice.api.limits import ShortText
from geoservice.base.access import Principal
from geoservice.workflow.patch_links import link_illegal_patches

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


@router.post("/analysis/runs", response_model=RunSummary, status_code=201)
def run_analysis(
    request: Request,
    principal: Annotated[Principal, require("office")],
    ws: WorkspaceDep,
    settings: SettingsDep,
    rules: RulesDep,
    names: DepartmentNamesDep,
    lang: LangDep,
    body: RunIn | None = None,
) -> RunSummary:
    """Run the analysis and store parcel risk and targets (研判); 201 with the summary."""
    summary = RunSummary(
        **run_summary(
            ws,
            as_of=body.as_of if body else None,
            rules=rules,
            actor=principal.actor,
            names=names,
            lang=lang,
            stored_lang=settings.lang,
        )
    )
    # every patch established illegal gets its problem (and its target above a threshold)
    link_illegal_patches(ws, date.fromisoformat(summary.as_of), principal.actor, rules=rules)
    detail = {
        "as_of": summary.as_of,
        "rules_hash": summary.rules_hash,
        "targets": summary.counts["targets"],
    }
    audit(request, principal, "analysis.run", "targets", detail)
    return summary


@router.get("/analysis/runs/latest", response_model=RunRecord)
def latest_run(
    request: Request,
    principal: Annotated[Principal, require("office", "department")],
    ws: WorkspaceDep,
) -> RunRecord:
    """The latest analysis run (最近一次研判); 404 when the analysis has never run."""
    record = RunRecord(**read_latest_run(ws))
    audit(request, principal, "analysis.latest", "analysis_runs", {"run_at": record.run_at})
    return record
