"""Stable target ids across re-analyses: matching parcel sets and the lineage."""

import contextlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from geoservice.analysis.identity import match_targets
from geoservice.analysis.targets import target_id
from geoservice.base.workspace import Workspace
from tests.support.files import copy_workspace


def frame(**targets: str) -> pd.DataFrame:
    return pd.DataFrame({"target_id": list(targets), "parcel_ids": list(targets.values())})


def hashed(*parcel_sets: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target_id": [target_id(p.split(";")) for p in parcel_sets],
            "parcel_ids": list(parcel_sets),
        }
    )


def how(result, old, new):  # type: ignore[no-untyped-def]
    rows = result.lineage
    hit = rows[(rows["old_id"] == old) & (rows["new_id"] == new)]
    return hit["how"].tolist()


def test_target_that_lost_parcels_keeps_its_id():
    result = match_targets(frame(A="1;2;3;4;5;6;7"), hashed("3;4"))
    assert result.ids.tolist() == ["A"]
    assert how(result, "A", "A") == ["kept"]


def test_split_keeps_the_id_on_the_larger_part_and_records_the_other():
    result = match_targets(frame(A="1;2;3;4;5"), hashed("1;2;3", "4;5"))
    assert result.ids.iloc[0] == "A"
    assert result.ids.iloc[1] == target_id(["4", "5"])
    assert how(result, "A", result.ids.iloc[1]) == ["split"]


def test_merge_keeps_the_larger_id_and_records_the_merged_one():
    result = match_targets(frame(A="1;2;3", B="4"), hashed("1;2;3;4"))
    assert result.ids.tolist() == ["A"]
    assert how(result, "B", "A") == ["merged"]


def test_target_without_evidence_is_resolved():
    result = match_targets(frame(A="1;2", B="9"), hashed("1;2"))
    assert how(result, "B", None) == []
    rows = result.lineage
    assert rows.loc[rows["old_id"] == "B", "how"].tolist() == ["resolved"]
    assert rows.loc[rows["old_id"] == "B", "new_id"].isna().all()


def test_ids_do_not_depend_on_row_order():
    earlier = frame(A="1;2", B="2;3", C="5")
    new = hashed("1;2;3", "5;6", "2")
    forward = match_targets(earlier, new).ids.tolist()
    backward = match_targets(earlier.iloc[::-1], new.iloc[::-1]).ids.tolist()
    assert forward == backward[::-1]


def test_resolved_target_gets_its_id_back_when_its_evidence_returns():
    result = match_targets(frame(), hashed("7;8"), resolved=frame(R="7"))
    assert result.ids.tolist() == ["R"]
    assert how(result, "R", "R") == ["kept"]


def test_new_target_never_reuses_an_issued_id():
    taken = target_id(["1", "2"])
    result = match_targets(frame(), hashed("1;2"), known_ids=[taken])
    assert result.ids.iloc[0] != taken
    assert result.ids.iloc[0].startswith("T-")


def test_no_earlier_targets_keeps_the_hash_ids():
    new = hashed("1", "2;3")
    result = match_targets(frame(), new)
    assert result.ids.tolist() == new["target_id"].tolist()
    assert result.lineage.empty


def test_no_new_targets_resolves_every_earlier_one():
    result = match_targets(frame(A="1", B="2"), hashed())
    assert result.ids.empty
    assert result.lineage["how"].tolist() == ["resolved", "resolved"]


# --- the sample town, analysed again a month later ----------------------------------------


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.builders import run_demo

    return run_demo(tmp_path_factory.mktemp("identity"))


def _layer(path: Path) -> pd.DataFrame:
    ws = Workspace(path)
    return pd.DataFrame(
        ws.read("targets", columns=["target_id", "parcel_ids"], read_geometry=False)
    )


@pytest.mark.slow
def test_reanalysis_a_month_later_keeps_ids_of_targets_sharing_parcels(
    town: Path, tmp_path: Path
) -> None:
    from datetime import date

    from geoservice.analysis.rules import load_rules
    from geoservice.analysis.run import analyze

    path = tmp_path / "town.gpkg"
    copy_workspace(town, path)
    before = _layer(path)
    analyze(Workspace(path), as_of=date(2026, 12, 28), rules=load_rules(), actor="test")
    after = _layer(path)
    old = before.assign(parcel=before["parcel_ids"].str.split(";")).explode("parcel")
    new = after.assign(parcel=after["parcel_ids"].str.split(";")).explode("parcel")
    shared = old.merge(new, on="parcel", suffixes=("_old", "_new"))
    assert len(after) and set(shared["target_id_old"]) <= set(after["target_id"])
    # a later target that shares parcels with an earlier one carries an earlier id
    for new_id, olds in shared.groupby("target_id_new")["target_id_old"]:
        assert new_id in set(olds) or new_id not in set(before["target_id"])
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        lineage = pd.read_sql_query("SELECT old_id, new_id, how, run FROM target_lineage", con)
        states = pd.read_sql_query("SELECT target_id, state, in_layer FROM target_state", con)
    kept = lineage[lineage["how"] == "kept"]
    assert set(kept["old_id"]) == set(shared["target_id_old"])
    assert lineage["run"].notna().all()
    gone = set(before["target_id"]) - set(after["target_id"])
    assert set(states.loc[states["state"] == "resolved_by_analysis", "target_id"]) == gone


@pytest.mark.slow
def test_merge_then_split_records_lineage_and_keeps_the_ids(town: Path, tmp_path: Path) -> None:
    from datetime import date

    from geoservice.analysis.rules import load_rules
    from geoservice.analysis.run import analyze

    path = tmp_path / "town.gpkg"
    copy_workspace(town, path)
    before = _layer(path)
    parcels = {p for ps in before["parcel_ids"].str.split(";") for p in ps}
    wide = tmp_path / "wide.yaml"
    wide.write_text("targets:\n  group_distance_m: 5000\n", encoding="utf-8")
    day = date(2026, 11, 28)
    analyze(Workspace(path), as_of=day, rules=load_rules(wide), actor="test")
    merged = _layer(path)
    assert len(merged) < len(before)
    # every merged target that holds earlier parcels carries an earlier id
    holding = merged[merged["parcel_ids"].str.split(";").map(lambda ps: bool(set(ps) & parcels))]
    assert len(holding) and set(holding["target_id"]) <= set(before["target_id"])
    analyze(Workspace(path), as_of=day, rules=load_rules(), actor="test")
    again = _layer(path)
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        lineage = pd.read_sql_query("SELECT old_id, new_id, how, run FROM target_lineage", con)
    runs = sorted(lineage["run"].unique())
    assert "merged" in set(lineage.loc[lineage["run"] == runs[-2], "how"])
    assert "split" in set(lineage.loc[lineage["run"] == runs[-1], "how"])
    # the merged targets come back under their earlier ids once they split again
    assert set(again["target_id"]) == set(before["target_id"])
    assert "resolved" in set(lineage.loc[lineage["run"] == runs[-1], "how"])
    back = set(again["target_id"]) - set(merged["target_id"])
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        notes = pd.read_sql_query("SELECT target_id, note FROM target_history", con)
    assert back and back <= set(notes.loc[notes["note"] == "[split again]", "target_id"])


def test_targets_the_register_does_not_hold_yet_are_new_at_version_1():
    from geoservice.analysis.target_register import read_register_empty, with_states

    targets = pd.DataFrame({"target_id": pd.array(["A", "B"], dtype="str")})
    shown = with_states(targets, read_register_empty())
    assert shown["state"].tolist() == ["new", "new"]
    assert shown["version"].tolist() == [1, 1]
    assert shown["case_number"].isna().all()
