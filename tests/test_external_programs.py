"""Tests that need a system program skip with its install line, or fail under
GEOSERVICE_REQUIRE_EXTERNAL=1 (the mechanism in tests/conftest.py)."""

import os
import subprocess
import sys

import pytest

import maps.assets
from tests.conftest import (
    REQUIRE_EXTERNAL,
    ROOT,
    require_cjk_fonts,
    require_map_assets,
    require_program,
)

INSTALL = "apt-get install no-such-package"


def _program(folder, name, output=""):
    """An executable ``name`` in ``folder`` that prints ``output``."""
    path = folder / name
    path.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def optional(monkeypatch):
    """Missing programs are optional (the README's test command on a fresh machine)."""
    monkeypatch.delenv(REQUIRE_EXTERNAL, raising=False)


@pytest.fixture
def required(monkeypatch):
    """Missing programs are errors (CI)."""
    monkeypatch.setenv(REQUIRE_EXTERNAL, "1")


def test_a_missing_program_skips_with_its_install_line(optional, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=f"chromium is not installed.*: {INSTALL}$"):
        require_program("chromium", install=INSTALL)


def test_a_missing_program_fails_when_programs_are_required(required, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=f"{INSTALL} \\({REQUIRE_EXTERNAL}=1"):
        require_program("chromium", install=INSTALL)


@pytest.mark.parametrize("value", ["", "0", "yes"])
def test_only_the_value_1_makes_programs_required(tmp_path, monkeypatch, value):
    monkeypatch.setenv(REQUIRE_EXTERNAL, value)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception):
        require_program("ogrinfo", install=INSTALL)


def test_a_program_on_the_path_is_returned_in_either_mode(required, tmp_path, monkeypatch):
    found = _program(tmp_path, "ogrinfo")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_program("ogrinfo", install=INSTALL) == str(found)


def test_without_fontconfig_cjk_fonts_are_missing(optional, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"Chinese glyphs.*fonts-noto-cjk"):
        require_cjk_fonts()


def test_fontconfig_without_a_chinese_font_is_missing_fonts(required, tmp_path, monkeypatch):
    _program(tmp_path, "fc-list", "")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"Chinese glyphs.*fonts-noto-cjk"):
        require_cjk_fonts()


def test_a_chinese_font_fontconfig_lists_is_enough(required, tmp_path, monkeypatch):
    _program(tmp_path, "fc-list", "Noto Sans CJK SC,Noto Sans CJK SC Regular\\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    require_cjk_fonts()


def test_missing_map_assets_skip_naming_npm_ci(optional, tmp_path, monkeypatch):
    monkeypatch.setattr(maps.assets, "ASSET_ROOT", tmp_path)
    with pytest.raises(pytest.skip.Exception, match="npm ci --prefix maps/assets"):
        require_map_assets()


def test_missing_map_assets_fail_when_required(required, tmp_path, monkeypatch):
    monkeypatch.setattr(maps.assets, "ASSET_ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="npm ci --prefix maps/assets"):
        require_map_assets()


NEEDS_A_PROGRAM = """
import pytest

@pytest.fixture(scope="module")
def expensive():
    raise AssertionError("built before the program was checked")

def test_needs_it(chromium, expensive):
    pass
"""


@pytest.mark.parametrize(
    ("value", "code", "outcome"), [(None, 0, "1 skipped"), ("1", 1, "1 error")]
)
@pytest.mark.slow
def test_a_pytest_run_skips_or_fails_on_a_missing_browser(tmp_path, value, code, outcome):
    (tmp_path / "conftest.py").write_text("from tests.conftest import chromium  # noqa: F401\n")
    (tmp_path / "test_needs.py").write_text(NEEDS_A_PROGRAM)
    env = {k: v for k, v in os.environ.items() if k != REQUIRE_EXTERNAL}
    env.update(PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    if value is not None:
        env[REQUIRE_EXTERNAL] = value
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsE", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert res.returncode == code, res.stdout + res.stderr
    assert outcome in res.stdout
    assert "chromium is not installed; install it with: apt-get install chromium" in res.stdout
    assert "fonts-noto-cjk" in res.stdout
    assert "built before the program was checked" not in res.stdout
