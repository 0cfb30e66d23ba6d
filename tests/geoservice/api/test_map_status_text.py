"""The status object's text from kept parts equals the one built from the frames."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date

import numpy as np
import pandas as pd
import pytest

from geoservice.analysis.target_register import read_register
from geoservice.base.access import Principal
from geoservice.base.data_version import data_version
from geoservice.base.workspace import Workspace
from geoservice.webmaps import json_rows, status_text
from geoservice.webmaps.status import STATUS, map_status, status_parts
from geoservice.workflow import village_updates
from geoservice.workflow.patch_store import read_patch_states, update_patch
from geoservice.workflow.store import read_problems, update_problem
from geoservice.workflow.target_store import update_target
from tests.support.workflow import movable_problems, move_problem, update_in_another_process

from .conftest import AS_OF, DEPARTMENT, VILLAGE

DAY = date.fromisoformat(AS_OF)
WHO = {
    "office": Principal("o", "办公室", "office"),
    "department": Principal("d", "派出所", "department", department=DEPARTMENT),
    "village": Principal("v", "村", "village", village_code=VILLAGE),
    "viewer": Principal("w", "访客", "viewer"),
}
# (who, kind, department of a department map)
MAPS = [
    ("office", "villages", None),
    ("department", "villages", None),
    ("village", "villages", None),
    ("viewer", "villages", None),
    ("office", "targets", None),
    ("department", "targets", None),
    ("office", "department", DEPARTMENT),
    ("department", "department", DEPARTMENT),
]


@pytest.fixture(autouse=True)
def _forget() -> None:
    village_updates.clear_kept()
    status_text.clear_parts()
    STATUS.clear()


def _reference(ws: Workspace, who: str, kind: str, lang: str, dept: str | None) -> str:
    """The text as built from the frames (:func:`status_parts`)."""
    digest = hashlib.sha256(repr(data_version(ws.path)).encode("utf-8")).hexdigest()[:16]
    parts = status_parts(ws, WHO[who], kind, DAY, lang, dept)  # type: ignore[arg-type]
    return json.dumps({**parts, "version": digest}, ensure_ascii=False, sort_keys=True)


def _all_equal(ws: Workspace) -> None:
    for who, kind, dept in MAPS:
        for lang in ("zh", "en"):
            kept = map_status(ws, WHO[who], kind, DAY, lang, dept).text  # type: ignore[arg-type]
            assert kept == _reference(ws, who, kind, lang, dept), (who, kind, lang)


def _problem_step(ws: Workspace, rng: random.Random) -> None:
    move_problem(ws, movable_problems(ws), rng)


def _patch_step(ws: Workspace, rng: random.Random) -> None:
    states = read_patch_states(ws)
    row = states.iloc[rng.randrange(len(states))]
    pid, version = str(row["patch_id"]), int(row["version"])
    if row["state"] == "interpreted":
        update_patch(ws, pid, version, actor="office:t", state="dispatched")
    else:
        update_patch(ws, pid, version, actor="office:t", note=f"note {rng.random()}")


def _target_step(ws: Workspace, rng: random.Random) -> None:
    register = read_register(ws)
    fresh = register[register["state"] == "new"]
    update_target(ws, str(fresh["target_id"].iloc[rng.randrange(len(fresh))]), "dispatched", "t")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_status_text_equals_the_frames_after_random_updates(town, seed: int):
    rng = random.Random(seed)
    ws = town.ws
    _all_equal(ws)  # before the workflow tables exist
    for _ in range(10):
        step = rng.random()
        if step < 0.6:
            _problem_step(ws, rng)
        elif step < 0.8:
            _patch_step(ws, rng)
        else:
            _target_step(ws, rng)
        _all_equal(ws)


def test_a_problem_update_does_not_read_the_targets_again(town, monkeypatch):
    calls: list[str] = []
    encode = status_text._encode_targets
    monkeypatch.setattr(
        status_text, "_encode_targets", lambda ws, lang: calls.append(lang) or encode(ws, lang)
    )
    before = map_status(town.ws, WHO["office"], "targets", DAY, "zh")
    _problem_step(town.ws, random.Random(0))
    after = map_status(town.ws, WHO["office"], "targets", DAY, "zh")
    assert calls == ["zh"]
    assert after.text != before.text  # the data version in it changed, nothing else
    assert json.loads(after.text)["targets"] == json.loads(before.text)["targets"]


def test_a_target_state_change_changes_the_targets_status_and_its_etag(town):
    before = map_status(town.ws, WHO["office"], "targets", DAY, "en")
    register = read_register(town.ws)
    target = str(register.loc[register["state"] == "new", "target_id"].iloc[0])
    update_target(town.ws, target, "dispatched", "t")
    after = map_status(town.ws, WHO["office"], "targets", DAY, "en")
    assert after.etag != before.etag
    assert (
        json.loads(before.text)["targets"][target]["state"]
        != (json.loads(after.text)["targets"][target]["state"])
    )


def test_a_village_users_part_is_kept_while_its_village_is_unchanged(town, monkeypatch):
    calls: list[int] = []
    encode = status_text._encode_villages
    monkeypatch.setattr(
        status_text,
        "_encode_villages",
        lambda status, lang, patches: calls.append(len(status)) or encode(status, lang, patches),
    )
    map_status(town.ws, WHO["village"], "villages", DAY, "zh")
    probs = read_problems(town.ws)
    elsewhere = probs[(probs["village_code"] != VILLAGE) & (probs["status"] == "assigned")]
    update_problem(town.ws, str(elsewhere["problem_id"].iloc[0]), "in_progress", "t")
    map_status(town.ws, WHO["village"], "villages", DAY, "zh")
    assert calls == [1]
    mine = probs[(probs["village_code"] == VILLAGE) & (probs["status"] == "assigned")]
    update_problem(town.ws, str(mine["problem_id"].iloc[0]), "reported", "t")  # a count
    map_status(town.ws, WHO["village"], "villages", DAY, "zh")
    assert calls == [1, 1]


def test_a_village_users_status_shows_its_change_by_another_process(town):
    before = map_status(town.ws, WHO["village"], "villages", DAY, "zh")
    probs = read_problems(town.ws)
    mine = probs[(probs["village_code"] == VILLAGE) & (probs["status"] == "assigned")]
    pid = str(mine["problem_id"].iloc[0])
    update_in_another_process(town.ws.path, pid, "reported", "o")
    after = map_status(town.ws, WHO["village"], "villages", DAY, "zh")
    assert after.text == _reference(town.ws, "village", "villages", "zh", None)
    was, now = json.loads(before.text), json.loads(after.text)
    assert was["problems"][pid]["state"] != now["problems"][pid]["state"]
    counts = ("awaiting_verification", "open")
    assert [now["villages"][VILLAGE][c] - was["villages"][VILLAGE][c] for c in counts] == [1, -1]


@pytest.mark.parametrize(
    "text", ["V01", "", "村 1", 'say "hi"', "a\\b", "tab\there", "line\nbreak", "\x01", "é"]
)
def test_json_strings_equal_json_dumps(text):
    got = json_rows.json_strings(np.asarray(["x", text], dtype=object))
    assert list(got) == [json.dumps(v, ensure_ascii=False) for v in ("x", text)]


def test_json_strings_of_nothing_is_empty():
    assert len(json_rows.json_strings(np.asarray([], dtype=object))) == 0


def test_joined_keeps_the_first_row_of_a_key_in_key_order():
    encoded = json_rows.encode_rows(
        pd.Series(["b", "a", "b"]), {"n": np.asarray(["1", "2", "3"], dtype=object)}
    )
    assert json_rows.joined(encoded) == json.dumps({"b": {"n": 1}, "a": {"n": 2}}, sort_keys=True)
    assert json_rows.joined(encoded, np.zeros(3, dtype=bool)) == "{}"


def test_after_a_problem_update_only_its_rows_are_encoded_again(town, monkeypatch):
    villages: list[int] = []
    problems: list[int] = []
    encode_villages, encode_problems = status_text._encode_villages, status_text._encode_problems

    def count_villages(status, lang, patches):
        villages.append(len(status))
        return encode_villages(status, lang, patches)

    def count_problems(rows, day, lang):
        problems.append(len(rows))
        return encode_problems(rows, day, lang)

    monkeypatch.setattr(status_text, "_encode_villages", count_villages)
    monkeypatch.setattr(status_text, "_encode_problems", count_problems)
    map_status(town.ws, WHO["office"], "villages", DAY, "zh")
    probs = read_problems(town.ws)
    for step in range(2):  # the second update builds on the first one's rows
        villages.clear(), problems.clear()
        movable = probs[probs["status"] == "assigned"]
        pid = str(movable["problem_id"].iloc[step])
        update_problem(town.ws, pid, "in_progress", "t")
        after = map_status(town.ws, WHO["office"], "villages", DAY, "zh")
        assert (villages, problems) == ([1], [1])
        assert after.text == _reference(town.ws, "office", "villages", "zh", None)
