"""Escalation documents (提醒函, 督办函, 挂牌督办通知书): which are due, one per village and
level, numbered by the town's pattern without reuse, issued once per level, recorded in the
problems' history and the audit log, and read back in the caller's scope."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.document_numbers import document_rules, load_document_rules
from geoservice.workflow.escalation_docs import (
    due_items,
    issue_documents,
    list_documents,
    read_document,
)
from geoservice.workflow.patch_store import ensure_patches, patch_history, read_patch_states
from geoservice.workflow.store import history, update_problem
from tests.support.workflow import SAMPLE, workspace

DAY = date(2026, 11, 28)
# deadlines relative to DAY: 3, 20 and 40 days overdue; one still in time
LATE_3, LATE_20, LATE_40, IN_TIME = "2026-11-25", "2026-11-08", "2026-10-19", "2026-12-01"


def town(tmp_path: Path, rows: list[dict[str, str]]) -> Workspace:
    return workspace(tmp_path, rows)


def problem(pid: str, deadline: str, village: str = "丰阳村", **extra: str) -> dict[str, str]:
    return {"问题编号": pid, "村名": village, "整改期限": deadline, **extra}


def numbers(docs: list[dict]) -> list[str]:
    return [d["number"] for d in docs]


# --- what is due ------------------------------------------------------------------------


def test_each_overdue_problem_is_due_at_the_level_its_days_reach(tmp_path):
    ws = town(
        tmp_path,
        [
            problem("P-3", LATE_3),
            problem("P-20", LATE_20),
            problem("P-40", LATE_40),
            problem("P-ok", IN_TIME),
            problem("P-done", LATE_40, 整改状态="已整改"),
        ],
    )
    due = due_items(ws, DAY).set_index("item_id")
    assert due["level"].to_dict() == {"P-3": "letter", "P-20": "supervision", "P-40": "listed"}
    assert due.loc["P-20", "days_overdue"] == 20
    assert due.loc["P-20", "deadline"] == LATE_20


def test_a_workspace_without_overdue_problems_issues_nothing(tmp_path):
    ws = town(tmp_path, [problem("P-ok", IN_TIME)])
    assert due_items(ws, DAY).empty
    assert issue_documents(ws, DAY, "office") == []
    assert list_documents(ws).empty


def test_one_document_per_village_and_level_covers_all_its_problems(tmp_path):
    ws = town(
        tmp_path,
        [
            problem("P-1", LATE_3),
            problem("P-2", "2026-11-20"),
            problem("P-3", LATE_3, village="沙坪村"),
            problem("P-4", LATE_40),
        ],
    )
    docs = issue_documents(ws, DAY, "office")
    covered = {(d["village_name"], d["level"]): [i["item_id"] for i in d["items"]] for d in docs}
    assert covered == {
        ("丰阳村", "letter"): ["P-2", "P-1"],  # most overdue first
        ("沙坪村", "letter"): ["P-3"],
        ("丰阳村", "listed"): ["P-4"],
    }


def test_copied_departments_given_by_name_are_the_union_of_the_problems(tmp_path):
    ws = town(
        tmp_path,
        [
            problem("P-1", LATE_3, 抄送部门="镇郊派出所、镇自然资源所"),
            problem("P-2", LATE_3, 抄送部门="镇自然资源所;镇环保办"),
        ],
    )
    (doc,) = issue_documents(ws, DAY, "office")
    assert doc["cc_departments"] == ["police", "natural_resources", "environment"]


def test_reply_deadline_counts_the_levels_reply_days_from_the_date(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_40)])
    docs = {d["level"]: d for d in issue_documents(ws, DAY, "office")}
    assert docs["letter"]["reply_by"] == "2026-12-08"  # 10 days
    assert docs["listed"]["reply_by"] == "2026-12-03"  # 5 days


# --- numbering --------------------------------------------------------------------------


def test_numbers_follow_the_pattern_each_level_counting_its_own_sequence(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_20, village="沙坪村")])
    docs = issue_documents(ws, DAY, "office")
    assert numbers(docs) == ["镇林长办提〔2026〕1号", "镇林长办督〔2026〕1号"]
    assert [(d["year"], d["seq"]) for d in docs] == [(2026, 1), (2026, 1)]


def test_later_runs_continue_the_sequence_and_a_new_year_starts_at_one(tmp_path):
    ws = town(
        tmp_path,
        [problem("P-1", LATE_3), problem("P-2", "2026-11-30"), problem("P-3", "2026-12-30")],
    )
    first = issue_documents(ws, DAY, "office")
    second = issue_documents(ws, date(2026, 12, 2), "office")
    third = issue_documents(ws, date(2027, 1, 2), "office")
    assert numbers(first) == ["镇林长办提〔2026〕1号"]
    assert numbers(second) == ["镇林长办提〔2026〕2号"]
    # P-3 is 3 days late, P-1 has reached 38 days (listed): both sequences start again
    assert numbers(third) == ["镇林长办提〔2027〕1号", "镇林长办挂〔2027〕1号"]


def test_without_a_mark_in_the_pattern_all_levels_share_one_sequence(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_40)])
    shared = shared_rules()
    docs = issue_documents(ws, DAY, "office", rules=shared)
    assert numbers(docs) == ["林长办〔2026〕1号", "林长办〔2026〕2号"]


def test_a_number_already_used_is_never_given_again(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", "2026-11-30")])
    issue_documents(ws, DAY, "office")
    with ws.sql_transaction("test") as con:  # a counter lost, e.g. restored from an old copy
        con.execute("DELETE FROM escalation_sequences")
    later = issue_documents(ws, date(2026, 12, 2), "office")
    assert numbers(later) == ["镇林长办提〔2026〕2号"]


def shared_rules():  # type: ignore[no-untyped-def]
    values = {**vars(load_document_rules())}
    values["number_pattern"] = "{issuer}〔{year}〕{seq}号"
    values["issuer"] = "林长办"
    return document_rules(values)


def test_a_pattern_without_a_sequence_number_is_refused_naming_it(tmp_path):
    values = {**vars(load_document_rules()), "number_pattern": "{issuer}〔{year}〕号"}
    with pytest.raises(OptionError, match=r"number_pattern.*\{seq\}"):
        document_rules(values)


def test_a_pattern_with_an_unknown_field_is_refused(tmp_path):
    values = {**vars(load_document_rules()), "number_pattern": "{town}〔{year}〕{seq}号"}
    with pytest.raises(OptionError, match=r"documents\.number_pattern.*only"):
        document_rules(values)


def test_reply_days_must_be_whole_days_for_each_level():
    values = {
        **vars(load_document_rules()),
        "reply_days": {"letter": 0, "supervision": 5, "listed": 3},
    }
    with pytest.raises(OptionError, match=r"reply_days\.letter.*>= 1"):
        document_rules(values)


# --- issued once per level ----------------------------------------------------------------


def test_a_second_run_at_the_same_date_issues_nothing_new(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_40, village="沙坪村")])
    assert len(issue_documents(ws, DAY, "office")) == 2
    assert issue_documents(ws, DAY, "office") == []
    assert len(list_documents(ws)) == 2


def test_a_dry_run_shows_the_numbers_and_writes_nothing(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3)])
    preview = issue_documents(ws, DAY, "office", dry_run=True)
    assert list_documents(ws).empty
    assert len(history(ws, "P-1")) == 1
    issued = issue_documents(ws, DAY, "office")
    assert numbers(preview) == numbers(issued) == ["镇林长办提〔2026〕1号"]


def test_a_problem_reaching_a_higher_level_gets_the_higher_document_later(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3)])
    first = issue_documents(ws, DAY, "office")
    same_level = issue_documents(ws, date(2026, 12, 5), "office")  # 10 days: still a letter
    higher = issue_documents(ws, date(2026, 12, 10), "office")  # 15 days: supervision
    assert [d["level"] for d in first] == ["letter"]
    assert same_level == []
    assert [(d["level"], d["number"]) for d in higher] == [("supervision", "镇林长办督〔2026〕1号")]
    assert higher[0]["items"][0]["days_overdue"] == 15


def test_an_item_covered_at_a_higher_level_is_not_sent_a_lower_one(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_40)])
    issue_documents(ws, DAY, "office")
    assert issue_documents(ws, date(2026, 11, 30), "office") == []


def test_a_problem_reported_fixed_is_not_covered_again(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_3)])
    update_problem(ws, "P-2", "reported", "village:丰阳村:张三")
    (doc,) = issue_documents(ws, DAY, "office")
    assert [i["item_id"] for i in doc["items"]] == ["P-1"]


# --- the record ---------------------------------------------------------------------------


def test_the_problem_history_shows_the_document_without_changing_its_state(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_20, 整改状态="整改中")])
    (doc,) = issue_documents(ws, DAY, "office:张主任")
    last = history(ws, "P-1").iloc[-1]
    assert last["note"] == "已发督办函 镇林长办督〔2026〕1号（逾期 20 天）"
    assert (last["by"], last["to_state"], last["version"]) == ("office:张主任", "in_progress", 1)
    assert last["from_state"] is None
    assert doc["issued_by"] == "office:张主任"


def test_each_document_writes_one_audit_row_naming_its_items(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3), problem("P-2", LATE_3, village="沙坪村")])
    issue_documents(ws, DAY, "office")
    log = ws.audit()
    rows = log[log["action"] == "escalation.issue"]
    assert sorted(rows["target"]) == ["镇林长办提〔2026〕1号", "镇林长办提〔2026〕2号"]
    details = [json.loads(d) for d in rows["detail"]]
    assert sorted(i for d in details for i in d["items"]) == ["problem:P-1", "problem:P-2"]


def test_a_document_reads_back_with_its_items_as_issued(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3, 问题描述="林地内新建砖房一处")])
    (issued,) = issue_documents(ws, DAY, "office")
    doc = read_document(ws, issued["number"])
    assert doc == {**issued, "items": doc["items"]}
    (item,) = doc["items"]
    assert (item["kind"], item["item_id"], item["description"]) == (
        "problem",
        "P-1",
        "林地内新建砖房一处",
    )


def test_an_unknown_number_is_an_error_naming_it_and_the_close_ones(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3)])
    issue_documents(ws, DAY, "office")
    with pytest.raises(NotFoundError, match=r"镇林长办提〔2026〕9号.*镇林长办提〔2026〕1号"):
        read_document(ws, "镇林长办提〔2026〕9号")


# --- scope ------------------------------------------------------------------------------


def scoped_town(tmp_path: Path) -> Workspace:
    ws = town(
        tmp_path,
        [
            problem("P-1", LATE_3, 抄送部门="镇郊派出所"),
            problem("P-2", LATE_3, village="沙坪村", 抄送部门="镇环保办"),
        ],
    )
    issue_documents(ws, DAY, "office")
    return ws


def village_code(ws: Workspace, name: str) -> str:
    docs = list_documents(ws)
    return str(docs.loc[docs["village_name"] == name, "village_code"].iloc[0])


def test_a_village_sees_only_the_documents_addressed_to_it(tmp_path):
    ws = scoped_town(tmp_path)
    code = village_code(ws, "沙坪村")
    me = Principal("v", "李四", "village", village_code=code, village_name="沙坪村")
    assert list_documents(ws, me)["village_name"].tolist() == ["沙坪村"]
    other = list_documents(ws)
    hidden = str(other.loc[other["village_name"] == "丰阳村", "number"].iloc[0])
    with pytest.raises(NotFoundError, match=hidden):
        read_document(ws, hidden, me)


def test_a_department_sees_the_documents_it_is_copied_on(tmp_path):
    ws = scoped_town(tmp_path)
    police = Principal("p", "王五", "department", department="police")
    assert list_documents(ws, police)["village_name"].tolist() == ["丰阳村"]


def test_a_viewer_sees_no_document(tmp_path):
    ws = scoped_town(tmp_path)
    assert list_documents(ws, Principal("x", "访客", "viewer")).empty


# --- change patches -----------------------------------------------------------------------


def patch_town(tmp_path: Path) -> Workspace:
    """The sample town's change patches, registered with their first stage started on
    2026-10-01 (interpretation is due within 7 days, so at DAY an open one is 51 days late)."""
    ws = town(tmp_path, [problem("P-1", LATE_3)])
    import_file(ws, SAMPLE / "patches.shp", "patches", actor="t")
    with ws.sql_transaction("t") as con:
        ensure_patches(con, "t", day=date(2026, 10, 1))
    return ws


@pytest.mark.slow
def test_overdue_patches_are_covered_with_the_problems_of_their_village(tmp_path):
    ws = patch_town(tmp_path)
    states = read_patch_states(ws, DAY)
    late = states.loc[states["level"].isin(["letter", "supervision", "listed"])]
    docs = issue_documents(ws, DAY, "office")
    covered = {i["item_id"] for d in docs for i in d["items"] if i["kind"] == "patch"}
    assert len(late) > 0
    assert covered == set(late["patch_id"].astype(str))
    for doc in docs:
        villages = set(
            late.loc[
                late["patch_id"].isin([i["item_id"] for i in doc["items"] if i["kind"] == "patch"]),
                "village_code",
            ]
        )
        assert villages <= {doc["village_code"]}
    assert len({(d["village_code"], d["level"]) for d in docs}) == len(docs)


@pytest.mark.slow
def test_a_covered_patch_has_the_document_in_its_history_and_is_not_covered_twice(tmp_path):
    ws = patch_town(tmp_path)
    docs = issue_documents(ws, DAY, "office")
    doc = next(d for d in docs if any(i["kind"] == "patch" for i in d["items"]))
    item = next(i for i in doc["items"] if i["kind"] == "patch")
    last = patch_history(ws, item["item_id"]).iloc[-1]
    assert last["event"] == "escalation"
    assert doc["number"] in last["note"]
    assert issue_documents(ws, DAY, "office") == []


def test_an_as_of_date_whose_reply_date_passes_the_calendar_is_refused(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3)])
    with pytest.raises(OptionError, match=r"`as_of` was 9999-12-31.*9999-12-21"):
        issue_documents(ws, date(9999, 12, 31), "office")


def test_a_village_user_without_a_code_does_not_see_documents_to_an_unknown_village(tmp_path):
    ws = town(tmp_path, [problem("P-1", LATE_3, village="")])
    (doc,) = issue_documents(ws, DAY, "office")
    assert (doc["village_code"], doc["village_name"]) == ("", "")
    assert list_documents(ws, Principal("v", "某人", "village")).empty


def test_two_runs_at_once_issue_each_document_once(tmp_path):
    ws = town(
        tmp_path,
        [problem("P-1", LATE_3), problem("P-2", LATE_3, village="沙坪村"), problem("P-3", LATE_40)],
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda who: issue_documents(ws, DAY, who), ["office:甲", "office:乙"]))
    issued = [d["number"] for run in runs for d in run]
    assert sorted(issued) == sorted(list_documents(ws)["number"])
    assert len(issued) == len(set(issued)) == 3
