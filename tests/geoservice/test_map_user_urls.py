"""URLs and markup in user text (complaints, problems, village names) never break a map.

The sample town's input files are copied and given the trap: a complaint, a problem
description and a village name holding http(s) URLs and an ``<img>`` tag. Every map
command still writes its page, the page loads nothing from another host, and the text is
shown escaped.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.cli_common import DEMO_FILES
from geoservice.importing import import_file
from geoservice.workspace import Workspace
from maps.render import asset_urls, external_urls

pytestmark = pytest.mark.usefixtures("map_assets")

SAMPLE = Path(__file__).resolve().parents[2] / "sample_gis"
AS_OF = date(2026, 11, 28)
URL_TEXT = '见 http://evil.example/a.png 或 https://x.cn <img src="http://evil.example/i.png">'
VILLAGE = "竹山村"
RENAMED = "竹山村 https://village.example/"


def _with_urls(folder: Path) -> None:
    """Put URLs into one complaint, one problem description and one village name."""
    complaints = folder / "complaints.csv"
    table = pd.read_csv(complaints, encoding="gbk", dtype=str)
    table.loc[0, "举报内容"] = URL_TEXT
    table.to_csv(complaints, index=False, encoding="gbk")
    book = openpyxl.load_workbook(folder / "problems.xlsx")
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("问题描述") + 1, URL_TEXT)
    for row in sheet.iter_rows(min_row=2):
        cell = row[header.index("所属村")]
        if cell.value == VILLAGE:
            cell.value = RENAMED
    book.save(folder / "problems.xlsx")
    villages = pyogrio.read_dataframe(folder / "villages.shp")
    villages.loc[villages["XZQMC"] == VILLAGE, "XZQMC"] = RENAMED
    pyogrio.write_dataframe(villages, folder / "villages.shp", encoding="CP936")


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample town with URLs in its text, imported and analysed at AS_OF."""
    folder = tmp_path_factory.mktemp("town")
    files = folder / "files"
    shutil.copytree(SAMPLE, files)
    _with_urls(files)
    ws = Workspace(folder / "town.gpkg")
    for f in DEMO_FILES:
        import_file(ws, files / f.name, f.kind, actor="t", **f.options())
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    return ws.path


@pytest.fixture(scope="module")
def pages(town: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each map of the town as ``geoservice map …`` writes it."""
    from geoservice.cli import app

    out = tmp_path_factory.mktemp("maps")
    found = {}
    for kind, extra in [
        ("targets", []),
        ("villages", ["--as-of", AS_OF.isoformat()]),
        ("department", ["police", "--as-of", AS_OF.isoformat()]),
    ]:
        path = out / f"{kind}.html"
        res = CliRunner().invoke(
            app,
            ["map", kind, *extra, "-w", str(town), "--out", str(path)],
            env={"GEOSERVICE_USER": "t"},
        )
        assert res.exit_code == 0, res.output
        found[kind] = path.read_text(encoding="utf-8")
    return found


def test_the_workspace_holds_the_urls(town: Path):
    ws = Workspace(town)
    assert (ws.read("complaints")["description"] == URL_TEXT).any()
    assert (ws.read("villages")["village_name"] == RENAMED).any()
    assert ws.read("problems")["description"].str.contains("http://evil.example").any()


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_every_map_is_written_and_loads_nothing_from_another_host(pages, kind):
    page = pages[kind]
    assert external_urls(page) == []
    assert all(not u.lstrip().startswith(("http:", "https:", "//")) for u in asset_urls(page))


def _shown(page: str, text: str) -> bool:
    """Whether ``text`` is in the page as such or as JSON (``\\uXXXX`` for non-ASCII, ``&<>'``)."""
    escaped = json.dumps(text)[1:-1]
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        escaped = escaped.replace(char, code)
    return text in page or escaped in page


def test_the_complaint_text_is_shown_escaped_in_the_targets_map(pages):
    page = pages["targets"]
    assert _shown(page, "http://evil.example/a.png")  # shown as text...
    assert _shown(page, "&lt;img src=&quot;http://evil.example/i.png&quot;&gt;")  # ...not markup
    assert not _shown(page, '<img src="http://evil.example/i.png">')


@pytest.mark.parametrize("kind", ["targets", "villages"])
def test_the_village_name_with_a_url_is_shown(pages, kind):
    assert _shown(pages[kind], RENAMED)


# --- in a real browser, with every other host blocked ---------------------------------------

MAP = "Object.values(window).find(v => v instanceof L.Map)"
# The popup of the complaint holding the URLs, built as Leaflet builds it on a click (the
# popup function of the complaints layer, put into the page's DOM), returned as
# [number of <img> elements, text shown].
COMPLAINT_POPUP = f"""() => {{
    const m = {MAP}; let found = null;
    m.eachLayer(l => {{
        if (l.getLayers && l.zoomToShowLayer) {{
            l.getLayers().forEach(c => {{
                if (c.feature && JSON.stringify(c.feature.properties).includes('evil.example/a.png')) {{
                    found = c; }} }}); }} }});
    if (!found) {{ return null; }}
    const layer = Object.values(found._eventParents)[0];
    let content = layer.getPopup().getContent();
    if (typeof content === 'function') {{ content = content(found); }}
    const div = document.createElement('div');
    if (typeof content === 'string') {{ div.innerHTML = content; }} else {{ div.appendChild(content); }}
    document.body.appendChild(div);
    return [div.querySelectorAll('img').length, div.innerText];
}}"""


@pytest.fixture(scope="module")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


def _open(browser, page_html: str, folder: Path):
    """Load the page from a file with only file: and data: requests let through."""
    path = folder / "page.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    log: dict[str, list[str]] = {"errors": [], "blocked": []}

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function(f"() => {{ const m = {MAP}; return m && m._loaded; }}")
    return page, log


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_every_map_opens_in_a_browser_without_a_request_to_another_host(
    browser, pages, tmp_path, kind
):
    page, log = _open(browser, pages[kind], tmp_path)
    page.wait_for_timeout(300)
    assert log == {"errors": [], "blocked": []}
    page.close()


@pytest.mark.slow
def test_the_complaint_popup_shows_the_urls_and_the_tag_as_text(browser, pages, tmp_path):
    page, log = _open(browser, pages["targets"], tmp_path)
    images, text = page.evaluate(COMPLAINT_POPUP)
    assert images == 0
    assert "http://evil.example/a.png" in text
    assert '<img src="http://evil.example/i.png">' in text
    page.wait_for_timeout(300)
    assert log == {"errors": [], "blocked": []}
    page.close()
