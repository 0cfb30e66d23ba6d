"""A target's deadline: set by the analysis from the rules, kept across re-analyses."""

from datetime import date

import pandas as pd
import pytest

from geoservice.analysis.deadlines import (
    earlier_deadlines,
    rule_deadlines,
    target_deadlines,
    with_deadlines,
)
from geoservice.analysis.rules import load_rules
from geoservice.base.errors import OptionError
from geoservice.base.workspace import Workspace

AS_OF = date(2026, 11, 28)
RULES = load_rules()


def _targets(*rows):
    ids, priorities = zip(*rows, strict=True) if rows else ((), ())
    return pd.DataFrame(
        {
            "target_id": list(ids),
            "priority": list(priorities),
            "score": [1.0] * len(ids),
            "reasons": ["理由。"] * len(ids),
        }
    )


def _earlier(*rows):
    ids, priorities, days = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame({"target_id": ids, "priority": priorities, "deadline": days}, dtype=object)


def _days(values):
    return [d.strftime("%Y-%m-%d") for d in values]


def test_a_new_target_is_due_the_rules_days_after_the_analysis_date():
    found = rule_deadlines(pd.Series(["P1", "P2", "P3"]), AS_OF, RULES)
    assert _days(found) == ["2026-12-05", "2026-12-13", "2026-12-28"]


def test_a_workspace_override_changes_the_days(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("targets:\n  deadline_days:\n    P1: 3\n", encoding="utf-8")
    rules = load_rules(path)
    found = rule_deadlines(pd.Series(["P1", "P2"]), AS_OF, rules)
    assert _days(found) == ["2026-12-01", "2026-12-13"]


def test_a_higher_priority_with_more_days_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("targets:\n  deadline_days:\n    P1: 20\n", encoding="utf-8")
    with pytest.raises(OptionError, match=r"targets\.deadline_days\.P1.*20"):
        load_rules(path)


def test_a_kept_target_keeps_its_earlier_deadline_although_it_is_past():
    earlier = _earlier(("t1", "P2", "2026-11-20"))
    deadline, how = target_deadlines(_targets(("t1", "P2")), earlier, AS_OF, RULES)
    assert _days(deadline) == ["2026-11-20"] and how.tolist() == ["kept"]


def test_a_kept_target_whose_priority_falls_keeps_its_earlier_deadline():
    earlier = _earlier(("t1", "P1", "2026-11-30"))
    deadline, how = target_deadlines(_targets(("t1", "P3")), earlier, AS_OF, RULES)
    assert _days(deadline) == ["2026-11-30"] and how.tolist() == ["kept"]


def test_a_rising_priority_takes_the_earlier_of_the_two_deadlines():
    earlier = _earlier(("t1", "P3", "2027-01-10"), ("t2", "P3", "2026-12-01"))
    targets = _targets(("t1", "P1"), ("t2", "P1"))
    deadline, how = target_deadlines(targets, earlier, AS_OF, RULES)
    assert _days(deadline) == ["2026-12-05", "2026-12-01"]
    assert how.tolist() == ["rose", "rose"]


def test_a_target_with_a_new_id_or_an_earlier_row_without_a_date_gets_the_rule_deadline():
    earlier = _earlier(("t1", "P2", None), ("gone", "P1", "2026-11-01"))
    deadline, how = target_deadlines(_targets(("t1", "P2"), ("t9", "P1")), earlier, AS_OF, RULES)
    assert _days(deadline) == ["2026-12-13", "2026-12-05"]
    assert how.tolist() == ["new", "new"]


def test_the_deadline_column_follows_the_priority_and_ends_the_reasons_in_both_languages():
    targets = _targets(("t1", "P1"), ("t2", "P2"))
    reasons = pd.DataFrame({"target_id": ["t2", "t1"], "reasons_zh": ["乙。", "甲。"]})
    reasons["reasons_en"] = ["B.", "A."]
    earlier = _earlier(("t2", "P2", "2026-12-01"))
    out, told = with_deadlines(targets, reasons, earlier, AS_OF, RULES, "zh")
    assert list(out.columns[:3]) == ["target_id", "priority", "deadline"]
    assert out["deadline"].tolist() == ["2026-12-05", "2026-12-01"]
    assert out["reasons"].iloc[0] == "理由。处置期限 2026-12-05（P1 自研判日 2026-11-28 起 7 天）。"
    assert told["reasons_zh"].iloc[0] == "乙。处置期限 2026-12-01（沿用此前研判所定期限）。"
    assert told["reasons_en"].iloc[1] == (
        "A. Deadline 2026-12-05 (P1: 7 days from the analysis date 2026-11-28)."
    )


def test_no_targets_still_get_a_deadline_column():
    reasons = pd.DataFrame(columns=["target_id", "reasons_zh", "reasons_en"])
    out, told = with_deadlines(_targets(), reasons, _earlier(), AS_OF, RULES)
    assert "deadline" in out.columns and out.empty and told.empty


def test_a_workspace_without_a_targets_layer_has_no_earlier_deadlines(tmp_path):
    assert earlier_deadlines(Workspace(tmp_path / "none.gpkg")).empty


def test_the_rules_table_lists_the_deadline_days_of_each_priority():
    from geoservice.analysis.rules import rules_table

    rows = [r for s in rules_table(RULES, "en")["sections"] for r in s["rows"]]
    found = {r["key"]: (r["value"], r["unit"]) for r in rows if "deadline_days" in r["key"]}
    assert found == {
        "targets.deadline_days.P1": (7, "d"),
        "targets.deadline_days.P2": (15, "d"),
        "targets.deadline_days.P3": (30, "d"),
    }
