"""Field pages: what each role sees, sign-in, the report form, sizes and caching."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from datetime import date

import pyogrio
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geoservice.api.app import create_app
from geoservice.api.csrf import token_for
from geoservice.api.deps import COOKIE
from geoservice.api.pages.routing import get_today
from geoservice.base.access import add_user, authenticate, revoke_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.workflow.store import history, read_problems, update_problem
from tests.support.files import copy_workspace

from .conftest import AS_OF, DEPARTMENT, OTHER_VILLAGE, VILLAGE, Town

OVERDUE = "DC202606-002"  # the village's problem: rejected, deadline 2026-11-20
REPORTED = "DC202503-002"  # the village's problem awaiting verification
OTHER_PID = "DC202603-002"  # another village's problem, assigned
URL = f"/app/problems/{OVERDUE}"
EXTERNAL = re.compile(r"https?://", re.IGNORECASE)


def _pin_day(client: TestClient) -> None:
    client.app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)  # type: ignore[attr-defined]


@pytest.fixture
def pages(town):
    """A private town with deadlines counted at AS_OF, for tests that change it."""
    _pin_day(town.client)
    return town


@pytest.fixture(scope="module")
def reader(town_template, tmp_path_factory):
    """One town shared by the tests that only read (deadlines counted at AS_OF)."""
    folder = tmp_path_factory.mktemp("reader")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    users = {
        "office": {"role": "office"},
        "department": {"role": "department", "department": DEPARTMENT},
        "other_department": {"role": "department", "department": "education"},
        "village": {"role": "village", "village": VILLAGE},
        "other_village": {"role": "village", "village": OTHER_VILLAGE},
        "viewer": {"role": "viewer"},
    }
    tokens = {
        who: add_user(Workspace(path), name=who, by="test", **kw)[1] for who, kw in users.items()
    }
    settings = Settings(workspace=path, user="service", evidence_dir=folder / "evidence")
    client = TestClient(create_app(settings))
    _pin_day(client)
    return Town(path=path, settings=settings, client=client, tokens=tokens)


@pytest.fixture
def fresh(reader):
    """A client of the shared town with an empty cookie jar."""
    return TestClient(reader.client.app)


def _jpeg(size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    image = (
        Image.effect_noise(size, 120).convert("RGB") if noise else Image.new("RGB", size, "green")
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def _post(pages, who: str, url: str = URL, photos=(), client=None, **fields):  # type: ignore[no-untyped-def]
    data = {"to": "in_progress", "version": "1", "note": "已停止开采，正在复绿", **fields}
    files = [("photos", (name, blob, "image/jpeg")) for name, blob in photos]
    return (client or pages.client).post(
        url, data=data, files=files or None, headers=pages.headers(who), follow_redirects=False
    )


def _ids_of_villages(pages, keep) -> set[str]:  # type: ignore[no-untyped-def]
    probs = read_problems(pages.ws)
    return set(probs.loc[keep(probs["village_code"]), "problem_id"].astype(str))


def _targets(pages):  # type: ignore[no-untyped-def]
    return pyogrio.read_dataframe(pages.path, layer="targets", read_geometry=False)


# --- what each role sees --------------------------------------------------------------


def test_village_sees_its_own_problems_and_no_other_villages(reader):
    page = reader.get("/app", "village").text
    for pid in _ids_of_villages(reader, lambda c: c == VILLAGE):
        assert pid in page
    leaked = [p for p in _ids_of_villages(reader, lambda c: c != VILLAGE) if p in page]
    assert leaked == []


def test_village_list_puts_overdue_first_with_countdown_and_escalation(reader):
    page = reader.get("/app", "village").text
    assert page.index(OVERDUE) < page.index(REPORTED)
    assert "已逾期 8 天" in page
    assert "提醒函" in page


def test_open_problem_shows_days_left(reader):
    page = reader.get("/app", "department").text
    assert "还剩 17 天" in page


def test_department_sees_its_targets_lead_first_and_not_others(reader):
    targets = _targets(reader)
    lead = targets.loc[targets["lead_department"] == DEPARTMENT, "target_id"].tolist()
    coop = targets.loc[
        (targets["lead_department"] != DEPARTMENT)
        & targets["cooperating_departments"].str.contains(DEPARTMENT),
        "target_id",
    ].tolist()
    others = set(targets["target_id"]) - set(lead) - set(coop)
    page = reader.get("/app", "department").text
    assert lead and coop and others
    assert max(page.index(t) for t in lead) < min(page.index(t) for t in coop)
    assert not [t for t in others if t in page]


def test_other_department_does_not_see_the_police_targets(reader):
    targets = _targets(reader)
    police = targets.loc[
        (targets["lead_department"] == DEPARTMENT)
        | targets["cooperating_departments"].str.contains(DEPARTMENT),
        "target_id",
    ]
    mine = targets["cooperating_departments"].str.contains("education") | (
        targets["lead_department"] == "education"
    )
    page = reader.get("/app", "other_department").text
    assert not [t for t in police[~mine.reindex(police.index)] if t in page]


def test_department_sees_the_problems_copied_to_it_only(reader):
    probs = read_problems(reader.ws)
    copied = probs["cc_departments"].str.contains(DEPARTMENT).fillna(False)
    page = reader.get("/app", "department").text
    assert all(p in page for p in probs.loc[copied, "problem_id"])
    assert not [p for p in probs.loc[~copied, "problem_id"] if p in page]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        (f"village={OTHER_VILLAGE}", lambda p, esc: p["village_code"] == OTHER_VILLAGE),
        ("state=reported", lambda p, esc: p["status"] == "reported"),
        ("overdue=1", lambda p, esc: esc["overdue"]),
    ],
)
def test_office_filters_problems(reader, query, keep):
    from geoservice.workflow.escalation import escalate

    probs = read_problems(reader.ws)
    wanted = keep(probs, escalate(probs, date.fromisoformat(AS_OF))).fillna(False).astype(bool)
    page = reader.get(f"/app?{query}", "office").text
    assert set(probs.loc[wanted, "problem_id"]) <= {p for p in probs["problem_id"] if p in page}
    assert not [p for p in probs.loc[~wanted, "problem_id"] if p in page]


def test_office_bad_filter_gets_an_error_page(reader):
    res = reader.get("/app?state=done", "office")
    assert res.status_code == 422
    assert "状态筛选为“done”" in res.text
    assert res.headers["content-type"].startswith("text/html")


def test_viewer_sees_only_the_village_summary(reader):
    page = reader.get("/app", "viewer").text
    assert "各村整改情况" in page and "白石村" in page
    assert not re.search(r"DC\d{6}-\d{3}|T-[0-9a-f]{10}", page)


def test_viewer_gets_404_for_a_problem(reader):
    assert reader.get(URL, "viewer").status_code == 404


@pytest.mark.parametrize(
    ("who", "present", "absent"),
    [
        ("village", ["/maps/villages"], ["/maps/targets", "/maps/department/"]),
        ("department", ["/maps/targets", f"/maps/department/{DEPARTMENT}"], []),
        ("office", ["/maps/targets", "/maps/villages"], ["/maps/department/"]),
        ("viewer", ["/maps/villages"], ["/maps/targets", "/maps/department/"]),
    ],
)
def test_menu_is_scoped_to_the_person(reader, who, present, absent):
    page = reader.get("/app", who).text
    assert 'action="/signout"' in page and 'href="/app"' in page
    assert all(f'href="{p}' in page for p in present)
    assert not [a for a in absent if f'href="{a}' in page]


# --- sign-in --------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/app", URL])
def test_anonymous_is_sent_to_signin(reader, url):
    res = reader.client.get(url, follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["location"] == "/signin"


def test_home_sends_a_signed_in_person_to_tasks(reader):
    res = reader.get("/", "village", follow_redirects=False)
    assert (res.status_code, res.headers["location"]) == (303, "/app")


def test_signin_sets_an_httponly_strict_cookie(reader, fresh):
    res = fresh.post("/signin", data={"token": reader.tokens["village"]}, follow_redirects=False)
    assert (res.status_code, res.headers["location"]) == (303, "/app")
    cookie = res.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie
    assert OVERDUE in fresh.get("/app").text


def test_signin_over_https_marks_the_cookie_secure(reader):
    client = TestClient(reader.client.app, base_url="https://testserver")
    res = client.post("/signin", data={"token": reader.tokens["village"]}, follow_redirects=False)
    assert "secure" in res.headers["set-cookie"].lower()


def _expired_token(reader) -> str:  # type: ignore[no-untyped-def]
    user, token = add_user(
        reader.ws, role="village", name="过期", by="test", village=VILLAGE, expires_days=1
    )
    with contextlib.closing(sqlite3.connect(reader.path)) as con, con:
        con.execute(
            "UPDATE service_users SET expires_at = '2000-01-01T00:00:00+00:00' WHERE user_id = ?",
            (user.user_id,),
        )
    return token


def _revoked_token(reader) -> str:  # type: ignore[no-untyped-def]
    user, token = add_user(reader.ws, role="village", name="注销", by="test", village=VILLAGE)
    revoke_user(reader.ws, user.user_id, by="test")
    return token


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (lambda reader: "gs_not-a-token", "令牌无效"),
        (_revoked_token, "被注销"),
        (_expired_token, "过期"),
    ],
)
def test_signin_with_a_bad_token_shows_why(reader, fresh, make, text):
    res = fresh.post("/signin", data={"token": make(reader)}, follow_redirects=False)
    assert res.status_code == 401
    assert text in res.text and 'name="token"' in res.text
    assert "set-cookie" not in res.headers


@pytest.mark.parametrize(
    ("make", "reason", "text"),
    [(_revoked_token, "revoked", "已被注销"), (_expired_token, "expired", "已过期")],
)
def test_a_dead_cookie_sends_the_page_to_signin_with_the_reason(reader, fresh, make, reason, text):
    fresh.cookies.set(COOKIE, make(reader))
    res = fresh.get("/app", follow_redirects=False)
    assert (res.status_code, res.headers["location"]) == (303, f"/signin?reason={reason}")
    assert text in fresh.get(res.headers["location"]).text


def test_signout_clears_the_cookie(reader, fresh):
    fresh.post("/signin", data={"token": reader.tokens["village"]})
    form = {"csrf_token": token_for(reader.tokens["village"])}
    origin = {"Origin": "http://testserver"}
    res = fresh.post("/signout", data=form, headers=origin, follow_redirects=False)
    assert res.status_code == 303
    assert (
        f'{COOKIE}=""' in res.headers["set-cookie"]
        or "max-age=0" in res.headers["set-cookie"].lower()
    )
    assert fresh.get("/app", follow_redirects=False).status_code == 303


# --- a problem ------------------------------------------------------------------------


def test_problem_page_shows_what_where_deadline_history_and_the_form(reader):
    page = reader.get(URL, "village").text
    shapes = json.loads(re.search(r'id="map-data">(.*?)</script>', page, re.S).group(1))
    kinds = [f["properties"]["kind"] for f in shapes["features"]]
    lon, lat = next(f for f in shapes["features"] if f["geometry"]["type"] == "Point")["geometry"][
        "coordinates"
    ]
    assert kinds == ["village", "problem"] and 112 < lon < 113 and 24 < lat < 25
    assert "非法采矿采砂采石" in page and "2026-11-20" in page and "已逾期 8 天" in page
    assert 'name="version" value="1"' in page and 'enctype="multipart/form-data"' in page
    assert 'name="photos" accept="image/*" capture="environment" multiple' in page
    assert 'value="in_progress"' in page and 'value="verified"' not in page
    assert "/static/maps/leaflet.js" in page


def test_department_reads_a_copied_problem_without_a_form(reader):
    res = reader.get(URL, "department")
    assert res.status_code == 200
    assert '<form method="post" enctype' not in res.text


def test_office_may_verify_a_reported_problem(reader):
    page = reader.get(f"/app/problems/{REPORTED}", "office").text
    assert 'value="verified"' in page and 'value="rejected"' in page


def test_another_villages_problem_is_a_404_page(reader):
    res = reader.get(URL, "other_village")
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert OVERDUE in res.text and "白石村" not in res.text


def test_report_with_a_photo_changes_the_state_and_keeps_the_photo(pages):
    res = _post(pages, "village", photos=[("现场.jpg", _jpeg())])
    assert (res.status_code, res.headers["location"]) == (303, f"{URL}?saved=1")
    last = history(pages.ws, OVERDUE).iloc[-1]
    assert (last["to_state"], last["note"], len(last["evidence"])) == (
        "in_progress",
        "已停止开采，正在复绿",
        1,
    )
    page = pages.get(res.headers["location"], "village").text
    assert "已提交" in page and "整改中" in page
    assert f'href="/problems/{OVERDUE}/evidence/{last["evidence"][0]}"' in page


def test_completion_report_without_photos_needs_no_file(pages):
    update_problem(pages.ws, OVERDUE, "in_progress", "test")
    res = _post(pages, "village", to="reported", version="2")
    assert res.status_code == 303
    assert read_problems(pages.ws).set_index("problem_id").at[OVERDUE, "status"] == "reported"


def test_stale_version_gets_409_with_what_changed(pages):
    update_problem(pages.ws, OVERDUE, "in_progress", "office:镇林长办", note="镇林长办已督促")
    res = _post(pages, "village", to="reported", photos=[("a.jpg", _jpeg())])
    assert res.status_code == 409
    assert "已被" in res.text and "镇林长办已督促" in res.text
    assert 'name="version" value="2"' in res.text
    assert len(history(pages.ws, OVERDUE)) == 2
    assert not list((pages.settings.evidence_path()).rglob("*.jpg"))


@pytest.mark.slow
def test_oversize_photo_is_413(pages):
    settings = pages.settings.model_copy(update={"max_photo_mb": 1})
    client = TestClient(create_app(settings))
    _pin_day(client)
    blob = _jpeg((1100, 1100), noise=True)
    assert len(blob) > 1024 * 1024
    res = _post(pages, "village", photos=[("big.jpg", blob)], client=client)
    assert res.status_code == 413
    assert "超过上限 1 MB" in res.text and 'name="version"' in res.text
    assert len(history(pages.ws, OVERDUE)) == 1


def test_a_file_that_is_not_a_photo_is_422(pages):
    res = _post(pages, "village", photos=[("note.txt", b"just words")])
    assert res.status_code == 422
    assert "只接受" in res.text
    assert len(history(pages.ws, OVERDUE)) == 1


def test_a_report_without_a_chosen_progress_is_422(pages):
    res = _post(pages, "village", to="")
    assert res.status_code == 422
    assert "请在表单中选择一项整改进度" in res.text
    assert len(history(pages.ws, OVERDUE)) == 1


def test_a_village_posting_to_another_villages_problem_gets_404(pages):
    res = _post(pages, "other_village")
    assert res.status_code == 404
    assert len(history(pages.ws, OVERDUE)) == 1


@pytest.mark.slow
def test_a_department_cannot_post_a_report(pages):
    res = _post(pages, "department")
    assert res.status_code == 403
    assert len(history(pages.ws, OVERDUE)) == 1


def test_village_cannot_verify_its_own_problem(pages):
    res = _post(pages, "village", url=f"/app/problems/{REPORTED}", to="verified")
    assert res.status_code == 403


@pytest.mark.slow
def test_page_views_and_posts_are_audited(pages):
    pages.get(URL, "village")
    _post(pages, "village", photos=[("x.txt", b"no")])
    _post(pages, "village")
    rows = pages.ws.audit()
    mine = rows[rows["target"] == OVERDUE]
    assert {"page.problem", "page.problem.report", "problem.update"} <= set(mine["action"])
    # the refused post is audited by the page, the accepted one once, with the change
    assert (mine["action"] == "page.problem.report").sum() == 1
    [change] = mine.loc[mine["action"] == "problem.update", "detail"].map(json.loads)
    assert change["user_id"] == authenticate(pages.ws, pages.tokens["village"]).user_id
    assert change["from"] == "testclient"


def test_text_from_the_data_is_escaped(pages):
    from geoservice.base.gpkg_sql import connect_file

    with connect_file(pages.path) as con:
        con.execute(
            "UPDATE problems SET description = '<script>alert(1)</script>' WHERE problem_id = ?",
            (OVERDUE,),
        )
    page = pages.get(URL, "village").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize(
    ("lang", "village", "text"),
    [("zh", "未知村", "（无说明）"), ("en", "unknown village", "(no description)")],
)
def test_a_problem_with_no_village_and_no_description_is_shown_in_plain_words(
    pages, lang, village, text
):
    from geoservice.base.gpkg_sql import connect_file

    with connect_file(pages.path) as con:
        con.execute(
            "UPDATE problems SET village_code = NULL, village_name = NULL, description = NULL "
            "WHERE problem_id = ?",
            (OTHER_PID,),
        )
    page = pages.get(f"/app/problems/{OTHER_PID}?lang={lang}", "office").text
    assert f"<dd>{village}</dd>" in page and f"<p>{text}</p>" in page
    listing = pages.get(f"/app?lang={lang}", "office").text
    assert village in listing and "None" not in listing


def test_the_public_summary_names_villages_outside_the_layer(pages):
    from geoservice.base.gpkg_sql import connect_file

    with connect_file(pages.path) as con:
        con.execute(
            "UPDATE problems SET village_code = '441882109999', village_name = NULL "
            "WHERE problem_id = ?",
            (OTHER_PID,),
        )
    page = pages.get("/app", "viewer").text
    assert "<th>未知村（代码 441882109999）</th>" in page


# --- a target -------------------------------------------------------------------------


def test_target_page_shows_map_reasons_departments_and_export(reader):
    target = _targets(reader).query("lead_department == @DEPARTMENT").iloc[0]
    page = reader.get(f"/app/targets/{target['target_id']}", "department").text
    shapes = json.loads(re.search(r'id="map-data">(.*?)</script>', page, re.S).group(1))
    kinds = {f["properties"]["kind"]: f["geometry"]["type"] for f in shapes["features"]}
    assert kinds["target"] in ("Polygon", "MultiPolygon") and kinds["village"] == "Polygon"
    assert "位置：" in page and "镇郊派出所" in page
    assert f'href="/targets/export?format=xlsx&amp;target={target["target_id"]}"' in page


def test_target_reasons_follow_the_language(reader):
    target = _targets(reader)["target_id"].iloc[0]
    page = reader.get(f"/app/targets/{target}?lang=en", "office").text
    assert "Where:" in page and "位置：" not in page


@pytest.mark.parametrize("who", ["other_department", "village", "viewer"])
def test_a_target_outside_the_remit_is_404(reader, who):
    targets = _targets(reader)
    police_only = targets[
        (targets["lead_department"] == DEPARTMENT)
        & ~targets["cooperating_departments"].str.contains("education")
    ]["target_id"].iloc[0]
    assert reader.get(f"/app/targets/{police_only}", who).status_code == 404


# --- language, size, caching ----------------------------------------------------------


def test_english_pages_keep_english_links(reader):
    page = reader.get("/app?lang=en", "village").text
    assert "My tasks" in page and "8 days overdue" in page and "reminder letter" in page
    assert f'href="{URL}?lang=en"' in page


PAGES = [
    ("/signin", None),
    ("/app", "village"),
    ("/app", "department"),
    ("/app", "office"),
    ("/app", "viewer"),
    (URL, "village"),
    (URL, "department"),
    ("/app/targets/T-6aae7a6f06", "department"),
    ("/app/problems/nope", "village"),
]


@pytest.mark.parametrize(("url", "who"), PAGES)
def test_pages_are_small_and_load_nothing_from_outside(reader, url, who):
    res = reader.get(url, who) if who else reader.client.get(url)
    assert len(res.content) < 100 * 1024
    assert not EXTERNAL.findall(res.text)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in res.text


def test_stylesheet_is_cached_with_an_etag(reader):
    res = reader.client.get("/static/pages/field.css")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/css")
    assert re.fullmatch(r"public, max-age=\d{5,}", res.headers["cache-control"])
    again = reader.client.get(
        "/static/pages/field.css", headers={"If-None-Match": res.headers["etag"]}
    )
    assert again.status_code == 304
    assert reader.client.get("/static/pages/other.css").status_code == 404
