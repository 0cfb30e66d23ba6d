"""Sign-in by QR link: the page's script, and the token never reaching a request line, the
audit log or the server's log."""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from geoservice.base.signin_link import signin_url

BASE = "http://testserver"


def _audit_text(town) -> str:  # type: ignore[no-untyped-def]
    with contextlib.closing(sqlite3.connect(town.path)) as con, con:
        rows = con.execute("SELECT * FROM audit_log").fetchall()
    return "\n".join(map(str, rows))


def test_the_signin_page_loads_its_own_fragment_script(town):
    page = town.client.get("/signin").text
    assert 'id="signin-form"' in page
    assert '<script src="/static/pages/signin.js?v=' in page


def test_the_fragment_script_is_served_as_javascript_allowed_by_the_pages_policy(town):
    res = town.client.get("/static/pages/signin.js")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/javascript")
    assert "history.replaceState" in res.text and 'get("token")' in res.text
    policy = town.client.get("/signin").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]


def test_opening_the_qr_link_sends_no_token_in_the_request_line(town):
    token = town.tokens["village"]
    res = town.client.get(signin_url(BASE, token))
    assert res.status_code == 200
    assert token not in res.request.url.raw_path.decode()
    assert token not in res.text


def test_signing_in_with_the_qr_token_keeps_it_out_of_audit_and_logs(town, caplog):
    token = town.tokens["village"]
    caplog.set_level(logging.DEBUG)
    town.client.get(signin_url(BASE, token))
    res = town.client.post("/signin", data={"token": token}, follow_redirects=False)
    assert (res.status_code, res.headers["location"]) == (303, "/app")
    assert town.client.get("/app").status_code == 200
    audit = _audit_text(town)
    assert "page.signin" in audit
    assert token not in audit
    # The test client's own request log (httpx) shows the link it was given; the server's
    # records (the app, uvicorn, starlette) must not hold the token.
    server = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert server and not any(token in line for line in server)
    assert token.encode() not in town.path.read_bytes()
