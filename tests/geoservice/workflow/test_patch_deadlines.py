"""Stage deadlines of change patches and their escalation, with the problems' levels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from geoservice.base.errors import OptionError
from geoservice.workflow.escalation import Thresholds
from geoservice.workflow.patch_deadlines import stage_days, stage_deadlines

AS_OF = date(2026, 11, 28)


def frame(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
    """Patches as (state, stage_started_on)."""
    return pd.DataFrame(
        rows, columns=["state", "stage_started_on"], index=range(10, 10 + len(rows))
    )


def test_field_verification_is_due_30_days_after_dispatch() -> None:
    due = stage_deadlines(frame([("dispatched", "2026-11-01")]), AS_OF)
    assert due["stage_due"].tolist() == ["2026-12-01"]
    assert (due["days_overdue"].iloc[0], due["level"].iloc[0]) == (0, "reminder")


@pytest.mark.parametrize(
    ("started", "days", "level"),
    [
        # dispatched: due 30 days after the start; the problems' thresholds 1 / 15 / 30
        ("2026-10-28", 1, "letter"),
        ("2026-10-14", 15, "supervision"),
        ("2026-09-29", 30, "listed"),
        ("2025-12-01", 332, "listed"),
    ],
)
def test_an_overdue_stage_escalates_as_a_problem_does(started: str, days: int, level: str) -> None:
    due = stage_deadlines(frame([("dispatched", started)]), AS_OF)
    assert (due["days_overdue"].iloc[0], due["level"].iloc[0]) == (days, level)


def test_each_stage_has_its_own_period() -> None:
    states = ["interpreted", "verified", "investigating", "rectifying", "awaiting_acceptance"]
    due = stage_deadlines(frame([(s, "2026-01-01") for s in states]), AS_OF)
    assert due["stage_due"].tolist() == [
        "2026-01-08",
        "2026-01-16",
        "2026-03-02",
        "2026-04-01",
        "2026-01-31",
    ]


def test_a_closed_patch_has_no_deadline_and_never_escalates() -> None:
    due = stage_deadlines(frame([("closed", "2025-01-01"), ("dispatched", None)]), AS_OF)
    assert due["stage_due"].tolist() == [None, None]
    assert due["level"].tolist() == ["none", "none"]
    assert due.index.tolist() == [10, 11]


def test_no_patches_give_an_empty_aligned_frame() -> None:
    due = stage_deadlines(frame([]), AS_OF)
    assert due.empty
    assert list(due.columns) == ["stage_due", "days_overdue", "level"]


def test_the_escalation_thresholds_of_the_problems_apply(tmp_path: Path) -> None:
    strict = Thresholds(reminder_days=0, letter_days=1, supervision_days=2, listed_days=3)
    due = stage_deadlines(frame([("dispatched", "2026-10-26")]), AS_OF, thresholds=strict)
    assert due["level"].iloc[0] == "listed"


def test_a_rules_file_changes_the_stage_period(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("patch_workflow:\n  stage_days:\n    dispatched: 10\n", encoding="utf-8")
    assert stage_days(rules)["dispatched"] == 10
    due = stage_deadlines(frame([("dispatched", "2026-11-01")]), AS_OF, rules_path=rules)
    assert (due["stage_due"].iloc[0], due["days_overdue"].iloc[0]) == ("2026-11-11", 17)


def test_a_stage_period_below_one_day_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("patch_workflow:\n  stage_days:\n    dispatched: 0\n", encoding="utf-8")
    with pytest.raises(OptionError, match=r"patch_workflow\.stage_days\.dispatched"):
        stage_days(rules)


def test_an_unknown_stage_in_the_rules_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("patch_workflow:\n  stage_days:\n    surveyed: 5\n", encoding="utf-8")
    with pytest.raises(OptionError, match=r"patch_workflow\.stage_days\.surveyed"):
        stage_days(rules)
