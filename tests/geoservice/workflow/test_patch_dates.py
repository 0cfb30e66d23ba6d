"""A patch's first stage starts on the date its list gives (下发日期, 后期影像时间, 检查日期),
never after the registration day, so a patch unverified since last year is overdue."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geoservice.base.workspace import Workspace
from geoservice.workflow.escalation_docs import due_items
from geoservice.workflow.patch_links import link_illegal_patches
from geoservice.workflow.patch_store import read_patch_states
from tests.support.builders import run_demo
from tests.support.patches import ILLEGAL, LEGAL, UNVERIFIED, patch_workspace

AS_OF = date(2026, 11, 28)
# 后期影像时间 is cut to 10 bytes in a shapefile's GBK field name
NO_DATES = {"后期影像时": None, "下发日期": None, "检查日期": None}


def dated(row: dict[str, Any], **dates: str) -> dict[str, Any]:
    """``row`` of tests.support.patches with dates under the template headers."""
    names = {"imaged": "后期影像时", "dispatched": "下发日期", "checked": "检查日期"}
    return {**row, **NO_DATES, **{names[k]: v for k, v in dates.items()}}


def registered(tmp_path: Path, rows: list[dict[str, Any]], day: date = AS_OF) -> pd.DataFrame:
    """The patch states at AS_OF after registration on ``day`` (the analysis's as-of)."""
    ws = patch_workspace(tmp_path, rows)
    link_illegal_patches(ws, day, "analysis")
    return read_patch_states(ws, AS_OF).set_index("patch_id")


def test_a_dispatched_patch_is_due_from_its_dispatch_day(tmp_path: Path) -> None:
    row = registered(tmp_path, [dated(UNVERIFIED, dispatched="2025/9/23")]).iloc[0]
    assert (row["state"], row["stage_started_on"]) == ("dispatched", "2025-09-23")
    # 30 days for the field check: due 2025-10-23, 401 days overdue at AS_OF
    assert (row["stage_due"], row["days_overdue"], row["level"]) == ("2025-10-23", 401, "listed")


def test_an_interpreted_patch_is_due_from_its_image_date(tmp_path: Path) -> None:
    row = registered(tmp_path, [dated(UNVERIFIED, imaged="20261110")]).iloc[0]
    assert (row["state"], row["stage_started_on"]) == ("interpreted", "2026-11-10")
    assert (row["stage_due"], row["days_overdue"]) == ("2026-11-17", 11)


def test_the_dispatch_day_wins_over_the_image_date(tmp_path: Path) -> None:
    row = registered(
        tmp_path, [dated(UNVERIFIED, imaged="20261001", dispatched="2026-11-20")]
    ).iloc[0]
    assert (row["state"], row["stage_started_on"], row["level"]) == (
        "dispatched",
        "2026-11-20",
        "none",
    )


def test_a_patch_without_dates_starts_on_the_registration_day(tmp_path: Path) -> None:
    row = registered(tmp_path, [dated(UNVERIFIED)]).iloc[0]
    assert (row["state"], row["stage_started_on"]) == ("interpreted", "2026-11-28")


def test_a_checked_patch_records_its_check_day_as_its_verification(tmp_path: Path) -> None:
    rows = [
        dated(ILLEGAL, dispatched="2026/8/1", checked="2026-09-10"),
        dated(LEGAL, dispatched="2026/8/1", checked="2026-08-20"),
    ]
    got = registered(tmp_path, rows)
    illegal, legal = got.loc[ILLEGAL["PAN_NO_TB"]], got.loc[LEGAL["PAN_NO_TB"]]
    assert (illegal["state"], illegal["verified_on"]) == ("verified", "2026-09-10")
    # the verified stage (open the investigation within 15 days) runs from the check
    assert (illegal["stage_started_on"], illegal["stage_due"]) == ("2026-09-10", "2026-09-25")
    assert (legal["state"], legal["verified_on"], legal["level"]) == (
        "closed",
        "2026-08-20",
        "none",
    )


def test_a_check_day_without_a_legality_verifies_nothing(tmp_path: Path) -> None:
    row = registered(
        tmp_path, [dated(UNVERIFIED, dispatched="2026/10/1", checked="2026-10-20")]
    ).iloc[0]
    assert (row["state"], row["stage_started_on"], row["verified_on"]) == (
        "dispatched",
        "2026-10-01",
        None,
    )


def test_a_date_after_the_registration_day_is_taken_as_that_day(tmp_path: Path) -> None:
    # an analysis run as of a day before the list was handed down
    rows = [dated(UNVERIFIED, dispatched="2026/3/1"), dated(ILLEGAL, checked="2026-03-05")]
    got = registered(tmp_path, rows, day=date(2026, 1, 10))
    assert got["stage_started_on"].tolist() == ["2026-01-10", "2026-01-10"]
    assert got.loc[ILLEGAL["PAN_NO_TB"], "verified_on"] == "2026-01-10"


def test_a_layer_imported_before_the_dates_were_read_registers_on_the_day(
    tmp_path: Path,
) -> None:
    ws = patch_workspace(tmp_path, [dated(UNVERIFIED, dispatched="2025/9/23")])
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        for column in ("imaged_on", "dispatched_on", "checked_on"):
            con.execute(f'ALTER TABLE patches DROP COLUMN "{column}"')
    link_illegal_patches(ws, AS_OF, "analysis")
    row = read_patch_states(ws, AS_OF).iloc[0]
    assert (row["state"], row["stage_started_on"]) == ("interpreted", "2026-11-28")


@pytest.mark.slow
def test_on_the_sample_town_patches_unverified_since_2025_are_escalated(
    tmp_path: Path,
) -> None:
    ws = Workspace(run_demo(tmp_path))
    states = read_patch_states(ws, AS_OF)
    waiting = states[states["state"] == "dispatched"]
    since_2025 = waiting[waiting["patch_id"].str[6:10] == "2025"]
    assert len(since_2025) == 9
    assert (since_2025["stage_due"] < "2026-01-01").all()
    assert (since_2025["level"] == "listed").all()
    due = due_items(ws, AS_OF)
    covered = set(due.loc[due["kind"] == "patch", "item_id"])
    assert set(since_2025["patch_id"]) <= covered
    # the October image batch is interpreted, not handed down: due a week after imaging
    batch = states[states["state"] == "interpreted"]
    assert batch["patch_id"].tolist() == ["44188220260015", "44188220260045"]
    assert batch["stage_started_on"].tolist() == ["2026-10-05", "2026-10-05"]
