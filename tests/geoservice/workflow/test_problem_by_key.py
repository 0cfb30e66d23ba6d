"""One problem read by key (GET and PATCH /problems/{id}) equals the full-table read.

The reference is what the service did before reading by key: the whole ``problems`` table
as a frame (:func:`visible_problems`), the first row with the id, its record
(:func:`problem_record`) and :func:`history`. The tables carry the traps of real layers:
dates written in several formats in one column (importer, DATE column, QGIS edit with a
UTC offset, ``YYYY/MM/DD``, an 8-digit number that SQLite stores as an integer), department
lists with ``;`` or ``,`` and blanks, problems without a village, duplicate and near ids,
problems without a version (a layer rewritten by a plain import) or without history.
"""

from __future__ import annotations

import contextlib
import difflib
import json
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geoservice.base.access import Principal
from geoservice.base.errors import GeoserviceError, NotFoundError, OptionError, message
from geoservice.base.gpkg_sql import connect_file
from geoservice.base.workspace import Workspace
from geoservice.workflow import access_rules as rules
from geoservice.workflow import store, store_schema
from geoservice.workflow.escalation import load_thresholds
from geoservice.workflow.problem_by_key import may_see, problem_record, scoped_problem
from geoservice.workflow.problem_values import PROBLEM_COLUMNS
from geoservice.workflow.states import state_label
from layers.codes import CATEGORIES, PROBLEM_STATES
from layers.messages import Lang
from tests.support.workflow import workspace

DEPARTMENTS = ["police", "agriculture", "natural_resources", "environment", "forestry"]
VILLAGES = ["441882101203", "441882101212", "441882106202", "441882110208"]
IDS = ["DC202503-001", "DC202503-002", "DC202503-010", "DC202604-001", "P-1", "问题-7"]
STATES = list(PROBLEM_STATES)
NOW = "2026-12-01T08:00:00+00:00"
# Each example reads a workspace many times: a failure is reported as found, unshrunk.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

# --- a workspace whose problems and history each example rewrites ---------------------


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    space = workspace(tmp_path_factory.mktemp("by_key"))
    with store.transaction(space, "t"):
        pass  # adds the workflow columns and tables
    return space


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of a layer with unversioned problems stamp the reconciliation with the time;
    two reads must agree on it (the stamp is written by the schema step)."""
    monkeypatch.setattr(store, "now_iso", lambda: NOW)
    monkeypatch.setattr(store_schema, "now_iso", lambda: NOW)


def fill(ws: Workspace, problems: list[dict[str, Any]], history: list[dict[str, Any]]) -> None:
    with contextlib.closing(connect_file(ws.path)) as con, con:
        con.execute("DELETE FROM problems")
        con.execute("DELETE FROM problem_history")
        cols = ", ".join(f'"{c}"' for c in PROBLEM_COLUMNS)
        con.executemany(
            f"INSERT INTO problems ({cols}) VALUES ({', '.join('?' * len(PROBLEM_COLUMNS))})",
            [tuple(p.get(c) for c in PROBLEM_COLUMNS) for p in problems],
        )
        con.executemany(
            'INSERT INTO problem_history (problem_id, at, "by", from_state, to_state, note, '
            "evidence, version) VALUES (?,?,?,?,?,?,?,?)",
            [
                (h["problem_id"], h["at"], h["by"], h["from_state"], h["to_state"], h["note"],
                 json.dumps(h["evidence"], ensure_ascii=False), h["version"])
                for h in history
            ],
        )  # fmt: skip


def principals() -> list[Principal]:
    return [
        Principal("o", "镇林长办", "office"),
        *(Principal(f"d{i}", d, "department", department=d) for i, d in enumerate(DEPARTMENTS[:2])),
        *(Principal(f"v{i}", c, "village", village_code=c) for i, c in enumerate(VILLAGES[:2])),
        Principal("w", "访客", "viewer"),
    ]


# --- the full-table read, as the service answered before ------------------------------


def outcome(fn: Callable[[], Any]) -> Any:
    """What ``fn`` returns as JSON, or the error it raises (class and message)."""
    try:
        return json.dumps(fn(), ensure_ascii=False, sort_keys=True)
    except GeoserviceError as exc:
        return (type(exc).__name__, exc.code, exc.text("zh"), exc.text("en"))


def full_table_detail(
    ws: Workspace, probs: pd.DataFrame, who: Principal, pid: str, as_of: date, lang: Lang
) -> Any:
    """GET /problems/{id} from ``probs``, the problems ``who`` may see (the full read)."""
    hit = probs[probs["problem_id"] == pid]
    if not len(hit):
        known = probs["problem_id"].dropna().astype(str).tolist()
        close = difflib.get_close_matches(pid, known, n=3, cutoff=0.6)
        hint_zh = f"相近的编号：{'、'.join(close)}。" if close else "请查看问题清单。"
        hint_en = f" Close ids: {', '.join(close)}." if close else " See the problem list."
        raise NotFoundError(
            message(
                "workflow.no_problem",
                f"没有编号为“{pid}”的问题，或你无权查看；{hint_zh}",
                f"There is no problem {pid!r} that you may see.{hint_en}",
            )
        )
    row = hit.iloc[0]
    past = rules.json_records(store.history(ws, pid))
    return {
        **rules.problem_record(row, as_of, lang),
        "history": [{**h, "to_label": state_label(h["to_state"], lang)} for h in past],
        "next_states": list(rules.transitions_for(who, row)),
    }


def keyed_detail(ws: Workspace, who: Principal, pid: str, as_of: date, lang: Lang) -> Any:
    found = scoped_problem(ws, who, pid)
    return {
        **problem_record(found, as_of, lang),
        "history": [{**h, "to_label": state_label(h["to_state"], lang)} for h in found.history],
        "next_states": list(rules.transitions_for(who, found.row)),
    }


# --- random tables with the traps of real layers ---------------------------------------


def _day_text(d: date) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            f"{d.isoformat()}T00:00:00",
            d.isoformat(),
            d.strftime("%Y/%m/%d"),
            f"{d.isoformat()}T16:00:00Z",
            f"{d.isoformat()}T00:00:00+08:00",
            f"{d.year}-{d.month}-{d.day}",
            f" {d.isoformat()}T08:00:00.000",
        ]
    )


days = st.one_of(
    st.dates(date(2025, 1, 1), date(2027, 6, 30)).flatmap(_day_text),
    st.none(),
    st.sampled_from(["", "待定", "2025-02-29", "0000-01-01", "20250318", "2025-13-01"]),
)
departments = st.one_of(
    st.none(),
    st.tuples(
        st.lists(st.sampled_from([*DEPARTMENTS, " ", "Police"]), max_size=3),
        st.sampled_from([",", ";", " , ", "; "]),
    ).map(lambda t: t[1].join(t[0])),
)
problems = st.fixed_dictionaries(
    {
        "problem_id": st.sampled_from(IDS),
        "campaign": st.one_of(st.none(), st.sampled_from(["2025春季", "专项"])),
        "found_on": days,
        "village_code": st.one_of(st.none(), st.sampled_from([*VILLAGES, ""])),
        "village_name": st.one_of(st.none(), st.text(max_size=4)),
        "category": st.one_of(st.none(), st.sampled_from([*CATEGORIES, "unknown"])),
        "description": st.one_of(st.none(), st.text(max_size=8)),
        "deadline": days,
        "status": st.one_of(st.sampled_from(STATES), st.just(None)),
        "cc_departments": departments,
        "version": st.one_of(st.integers(1, 40), st.none(), st.just(2.5)),
        "updated_at": st.one_of(st.none(), st.just("2026-11-02T03:04:05+00:00")),
        "updated_by": st.one_of(st.none(), st.just("village:441882101203:张三")),
    }
).filter(lambda r: r["status"] is not None or r["version"] is not None)
entries = st.fixed_dictionaries(
    {
        "problem_id": st.sampled_from(IDS),
        "at": st.just("2026-10-01T00:00:00+00:00"),
        "by": st.sampled_from(["office:镇林长办", "village:441882101212:李四"]),
        "from_state": st.one_of(st.none(), st.sampled_from(STATES)),
        "to_state": st.sampled_from([*STATES, "removed"]),
        "note": st.one_of(st.none(), st.text(max_size=6)),
        "evidence": st.lists(st.sampled_from(["a.jpg", "照片.jpg"]), max_size=2),
        "version": st.integers(1, 40),
    }
)


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=NO_SHRINK,
)
@given(
    rows=st.lists(problems, max_size=8),
    past=st.lists(entries, max_size=10),
    as_of=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    lang=st.sampled_from(["zh", "en"]),
)
def test_a_problem_read_by_key_equals_the_full_table_read(
    ws: Workspace, rows: list[dict[str, Any]], past: list[dict[str, Any]], as_of: date, lang: Lang
) -> None:
    fill(ws, rows, past)
    for who in principals():
        probs = rules.visible_problems(ws, who)
        for pid in [*IDS, "DC202503-00"]:
            want = outcome(partial(full_table_detail, ws, probs, who, pid, as_of, lang))
            got = outcome(partial(keyed_detail, ws, who, pid, as_of, lang))
            assert got == want, (who, pid)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=NO_SHRINK,
)
@given(rows=st.lists(problems, min_size=1, max_size=8), to=st.sampled_from([*STATES, "done"]))
def test_a_change_is_refused_or_allowed_as_on_the_full_table_row(
    ws: Workspace, rows: list[dict[str, Any]], to: str
) -> None:
    fill(ws, rows, [])
    for who in principals():
        probs = rules.visible_problems(ws, who)
        for pid in IDS:
            hit = probs[probs["problem_id"] == pid]
            if not len(hit):
                with pytest.raises(NotFoundError, match=f"no problem '{pid}' that you may see"):
                    scoped_problem(ws, who, pid, with_history=False)
                continue
            row = scoped_problem(ws, who, pid, with_history=False).row
            want = outcome(partial(rules.check_change, who, hit.iloc[0], to))
            assert outcome(partial(rules.check_change, who, row, to)) == want


@given(
    row=st.fixed_dictionaries(
        {"village_code": st.one_of(st.none(), st.sampled_from([*VILLAGES, ""])),
         "cc_departments": departments}
    )
)  # fmt: skip
def test_the_one_row_scope_rule_is_the_table_rule(row: dict[str, Any]) -> None:
    frame = pd.DataFrame([row], dtype="string")
    for who in principals():
        assert may_see(who, row) == bool(who.problem_mask(frame)[0]), who


# --- a county: 300 villages, 750 problems ------------------------------------------------


def county(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A county-sized workflow table with realistic skew: most problems verified, ids by
    month, one to three departments copied, a few rows written by hand or in QGIS."""
    rng = np.random.default_rng(seed)
    codes = [f"44188210{1 + i // 30:02d}{200 + i % 30:02d}" for i in range(300)]
    rows: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for i in range(750):
        pid = f"DC2025{1 + i % 12:02d}-{i // 12:03d}"
        found = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 600)))
        deadline = found + timedelta(days=int(rng.choice([30, 60, 90])))
        fmt = rng.choice(["iso", "iso", "iso", "iso", "date", "qgis"])
        text = {
            "iso": lambda d: f"{d.isoformat()}T00:00:00",
            "date": lambda d: d.isoformat(),
            "qgis": lambda d: f"{d.isoformat()}T16:00:00.000Z",
        }[str(fmt)]
        status = str(rng.choice(STATES, p=[0.08, 0.14, 0.16, 0.58, 0.04]))
        version = int(rng.integers(1, 5))
        depts = rng.choice(DEPARTMENTS, size=int(rng.integers(0, 4)), replace=False)
        rows.append(
            {
                "problem_id": pid,
                "campaign": "2025专项",
                "found_on": text(found),
                "village_code": None if i % 97 == 0 else codes[int(rng.integers(0, 300))],
                "village_name": "某村",
                "category": str(rng.choice(list(CATEGORIES))),
                "description": "伐桩",
                "deadline": text(deadline),
                "status": status,
                "cc_departments": str(rng.choice([",", ";"])).join(depts) or None,
                "version": version,
                "updated_at": "2026-11-02T03:04:05+00:00",
                "updated_by": "office:镇林长办",
            }
        )
        for v in range(1, version + 1):
            past.append(
                {"problem_id": pid, "at": f"2026-0{v}-01T00:00:00+00:00", "by": "office:x",
                 "from_state": None, "to_state": status, "note": None, "evidence": [],
                 "version": v}
            )  # fmt: skip
    return rows, past


@pytest.mark.slow
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=NO_SHRINK,
)
@given(seed=st.integers(0, 2**32 - 1), as_of=st.dates(date(2025, 6, 1), date(2027, 1, 1)))
def test_every_problem_of_a_county_reads_by_key_as_in_the_problem_list(
    ws: Workspace, seed: int, as_of: date
) -> None:
    rows, past = county(seed)
    fill(ws, rows, past)
    ids = [r["problem_id"] for r in rows]
    village = Principal("v", "村", "village", village_code=str(rows[1]["village_code"]))
    for who in (
        Principal("o", "办", "office"),
        Principal("d", "所", "department", "police"),
        village,
    ):
        listed = rules.problem_records(rules.visible_problems(ws, who), as_of, "zh")
        by_id = {r["problem_id"]: r for r in listed}
        for pid in ids:
            if pid in by_id:
                got = problem_record(scoped_problem(ws, who, pid), as_of, "zh")
                assert got == by_id[pid], pid
            elif ids.index(pid) % 25 == 0:  # a sample of the refusals (each reads all)
                with pytest.raises(NotFoundError, match=f"no problem '{pid}' that you may see"):
                    scoped_problem(ws, who, pid)


# --- dates and thresholds ---------------------------------------------------------------


def test_every_row_keeps_its_deadline_whatever_format_the_first_row_uses(tmp_path: Path) -> None:
    space = workspace(tmp_path)
    with store.transaction(space, "t"):
        pass
    base = {"status": "assigned", "version": 1, "village_code": VILLAGES[0]}
    fill(
        space,
        [
            {**base, "problem_id": "A", "deadline": "2026-11-30"},
            {**base, "problem_id": "B", "deadline": "2026-12-01T00:00:00"},
            {**base, "problem_id": "C", "deadline": "2026-12-02T16:00:00.000Z"},
        ],
        [],
    )
    got = store.read_problems(space)["deadline"].dt.strftime("%Y-%m-%d").tolist()
    assert got == ["2026-11-30", "2026-12-01", "2026-12-02"]


def test_thresholds_are_read_once_per_version_of_the_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "督办.yaml"
    rules_file.write_text("escalation:\n  letter_days: 3\n", encoding="utf-8")
    first = load_thresholds(rules_file)
    assert load_thresholds(rules_file) is first
    assert load_thresholds() is load_thresholds()
    rules_file.write_text("escalation:\n  letter_days: 10\n", encoding="utf-8")
    assert (first.letter_days, load_thresholds(rules_file).letter_days) == (3, 10)


def test_a_replaced_threshold_file_with_a_bad_key_is_refused_again(tmp_path: Path) -> None:
    rules_file = tmp_path / "督办.yaml"
    rules_file.write_text("escalation:\n  letter_days: 3\n", encoding="utf-8")
    load_thresholds(rules_file)
    rules_file.write_text("escalation:\n  leter_days: 3\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(OptionError, match=r"`escalation.leter_days` was '\?'"):
            load_thresholds(rules_file)
