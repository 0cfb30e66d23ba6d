"""An analysis run and its summary, and the latest run record (研判).

What ``POST /analysis/runs`` answers and ``geoservice analyze --json`` prints: counts
(flagged parcels, targets by priority and by lead department, criminal targets), the
unmatched complaints and problems, the rules hash and the duration in seconds.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd

from geoservice.analysis.rules import Rules
from geoservice.base import dates
from geoservice.base.errors import NotFoundError, message
from geoservice.base.records import json_records
from geoservice.base.workspace import Workspace
from layers.messages import Lang

__all__ = ["latest_run", "parse_as_of", "records", "run_summary"]


def parse_as_of(value: str | None) -> date:
    """The ``as_of`` date; today when not given; OptionError for anything but YYYY-MM-DD."""
    return dates.parse_day(value, "as_of", "analysis.bad_as_of")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ``YYYY-MM-DD``, missing values as None, no geometry."""
    return json_records(pd.DataFrame(frame.drop(columns="geometry", errors="ignore")))


def run_summary(
    ws: Workspace,
    *,
    as_of: str | None,
    rules: Rules,
    actor: str,
    names: dict[str, tuple[str, str]],
    lang: Lang,
    stored_lang: Lang,
) -> dict[str, Any]:
    """Run the analysis at ``as_of`` (YYYY-MM-DD, today when None), store parcel risk and
    targets, and return the summary with lead department names in ``lang``.

    The stored ``reasons`` column is written in ``stored_lang`` (the service language);
    both languages are kept in ``target_reasons`` anyway.
    """
    from geoservice.analysis.run import analyze  # the analysis stack, loaded on first run

    day = parse_as_of(as_of)
    result = analyze(ws, as_of=day, rules=rules, actor=actor, lang=stored_lang)
    counts = result.counts()
    idx = 1 if lang == "en" else 0
    return {
        "workspace": str(ws.path),
        "as_of": day.isoformat(),
        "rules_hash": result.rules_hash,
        "duration_s": round(result.duration_s, 3),
        "counts": counts,
        "lead_department_names": {
            code: names.get(code, (code, code))[idx] for code in counts["targets_by_lead"]
        },
        "unmatched_complaints": records(result.unmatched_complaints),
        "unmatched_problems": records(result.unmatched_problems),
    }


def latest_run(ws: Workspace) -> dict[str, Any]:
    """The latest analysis run: when, who, as of which date, rules hash, input hashes,
    counts and duration (seconds); NotFoundError when the analysis has never run."""
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
    return {
        "run_at": str(row["run_at"]),
        "actor": str(row["actor"]),
        "as_of": str(row["as_of"]),
        "rules_hash": str(row["rules_hash"]),
        "inputs": json.loads(row["inputs"]),
        "counts": json.loads(row["counts"]),
        "duration_s": float(row["duration_s"]),
    }
