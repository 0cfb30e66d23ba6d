"""The verifier's patch page in headless Chromium on a 360 px phone, against a real uvicorn
server: from the task list to a verified patch with a photo, a stale form that keeps what
was typed, and the targets map's style of a patch by stage over legality. Every request
that leaves the test server is aborted (there must be none)."""

from __future__ import annotations

import io
import socket
import threading
import time
from datetime import date

import pandas as pd
import pytest
import uvicorn
from PIL import Image

from geoservice.api.app import create_app
from geoservice.api.pages.routing import get_today
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.workflow.patch_store import patch_history, read_patch_states, update_patch
from maps import styles
from tests.support.files import copy_workspace

from .conftest import AS_OF

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(town_template, tmp_path_factory):
    """A copy of the town served by uvicorn on a free port, in a thread."""
    folder = tmp_path_factory.mktemp("patch_pages")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    ws = Workspace(path)
    _, token = add_user(
        ws, name="林业站王五", by="test", role="department", department="agriculture"
    )
    app = create_app(Settings(workspace=path, user="service", evidence_dir=folder / "evidence"))
    app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield {"base": f"http://127.0.0.1:{port}", "token": token, "ws": ws}
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


def _sign_in(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server["base"] + "/app")
    page.fill("#token", server["token"])
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/app")


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def _state(server, patch_id: str) -> dict:  # type: ignore[no-untyped-def]
    frame = read_patch_states(server["ws"], date.fromisoformat(AS_OF)).set_index("patch_id")
    return frame.loc[patch_id].to_dict()


def _interpreted(server) -> list[str]:  # type: ignore[no-untyped-def]
    frame = read_patch_states(server["ws"], date.fromisoformat(AS_OF))
    return sorted(frame.loc[frame["state"] == "interpreted", "patch_id"].astype(str))


def _jpeg() -> dict[str, object]:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (140, 90, 40)).save(out, format="JPEG")
    return {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def test_the_verifier_dispatches_and_verifies_a_patch_with_a_photo(phone, server):
    patch_id = _interpreted(server)[0]
    _sign_in(phone, server)
    link = phone.locator(f"#patches a[href='/app/patches/{patch_id}']")
    assert link.count() == 1
    _fits(phone)
    link.click()
    phone.wait_for_url(f"**/app/patches/{patch_id}")
    phone.wait_for_selector("#map[data-ready='1']", timeout=5000)
    assert phone.locator("#map path.leaflet-interactive").count() >= 2  # village and patch
    _fits(phone)
    phone.check("input[name=to][value=dispatched]")
    phone.fill("#note", "已下发至村，请配合现地核实。")
    phone.click("form.form button[type=submit]")
    phone.wait_for_url(f"**/app/patches/{patch_id}?saved=1")
    assert "已下发" in phone.locator(".ok").inner_text()
    phone.check("input[name=to][value=verified]")
    phone.check("input[name=legality][value=illegal]")
    phone.fill("#verified_on", "2026-11-27")
    phone.fill("#note", "现场为新开垦的果园，无审批手续。")
    phone.set_input_files("#photos", [_jpeg()])
    with phone.expect_navigation(url=f"**/app/patches/{patch_id}?saved=1"):
        phone.click("form.form button[type=submit]")
    assert "已核实" in phone.locator(".ok").inner_text()
    assert phone.locator(".history img").count() == 1
    row = _state(server, patch_id)
    assert (row["state"], row["legality"], row["verified_on"]) == (
        "verified",
        "illegal",
        "2026-11-27",
    )
    _fits(phone)


def test_a_stale_form_shows_what_changed_and_keeps_the_note(phone, server):
    patch_id = _interpreted(server)[-1]
    _sign_in(phone, server)
    phone.goto(f"{server['base']}/app/patches/{patch_id}")
    version = int(_state(server, patch_id)["version"])
    update_patch(
        server["ws"],
        patch_id,
        version,
        actor="office:主任",
        state="dispatched",
        note="办公室已下发",
    )
    phone.check("input[name=to][value=dispatched]")
    phone.fill("#note", "我在现场写下的情况")
    phone.click("form.form button[type=submit]")
    phone.wait_for_selector("text=已被他人更新", timeout=10000)
    assert phone.locator("#note").input_value() == "我在现场写下的情况"
    assert "办公室已下发" in phone.locator("main").inner_text()
    assert len(patch_history(server["ws"], patch_id)) == 2  # the import and the office's move
    _fits(phone)


def test_the_targets_map_edges_a_patch_by_its_stage_over_its_legality(phone, server):
    _sign_in(phone, server)
    phone.goto(f"{server['base']}/maps/targets")
    phone.wait_for_function("() => window.gsTiledMap && window.gsTiledMap.layers", timeout=30_000)
    cases = [("illegal", "rectifying"), ("illegal", "closed"), ("unverified", "dispatched")]
    drawn = phone.evaluate(
        """(cases) => { const t = window.gsTiledMap;
        const style = t.styleOf(t.layers.find(l => l.name === 'patches'));
        return cases.map(([k, s]) => style({patch_id: 'P1', legality: k, state: s})); }""",
        cases,
    )
    rectifying, closed, dispatched = drawn
    for got, (klass, state) in zip(drawn, cases, strict=True):
        stage = styles.patch_stage(pd.DataFrame({"state": [state]})).iloc[0]
        assert got == {"fill": True, **styles.patch_style(klass, stage)}
    assert rectifying["color"] == styles.PATCH_STAGE_STYLES["in_hand"]["color"]
    assert closed["fillOpacity"] < dispatched["fillOpacity"]
    assert dispatched["dashArray"] == styles.patch_style("unverified")["dashArray"]
