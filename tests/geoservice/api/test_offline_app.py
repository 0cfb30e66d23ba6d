"""The offline field app end to end: headless Chromium on a 360×740 phone against a real
uvicorn server, with the network cut by ``context.set_offline``.

Only the test server may be reached (every other request is aborted and recorded: there
must be none). The village cadre signs in, the phone keeps their pages and the tiles of
their village (the service worker's sync), the network goes, the task list and the
problem page still open, a completion report with a GPS-stamped photo is queued on the
phone, and is accepted by the service when the network returns. A report that meets a
change made meanwhile is held with what changed, and the person's text and photo wait in
the form. Screenshots as in ``test_pages_browser.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyproj
import pytest
import zxingcpp
from PIL import Image

from geoservice.api.app import create_app
from geoservice.api.pages.routing import get_today
from geoservice.base.access import Principal, add_user
from geoservice.base.settings import Settings
from geoservice.base.signin_link import signin_url, write_qr
from geoservice.base.workspace import Workspace
from geoservice.workflow.field_scope import village_outline
from geoservice.workflow.patrols import list_patrols
from geoservice.workflow.store import history, read_problems, update_problem
from geoservice.workflow.target_store import target_actions
from tests.support.exif_photos import exif_photo, gps_block
from tests.support.files import copy_workspace
from tests.support.live_server import serve

from .conftest import AS_OF, DEPARTMENT, ROOT, VILLAGE

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
PROBLEM = "DC202606-002"  # the village's open problem (rejected in the sample town)
PHONE = {"width": 360, "height": 740}
SYNCED = "#net .net-sync[data-synced]:not([data-synced=''])"


@pytest.fixture
def server(town_template: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A copy of the town served by uvicorn on a free port, and a village cadre's token."""
    path = tmp_path / "town.gpkg"
    copy_workspace(town_template, path)
    ws = Workspace(path)
    _, token = add_user(ws, name="测试村干部", by="test", role="village", village=VILLAGE)
    _, officer = add_user(ws, name="测试警官", by="test", role="department", department=DEPARTMENT)
    app = create_app(Settings(workspace=path, user="service", evidence_dir=tmp_path / "evidence"))
    app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    with serve(app) as base:
        yield {"base": base, "token": token, "officer": officer, "ws": ws}


@pytest.fixture(scope="module")
def offline_browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium that resolves no host name (the service is reached by its IP
    address): nothing outside the test server can be fetched."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def phone(offline_browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    """A phone-sized context; every request it (or its service worker) makes is recorded,
    and must go to the test server.

    Requests are watched rather than routed: Playwright's request interception holds back
    a ``fetch`` whose form data carries a photo read back from IndexedDB (the replayed
    report would never reach the server).
    """
    context = offline_browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="allow",
        permissions=["geolocation"],
        geolocation=_standing(server["ws"]),
    )
    outside: list[str] = []
    local = server["base"] + "/"
    context.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    yield context
    context.close()
    assert outside == [], outside


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], None]:
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("GEOSERVICE_SCREENSHOTS"):
        folders.append(ROOT / "test-output" / "screenshots")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> None:
        picture = page.screenshot(full_page=True)
        for folder in folders:
            (folder / f"{name}.png").write_bytes(picture)

    return take


def _sign_in(page: Any, server: dict[str, Any], folder: Path, who: str = "token") -> None:
    """Sign in as a phone does: by the link of the person's QR code (``who``: ``token``,
    the village cadre, or ``officer``)."""
    qr = write_qr(signin_url(server["base"], server[who]), folder / "qr.png")
    with Image.open(qr) as im:
        link = zxingcpp.read_barcodes(im)[0].text
    page.goto(link)
    page.wait_for_url("**/app")


def _synced(page: Any) -> dict[str, Any]:
    """Wait for the service worker's sync of the phone's offline copy; its report."""
    page.wait_for_selector(SYNCED, timeout=120_000)
    return json.loads(page.evaluate("localStorage.getItem('field.sync')"))


CACHE_SIZE = """async () => {
  let count = 0, bytes = 0;
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request, { ignoreVary: true });
      count += 1;
      bytes += (await response.blob()).size;
    }
  }
  return { count, bytes };
}"""


def _gps_jpeg(lon: float, lat: float) -> dict[str, Any]:
    """A phone photo with EXIF GPS and the time it was taken (China Standard Time)."""
    data = exif_photo(gps=gps_block(lat, lon), when="2026:11:27 10:24:00", offset="+08:00")
    return {"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": data}


def _problem_lonlat(ws: Workspace, north_m: float = 0.0) -> tuple[float, float]:
    """Where the problem is (degrees), or ``north_m`` metres north of it."""
    problems = ws.read("problems", columns=["problem_id"])
    point = problems[problems["problem_id"] == PROBLEM].geometry.translate(yoff=north_m)
    spot = point.to_crs(4326).iloc[0]
    return spot.x, spot.y


def _standing(ws: Workspace, east_m: float = 0.0) -> dict[str, float]:
    """A phone's position fix inside the village (``east_m`` metres east of a point of it)."""
    point = village_outline(ws, VILLAGE)[1].representative_point()
    to_degrees = pyproj.Transformer.from_crs(ws.crs(), 4490, always_xy=True)
    lon, lat = to_degrees.transform(point.x + east_m, point.y)
    return {"latitude": lat, "longitude": lon, "accuracy": 8}


def _status(ws: Workspace) -> str:
    return str(read_problems(ws).set_index("problem_id").at[PROBLEM, "status"])


def _wait_status(ws: Workspace, wanted: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while _status(ws) != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _status(ws) == wanted


def test_village_reports_offline_and_the_report_is_accepted_online(phone, server, shots, tmp_path):
    page = phone.new_page()
    ws = server["ws"]
    _sign_in(page, server, tmp_path)
    report = _synced(page)
    assert report["failed"] == []
    size = page.evaluate(CACHE_SIZE)
    assert size["count"] == report["count"]
    assert report["tiles"] > 0
    assert size["bytes"] < 20_000_000
    if os.environ.get("GEOSERVICE_SCREENSHOTS"):  # the figure the README quotes
        (ROOT / "test-output").mkdir(exist_ok=True)
        (ROOT / "test-output" / "offline-cache.json").write_text(
            json.dumps({"village": VILLAGE, **size, "tiles": report["tiles"]}), encoding="utf-8"
        )
    shots(page, "offline-01-tasks-synced")

    phone.set_offline(True)
    page.reload()
    assert page.locator("#net .net-banner").inner_text().startswith("离线")
    assert page.locator(f"a[href='/app/problems/{PROBLEM}']").count() == 1
    shots(page, "offline-02-tasks-offline")
    missing = page.goto(server["base"] + "/app?lang=en")  # never kept: said so, in English
    assert missing is not None and missing.status == 503
    assert page.locator("h1").inner_text() == "Not saved for offline use"
    page.goto(server["base"] + "/app")
    page.click(f"a[href='/app/problems/{PROBLEM}']")
    page.wait_for_url(f"**/app/problems/{PROBLEM}")
    assert page.locator(".state-rejected").first.inner_text() == "已退回"

    # Typed and chosen offline, then the page restarts: nothing is lost.
    lon, lat = _problem_lonlat(ws, north_m=60)
    page.check("input[name=to][value=reported]")
    page.fill("#note", "已停止开采，矿坑已回填复绿。")
    page.set_input_files("#photos", [_gps_jpeg(lon, lat)])
    page.wait_for_timeout(600)  # the draft is saved 250 ms after the last change
    page.reload()
    assert "已恢复上次填写的内容" in page.locator(".outbox-note.ok").inner_text()
    assert page.input_value("#note") == "已停止开采，矿坑已回填复绿。"
    assert page.is_checked("input[name=to][value=reported]")
    assert page.evaluate("document.querySelector('#photos').files.length") == 1

    page.click("form[data-offline-queue] button[type=submit]")
    page.wait_for_selector("#net .net-pending[data-count='1']")
    assert "已存在手机上" in page.locator(".outbox-note").inner_text()
    shots(page, "offline-03-report-queued")
    page.reload()  # still waiting after a restart
    page.wait_for_selector("#net .net-pending[data-count='1']")
    assert _status(ws) == "rejected"

    phone.set_offline(False)  # the page's online event sends what waits
    _wait_status(ws, "reported")
    page.wait_for_selector(".state-reported")
    assert page.locator("#net .net-pending").count() == 0
    rows = history(ws, PROBLEM)
    last = rows.iloc[-1]
    assert last["to_state"] == "reported"
    assert "回填复绿" in last["note"]
    assert len(list(last["evidence"])) == 1
    caption = page.locator("section.photo-notes li").first.inner_text().strip()
    assert caption == "拍摄于 2026-11-27 10:24，距问题位置 60 米"
    shots(page, "offline-04-report-accepted")

    # Offline again: a new problem where the phone stands, and a patrol track.
    known = set(read_problems(ws)["problem_id"])
    phone.set_offline(True)
    page.goto(server["base"] + "/app/capture")
    expect(page.locator(".position-text")).to_contain_text("±8 m")
    page.fill("#description", "山脚新伐树桩 5 个")
    page.click("form[data-capture] button[type=submit]")
    page.wait_for_selector("#net .net-pending[data-count='1']")
    page.goto(server["base"] + "/app/patrol")
    page.click(".patrol-start")
    expect(page.locator(".patrol-status")).to_contain_text("1 个位置")
    phone.set_geolocation(_standing(ws, east_m=150))
    expect(page.locator(".patrol-status")).to_contain_text("2 个位置")
    page.click(".patrol-stop")
    page.wait_for_selector("#net .net-pending[data-count='2']")
    shots(page, "offline-05-capture-and-patrol-queued")
    assert set(read_problems(ws)["problem_id"]) == known

    phone.set_offline(False)
    office = Principal("u0", "office", "office")
    deadline = time.monotonic() + 30
    while len(list_patrols(ws, office)) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    new = read_problems(ws).set_index("problem_id").drop(index=list(known))
    assert list(new["village_code"]) == [VILLAGE]
    assert list(new["description"]) == ["山脚新伐树桩 5 个"]
    [patrol] = list_patrols(ws, office)
    assert patrol["length_m"] == pytest.approx(150, abs=1)
    assert patrol["village_code"] == VILLAGE
    # The patrol page, reloaded once its track was sent, lists it.
    expect(page.locator("section .history li").first).to_contain_text(patrol["patrol_id"])
    assert page.locator("#net .net-pending").count() == 0
    shots(page, "offline-06-patrol-saved")

    page.click("nav.menu form button")  # signing out forgets the phone's copy
    page.wait_for_url("**/signin**")
    assert page.evaluate("caches.keys()") == []


def test_report_meeting_a_change_is_held_with_text_and_photo(phone, server, shots, tmp_path):
    page = phone.new_page()
    base, ws = server["base"], server["ws"]
    _sign_in(page, server, tmp_path)
    _synced(page)
    page.goto(f"{base}/app/problems/{PROBLEM}")
    phone.set_offline(True)
    page.reload()
    lon, lat = _problem_lonlat(ws)
    page.check("input[name=to][value=reported]")
    page.fill("#note", "整改完成，请核验。")
    page.set_input_files("#photos", [_gps_jpeg(lon, lat)])
    page.click("form[data-offline-queue] button[type=submit]")
    page.wait_for_selector("#net .net-pending[data-count='1']")
    # Meanwhile a colleague starts the rectification: the queued report is now stale.
    update_problem(ws, PROBLEM, "in_progress", f"village:{VILLAGE}:同事", note="已开始整改")

    phone.set_offline(False)
    page.wait_for_selector(".outbox-note.alert", timeout=30_000)
    held = page.locator(".outbox-note.alert").inner_text()
    assert "已开始整改" in held
    assert page.input_value("#note") == "整改完成，请核验。"
    assert page.evaluate("document.querySelector('#photos').files.length") == 1
    assert page.locator("#net .net-pending").count() == 0
    assert _status(ws) == "in_progress"
    shots(page, "offline-07-report-held")

    page.check("input[name=to][value=reported]")
    page.click("form[data-offline-queue] button[type=submit]")
    page.wait_for_url(f"**/app/problems/{PROBLEM}?saved=1")
    assert _status(ws) == "reported"
    assert page.locator(".outbox-note").count() == 0


def test_department_records_a_target_action_offline(phone, server, tmp_path):
    target = "T-6aae7a6f06"  # led by the police
    page = phone.new_page()
    _sign_in(page, server, tmp_path, "officer")
    report = _synced(page)
    assert report["failed"] == []
    assert report["tiles"] > 0
    phone.set_offline(True)
    page.goto(f"{server['base']}/app/targets/{target}")
    assert page.locator("#net .net-banner").inner_text().startswith("离线")
    page.fill("#action", "联合巡查，拆除违建工棚一处")
    page.fill("#people", "4")
    lon, lat = _problem_lonlat(server["ws"])
    page.set_input_files("#photos", [_gps_jpeg(lon, lat)])
    page.click("form[data-offline-queue] button[type=submit]")
    page.wait_for_selector("#net .net-pending[data-count='1']")
    assert target_actions(server["ws"], target).empty

    phone.set_offline(False)
    deadline = time.monotonic() + 30
    while target_actions(server["ws"], target).empty and time.monotonic() < deadline:
        time.sleep(0.2)
    [action] = target_actions(server["ws"], target).to_dict("records")
    assert action["action"] == "联合巡查，拆除违建工棚一处"
    assert action["people"] == 4
    assert len(action["photos"]) == 1
