"""GET and PATCH /problems/{id} read one problem by key: the answers are those of the
problem list (the full-table read), and a missing or hidden id is refused as before."""

from __future__ import annotations

import difflib
from typing import Any

import pytest

from geoservice.workflow.access_rules import visible_problems
from geoservice.workflow.store import read_problems

from .conftest import AS_OF, OTHER_VILLAGE
from .test_problems import REJECTED, principal_of

# The fields of a problem in the list and in the detail (ProblemDetail adds the rest).
DETAIL_ONLY = {"history", "patch_id", "photos", "next_states"}


def refusal(town: Any, who: str, pid: str) -> dict[str, str]:
    """The 404 the full-table read gave: the id, close ids among the visible ones only."""
    probs = visible_problems(town.ws, principal_of(town, who))
    close = difflib.get_close_matches(pid, probs["problem_id"].astype(str).tolist(), n=3)
    hint_zh = f"相近的编号：{'、'.join(close)}。" if close else "请查看问题清单。"
    hint_en = f" Close ids: {', '.join(close)}." if close else " See the problem list."
    zh = f"没有编号为“{pid}”的问题，或你无权查看；{hint_zh}"
    return {
        "code": "workflow.no_problem",
        "message": zh,
        "zh": zh,
        "en": f"There is no problem {pid!r} that you may see.{hint_en}",
    }


@pytest.mark.slow
@pytest.mark.parametrize("who", ["office", "department", "village"])
def test_every_visible_problem_reads_as_its_item_in_the_problem_list(town, who):
    listed = town.get(f"/problems?as_of={AS_OF}&limit=500", who).json()
    assert listed
    for item in listed:
        res = town.get(f"/problems/{item['problem_id']}?as_of={AS_OF}", who)
        body = res.json()
        assert {k: v for k, v in body.items() if k not in DETAIL_ONLY} == item
        assert res.headers["ETag"] == f'"{item["version"]}"'
        assert body["history"][-1]["version"] == item["version"]


@pytest.mark.parametrize("pid", ["DC209912-999", "DC202503-00", "无此问题"])
def test_a_missing_id_is_404_naming_it(town, pid):
    res = town.get(f"/problems/{pid}", "village")
    assert res.status_code == 404
    assert res.json()["error"] == refusal(town, "village", pid)
    assert repr(pid) in res.json()["error"]["en"]


def test_another_villages_problem_is_refused_like_a_missing_one(town):
    probs = read_problems(town.ws)
    assert probs.loc[probs["problem_id"] == REJECTED, "village_code"].item() != OTHER_VILLAGE
    got = town.get(f"/problems/{REJECTED}", "other_village")
    changed = town.client.patch(
        f"/problems/{REJECTED}",
        json={"status": "in_progress"},
        headers={**town.headers("other_village"), "If-Match": '"1"'},
    )
    assert got.status_code == changed.status_code == 404
    assert (
        got.json()["error"] == changed.json()["error"] == refusal(town, "other_village", REJECTED)
    )
    after = read_problems(town.ws)
    assert after.loc[after["problem_id"] == REJECTED, "version"].item() == 1
