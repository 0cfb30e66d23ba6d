"""Change-patch states in the workspace: first states from the field check, version-checked
changes, history, re-import by 图斑号 and an empty layer."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from geoservice.base.errors import NotFoundError, OptionError, StaleVersionError
from geoservice.base.workspace import Workspace
from geoservice.workflow.patch_store import (
    patch_history,
    read_patch_states,
    record_patch_event,
    transaction,
    update_patch,
)
from tests.support.files import copy_workspace
from tests.support.patches import (
    CONTRADICTORY,
    ILLEGAL,
    LEGAL,
    UNVERIFIED,
    import_patches,
    patch_workspace,
)
from tests.support.workflow import workspace

U, ILL, L, C = (r["PAN_NO_TB"] for r in (UNVERIFIED, ILLEGAL, LEGAL, CONTRADICTORY))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Villages, a problem and the four patches, built once for the module."""
    return patch_workspace(tmp_path_factory.mktemp("patches")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "ws.gpkg"
    copy_workspace(template, path)
    return Workspace(path)


def states(ws: Workspace) -> dict[str, tuple[str, str | None, int]]:
    frame = read_patch_states(ws)
    return {str(r.patch_id): (str(r.state), r.legality, int(r.version)) for r in frame.itertuples()}


def tables(ws: Workspace) -> set[str]:
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        return {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}


def test_first_state_follows_the_field_check(ws: Workspace) -> None:
    got = states(ws)
    assert got[U] == ("interpreted", None, 1)
    assert got[ILL] == ("verified", "illegal", 1)
    assert got[L] == ("closed", "legal", 1)
    # 是否违法 0 with an unapproved cause and no approval number: left for the office
    assert got[C] == ("verified", "other", 1)


def test_reading_writes_nothing(ws: Workspace) -> None:
    read_patch_states(ws)
    patch_history(ws, U)
    assert "patch_state" not in tables(ws)


def test_a_full_round_from_interpreted_to_closed(ws: Workspace) -> None:
    steps = [
        ("dispatched", {}),
        ("verified", {"legality": "illegal", "verifier": "林业站 李四"}),
        ("investigating", {}),
        ("rectifying", {}),
        ("awaiting_acceptance", {}),
        ("closed", {}),
    ]
    for version, (state, extra) in enumerate(steps, start=1):
        change = update_patch(ws, U, version, actor="office:林长办", state=state, **extra)
        assert change["to_state"] == state
    row = read_patch_states(ws).set_index("patch_id").loc[U]
    assert (row["state"], row["legality"], row["verifier"], row["version"]) == (
        "closed",
        "illegal",
        "林业站 李四",
        7,
    )
    history = patch_history(ws, U)
    assert history["to_state"].tolist()[-1] == "closed"
    assert history["version"].tolist() == [1, 2, 3, 3, 4, 5, 6, 7]  # 3 twice: the link row
    assert history["event"].tolist()[:4] == ["import", "state", "state", "link"]


def test_a_legal_patch_closes_at_verification(ws: Workspace) -> None:
    update_patch(ws, U, 1, actor="o", state="dispatched")
    change = update_patch(
        ws,
        U,
        2,
        actor="o",
        state="verified",
        legality="legal",
        verifier="林业站 李四",
        verified_on=date(2026, 11, 20),
    )
    assert (change["from_state"], change["to_state"], change["legality"]) == (
        "dispatched",
        "closed",
        "legal",
    )
    row = read_patch_states(ws).set_index("patch_id").loc[U]
    assert (row["verified_on"], row["problem_id"], row["stage_due"]) == ("2026-11-20", None, None)


def test_a_stale_version_is_refused_and_changes_nothing(ws: Workspace) -> None:
    update_patch(ws, U, 1, actor="a", state="dispatched")
    with pytest.raises(StaleVersionError, match="expected version 1 but it is at version 2"):
        update_patch(ws, U, 1, actor="b", state="dispatched")
    assert states(ws)[U] == ("dispatched", None, 2)
    assert len(patch_history(ws, U)) == 2


@pytest.mark.parametrize(
    ("patch", "state", "extra", "match"),
    [
        (U, "verified", {"legality": "illegal", "verifier": "x"}, "cannot move to 'verified'"),
        (U, "closed", {}, "the allowed next states are: dispatched"),
        (ILL, "closed", {}, "closes only after investigation"),
        (C, "closed", {}, "needs the reason"),
        (U, "done", {}, "patch state was 'done'"),
    ],
)
def test_invalid_moves_are_refused(
    ws: Workspace, patch: str, state: str, extra: dict[str, str], match: str
) -> None:
    with pytest.raises(OptionError, match=match):
        update_patch(ws, patch, 1, actor="o", state=state, **extra)
    assert states(ws)[patch][2] == 1


def test_verification_needs_the_legality_and_the_verifier(ws: Workspace) -> None:
    update_patch(ws, U, 1, actor="o", state="dispatched")
    with pytest.raises(OptionError, match="needs the legality found"):
        update_patch(ws, U, 2, actor="o", state="verified", verifier="x")
    with pytest.raises(OptionError, match="needs the verifier"):
        update_patch(ws, U, 2, actor="o", state="verified", legality="legal")
    with pytest.raises(OptionError, match="legality was 'maybe' but is expected to be one of"):
        update_patch(ws, U, 2, actor="o", state="verified", legality="maybe", verifier="x")


def test_legality_only_with_the_move_to_verified(ws: Workspace) -> None:
    with pytest.raises(
        OptionError, match="given only with the move of patch 44188220260001 to verified"
    ):
        update_patch(ws, U, 1, actor="o", state="dispatched", legality="legal")


def test_a_note_alone_is_recorded_and_nothing_is_refused(ws: Workspace) -> None:
    change = update_patch(ws, U, None, actor="o", note="已电话通知村委")
    assert (change["to_state"], change["version"]) == ("interpreted", 2)
    with pytest.raises(OptionError, match=r"No new state .* for patch 44188220260001"):
        update_patch(ws, U, 2, actor="o")


def test_an_unknown_patch_is_not_found_with_close_ids(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="Close ids: 44188220260004, 44188220260003"):
        update_patch(ws, "44188220260009", 1, actor="o", state="dispatched")
    with pytest.raises(NotFoundError, match="no change patch '44188220260009'"):
        patch_history(ws, "44188220260009")


def test_importing_the_list_again_keeps_each_patch_state(ws: Workspace, tmp_path: Path) -> None:
    update_patch(ws, U, 1, actor="o", state="dispatched")
    new = {"PAN_NO_TB": "44188220260005", "PAN_BHYY": "21"}
    # the county sends the list again, in another order, with one more patch
    import_patches(ws, tmp_path, [new, CONTRADICTORY, LEGAL, ILLEGAL, UNVERIFIED])
    got = states(ws)
    assert got[U] == ("dispatched", None, 2)
    assert got["44188220260005"] == ("interpreted", None, 1)
    assert len(got) == 5
    assert patch_history(ws, U)["event"].tolist() == ["import", "state"]


@pytest.mark.slow
def test_a_patch_dropped_from_the_list_keeps_its_state_for_when_it_returns(
    ws: Workspace, tmp_path: Path
) -> None:
    update_patch(ws, U, 1, actor="o", state="dispatched")
    import_patches(ws, tmp_path, [ILLEGAL, LEGAL])
    assert set(states(ws)) == {ILL, L}
    import_patches(ws, tmp_path, [ILLEGAL, LEGAL, UNVERIFIED])
    assert states(ws)[U] == ("dispatched", None, 2)


def test_a_workspace_without_patches_has_an_empty_list(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    frame = read_patch_states(ws, date(2026, 11, 28))
    assert frame.empty
    assert {"patch_id", "state", "version", "stage_due", "days_overdue", "level"} <= set(
        frame.columns
    )
    with pytest.raises(NotFoundError, match="See 'geoservice patches list'"):
        patch_history(ws, U)


def test_an_event_of_another_record_adds_history_without_a_new_version(ws: Workspace) -> None:
    with transaction(ws, "office:林长办") as con:
        record_patch_event(con, ILL, "escalation", "提醒函〔2026〕1号", "office:林长办")
    last = patch_history(ws, ILL).iloc[-1]
    assert (last["event"], last["note"], last["version"], last["to_state"]) == (
        "escalation",
        "提醒函〔2026〕1号",
        1,
        "verified",
    )
    with pytest.raises(NotFoundError, match="44188220269999"), transaction(ws, "o") as con:
        record_patch_event(con, "44188220269999", "ledger", None, "o")
