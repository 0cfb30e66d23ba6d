"""Fixtures for the web service tests: the sample town as a workspace, one user per role,
and a client that speaks to the real app in process.

``town`` is a fresh copy of the analysed sample town for every test (tests change state);
building it once per session keeps the suite fast.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from tests.support.builders import run_demo
from tests.support.files import copy_workspace

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample_gis"
AS_OF = "2026-11-28"
# Sample-town facts the access tests rely on (checked in test_fixture_facts_hold).
VILLAGE = "441882101212"  # has open problems and a target
OTHER_VILLAGE = "441882101203"
DEPARTMENT = "police"


@pytest.fixture(scope="session")
def town_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample town imported and analysed once (``geoservice demo``)."""
    return run_demo(tmp_path_factory.mktemp("town"))


@dataclass
class Town:
    """A private copy of the sample town with a user per role and an app client."""

    path: Path
    settings: Settings
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws(self) -> Workspace:
        return Workspace(self.path)

    def headers(self, who: str) -> dict[str, str]:
        """Authorization headers of ``who``: office, department, village, other_village,
        viewer, other_department (``{}`` for anonymous)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}

    def get(self, url: str, who: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers={**self.headers(who), **kw.pop("headers", {})}, **kw)


USERS: dict[str, dict[str, str]] = {
    "office": {"role": "office"},
    "department": {"role": "department", "department": DEPARTMENT},
    "other_department": {"role": "department", "department": "education"},
    "village": {"role": "village", "village": VILLAGE},
    "other_village": {"role": "village", "village": OTHER_VILLAGE},
    "viewer": {"role": "viewer"},
}


def make_town(template: Path, folder: Path) -> Town:
    """A copy of the analysed sample town in ``folder`` with one user per :data:`USERS`."""
    path = folder / "town.gpkg"
    copy_workspace(template, path)
    ws = Workspace(path)
    tokens = {who: add_user(ws, name=f"测试{who}", by="test", **kw)[1] for who, kw in USERS.items()}
    settings = Settings(workspace=path, user="service", evidence_dir=folder / "evidence")
    return Town(
        path=path, settings=settings, client=TestClient(create_app(settings)), tokens=tokens
    )


@pytest.fixture
def town(town_template: Path, tmp_path: Path) -> Town:
    return make_town(town_template, tmp_path)


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    d = tmp_path / "files"
    d.mkdir()
    return d


def copy_sample(name: str, dest: Path) -> Path:
    """Copy a sample survey file (with its shapefile parts) into ``dest``."""
    src = SAMPLE / name
    for part in SAMPLE.glob(Path(name).stem + ".*"):
        shutil.copy2(part, dest / part.name)
    return dest / src.name
