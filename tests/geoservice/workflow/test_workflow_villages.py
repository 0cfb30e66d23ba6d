from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

from geoservice.base.errors import NotFoundError
from geoservice.base.villages import match_villages, read_villages, resolve_village
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import write_frame
from geoservice.files.importing import import_file
from geoservice.workflow.escalation import escalate
from geoservice.workflow.imports import import_problems
from geoservice.workflow.store import history, read_problems, update_problem
from geoservice.workflow.villages import village_status
from tests.support.workflow import SAMPLE, problems_csv, workspace

VILLAGES = pd.DataFrame(
    {"village_code": ["441882101202", "441882101203"], "village_name": ["丰阳村", "沙坪村"]},
    dtype="string",
)


def _frame(deadline: str, status: str = "assigned") -> pd.DataFrame:
    return pd.DataFrame({"status": [status], "deadline": [pd.Timestamp(deadline)]})


@pytest.mark.parametrize(("as_of", "overdue"), [("2026-11-30", False), ("2026-12-01", True)])
def test_overdue_starts_the_day_after_the_deadline(as_of: str, overdue: bool) -> None:
    esc = escalate(_frame("2026-11-30"), date.fromisoformat(as_of))
    assert bool(esc["overdue"].iloc[0]) is overdue


def test_reported_problem_past_deadline_is_not_overdue() -> None:
    assert not escalate(_frame("2026-01-01", "reported"), date(2026, 11, 28))["overdue"].iloc[0]


@pytest.mark.parametrize(
    ("as_of", "level"),
    [
        ("2026-11-01", "none"),
        ("2026-11-23", "reminder"),
        ("2026-11-30", "reminder"),
        ("2026-12-01", "letter"),
        ("2026-12-14", "letter"),
        ("2026-12-15", "supervision"),
        ("2026-12-29", "supervision"),
        ("2026-12-30", "listed"),
    ],
)
def test_escalation_level_by_days(as_of: str, level: str) -> None:
    esc = escalate(_frame("2026-11-30"), date.fromisoformat(as_of))
    assert esc["escalation"].iloc[0] == level


@pytest.mark.parametrize(
    ("name", "code"),
    [("沙坪村", "441882101203"), ("沙坪", "441882101203"), (" 丰阳 村委会", "441882101202")],
)
def test_village_name_matches_exactly_or_without_suffix(name: str, code: str) -> None:
    s = pd.Series([name], dtype="string")
    matched, unknown = match_villages(pd.Series([pd.NA], dtype="string"), s, VILLAGES)
    assert matched.iloc[0] == code and unknown.empty


def test_unknown_village_name_is_refused_with_suggestion() -> None:
    with pytest.raises(NotFoundError, match=r"'沙平村' is not in .*closest names are: 沙坪村"):
        resolve_village("沙平村", VILLAGES)


@pytest.mark.slow
def test_reimport_merge_keeps_workflow_state_and_adds_new(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "alice")
    csv = problems_csv(tmp_path / "again.csv", [{}, {"问题编号": "P-2"}])
    result = import_problems(ws, csv, actor="t")
    probs = read_problems(ws).set_index("problem_id")
    assert (result.added, result.kept_ids) == (["P-2"], ["P-1"])
    assert probs.loc["P-1", "status"] == "in_progress" and probs.loc["P-1", "version"] == 2
    assert len(history(ws, "P-1")) == 2


@pytest.mark.slow
def test_plain_reimport_restores_state_from_history(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "reported", "alice")
    import_file(ws, tmp_path / "problems.csv", "problems", actor="t")
    row = read_problems(ws).iloc[0]
    assert (row["status"], row["version"], row["updated_by"]) == ("reported", 2, "alice")


@pytest.mark.slow
def test_reimport_replace_overwrites_state_and_records_it(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "alice")
    csv = problems_csv(tmp_path / "again.csv", [{"问题编号": "P-2"}])
    result = import_problems(ws, csv, actor="t", mode="replace")
    assert result.removed == ["P-1"]
    assert read_problems(ws)["problem_id"].tolist() == ["P-2"]
    assert history(ws, "P-1")["to_state"].tolist() == ["assigned", "in_progress", "removed"]


@pytest.mark.slow
def test_sample_town_village_status_matches_problem_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    import_file(ws, SAMPLE / "problems.xlsx", "problems", actor="t")
    status = village_status(ws, date(2026, 11, 28)).set_index("village_code")
    raw = pd.read_excel(SAMPLE / "problems.xlsx", dtype={"所属村": str})
    raw["code"] = _sample_village_codes(raw)
    day = pd.Timestamp("2026-11-28")
    open_ = raw["整改状态"].isin(["未整改", "整改中", "退回"])
    expected = pd.DataFrame(
        {
            "problems": raw.groupby("code").size(),
            "open": open_.groupby(raw["code"]).sum(),
            "overdue": (open_ & (raw["整改期限"] < day)).groupby(raw["code"]).sum(),
            "awaiting_verification": (raw["整改状态"] == "已整改").groupby(raw["code"]).sum(),
            "verified": (raw["整改状态"] == "已销号").groupby(raw["code"]).sum(),
        }
    )
    got = status.loc[expected.index, expected.columns]
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.astype("int64").reset_index(drop=True)
    )
    assert got.index.astype(str).tolist() == expected.index.astype(str).tolist()
    assert status["problems"].sum() == len(raw)
    assert status.loc["441882101208", "problems"] == 0


def _sample_village_codes(raw: pd.DataFrame) -> pd.Series:
    """The village code of each sample problem, worked out here from the file itself.

    所属村 is a name (沙坪村, 沙坪 or 沙坪村委会); where it is empty, the village polygon of
    villages.shp (one row per part for some villages) that contains the point.
    """
    villages = pyogrio.read_dataframe(SAMPLE / "villages.shp").to_crs(4490)
    by_name = dict(zip(villages["XZQMC"], villages["XZQDM"], strict=False))
    named = raw["所属村"].str.removesuffix("委会")
    code = named.map(by_name).fillna((named + "村").map(by_name))
    blank = raw["所属村"].isna()
    points = shapely.points(raw.loc[blank, ["经度", "纬度"]].to_numpy())
    row, part = shapely.STRtree(villages.geometry.to_numpy()).query(points, predicate="within")
    code.loc[raw.index[blank][row]] = villages["XZQDM"].to_numpy()[part]
    assert code.notna().all()
    return code


def _set_problem_villages(
    ws: Workspace, villages: dict[str, tuple[str | None, str | None]]
) -> None:
    """Overwrite the stored village code and name of some problems."""
    frame = ws.read("problems")
    for pid, (code, name) in villages.items():
        frame.loc[frame["problem_id"] == pid, ["village_code", "village_name"]] = [code, name]
    with ws.transaction() as work:
        write_frame(frame, work, "problems")


def test_problems_outside_the_villages_layer_get_rows_of_their_own(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{"问题编号": f"P-{i}"} for i in range(1, 5)])
    _set_problem_villages(
        ws,
        {"P-2": ("441882109999", None), "P-3": (None, None), "P-4": (None, None)},
    )
    status = village_status(ws, date(2026, 12, 5))
    layer, outside = status.iloc[:-2], status.iloc[-2:]
    assert len(layer) == len(read_villages(ws))
    assert layer.loc[layer["village_code"] == "441882101202", "problems"].tolist() == [1]
    assert outside["village_code"].tolist()[0] == "441882109999"
    assert outside["village_code"].isna().tolist() == [False, True]
    assert outside["village_name"].isna().all()
    assert outside["problems"].tolist() == [1, 2]
    assert outside["overdue"].tolist() == [1, 2]
    assert status["problems"].sum() == 4


def test_village_status_without_problems_outside_the_layer_has_one_row_per_village(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path)
    status = village_status(ws, date(2026, 12, 5))
    assert status["village_code"].tolist() == read_villages(ws)["village_code"].tolist()
