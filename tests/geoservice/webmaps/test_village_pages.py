"""Every village's page of a role comes from one rendered page, opened on its village."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from geoservice.webmaps import build, pages
from geoservice.webmaps.cache import PAGES
from maps.assets import TILED_BUNDLES
from maps.render import MapInputError, served_html
from tests.support.workflow import workspace

DAY = date(2026, 12, 1)


def _codes(ws: Workspace) -> list[str]:
    with sqlite3.connect(ws.path) as con:
        rows = con.execute("SELECT village_code FROM villages ORDER BY village_code").fetchall()
    return [str(r[0]) for r in rows]


def _village(code: str) -> Principal:
    return Principal("u-" + code, "村管理员", "village", village_code=code)


def _without_ids(page: str) -> str:
    return re.sub(r"_[0-9a-f]{32}", "_ID", page)


def _direct(ws: Workspace, principal: Principal, code: str) -> str:
    """The page rendered for the village alone."""
    status = pages.status_url("villages", DAY.isoformat(), "zh")
    visible = pages.drawn_layers(ws, principal)
    m = pages.tiled_shell(ws, "villages", visible, "zh", code, status_url=status, day=str(DAY))
    return served_html(m, bundles=TILED_BUNDLES)


@pytest.fixture(autouse=True)
def _forget_pages() -> None:
    PAGES.clear()


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The village each page was rendered for (None: the page shared by villages)."""
    seen: list[str | None] = []
    real = pages.tiled_shell

    def counted(ws, kind, visible, lang, village, **kwargs):
        seen.append(None if kwargs.get("bounds") is not None else village)
        return real(ws, kind, visible, lang, village, **kwargs)

    monkeypatch.setattr(pages, "tiled_shell", counted)
    return seen


def test_village_pages_are_rendered_once_for_every_village(tmp_path: Path, rendered) -> None:
    ws = workspace(tmp_path)
    codes = _codes(ws)
    assert len(codes) >= 2
    for code in codes:
        build.villages_page(ws, _village(code), DAY, "zh")
    assert rendered == [None]


def test_a_village_page_is_the_page_rendered_for_it_alone(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    for code in _codes(ws):
        principal = _village(code)
        page = build.villages_page(ws, principal, DAY, "zh")
        bounds = pages.map_bounds(ws, code)[0]
        assert bounds is not None
        west, south, east, north = bounds
        assert json.dumps([[south, west], [north, east]]) in page
        assert _without_ids(page) == _without_ids(_direct(ws, principal, code))


def test_the_shared_page_is_not_served_as_a_village_page(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    page = build.villages_page(ws, _village(_codes(ws)[0]), DAY, "zh")
    assert build._fit_bounds_text(build._SHELL_BOUNDS) not in page


def test_a_page_whose_opening_cannot_be_found_is_rendered_for_the_village(
    tmp_path: Path, rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path)
    code = _codes(ws)[0]
    monkeypatch.setattr(build, "_fit_bounds_text", lambda bounds: "no such text")
    page = build.villages_page(ws, _village(code), DAY, "zh")
    assert rendered == [None, code]
    bounds = pages.map_bounds(ws, code)[0]
    assert bounds is not None
    assert json.dumps([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]) in page


def test_an_unknown_village_page_is_refused(tmp_path: Path, rendered) -> None:
    ws = workspace(tmp_path)
    with pytest.raises(MapInputError, match=r"无此村.*not in the villages layer"):
        build.villages_page(ws, Principal("u", "x", "office"), DAY, "zh", village="无此村")
    assert rendered == []


def test_the_shared_page_is_kept_per_role(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    code = _codes(ws)[0]
    viewer = Principal("u-viewer", "公众", "viewer")
    shown = build.villages_page(ws, viewer, DAY, "zh", village=code)
    assert _without_ids(shown) == _without_ids(_direct(ws, viewer, code))
    principal = _village(code)
    page = build.villages_page(ws, principal, DAY, "zh")
    assert _without_ids(page) == _without_ids(_direct(ws, principal, code))
    assert _without_ids(page) != _without_ids(shown)  # the viewer sees no problems
