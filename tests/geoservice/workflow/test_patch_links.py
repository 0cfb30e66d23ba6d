"""A change patch verified illegal opens a problem for its village and, above a criminal
threshold, joins its target; the links are kept both ways."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.patch_links import link_illegal_patches
from geoservice.workflow.patch_store import (
    patch_history,
    patches_of_problems,
    read_patch_states,
    update_patch,
)
from geoservice.workflow.problem_actions import problem_detail
from geoservice.workflow.problem_by_key import scoped_problem
from geoservice.workflow.store import history, read_problems
from tests.support.builders import SAMPLE, run_demo
from tests.support.files import copy_workspace
from tests.support.patches import ILLEGAL, UNVERIFIED, VILLAGE, patch_workspace, patches_file

U, ILL = UNVERIFIED["PAN_NO_TB"], ILLEGAL["PAN_NO_TB"]
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return patch_workspace(tmp_path_factory.mktemp("links")).path


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "ws.gpkg"
    copy_workspace(template, path)
    return Workspace(path)


def verify_illegal(ws: Workspace, patch_id: str) -> dict[str, object]:
    update_patch(ws, patch_id, 1, actor="office:林长办", state="dispatched")
    return update_patch(
        ws,
        patch_id,
        2,
        actor="office:林长办",
        state="verified",
        legality="illegal",
        verifier="林业站 李四",
        verified_on=DAY,
    )


def test_a_patch_verified_illegal_opens_a_problem_for_its_village(ws: Workspace) -> None:
    change = verify_illegal(ws, U)
    problems = read_problems(ws).set_index("problem_id")
    problem = problems.loc[str(change["problem_id"])]
    assert (problem["village_code"], problem["village_name"]) == (VILLAGE, "丰阳村")
    # the interpreter's cause 22 (felling without approval) gives the category
    assert problem["category"] == "illegal_logging"
    assert (problem["status"], problem["found_on"].date()) == ("assigned", DAY)
    assert problem["deadline"].date() == date(2027, 2, 18)  # 90 days after the check
    assert U in str(problem["description"])


def test_the_links_are_kept_both_ways(ws: Workspace) -> None:
    change = verify_illegal(ws, U)
    problem_id = str(change["problem_id"])
    assert read_patch_states(ws).set_index("patch_id").loc[U, "problem_id"] == problem_id
    assert patches_of_problems(ws, [problem_id, "P-1"]) == {problem_id: U}
    assert history(ws, problem_id)["note"].tolist() == [f"[patch {U}]"]
    link = patch_history(ws, U).iloc[-1]
    assert (link["event"], link["note"]) == ("link", f"problem {problem_id}")


def test_a_problem_read_by_key_names_its_patch_read_with_it(ws: Workspace) -> None:
    change = verify_illegal(ws, U)
    problem_id = str(change["problem_id"])
    office = Principal("o", "办公室", "office")
    found = scoped_problem(ws, office, problem_id, with_patch=True)
    assert found.patch_id == U
    assert found.history[-1]["note"] == f"[patch {U}]"
    assert scoped_problem(ws, office, problem_id).patch_id is None  # not asked for
    assert problem_detail(ws, office, problem_id, "zh", ws.path.parent / "photos")["patch_id"] == U


def test_a_problem_opened_by_hand_names_no_patch(ws: Workspace) -> None:
    office = Principal("o", "办公室", "office")
    assert scoped_problem(ws, office, "P-1", with_patch=True).patch_id is None


def test_a_legal_or_other_verification_opens_no_problem(ws: Workspace) -> None:
    before = len(read_problems(ws))
    update_patch(ws, U, 1, actor="o", state="dispatched")
    update_patch(ws, U, 2, actor="o", state="verified", legality="other", verifier="x")
    assert len(read_problems(ws)) == before
    assert read_patch_states(ws).set_index("patch_id").loc[U, "problem_id"] is None


def test_a_patch_established_illegal_at_import_gets_its_problem_once(ws: Workspace) -> None:
    linked = link_illegal_patches(ws, date(2026, 11, 28), "planner")
    assert list(linked) == [ILL]
    problem_id = str(linked[ILL]["problem_id"])
    assert read_problems(ws).set_index("problem_id").loc[problem_id, "category"] == (
        "land_reclamation"
    )
    assert link_illegal_patches(ws, date(2026, 11, 28), "planner") == {}
    assert patches_of_problems(ws, [problem_id]) == {problem_id: ILL}
    # registered by the pipeline: the first stage starts on the evaluation date
    row = read_patch_states(ws, date(2026, 11, 28)).set_index("patch_id").loc[U]
    assert row["stage_started_on"] == "2026-11-28"


def test_without_a_problems_layer_the_verification_still_counts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    import_file(ws, SAMPLE / "villages.shp", "villages", actor="t")
    path = patches_file(tmp_path / "patches.shp", [UNVERIFIED])
    import_file(ws, path, "patches", actor="t")
    change = verify_illegal(ws, U)
    assert (change["to_state"], change.get("problem_id")) == ("verified", None)


@pytest.mark.slow
def test_on_the_sample_town_every_illegal_patch_has_its_problem_or_target(
    tmp_path: Path,
) -> None:
    ws = Workspace(run_demo(tmp_path))
    patches = read_patch_states(ws, date(2026, 11, 28))
    illegal = patches[patches["legality"] == "illegal"].set_index("patch_id")
    assert len(illegal) == 9
    assert illegal["problem_id"].notna().all()
    # the two patches over a criminal threshold on their own join their targets
    assert illegal["target_id"].dropna().index.tolist() == ["44188220260024", "44188220260035"]
    # problems already on the patch's parcels are the patch's problems
    assert illegal.loc["44188220260024", "problem_id"] == "DC202606-002"
    assert illegal.loc["44188220260035", "problem_id"] == "DC202609-002"
    opened = illegal["problem_id"].str.startswith("SG")
    assert int(opened.sum()) == 6
    back = patches_of_problems(ws, illegal["problem_id"].tolist())
    assert back == {p: i for i, p in illegal["problem_id"].items()}
    # 待现地核实: 13 patches handed down (下发日期) wait for the field check, 2 of the
    # latest image batch wait to be handed down, 51 legal ones are closed
    assert patches["state"].value_counts().to_dict() == {
        "closed": 51,
        "dispatched": 13,
        "interpreted": 2,
        "verified": 9,
    }
