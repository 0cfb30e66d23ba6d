"""Failed sign-ins and failed tokens are town per client address: after the allowed
failures the address gets 429 with Retry-After until its window ends; other addresses and
successful requests are unaffected; the audit log has one row per address and window."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.api.throttle import FailureThrottle
from geoservice.base.settings import Settings

from .conftest import Town

ATTACKER = ("203.0.113.7", 40000)
NEIGHBOUR = ("203.0.113.8", 40000)


def client(town: Town, address: tuple[str, int], **settings: int) -> TestClient:
    app = create_app(town.settings.model_copy(update=settings) if settings else town.settings)
    return TestClient(app, client=address)


def same_app(c: TestClient, address: tuple[str, int]) -> TestClient:
    """Another client address speaking to the same app (so the same counts)."""
    return TestClient(c.app, client=address)


def bad(n: int) -> dict[str, str]:
    return {"Authorization": f"Bearer wrong-token-{n}"}


def failures_audited(town: Town) -> list[dict]:
    log = town.ws.audit()
    rows = log[log["action"] == "access.failed"]
    return [json.loads(d) for d in rows["detail"]]


def test_twelve_bad_tokens_end_in_429_with_retry_after(town):
    c = client(town, ATTACKER)
    codes = [c.get("/ogc/collections", headers=bad(i)).status_code for i in range(12)]
    assert codes == [401] * 10 + [429] * 2
    res = c.get("/ogc/collections", headers=bad(99))
    assert res.status_code == 429
    assert 1 <= int(res.headers["Retry-After"]) <= 300
    err = res.json()["error"]
    assert err["code"] == "access.too_many_failures"
    assert "203.0.113.7" in err["en"] and "try again in" in err["en"]


def test_a_blocked_address_is_refused_even_with_a_good_token(town):
    c = client(town, ATTACKER)
    for i in range(10):
        c.get("/problems", headers=bad(i))
    assert c.get("/ogc/collections", headers=town.headers("office")).status_code == 429


@pytest.mark.slow
def test_a_good_token_from_another_address_still_works(town):
    c = client(town, ATTACKER)
    for i in range(12):
        c.get("/ogc/collections", headers=bad(i))
    other = same_app(c, NEIGHBOUR)
    assert other.get("/ogc/collections", headers=town.headers("office")).status_code == 200
    assert other.get("/ogc/collections", headers=bad(0)).status_code == 401


@pytest.mark.slow
def test_successful_requests_are_not_town(town):
    c = client(town, ATTACKER, auth_failures=3)
    for _ in range(20):
        assert c.get("/ogc/collections", headers=town.headers("viewer")).status_code == 200


def test_requests_without_any_token_are_not_counted(town):
    c = client(town, ATTACKER, auth_failures=3)
    assert {c.get("/ogc/collections").status_code for _ in range(10)} == {401}
    assert failures_audited(town) == []


def test_basic_auth_and_cookie_failures_count_too(town):
    c = client(town, ATTACKER, auth_failures=2)
    basic = base64.b64encode(b"gdal:wrong").decode()
    assert c.get("/ogc/collections", headers={"Authorization": f"Basic {basic}"}).status_code == 401
    c.cookies.set("geoservice_token", "wrong-cookie")
    assert c.get("/problems").status_code == 401
    assert c.get("/problems").status_code == 429


def test_failed_sign_ins_end_in_429_with_retry_after(town):
    c = client(town, ATTACKER)
    codes = [c.post("/signin", data={"token": f"guess-{i}"}).status_code for i in range(12)]
    assert codes == [401] * 10 + [429] * 2
    res = c.post("/signin", data={"token": town.tokens["village"]}, follow_redirects=False)
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1
    assert "203.0.113.7" in res.text


def test_sign_in_from_another_address_still_works(town):
    c = client(town, ATTACKER)
    for i in range(12):
        c.post("/signin", data={"token": f"guess-{i}"})
    other = same_app(c, NEIGHBOUR)
    res = other.post("/signin", data={"token": town.tokens["village"]}, follow_redirects=False)
    assert res.status_code == 303


@pytest.mark.slow
def test_five_hundred_failures_leave_one_audit_row_per_address(town):
    c = client(town, ATTACKER)
    for i in range(250):
        c.get("/ogc/collections", headers=bad(i))
        c.post("/signin", data={"token": f"guess-{i}"})
    same_app(c, NEIGHBOUR).get("/ogc/collections", headers=bad(0))
    rows = failures_audited(town)
    assert sorted(r["from"] for r in rows) == ["203.0.113.7", "203.0.113.8"]
    assert rows[0]["window_s"] == 300 and rows[0]["failures_allowed"] == 10


@pytest.mark.slow
def test_after_the_window_the_address_may_try_again_and_is_audited_again(town):
    c = client(town, ATTACKER, auth_failures=2, auth_window_s=1)
    assert [c.get("/problems", headers=bad(i)).status_code for i in range(3)] == [401, 401, 429]
    time.sleep(1.2)
    assert c.get("/problems", headers=town.headers("office")).status_code == 200
    assert c.get("/problems", headers=bad(9)).status_code == 401
    assert len(failures_audited(town)) == 2


def test_the_throttle_counts_each_address_in_its_own_window():
    throttle = FailureThrottle(failures=2, window_s=60)
    assert throttle.retry_after("a") is None
    assert throttle.fail("a") is True
    assert throttle.fail("a") is False
    assert 59 <= (throttle.retry_after("a") or 0) <= 60
    assert throttle.retry_after("b") is None


@pytest.mark.parametrize(("name", "value"), [("auth_failures", 0), ("auth_window_s", 0)])
def test_limits_below_one_are_refused_by_the_settings(name, value, tmp_path):
    with pytest.raises(ValueError, match=name):
        Settings(workspace=tmp_path / "w.gpkg", **{name: value})
