"""Field capture, map context and patrols in headless Chromium on a 360 px phone, with the
geolocation granted, against a real uvicorn server (only the server is reachable)."""

from __future__ import annotations

import re
import socket
import threading
import time

import pyproj
import pytest
import uvicorn

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.patrols import list_patrols
from geoservice.workflow.store import read_problems
from tests.support.files import copy_workspace

from .conftest import VILLAGE

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(town_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A copy of the town served by uvicorn on a free port, in a thread."""
    folder = tmp_path_factory.mktemp("capture")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    ws = Workspace(path)
    _, token = add_user(ws, name="测试村干部", by="test", role="village", village=VILLAGE)
    app = create_app(Settings(workspace=path, user="service", evidence_dir=folder / "evidence"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield {"base": base, "token": token, "ws": ws}
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _inside(ws: Workspace, dx: float = 0.0) -> dict[str, float]:
    p = village_outline(ws, VILLAGE)[1].representative_point()
    lon, lat = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True).transform(p.x + dx, p.y)
    return {"latitude": lat, "longitude": lon, "accuracy": 8}


@pytest.fixture
def phone(browser, server):  # type: ignore[no-untyped-def]
    """A phone page signed in as the village cadre, standing inside the village."""
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=_inside(server["ws"]),
    )
    outside: list[str] = []

    def only_local(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(server["base"] + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(server["base"] + "/signin")
    page.fill("#token", server["token"])
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/app")
    yield page
    context.close()
    assert outside == [], outside


def test_new_problem_with_granted_position_lands_in_the_village(phone, server):  # type: ignore[no-untyped-def]
    phone.click("a[href='/app/capture']")
    phone.wait_for_url("**/app/capture")
    expect(phone.locator(".position-text")).to_contain_text("±8 m")
    phone.fill("#description", "山脚新伐树桩 5 个")
    phone.click("form[data-capture] button[type=submit]")
    phone.wait_for_url(re.compile(r".*/app/problems/SG\d{6}-\d{3}\?saved=1"))
    pid = phone.url.split("/app/problems/")[1].split("?")[0]
    row = read_problems(server["ws"]).set_index("problem_id").loc[pid]
    assert row["village_code"] == VILLAGE
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_problem_page_shows_the_survey_coordinates_and_the_distance(phone, server):  # type: ignore[no-untyped-def]
    phone.click("a[href='/app/capture']")
    expect(phone.locator(".position-text")).to_contain_text("±8 m")
    phone.fill("#description", "林下堆放垃圾")
    phone.click("form[data-capture] button[type=submit]")
    phone.wait_for_url(re.compile(r".*\?saved=1"))
    phone.context.set_geolocation(_inside(server["ws"], dx=120))
    phone.reload()
    expect(phone.locator(".ctx-away")).to_have_text(re.compile(r"约 1[12]\d m"))
    expect(phone.locator(".ctx-survey")).to_have_text(re.compile(r"X \d{6}\.\d，Y \d{7}\.\d"))


def test_patrol_is_recorded_and_saved(phone, server):  # type: ignore[no-untyped-def]
    phone.goto(server["base"] + "/app/patrol")
    phone.click(".patrol-start")
    expect(phone.locator(".patrol-status")).to_contain_text("1 个位置")
    phone.context.set_geolocation(_inside(server["ws"], dx=150))
    expect(phone.locator(".patrol-status")).to_contain_text("2 个位置")
    phone.click(".patrol-stop")
    phone.wait_for_url(re.compile(r".*/app/patrol\?saved=XH\d{8}-\d{3}"))
    [patrol] = list_patrols(server["ws"], _office())
    assert patrol["length_m"] == pytest.approx(150, abs=1)
    assert "已保存" in phone.locator("p.ok").inner_text()


def _office():  # type: ignore[no-untyped-def]
    from geoservice.base.access import Principal

    return Principal("u0", "office", "office")


@pytest.fixture
def officer(browser, server):  # type: ignore[no-untyped-def]
    """A phone page signed in as a police officer standing near target TARGET."""
    _, token = add_user(
        server["ws"], name="测试警官", by="test", role="department", department="police"
    )
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation={"latitude": 24.7718, "longitude": 112.3418, "accuracy": 10},
    )
    page = context.new_page()
    page.goto(server["base"] + "/signin")
    page.fill("#token", token)
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/app")
    yield page
    context.close()


TARGET = "T-5b802846b6"  # led by police


def test_target_map_shows_parcel_numbers_around_the_place(officer, server):  # type: ignore[no-untyped-def]
    officer.goto(server["base"] + f"/app/targets/{TARGET}")
    expect(officer.locator(".ctx-survey")).to_have_text(re.compile(r"X \d{6}\.\d"))
    officer.click(".ctx-zoom")
    expect(officer.locator(".parcel-label").first).to_be_visible(timeout=15000)
    assert re.fullmatch(r"\d{4}-\d{3}", officer.locator(".parcel-label").first.inner_text())


def test_village_maps_do_not_ask_for_parcel_tiles(phone, server):  # type: ignore[no-untyped-def]
    asked: list[str] = []
    phone.on("request", lambda r: asked.append(r.url) if "/tiles/parcels/" in r.url else None)
    phone.goto(server["base"] + "/app/capture")
    expect(phone.locator(".position-text")).to_contain_text("±8 m")
    assert asked == []


def test_patrol_stopped_offline_is_sent_when_the_network_returns(phone, server):  # type: ignore[no-untyped-def]
    phone.goto(server["base"] + "/app/patrol")
    phone.click(".patrol-start")
    expect(phone.locator(".patrol-status")).to_contain_text("1 个位置")
    phone.context.set_geolocation(_inside(server["ws"], dx=80))
    expect(phone.locator(".patrol-status")).to_contain_text("2 个位置")
    before = len(list_patrols(server["ws"], _office()))
    phone.context.set_offline(True)
    phone.click(".patrol-stop")
    expect(phone.locator("#net")).to_contain_text("待发送 1 条")
    assert len(list_patrols(server["ws"], _office())) == before
    phone.context.set_offline(False)
    expect(phone.locator("#net")).not_to_contain_text("待发送", timeout=15000)
    patrols = list_patrols(server["ws"], _office())
    assert len(patrols) == before + 1
    assert patrols[-1]["length_m"] == pytest.approx(80, abs=1)


def test_problem_recorded_offline_is_stored_once_online(phone, server):  # type: ignore[no-untyped-def]
    phone.goto(server["base"] + "/app/capture")
    expect(phone.locator(".position-text")).to_contain_text("±8 m")
    before = len(read_problems(server["ws"]))
    phone.context.set_offline(True)
    phone.fill("#description", "离线记录：河边倾倒建筑垃圾")
    phone.click("form[data-capture] button[type=submit]")
    expect(phone.locator("#net")).to_contain_text("待发送 1 条")
    phone.context.set_offline(False)
    expect(phone.locator("#net")).not_to_contain_text("待发送", timeout=15000)
    problems = read_problems(server["ws"])
    assert len(problems) == before + 1
    new = problems[problems["description"] == "离线记录：河边倾倒建筑垃圾"]
    assert new["village_code"].tolist() == [VILLAGE]
