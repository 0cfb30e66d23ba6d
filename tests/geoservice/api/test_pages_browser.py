"""The field pages in headless Chromium on a 360 px phone, against a real uvicorn server.

Every request that does not go to the test server is aborted (and recorded: there must be
none). Screenshots go to pytest's tmp dir, and to ``test-output/screenshots/`` in the
repository when ``GEOSERVICE_SCREENSHOTS`` is set.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from datetime import date

import pytest
import uvicorn
from PIL import Image

from geoservice.api.app import create_app
from geoservice.api.pages.routing import get_today
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.workflow.store import read_problems, update_problem
from tests.support.files import copy_workspace

from .conftest import AS_OF, DEPARTMENT, OTHER_VILLAGE, ROOT, VILLAGE

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
PROBLEM = "DC202606-002"  # the village's problem; moved to in_progress for these tests
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(town_template, tmp_path_factory):
    """A copy of the town served by uvicorn on a free port, in a thread."""
    folder = tmp_path_factory.mktemp("served")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    ws = Workspace(path)
    tokens = {}
    for who, kw in {
        "village": {"role": "village", "village": VILLAGE},
        "other_village": {"role": "village", "village": OTHER_VILLAGE},
        "department": {"role": "department", "department": DEPARTMENT},
        "office": {"role": "office"},
    }.items():
        _, tokens[who] = add_user(ws, name=f"测试{who}", by="test", **kw)
    update_problem(ws, PROBLEM, "in_progress", "office:test", note="开始整改")
    app = create_app(Settings(workspace=path, user="service", evidence_dir=folder / "evidence"))
    app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield {"base": f"http://127.0.0.1:{port}", "tokens": tokens, "ws": ws}
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def phone(browser, server):
    """A fresh phone-sized page that may only talk to the test server."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    outside: list[str] = []

    def only_local(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(server["base"] + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    yield page
    context.close()
    assert outside == [], outside


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Save a screenshot to the tmp dir (and the repository's test-output when asked)."""
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("GEOSERVICE_SCREENSHOTS"):
        folders.append(ROOT / "test-output" / "screenshots")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:  # type: ignore[no-untyped-def]
        picture = page.screenshot(full_page=True)
        for folder in folders:
            (folder / f"{name}.png").write_bytes(picture)

    return take


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def _sign_in(page, server, who: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server["base"] + "/app")
    assert page.url.endswith("/signin")
    page.fill("#token", server["tokens"][who])
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/app")


def _jpeg() -> dict[str, object]:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 120, 60)).save(out, format="JPEG")
    return {"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def test_village_reports_completion_with_a_photo(phone, server, shots):
    _sign_in(phone, server, "village")
    _fits(phone)
    shots(phone, "01-village-tasks")
    phone.click(f"a[href='/app/problems/{PROBLEM}']")
    phone.wait_for_url(f"**/app/problems/{PROBLEM}")
    assert phone.locator(".state-in_progress").first.inner_text() == "整改中"
    _fits(phone)
    shots(phone, "02-village-problem")
    phone.check("input[name=to][value=reported]")
    phone.fill("#note", "已停止开采，矿坑已回填复绿。")
    phone.set_input_files("#photos", [_jpeg()])
    phone.click("form.form button[type=submit]")
    phone.wait_for_url(f"**/app/problems/{PROBLEM}?saved=1")
    assert "已整改待核验" in phone.locator(".ok").inner_text()
    assert phone.locator(".history img").count() == 1
    status = read_problems(server["ws"]).set_index("problem_id").at[PROBLEM, "status"]
    assert status == "reported"
    _fits(phone)
    shots(phone, "03-village-reported")


def test_another_village_gets_the_404_page(phone, server, shots):
    _sign_in(phone, server, "other_village")
    response = phone.goto(f"{server['base']}/app/problems/{PROBLEM}")
    assert response.status == 404
    assert "找不到" in phone.locator("h1").inner_text()
    _fits(phone)
    shots(phone, "04-other-village-404")


@pytest.mark.parametrize(
    ("who", "paths"),
    [
        ("department", {"/app": "05-department-tasks", "/app/targets/T-6aae7a6f06": "06-target"}),
        ("office", {"/app": "07-office-tasks", "/app?lang=en": "08-office-tasks-en"}),
    ],
)
def test_pages_fit_a_phone(phone, server, shots, who, paths):
    _sign_in(phone, server, who)
    for path, name in paths.items():
        response = phone.goto(server["base"] + path)
        assert response.status == 200
        _fits(phone)
        shots(phone, name)


def test_signin_page_fits_a_phone(phone, server, shots):
    phone.goto(server["base"] + "/signin?reason=expired")
    assert "已过期" in phone.locator(".alert").inner_text()
    _fits(phone)
    shots(phone, "00-signin")


def test_problem_map_draws_the_point_and_the_village(phone, server):
    _sign_in(phone, server, "office")
    phone.goto(f"{server['base']}/app/problems/{PROBLEM}")
    phone.wait_for_selector("#map[data-ready='1']", timeout=5000)
    assert phone.locator("#map path.leaflet-interactive").count() >= 2
