"""The kept village status equals a full rebuild after every kind of change."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geoservice.base.gpkg_sql import connect_file
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow import store, store_schema, village_updates
from geoservice.workflow.patch_store import read_patch_states, update_patch
from geoservice.workflow.records import add_problem
from geoservice.workflow.store import read_problems, update_problem
from geoservice.workflow.villages import rebuild_village_status, village_status
from tests.support.builders import write_shp
from tests.support.patches import CONTRADICTORY, ILLEGAL, LEGAL, UNVERIFIED, import_patches
from tests.support.workflow import (
    SAMPLE,
    movable_problems,
    move_problem,
    update_in_another_process,
    workspace,
)

DAY = date.today()
VILLAGE_CHOICES = ["丰阳村", "沙坪村", "441882101202"]


def _same_as_rebuild(ws: Workspace, day: date = DAY) -> pd.DataFrame:
    kept = village_status(ws, day)
    full = rebuild_village_status(ws, day)
    pd.testing.assert_frame_equal(kept, full)
    pd.testing.assert_frame_equal(kept.attrs["unmatched"], full.attrs["unmatched"])
    pd.testing.assert_frame_equal(village_updates.kept_problems(ws, day), read_problems(ws))
    return kept


@pytest.fixture(autouse=True)
def _forget() -> None:
    village_updates.clear_kept()


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of problems not reconciled yet stamps them with the time of the read; two
    reads a second apart would differ in ``updated_at`` alone."""
    monkeypatch.setattr(store, "now_iso", lambda: "2026-12-06T08:00:00+00:00")
    monkeypatch.setattr(store_schema, "now_iso", lambda: "2026-12-06T08:00:00+00:00")


def _problem_step(ws: Workspace, rng: random.Random) -> None:
    movable = movable_problems(ws)
    if len(movable) == 0 or rng.random() < 0.3:
        found = DAY - timedelta(days=rng.randint(0, 60))
        add_problem(
            ws,
            village=rng.choice(VILLAGE_CHOICES),
            category="盗伐滥伐林木",
            description="伐桩",
            deadline=found + timedelta(days=rng.randint(0, 70)),
            found_on=found,
            by="t",
        )
        return
    move_problem(ws, movable, rng)


def _patch_step(ws: Workspace, rng: random.Random) -> None:
    states = read_patch_states(ws)
    row = states.iloc[rng.randrange(len(states))]
    pid, version = str(row["patch_id"]), int(row["version"])
    if row["state"] == "interpreted":
        update_patch(ws, pid, version, actor="office:t", state="dispatched")
    elif row["state"] == "dispatched":
        legality = rng.choice(["legal", "illegal"])
        update_patch(
            ws,
            pid,
            version,
            actor="office:t",
            state="verified",
            legality=legality,
            verifier="t",
            verified_on=DAY,
        )
    else:
        update_patch(ws, pid, version, actor="office:t", note=f"note {rng.random()}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_updates_keep_status_equal_to_rebuild(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    # problems of a village outside the layer and of none; patches of the sample village
    # and of a village code the layer lacks
    outside = [{}, {"问题编号": "P-2", "村名": "无名村"}, {"问题编号": "P-3", "村名": ""}]
    ws = workspace(tmp_path, outside)
    _same_as_rebuild(ws)  # kept before the patches exist
    elsewhere = {**UNVERIFIED, "PAN_NO_TB": "44188220260009", "CUN": "441882999999"}
    import_patches(ws, tmp_path, [UNVERIFIED, ILLEGAL, LEGAL, CONTRADICTORY, elsewhere])
    with contextlib.closing(connect_file(ws.path)) as con:  # the import placed it by location
        con.execute(
            "UPDATE patches SET village_code = '441882999999', village_name = NULL "
            "WHERE patch_id = '44188220260009'"
        )
        con.commit()
    _same_as_rebuild(ws)
    assert _same_as_rebuild(ws)["village_code"].eq("441882999999").any()
    for _ in range(16):
        if rng.random() < 0.6:
            _problem_step(ws, rng)
        else:
            _patch_step(ws, rng)
        _same_as_rebuild(ws)


def test_problem_update_sums_only_what_changed(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{}, {"问题编号": "P-2", "村名": "沙坪村"}])
    update_problem(ws, "P-1", "in_progress", "t")
    _same_as_rebuild(ws)
    before = dict(village_updates.COUNTS)
    update_problem(ws, "P-2", "reported", "t")
    _same_as_rebuild(ws)
    assert village_updates.COUNTS["updates"] == before["updates"] + 1
    assert village_updates.COUNTS["rebuilds"] == before["rebuilds"]


def test_update_of_existing_problems_writes_their_rows_in_place(tmp_path: Path) -> None:
    ws = workspace(tmp_path, [{}, {"问题编号": "P-2", "村名": "沙坪村"}])
    update_problem(ws, "P-1", "in_progress", "t")  # the first write adds workflow columns
    _same_as_rebuild(ws)
    before = village_updates.COUNTS["in_place"]
    by_value = village_updates.COUNTS["values"]
    update_problem(ws, "P-2", "reported", "t")
    update_problem(ws, "P-1", "reported", "t")
    _same_as_rebuild(ws)
    update_problem(ws, "P-1", "rejected", "t")
    _same_as_rebuild(ws)
    assert village_updates.COUNTS["in_place"] == before + 2
    assert village_updates.COUNTS["values"] == by_value + 2  # (few_changes)
    add_problem(ws, village="沙坪村", category="盗伐滥伐林木", description="伐桩",
                deadline=DAY, found_on=DAY, by="t")  # fmt: skip
    _same_as_rebuild(ws)  # a new problem: stacked and sorted
    assert village_updates.COUNTS["in_place"] == before + 2


def test_update_by_another_process_is_seen(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    before = _same_as_rebuild(ws)
    update_in_another_process(ws.path, "P-1", "in_progress", "other")
    after = _same_as_rebuild(ws)
    assert before["open"].sum() == after["open"].sum() == 1


def test_change_without_history_row_is_seen(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    update_problem(ws, "P-1", "in_progress", "t")  # the workflow columns are in place
    _same_as_rebuild(ws)
    with contextlib.closing(connect_file(ws.path)) as con:  # no history row written
        con.execute("UPDATE problems SET status = 'reported', version = version + 1")
        con.commit()
    after = _same_as_rebuild(ws)
    assert after["awaiting_verification"].sum() == 1


def test_new_import_of_villages_is_seen(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    _same_as_rebuild(ws)
    layer = pyogrio.read_dataframe(SAMPLE / "villages.shp")
    text = [c for c in layer.columns if c != "geometry"]
    layer[text] = layer[text].replace("丰阳村", "新丰阳村")
    import_file(ws, write_shp(layer, tmp_path / "renamed.shp"), "villages", actor="t")
    after = _same_as_rebuild(ws)
    assert "新丰阳村" in set(after["village_name"])


def test_workspace_with_villages_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    status = _same_as_rebuild(ws)
    assert status["problems"].sum() == 0 and status.attrs["unmatched"].empty


def test_kept_status_is_not_changed_by_the_caller(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    first = village_status(ws, DAY)
    first["problems"] = 99
    _same_as_rebuild(ws)


def test_callers_that_came_during_an_update_share_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, [{}, {"问题编号": "P-2", "村名": "沙坪村"}])
    update_problem(ws, "P-1", "in_progress", "t")  # the workflow tables made
    village_updates.kept_village_status(ws, DAY)
    update_problem(ws, "P-1", "reported", "t")
    first_in, release = threading.Event(), threading.Event()
    came: list[str] = []
    real_snapshot, real_version = village_updates._snapshot, village_updates.data_version

    def snapshot(con):  # type: ignore[no-untyped-def]
        found = real_snapshot(con)  # the read transaction's snapshot is taken here
        if threading.current_thread().name == "first":
            first_in.set()
            assert release.wait(30)
        return found

    def version(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_version(*args, **kwargs)
        came.append(threading.current_thread().name)  # after the caller noted its arrival
        return found

    monkeypatch.setattr(village_updates, "_snapshot", snapshot)
    monkeypatch.setattr(village_updates, "data_version", version)
    answers: dict[str, pd.DataFrame] = {}

    def call() -> None:
        answers[threading.current_thread().name] = village_updates.kept_village_status(ws, DAY)

    first = threading.Thread(target=call, name="first")
    first.start()
    assert first_in.wait(30)
    update_problem(ws, "P-2", "reported", "t")  # after the first caller's read began
    before = dict(village_updates.COUNTS)
    later = [threading.Thread(target=call, name=f"later{i}") for i in range(2)]
    for thread in later:
        thread.start()
    deadline = time.monotonic() + 30
    while len(came) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in (first, *later):
        thread.join(30)
    counts = village_updates.COUNTS
    assert counts["updates"] == before["updates"] + 2  # the first caller's and one later
    assert counts["rebuilds"] == before["rebuilds"]
    assert counts["shared"] == before["shared"] + 1
    full = rebuild_village_status(ws, DAY)
    for name in ("later0", "later1"):  # both see the change made before they came
        pd.testing.assert_frame_equal(answers[name], full)
    assert not answers["first"].equals(full)  # its read began before that change
