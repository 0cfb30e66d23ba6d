"""The verifier's phone pages of a change patch: facts, scope by role, the verification
form with its version check, photos, and the patches on each person's task list."""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
from datetime import date

import pytest
from PIL import Image

from geoservice.api.pages.routing import get_today
from geoservice.base.access import Principal, add_user
from geoservice.base.errors import NotFoundError
from geoservice.tasks.patch_records import PatchTasks, cause_words, patch_tasks, scoped_patch
from geoservice.workflow.patch_store import patch_history, read_patch_states, update_patch
from tests.support.workflow import workspace

from .conftest import AS_OF, VILLAGE

FORESTRY = "forestry"  # an officer of the agriculture office, which verifies patches
EXTERNAL = re.compile(r"https?://", re.IGNORECASE)


@pytest.fixture
def pages(town):
    """A private town with a forestry officer, deadlines counted at AS_OF."""
    town.client.app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    _, town.tokens[FORESTRY] = add_user(
        town.ws, name="林业站王五", by="test", role="department", department="agriculture"
    )
    return town


def _patches(town, **where: str) -> list[dict]:  # type: ignore[no-untyped-def]
    frame = read_patch_states(town.ws, date.fromisoformat(AS_OF))
    for column, value in where.items():
        frame = frame[frame[column].astype(str) == value]
    return frame.to_dict("records")


def _one(town, **where: str) -> dict:  # type: ignore[no-untyped-def]
    found = _patches(town, **where)
    assert found, where
    return found[0]


def _url(patch_id: str) -> str:
    return f"/app/patches/{patch_id}"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, format="JPEG")
    return out.getvalue()


def _post(town, who: str, patch: dict, photos: int = 0, **fields: str):  # type: ignore[no-untyped-def]
    data = {"version": str(patch["version"]), "note": "现场查看，已核实", **fields}
    files = [("photos", (f"p{i}.jpg", _jpeg(), "image/jpeg")) for i in range(photos)]
    return town.client.post(
        _url(str(patch["patch_id"])),
        data=data,
        files=files or None,
        headers=town.headers(who),
        follow_redirects=False,
    )


# --- reading ----------------------------------------------------------------------------


def test_the_page_shows_the_patch_facts_in_words(pages):
    patch = _one(pages, state="verified", legality="illegal")
    page = pages.get(_url(patch["patch_id"]), FORESTRY).text
    assert patch["patch_id"] in page and str(patch["village_name"]) in page
    for word in ("林班", "面积", "变化原因", "核实结论", "违法违规", "本环节期限", "办理记录"):
        assert word in page, word
    assert str(patch["stage_due"]) in page
    assert "公顷" in page
    assert not EXTERNAL.search(page.replace("http://www.w3.org", ""))


def test_the_change_cause_is_given_in_words(pages):
    patch = _one(pages, change_cause="51")
    page = pages.get(_url(patch["patch_id"]), "office").text
    assert "毁林（湿）开垦：种植" in page


def test_english_with_lang_en(pages):
    patch = _one(pages, state="interpreted")
    page = pages.get(_url(patch["patch_id"]) + "?lang=en", FORESTRY).text
    assert "Change patch" in page and "Compartment" in page and "not verified" in page
    assert "Dispatch for field check" in page


def test_the_days_overdue_show_when_a_stage_is_late(pages):
    patch = _one(pages, state="interpreted")
    pages.client.app.dependency_overrides[get_today] = lambda: date(2030, 1, 1)
    page = pages.get(_url(patch["patch_id"]), FORESTRY).text
    late = read_patch_states(pages.ws, date(2030, 1, 1)).set_index("patch_id")
    days = int(late.loc[patch["patch_id"], "days_overdue"])
    assert days > 0 and f"已逾期 {days} 天" in page


def test_a_village_reads_its_own_patch_without_a_form(pages):
    patch = _one(pages, village_code=VILLAGE)
    res = pages.get(_url(patch["patch_id"]), "village")
    assert res.status_code == 200
    assert "data-offline-queue" not in res.text and 'name="to"' not in res.text


@pytest.mark.parametrize(("who", "status"), [("other_village", 404), ("viewer", 404)])
def test_a_patch_outside_the_scope_is_not_found(pages, who, status):
    patch = _one(pages, village_code=VILLAGE)
    res = pages.get(_url(patch["patch_id"]), who)
    assert res.status_code == status
    assert "找不到" in res.text


def test_another_department_reads_the_patch_but_gets_no_form(pages):
    patch = _one(pages, state="interpreted")
    page = pages.get(_url(patch["patch_id"]), "department").text
    assert 'name="to"' not in page


def test_the_verifier_gets_a_form_marked_for_the_offline_queue(pages):
    patch = _one(pages, state="interpreted")
    page = pages.get(_url(patch["patch_id"]), FORESTRY).text
    form = re.search(r"<form[^>]*data-offline-queue[^>]*>", page)
    assert form and f'value="{patch["version"]}"' in page
    assert 'name="photos"' in page and 'name="note"' in page


def test_a_linked_problem_is_a_link_for_the_office(pages):
    # the sample's patches verified illegal opened problems for their villages
    linked = [p for p in _patches(pages) if p["problem_id"]]
    assert linked
    page = pages.get(_url(linked[0]["patch_id"]), "office").text
    assert f'href="/app/problems/{linked[0]["problem_id"]}"' in page


# --- verifying ----------------------------------------------------------------------------


def test_the_verifier_moves_a_patch_through_dispatch_and_verification(pages):
    patch = _one(pages, state="interpreted")
    res = _post(pages, FORESTRY, patch, to="dispatched")
    assert res.status_code == 303 and res.headers["location"].endswith("?saved=1")
    patch = _one(pages, patch_id=str(patch["patch_id"]))
    assert patch["state"] == "dispatched"
    res = _post(
        pages,
        FORESTRY,
        patch,
        photos=2,
        to="verified",
        legality="illegal",
        verified_on="2026-11-27",
    )
    assert res.status_code == 303, res.text
    after = _one(pages, patch_id=str(patch["patch_id"]))
    assert (after["state"], after["legality"]) == ("verified", "illegal")
    assert after["verifier"] == "林业站王五" and after["verified_on"] == "2026-11-27"
    history = patch_history(pages.ws, str(patch["patch_id"]))
    assert "photos" in set(history["event"])
    page = pages.get(res.headers["location"], FORESTRY).text
    assert "已提交" in page and "/photos/" in page


def test_a_legal_verification_closes_the_patch(pages):
    patch = _one(pages, state="interpreted")
    _post(pages, "office", patch, to="dispatched")
    patch = _one(pages, patch_id=str(patch["patch_id"]))
    res = _post(pages, "office", patch, to="verified", legality="legal")
    assert res.status_code == 303
    assert _one(pages, patch_id=str(patch["patch_id"]))["state"] == "closed"


def test_verification_without_legality_is_refused_keeping_the_text(pages):
    patch = _one(pages, state="interpreted")
    _post(pages, FORESTRY, patch, to="dispatched")
    patch = _one(pages, patch_id=str(patch["patch_id"]))
    res = _post(pages, FORESTRY, patch, to="verified", note="地块已复绿一半")
    assert res.status_code == 422
    assert "legality" in res.text and "地块已复绿一半" in res.text
    assert _one(pages, patch_id=str(patch["patch_id"]))["state"] == "dispatched"


def test_a_stale_form_is_412_showing_what_changed_and_keeping_the_text(pages):
    patch = _one(pages, state="interpreted")
    update_patch(
        pages.ws,
        patch["patch_id"],
        int(patch["version"]),
        actor="office:主任",
        state="dispatched",
        note="已下发丰阳村",
    )
    res = _post(pages, FORESTRY, patch, to="dispatched", note="我写的核实情况")
    assert res.status_code == 412
    assert "已被他人更新" in res.text and "已下发丰阳村" in res.text
    assert "我写的核实情况" in res.text
    assert 'value="2"' in res.text  # the form now carries the current version
    assert len(patch_history(pages.ws, str(patch["patch_id"]))) == 2  # nothing was added


def test_a_village_cannot_move_its_patch(pages):
    patch = _one(pages, village_code=VILLAGE)
    res = _post(pages, "village", patch, to="closed")
    assert res.status_code == 403
    assert _one(pages, patch_id=str(patch["patch_id"]))["version"] == patch["version"]


def test_a_move_the_patch_cannot_make_is_refused(pages):
    patch = _one(pages, state="verified", legality="illegal")
    res = _post(pages, FORESTRY, patch, to="closed")
    assert res.status_code == 422
    assert "不是可选的下一环节" in res.text


def test_a_photo_of_a_patch_is_served_only_in_scope(pages):
    patch = _one(pages, village_code=VILLAGE, state="verified")
    _post(pages, "office", patch, photos=1, to="investigating")
    name = (
        patch_history(pages.ws, str(patch["patch_id"])).query("event == 'photos'")["note"].iloc[0]
    )
    url = f"{_url(patch['patch_id'])}/photos/{name}"
    own = pages.get(url, "village")
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    assert pages.get(url, "other_village").status_code == 404


def test_the_verification_is_audited(pages):
    patch = _one(pages, state="interpreted")
    _post(pages, FORESTRY, patch, to="dispatched")
    with contextlib.closing(sqlite3.connect(pages.path)) as con, con:
        actions = {r[0] for r in con.execute("SELECT action FROM audit_log")}
    assert {"page.patch.act", "patch.update"} <= actions


# --- task lists ---------------------------------------------------------------------------


def test_the_verifier_s_task_list_holds_the_open_patches_most_urgent_first(pages):
    page = pages.get("/app", FORESTRY).text
    open_ids = [str(p["patch_id"]) for p in _patches(pages) if p["state"] != "closed"]
    shown = re.findall(r'href="/app/patches/(\d+)"', page)
    assert shown and set(shown) <= set(open_ids)
    assert "待办的变化图斑" in page
    assert f"未销号 {len(open_ids)} 个" in page


def test_the_office_task_list_holds_the_patches(pages):
    page = pages.get("/app", "office").text
    assert 'id="patches"' in page and "/app/patches/" in page


def test_a_village_task_list_holds_its_own_patches_to_read(pages):
    page = pages.get("/app", "village").text
    own = {str(p["patch_id"]) for p in _patches(pages, village_code=VILLAGE)}
    shown = set(re.findall(r'href="/app/patches/(\d+)"', page))
    assert shown <= own
    assert "本村的变化图斑" in page and "只供查看" in page


def test_a_department_that_does_not_verify_has_no_patch_list(pages):
    page = pages.get("/app", "department").text
    assert 'id="patches"' not in page


def test_the_history_names_a_link_in_words(pages):
    linked = next(p for p in _patches(pages) if p["problem_id"])
    history = patch_history(pages.ws, str(linked["patch_id"]))
    assert "link" in set(history["event"])
    page = pages.get(_url(linked["patch_id"]), "office").text
    assert "关联整改问题或执法目标" in page
    english = pages.get(_url(linked["patch_id"]) + "?lang=en", "office").text
    assert "problem or target linked" in english


# --- the records behind the pages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "lang", "words"),
    [
        ("421", "zh", "未经审批使用林地（永久使用）"),
        ("22", "en", "felling without approval"),
        ("77", "zh", "代码 77"),
        (None, "zh", ""),
        ("  ", "en", ""),
    ],
)
def test_a_change_cause_in_words(code, lang, words):
    assert cause_words(code, lang) == words


def test_a_workspace_without_patches_gives_empty_task_lists(tmp_path):
    ws = workspace(tmp_path)
    office = Principal("u", "主任", "office")
    assert patch_tasks(ws, office, date.fromisoformat(AS_OF)) == PatchTasks(may_move=True)
    with pytest.raises(NotFoundError, match="44188220250001"):
        scoped_patch(ws, office, "44188220250001", date.fromisoformat(AS_OF))
