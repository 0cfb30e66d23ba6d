"""What the whole test suite shares: the real survey files, and the system programs some
tests need.

Tests that need a program outside Python (Chromium with CJK fonts, GDAL's ``ogrinfo``,
QGIS's ``qgis_process``, the Leaflet files ``npm ci`` installs, a CJK font for figures,
WeasyPrint's libraries for PDF documents) ask for it through
:func:`require_program` and its kin, or the fixtures below. When it is missing they are
skipped with the line that installs it, so the README's test command passes on a fresh
machine; with ``GEOSERVICE_REQUIRE_EXTERNAL=1`` (CI, ``.ci/run``) they fail instead, so a
CI image that lost a program cannot pass by skipping.
"""

import ctypes.util
import gc
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_EXTERNAL = "GEOSERVICE_REQUIRE_EXTERNAL"
CHROMIUM_INSTALL = "apt-get install chromium fonts-noto-cjk"
FONTS_INSTALL = "apt-get install fonts-noto-cjk"
GDAL_INSTALL = "apt-get install gdal-bin"
QGIS_INSTALL = "apt-get install --no-install-recommends qgis python3-qgis qgis-providers"
ASSETS_INSTALL = "npm ci --prefix maps/assets"
PDF_INSTALL = "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk"


def missing(reason: str) -> NoReturn:
    """Skip the running test for a missing system program, or fail it when
    ``GEOSERVICE_REQUIRE_EXTERNAL=1`` says every such program must be there."""
    if os.environ.get(REQUIRE_EXTERNAL) == "1":
        pytest.fail(f"{reason} ({REQUIRE_EXTERNAL}=1: it is required)", pytrace=False)
    pytest.skip(reason)


def require_program(name: str, *, install: str) -> str:
    """The path of the program ``name`` on ``PATH``; skip (or fail, see :func:`missing`)
    naming the ``install`` line when it is not there."""
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed; install it with: {install}")
    return found


def require_cjk_fonts(*, install: str = FONTS_INSTALL) -> None:
    """Skip (or fail) unless fontconfig knows a font with Chinese glyphs, without which a
    browser draws the maps' and pages' Chinese text as boxes."""
    fc_list = shutil.which("fc-list")
    families = ""
    if fc_list is not None:
        families = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False
        ).stdout
    if not families.strip():
        missing(f"no font with Chinese glyphs is installed; install one with: {install}")


def require_map_assets() -> None:
    """Skip (or fail) unless the Leaflet files the maps inline are installed."""
    from maps.assets import AssetsMissingError, asset_files

    try:
        asset_files()
    except AssetsMissingError:
        missing(
            "the map assets (Leaflet and its plugins, from npm) are not installed; install "
            f"them with: {ASSETS_INSTALL}"
        )


def require_pdf_libraries() -> None:
    """Skip (or fail) unless WeasyPrint finds what the PDF documents need: Pango, HarfBuzz's
    subsetter (without it WeasyPrint embeds whole fonts and warns) and a CJK font."""
    require_cjk_fonts(install=PDF_INSTALL)
    for library in ("pango-1.0", "pangoft2-1.0", "harfbuzz-subset"):
        if ctypes.util.find_library(library) is None:
            missing(f"lib{library} is not installed; install it with: {PDF_INSTALL}")


@pytest.fixture(scope="session")
def cjk_fonts() -> None:
    """A font with Chinese glyphs, for the figures and pages that draw Chinese text."""
    require_cjk_fonts()


@pytest.fixture(scope="session")
def pdf_libraries() -> None:
    """The system libraries and fonts WeasyPrint lays out the PDF documents with."""
    require_pdf_libraries()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium with a CJK font, for the tests that open pages in a real browser."""
    path = require_program("chromium", install=CHROMIUM_INSTALL)
    require_cjk_fonts(install=CHROMIUM_INSTALL)
    return path


@pytest.fixture(scope="session")
def ogrinfo() -> str:
    """GDAL's ``ogrinfo``, a second GDAL client besides the one pyogrio bundles."""
    return require_program("ogrinfo", install=GDAL_INSTALL)


@pytest.fixture(scope="session")
def qgis_process() -> str:
    """QGIS's headless ``qgis_process`` (the binary, not its shell wrapper)."""
    return require_program("qgis_process.bin", install=QGIS_INSTALL)


@pytest.fixture(scope="session")
def map_assets() -> None:
    """The Leaflet files ``npm ci --prefix maps/assets`` installs, which every map inlines."""
    require_map_assets()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared folder (real survey files), beside the repository."""
    for candidate in (ROOT.parent / "shared", ROOT / "shared"):
        if (candidate / "realdata").is_dir():
            return candidate
    pytest.skip("the shared/ folder with real survey files is not beside this checkout")


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Headless Chromium driven by Playwright (one per test module)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def postgis() -> Iterator[str]:
    """The ``postgresql://`` URL of a throwaway PostGIS database for the whole session
    (:func:`tests.support.postgis.cluster`); skipped, or failed, without PostgreSQL and
    PostGIS installed."""
    import tempfile

    from tests.support.postgis import cluster

    with cluster(Path(tempfile.mkdtemp(prefix="geoservice_pg_"))) as url:
        yield url


@pytest.fixture(autouse=True)
def _thawed_after_each_test() -> Iterator[None]:
    """A service started by a test freezes what is alive out of the cyclic collector's
    walks (:mod:`geoservice.base.long_lived`); in the one process of the test run that
    would keep every later-dropped cycle of earlier tests, so each test ends thawed."""
    yield
    gc.unfreeze()
