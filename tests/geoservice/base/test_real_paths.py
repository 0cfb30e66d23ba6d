"""Workspace paths resolved once per process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geoservice.base import real_paths
from geoservice.base.real_paths import real_path


def test_real_path_follows_links(tmp_path: Path) -> None:
    target = tmp_path / "real" / "ws.gpkg"
    target.parent.mkdir()
    target.touch()
    link = tmp_path / "link"
    link.symlink_to(target.parent)
    assert real_path(link / "ws.gpkg") == os.path.realpath(target)


def test_absolute_path_is_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(path: str) -> str:
        calls.append(path)
        return str(path)

    monkeypatch.setattr(real_paths.os.path, "realpath", counted)
    path = tmp_path / "once.gpkg"
    assert real_path(path) == real_path(str(path)) == str(path)
    assert calls == [str(path)]


def test_relative_path_is_resolved_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    first = real_path("ws.gpkg")
    monkeypatch.chdir(tmp_path / "b")
    assert first == os.path.realpath(tmp_path / "a" / "ws.gpkg")
    assert real_path("ws.gpkg") == os.path.realpath(tmp_path / "b" / "ws.gpkg")
