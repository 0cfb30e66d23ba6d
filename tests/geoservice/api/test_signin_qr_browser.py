"""Sign-in by scanning the QR code, in headless Chromium on a 360 px phone against a real
uvicorn server with its access log on: the phone lands on its task list, the token leaves
the address bar and the history, and no server log line holds it."""

from __future__ import annotations

import logging

import pytest
import zxingcpp
from PIL import Image

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.signin_link import signin_url, write_qr
from geoservice.base.workspace import Workspace
from tests.support.files import copy_workspace
from tests.support.live_server import serve

from .conftest import VILLAGE

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium")]
PHONE = {"width": 360, "height": 740}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def server(town_template, tmp_path_factory):
    """The town served by uvicorn with its access log on, and a village user's token."""
    folder = tmp_path_factory.mktemp("qr")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    _, token = add_user(Workspace(path), role="village", name="扫码", by="test", village=VILLAGE)
    app = create_app(Settings(workspace=path, user="service", evidence_dir=folder / "ev"))
    log = _Lines()
    for name in ("uvicorn.access", "uvicorn.error", "geoservice"):
        logging.getLogger(name).addHandler(log)
    with serve(app, log_level="debug", access_log=True, log_config=None) as base:
        yield {"base": base, "token": token, "log": log, "path": path}
    for name in ("uvicorn.access", "uvicorn.error", "geoservice"):
        logging.getLogger(name).removeHandler(log)


def test_scanning_the_qr_code_signs_the_phone_in_without_leaving_the_token(
    browser, server, tmp_path
):
    qr = write_qr(signin_url(server["base"], server["token"]), tmp_path / "qr.png")
    with Image.open(qr) as im:
        link = zxingcpp.read_barcodes(im)[0].text
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.goto(link)
    page.wait_for_url("**/app")
    assert "扫码" in page.content()
    assert page.evaluate("location.hash") == ""
    # Back leads to no address that holds the token (the sign-in entry, submitted before
    # its page finished loading, is replaced by the task list; the fragment was removed).
    page.go_back()
    assert server["token"] not in page.url and "#" not in page.url
    context.close()
    assert any("/signin" in url for url in sent)
    assert not any(server["token"] in url for url in sent)
    lines = server["log"].lines
    assert any('"GET /signin HTTP/1.1" 200' in line for line in lines), lines
    assert any('"POST /signin HTTP/1.1" 303' in line for line in lines), lines
    assert not any(server["token"] in line for line in lines)
    assert server["token"].encode() not in server["path"].read_bytes()


def test_the_signin_page_removes_any_fragment_from_the_address_bar(browser, server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    page.goto(server["base"] + "/signin#note=abc")
    page.wait_for_function("location.hash === ''")
    assert page.url == server["base"] + "/signin"
    assert page.locator("#token").input_value() == ""
    context.close()


def test_a_revoked_or_unknown_qr_token_shows_the_signin_error(browser, server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    page.goto(signin_url(server["base"], "gs_not-a-real-token"))
    page.wait_for_selector("p.alert")
    assert "令牌无效" in page.content()
    assert "gs_not-a-real-token" not in page.url and "#" not in page.url
    context.close()
