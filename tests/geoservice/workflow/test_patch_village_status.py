"""Change-patch progress per village: the figures, their words, and the village status."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from geoservice.base.workspace import Workspace
from geoservice.workflow.patch_progress import (
    PATCH_FIGURE_WORDS,
    PATCH_STATUS_COLUMNS,
    add_patch_progress,
    figure_word,
    patch_flags,
    village_patch_progress,
)
from geoservice.workflow.patch_states import PATCH_STATES
from geoservice.workflow.patch_store import update_patch
from geoservice.workflow.villages import village_status
from tests.support.files import copy_workspace
from tests.support.patches import (
    CONTRADICTORY,
    ILLEGAL,
    LEGAL,
    UNVERIFIED,
    patch_workspace,
)
from tests.support.patches import VILLAGE as PATCH_VILLAGE
from tests.support.workflow import workspace

VILLAGES = pd.DataFrame(
    {"village_code": ["441882101201", "441882101202"], "village_name": ["竹山村", "丰阳村"]}
)


def _states(rows: list[tuple[object, object, str, object, object]]) -> pd.DataFrame:
    """Patch workflow rows: (village_code, village_name, state, legality, days_overdue)."""
    columns = ["village_code", "village_name", "state", "legality", "days_overdue"]
    return pd.DataFrame(rows, columns=columns)


def _status(codes: list[object], names: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"village_code": codes, "village_name": names, "problems": 0})


def test_every_figure_has_one_word_in_both_languages():
    assert list(PATCH_FIGURE_WORDS) == PATCH_STATUS_COLUMNS
    assert [f"patches_{s}" for s in PATCH_STATES] == PATCH_STATUS_COLUMNS[1:8]
    for column in PATCH_STATUS_COLUMNS:
        zh, en = figure_word(column, "zh"), figure_word(column, "en")
        assert zh and en and zh != en
    assert len({figure_word(c) for c in PATCH_STATUS_COLUMNS}) == len(PATCH_STATUS_COLUMNS)


def test_flags_count_state_legality_and_overdue_stage():
    rows = _states(
        [
            ("441882101201", "竹山村", "dispatched", None, 12),
            ("441882101201", "竹山村", "investigating", "illegal", 0),
            ("441882101201", "竹山村", "closed", "legal", None),
            ("441882101201", "竹山村", "verified", "", -3),
        ]
    )
    flags = patch_flags(rows)
    assert flags["patches_dispatched"].tolist() == [1, 0, 0, 0]
    assert flags["patches_field_verified"].tolist() == [0, 1, 1, 0]
    assert flags["patches_illegal"].tolist() == [0, 1, 0, 0]
    assert flags["patches_overdue"].tolist() == [1, 0, 0, 0]
    assert flags.index.equals(rows.index)


def test_no_patches_gives_no_village_rows():
    inside, outside = village_patch_progress(_states([]), VILLAGES)
    assert inside.empty and outside.empty
    out = add_patch_progress(_status(["441882101201"], ["竹山村"]), _states([]), VILLAGES)
    assert out[PATCH_STATUS_COLUMNS].sum().sum() == 0
    assert len(out) == 1


def test_a_patch_written_with_a_short_code_or_only_a_name_counts_for_its_village():
    rows = _states(
        [
            ("441882101201", None, "interpreted", None, 0),
            (None, "丰阳村", "rectifying", "illegal", 4),
            ("0441882101202", "丰阳村", "closed", "legal", 0),
        ]
    )
    out = add_patch_progress(
        _status(["441882101201", "441882101202"], ["竹山村", "丰阳村"]), rows, VILLAGES
    )
    by = out.set_index("village_code")
    assert by.loc["441882101201", "patches"] == 1
    assert by.loc["441882101202", ["patches", "patches_illegal", "patches_overdue"]].tolist() == [
        2,
        1,
        1,
    ]


def test_patches_of_a_village_not_in_the_layer_get_their_own_row_and_join_problem_rows():
    rows = _states(
        [
            ("441882109999", "新村", "dispatched", None, 40),
            ("441882109999", "新村", "dispatched", None, 0),
            (None, None, "interpreted", None, 0),
            ("441882108888", "旧村", "closed", "other", 0),
        ]
    )
    status = _status(["441882101201", "441882101202", "441882108888"], ["竹山村", "丰阳村", "旧村"])
    status.loc[2, "problems"] = 3
    out = add_patch_progress(status, rows, VILLAGES)
    assert len(out) == 5  # the two villages, 旧村 (problems and a patch), 新村, no village
    old = out[out["village_name"] == "旧村"].iloc[0]
    assert (old["problems"], old["patches"], old["patches_closed"]) == (3, 1, 1)
    new = out[out["village_name"] == "新村"].iloc[0]
    assert (new["patches"], new["patches_overdue"], new["patches_dispatched"]) == (2, 1, 2)
    nowhere = out[out["village_code"].isna() & out["village_name"].isna()]
    assert nowhere["patches_interpreted"].tolist() == [1]
    assert out[PATCH_STATUS_COLUMNS].dtypes.eq("int64").all()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_unknown_column_is_its_own_word(lang):
    assert figure_word("not_a_figure", lang) == "not_a_figure"


# --- the village status of a workspace ----------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Villages, a problem of 丰阳村, its four patches and one whose code no village has
    (the import places it by location, in 马岭村)."""
    elsewhere = {**UNVERIFIED, "PAN_NO_TB": "44188220260009", "CUN": "441882109999"}
    rows = [UNVERIFIED, ILLEGAL, LEGAL, CONTRADICTORY, elsewhere]
    return patch_workspace(tmp_path_factory.mktemp("villages"), rows).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "ws.gpkg"
    copy_workspace(template, path)
    return Workspace(path)


def _row(status: pd.DataFrame, code: str) -> dict[str, object]:
    return status[status["village_code"] == code].iloc[0].to_dict()


def test_village_status_counts_the_patches_by_state_legality_and_overdue(ws: Workspace):
    status = village_status(ws, date.today())
    row = _row(status, PATCH_VILLAGE)
    assert row["problems"] == 1
    assert row["patches"] == 4
    assert (row["patches_interpreted"], row["patches_verified"], row["patches_closed"]) == (1, 2, 1)
    assert (row["patches_field_verified"], row["patches_illegal"]) == (3, 1)
    assert row["patches_overdue"] == 0
    assert status[PATCH_STATUS_COLUMNS].sum()["patches"] == 5


def test_a_stage_past_its_deadline_counts_as_overdue(ws: Workspace):
    later = date.today() + timedelta(days=400)
    row = _row(village_status(ws, later), PATCH_VILLAGE)
    assert row["patches_overdue"] == 3  # every patch not closed


def test_a_move_through_the_workflow_shows_in_the_village_status(ws: Workspace):
    update_patch(ws, UNVERIFIED["PAN_NO_TB"], 1, actor="office:t", state="dispatched")
    row = _row(village_status(ws, date.today()), PATCH_VILLAGE)
    assert (row["patches_interpreted"], row["patches_dispatched"]) == (0, 1)


def test_a_workspace_without_patches_has_zero_patch_figures(tmp_path: Path):
    status = village_status(workspace(tmp_path), date.today())
    assert len(status) and status[PATCH_STATUS_COLUMNS].to_numpy().sum() == 0
