"""A completion report with a phone photo carrying EXIF GPS, in headless Chromium at 360 px:
the problem page then says when and how far from the problem the photo was taken, fits the
phone's width, and the photo the village is served carries no EXIF."""

from __future__ import annotations

from datetime import date

import pytest

from geoservice.api.app import create_app
from geoservice.api.pages.routing import get_today
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from tests.support.exif_photos import exif_photo, gps_block, read_exif
from tests.support.files import copy_workspace
from tests.support.live_server import serve

from .conftest import AS_OF, VILLAGE

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("chromium", "map_assets")]
PROBLEM = "DC202606-002"  # the village's problem, rejected
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def server(town_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("photo")
    path = folder / "town.gpkg"
    copy_workspace(town_template, path)
    ws = Workspace(path)
    _, token = add_user(ws, role="village", name="拍照", by="test", village=VILLAGE)
    app = create_app(Settings(workspace=path, user="service", evidence_dir=folder / "ev"))
    app.dependency_overrides[get_today] = lambda: date.fromisoformat(AS_OF)
    problems = ws.read("problems", use_arrow=False, columns=["problem_id"])
    point = problems.loc[problems["problem_id"] == PROBLEM].geometry.translate(yoff=60)
    spot = point.to_crs(4326).iloc[0]
    with serve(app) as base:
        yield {"base": base, "token": token, "lat": spot.y, "lon": spot.x}


def test_a_reported_photo_shows_its_place_and_time_on_the_phone(browser, server, tmp_path):
    photo = tmp_path / "IMG_20261127_091500.jpg"
    photo.write_bytes(
        exif_photo(
            gps=gps_block(server["lat"], server["lon"], 140.0),
            when="2026:11:27 09:15:00",
            offset="+08:00",
            orientation=6,
            size=(1200, 900),
        )
    )
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    page.goto(server["base"] + "/signin")
    page.fill("#token", server["token"])
    page.click("form.form button[type=submit]")
    page.wait_for_url("**/app")
    page.goto(f"{server['base']}/app/problems/{PROBLEM}")
    page.check("input[name=to][value=reported]")
    page.fill("#note", "已全部复绿")
    page.set_input_files("#photos", str(photo))
    page.click("form.form button[type=submit]")
    page.wait_for_url("**?saved=1")
    caption = page.locator("section.photo-notes li").first
    assert caption.inner_text().strip() == "拍摄于 2026-11-27 09:15，距问题位置 60 米"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    src = page.locator("section.photo-notes img").first.get_attribute("src")
    served = page.request.get(server["base"] + str(src))
    assert served.ok and read_exif(served.body()) == ({}, {}, {})
    context.close()
