"""Cross-site request forgery: the attacks of the hardening review, kept as tests.

A page on another port of the same host (cookies are shared by every port, and the
SameSite=Strict cookie goes along) posts a form moving a village's problem, or fetches
with ``credentials: 'include'`` to replace the villages layer as the signed-in office.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.api.csrf import check_origin, token_for
from geoservice.api.deps import COOKIE
from geoservice.base.errors import CrossSiteRequestError
from geoservice.base.settings import Settings
from geoservice.workflow.store import read_problems

from .conftest import Town
from .test_layers import villages_zip

PROBLEM = "DC202606-002"  # the village's problem, rejected: the village may report progress
OWN = "http://testserver"  # what the test client's server socket reports
ATTACKER = "http://testserver:9000"  # another port of the same host


def _browser(town: Town, who: str) -> TestClient:
    """A browser signed in as ``who``: the cookie only, no Authorization header."""
    client = TestClient(town.client.app)
    client.cookies.set(COOKIE, town.tokens[who])
    return client


def _state(town: Town) -> str:
    probs = read_problems(town.ws)
    return str(probs.loc[probs["problem_id"] == PROBLEM, "status"].iloc[0])


def _refusals(town: Town) -> list[str]:
    log = town.ws.audit()
    return list(log.loc[log["action"] == "csrf.refused", "detail"])


def _move(client: TestClient, headers: dict[str, str], **extra: str):  # type: ignore[no-untyped-def]
    data = {"to": "in_progress", "version": "1", "note": "已整改", **extra}
    return client.post(
        f"/app/problems/{PROBLEM}", data=data, headers=headers, follow_redirects=False
    )


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def _import_villages(client: TestClient, folder: Path, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    path = villages_zip(folder)
    with path.open("rb") as fh:
        return client.post(
            "/layers/villages/import",
            headers=headers,
            files={"file": (path.name, fh, "application/octet-stream")},
            data={"mode": "replace", "owner": "natural_resources"},
        )


# --- the attacks ------------------------------------------------------------------------


def test_a_form_from_another_port_moving_a_problem_is_refused(town):
    before = _state(town)
    res = _move(_browser(town, "village"), {"Origin": ATTACKER})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "csrf.bad_origin"
    assert _state(town) == before


def test_a_refused_form_is_audited_with_who_and_where_from(town):
    _move(_browser(town, "village"), {"Origin": ATTACKER})
    log = town.ws.audit()
    row = log[log["action"] == "csrf.refused"].iloc[-1]
    assert row["actor"].startswith("village:")
    assert ATTACKER in row["detail"] and "csrf.bad_origin" in row["detail"]


def test_a_form_from_another_site_known_only_by_its_referer_is_refused(town):
    res = _move(_browser(town, "village"), {"Referer": "http://evil.example/page.html"})
    assert res.status_code == 403
    assert "http://evil.example" in res.json()["error"]["en"]


def test_a_cookie_change_with_neither_origin_nor_referer_is_refused(town):
    res = _move(_browser(town, "village"), {})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "csrf.no_origin"


def test_an_opaque_null_origin_is_refused(town):
    res = _move(_browser(town, "village"), {"Origin": "null"})
    assert res.status_code == 403


def test_a_fetch_from_another_port_replacing_a_layer_is_refused(town, fresh_dir):
    res = _import_villages(_browser(town, "office"), fresh_dir, {"Origin": ATTACKER})
    assert res.status_code == 403
    log = town.ws.audit()
    assert (log["action"] == "layers.import").sum() == 0
    assert len(_refusals(town)) == 1


def test_a_cookie_patch_of_the_json_api_from_another_port_is_refused(town):
    res = _browser(town, "village").patch(
        f"/problems/{PROBLEM}",
        json={"state": "in_progress", "note": "伪造"},
        headers={"Origin": ATTACKER, "If-Match": '"1"'},
    )
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "csrf.bad_origin"


def test_the_same_port_without_the_token_is_refused(town, fresh_dir):
    res = _import_villages(_browser(town, "office"), fresh_dir, {"Origin": OWN})
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "csrf.bad_token"


def test_a_page_form_without_its_token_is_refused_as_a_page(town):
    before = _state(town)
    res = _move(_browser(town, "village"), {"Origin": OWN})
    assert res.status_code == 403
    assert res.headers["content-type"].startswith("text/html")
    assert _state(town) == before
    log = town.ws.audit()
    assert "csrf.bad_token" in log[log["action"] == "page.problem.report"].iloc[-1]["detail"]


def test_a_signin_form_posted_from_another_site_is_refused(town):
    res = TestClient(town.client.app).post(
        "/signin", data={"token": town.tokens["village"]}, headers={"Origin": ATTACKER}
    )
    assert res.status_code == 403
    assert "set-cookie" not in res.headers


def test_a_signout_form_without_its_token_keeps_the_cookie(town):
    res = _browser(town, "village").post("/signout", headers={"Origin": OWN})
    assert res.status_code == 403
    assert "set-cookie" not in res.headers


# --- what still works -------------------------------------------------------------------


def test_the_problem_page_form_with_its_token_moves_the_problem(town):
    browser = _browser(town, "village")
    page = browser.get(f"/app/problems/{PROBLEM}").text
    token, version = _hidden(page, "csrf_token"), _hidden(page, "version")
    assert token == token_for(town.tokens["village"])
    res = _move(browser, {"Origin": OWN}, csrf_token=token, version=version)
    assert res.status_code == 303, res.text
    assert _state(town) == "in_progress"


def test_a_same_origin_referer_stands_in_for_a_missing_origin(town):
    browser = _browser(town, "village")
    referer = {"Referer": f"{OWN}/app/problems/{PROBLEM}"}
    res = _move(browser, referer, csrf_token=token_for(town.tokens["village"]))
    assert res.status_code == 303, res.text


@pytest.mark.slow
def test_a_same_origin_fetch_with_the_token_header_replaces_the_layer(town, fresh_dir):
    headers = {"Origin": OWN, "X-CSRF-Token": token_for(town.tokens["office"])}
    res = _import_villages(_browser(town, "office"), fresh_dir, headers)
    assert res.status_code == 201, res.text


@pytest.mark.slow
def test_bearer_requests_need_neither_origin_nor_token(town, fresh_dir):
    res = _import_villages(town.client, fresh_dir, town.headers("office"))
    assert res.status_code == 201, res.text


@pytest.mark.slow
def test_a_bearer_header_wins_over_a_cookie_sent_along(town, fresh_dir):
    res = _import_villages(_browser(town, "viewer"), fresh_dir, town.headers("office"))
    assert res.status_code == 201, res.text


def test_basic_auth_with_the_token_as_password_needs_no_origin(town):
    res = _browser(town, "village").post(
        f"/app/problems/{PROBLEM}",
        data={"to": "in_progress", "version": "1", "note": "已整改"},
        auth=("any", town.tokens["village"]),
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text


def test_a_signin_without_origin_from_a_program_still_works(town):
    res = TestClient(town.client.app).post(
        "/signin", data={"token": town.tokens["village"]}, follow_redirects=False
    )
    assert res.status_code == 303


# --- the trusted address ----------------------------------------------------------------


def _with_public_url(town: Town, url: str) -> TestClient:
    settings = Settings(
        workspace=town.path, evidence_dir=town.settings.evidence_dir, public_url=url
    )
    client = TestClient(create_app(settings))
    client.cookies.set(COOKIE, town.tokens["village"])
    return client


def test_with_a_public_url_only_that_origin_may_change(town):
    client = _with_public_url(town, "https://linzhang.example.cn/")
    token = token_for(town.tokens["village"])
    assert _move(client, {"Origin": OWN}, csrf_token=token).status_code == 403
    res = _move(client, {"Origin": "https://linzhang.example.cn"}, csrf_token=token)
    assert res.status_code == 303, res.text


def test_a_forged_host_header_does_not_widen_the_trusted_origin(town):
    headers = {"Host": "testserver:9000", "Origin": ATTACKER}
    res = _move(_browser(town, "village"), headers, csrf_token=token_for(town.tokens["village"]))
    assert res.status_code == 403


def test_the_refusal_names_the_origin_received_and_the_one_expected():
    with pytest.raises(CrossSiteRequestError, match=r"came from http://a:1, not .*http://b"):
        check_origin({"origin": "http://a:1"}, "http://b")


def test_a_default_port_in_the_origin_matches_the_address_without_it():
    check_origin({"origin": "HTTP://TestServer:80"}, OWN)


def test_each_sign_in_token_has_its_own_request_token():
    assert token_for("gs_a") != token_for("gs_b")
    assert re.fullmatch(r"[0-9a-f]{64}", token_for(""))


def test_a_public_url_that_is_not_an_address_is_refused(tmp_path):
    with pytest.raises(ValueError, match="GEOSERVICE_PUBLIC_URL was 'linzhang:8000'"):
        Settings(workspace=tmp_path / "w.gpkg", public_url="linzhang:8000")


def test_signing_in_again_with_an_old_cookie_needs_no_origin(town):
    res = _browser(town, "viewer").post(
        "/signin", data={"token": town.tokens["village"]}, follow_redirects=False
    )
    assert res.status_code == 303
