"""Target outcomes at the command line and through re-analyses: states, action records,
history, and what follows a target that is split, merged or resolved."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from geoservice.analysis.identity import IdentityResult
from geoservice.analysis.target_register import read_register, record_identity
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, StaleVersionError
from geoservice.base.workspace import Workspace
from geoservice.cli import targets as targets_cli
from geoservice.workflow.target_actions import (
    change_target,
    record_action,
    state_counts,
    target_list,
    target_rows,
)
from geoservice.workflow.target_store import target_actions, target_history
from tests.support.files import copy_workspace

OFFICE = Principal(user_id="u1", name="林长办", role="office")
# Tests on the analysed sample town (``geoservice demo``, built once for the module) are
# marked slow; the state counts run on tiny frames.


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.builders import run_demo

    return run_demo(tmp_path_factory.mktemp("outcomes"))


@pytest.fixture
def ws(analysed: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "town.gpkg"
    copy_workspace(analysed, path)
    return Workspace(path)


def cli(*args: str) -> dict:  # type: ignore[type-arg]
    root = typer.Typer()
    targets_cli.register(root)
    root.command("version")(lambda: None)  # a second command keeps ``targets`` a group
    res = CliRunner().invoke(root, [*args, "--json"], env={"GEOSERVICE_USER": "clerk"})
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def first_target(ws: Workspace) -> str:
    return str(target_rows(ws)["target_id"].iloc[0])


@pytest.mark.slow
def test_cli_takes_a_target_from_new_to_closed_and_lists_every_change(ws: Workspace) -> None:
    tid, w = first_target(ws), str(ws.path)
    cli("targets", "update", tid, "--to", "dispatched", "-w", w)
    cli("targets", "update", tid, "--to", "in_action", "--expected-version", "2", "-w", w)
    cli(
        "targets",
        "act",
        tid,
        "--action",
        "现场查看",
        "--people",
        "3",
        "--on",
        "2026-12-01",
        "-w",
        w,
    )
    cli(
        "targets", "update", tid, "--to", "case_opened", "--case-number", "林立〔2026〕3号", "-w", w
    )
    cli("targets", "update", tid, "--to", "penalised", "-w", w)
    done = cli("targets", "update", tid, "--to", "closed", "-w", w)
    assert (done["to_state"], done["version"]) == ("closed", 6)
    shown = cli("targets", "show", tid, "-w", w)
    assert (shown["state"], shown["case_number"], shown["next_states"]) == (
        "closed",
        "林立〔2026〕3号",
        [],
    )
    past = cli("targets", "history", tid, "-w", w)
    assert [h["to_state"] for h in past["history"]] == [
        "new",
        "dispatched",
        "in_action",
        "case_opened",
        "penalised",
        "closed",
    ]
    assert [(a["action"], a["people"]) for a in past["actions"]] == [("现场查看", 3)]
    listed = cli("targets", "list", "--state", "closed", "-w", w)["targets"]
    assert [t["target_id"] for t in listed] == [tid]


@pytest.mark.slow
def test_a_stale_version_changes_nothing(ws: Workspace) -> None:
    tid = first_target(ws)
    change_target(ws, OFFICE, tid, "zh", state="dispatched", expected_version=1)
    with pytest.raises(StaleVersionError, match="expected version 1 but it is at version 2"):
        change_target(ws, OFFICE, tid, "zh", state="in_action", expected_version=1)
    assert len(target_history(ws, tid)) == 2


@pytest.mark.slow
def test_an_unknown_state_names_the_states_people_set(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="dispatched, in_action"):
        change_target(ws, OFFICE, first_target(ws), "zh", state="resolved_by_analysis")


@pytest.mark.slow
def test_an_empty_action_is_refused(ws: Workspace) -> None:
    with pytest.raises(OptionError, match="needs what was done"):
        record_action(
            ws,
            OFFICE,
            first_target(ws),
            acted_on=pd.Timestamp("2026-12-01").date(),
            action="  ",
            evidence_folder=None,
        )


def _layer(ws: Workspace) -> pd.DataFrame:
    return pd.DataFrame(ws.read("targets", read_geometry=False))


def test_a_target_split_off_a_worked_on_target_inherits_its_state_and_actions(
    ws: Workspace,
) -> None:
    layer = _layer(ws)
    old = str(layer["target_id"].iloc[0])
    change_target(ws, OFFICE, old, "zh", state="dispatched", expected_version=1)
    day = pd.Timestamp("2026-12-01").date()
    record_action(ws, OFFICE, old, acted_on=day, action="封锁现场", evidence_folder=None)
    child = layer.iloc[[0]].assign(target_id="T-child00001", parcel_ids="x;y")
    lineage = pd.DataFrame(
        {
            "old_id": [old, old],
            "new_id": [old, "T-child00001"],
            "how": ["kept", "split"],
            "shared_parcels": [2, 1],
        }
    )
    ids = pd.Series([*layer["target_id"], "T-child00001"])
    record_identity(ws, pd.concat([layer, child]), IdentityResult(ids, lineage), "2026-12-28", "t")
    register = read_register(ws).set_index("target_id")
    assert register.at["T-child00001", "state"] == "dispatched"
    assert [a for a in target_actions(ws, "T-child00001")["action"]] == ["封锁现场"]
    assert old in set(target_history(ws, "T-child00001")["target_id"])


@pytest.mark.slow
def test_a_merged_target_leaves_the_list_and_a_resolved_one_stays(ws: Workspace) -> None:
    layer = _layer(ws)
    keep, merged, gone = (str(t) for t in layer["target_id"].iloc[:3])
    change_target(ws, OFFICE, gone, "zh", state="dispatched", expected_version=1)
    rest = layer[~layer["target_id"].isin([merged, gone])]
    lineage = pd.DataFrame(
        {
            "old_id": [keep, merged, gone],
            "new_id": [keep, keep, None],
            "how": ["kept", "merged", "resolved"],
            "shared_parcels": [2, 1, 0],
        }
    )
    result = IdentityResult(rest["target_id"].reset_index(drop=True), lineage)
    record_identity(ws, rest, result, "2026-12-28", "t")
    register = read_register(ws).set_index("target_id")
    assert (register.at[merged, "merged_into"], register.at[merged, "in_layer"]) == (keep, 0)
    assert (register.at[gone, "state"], register.at[gone, "in_layer"]) == (
        "resolved_by_analysis",
        0,
    )
    assert target_history(ws, gone)["to_state"].tolist()[-1] == "resolved_by_analysis"
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        stored = con.execute("SELECT count(*) FROM target_lineage").fetchone()[0]
    assert stored >= 3
    listed = {t["target_id"]: t for t in target_list(ws, OFFICE, "en")}
    assert listed[gone]["state_label"] == "resolved by analysis"


def test_state_counts_count_each_target_once_per_department() -> None:
    rows = pd.DataFrame(
        {
            "target_id": ["A", "B", "C"],
            "lead_department": ["police", "police", "emergency"],
            "cooperating_departments": ["agriculture;police", None, "police"],
            "state": ["new", "closed", "new"],
        }
    )
    counts = state_counts(rows).set_index(["department", "state"])["targets"]
    assert counts.to_dict() == {
        ("agriculture", "new"): 1,
        ("emergency", "new"): 1,
        ("police", "closed"): 1,
        ("police", "new"): 2,
    }


def test_state_counts_of_no_targets_is_empty() -> None:
    empty = pd.DataFrame(
        {"target_id": [], "lead_department": [], "cooperating_departments": [], "state": []}
    )
    assert state_counts(empty).empty


@pytest.mark.slow
def test_department_report_counts_targets_per_department_by_state(ws: Workspace) -> None:
    from datetime import date

    from geoservice.reports.departments import department_report

    rows = target_rows(ws)
    tid, lead = str(rows["target_id"].iloc[0]), str(rows["lead_department"].iloc[0])
    change_target(ws, OFFICE, tid, "zh", state="dispatched", expected_version=1)
    report = department_report(ws, date(2026, 11, 1), date(2026, 11, 30))
    led = rows[rows["lead_department"] == lead]
    states = report.target_states.loc[lead]
    assert (states["dispatched"], states["new"]) == (1, len(led) - 1 + _supported(rows, lead))
    row = report.departments.set_index("department").loc[lead]
    assert row["targets_open"] == states.sum()
    assert report.to_dict()["target_states"][lead]["dispatched"] == 1


def _supported(rows: pd.DataFrame, code: str) -> int:
    coop = rows["cooperating_departments"].fillna("").str.split(";").map(lambda xs: code in xs)
    return int((coop & (rows["lead_department"] != code)).sum())
