"""A worker keeps the village status of today from its start: the first map status
request only updates it, and a workspace it cannot be built from does not stop the start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.webmaps.pages import RENDERERS
from geoservice.workflow import village_updates
from tests.support.builders import write_shp, xiaoban

from .conftest import Town


def test_the_village_status_is_kept_before_the_first_request(town: Town) -> None:
    village_updates.clear_kept()
    before = dict(village_updates.COUNTS)
    with town.client as client:
        assert village_updates.COUNTS["rebuilds"] == before["rebuilds"] + 1
        answer = client.get("/maps/status.json", headers=town.headers("village"))
        assert answer.status_code == 200
        assert village_updates.COUNTS["rebuilds"] == before["rebuilds"] + 1


def test_a_workspace_without_villages_or_problems_still_starts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "parcels.gpkg")
    import_file(ws, write_shp(xiaoban(n=2), tmp_path / "xb.shp"), "parcels", actor="t")
    settings = Settings(workspace=ws.path, user="t", evidence_dir=tmp_path / "ev")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200


@pytest.mark.slow  # a fresh interpreter
def test_the_map_renderers_are_imported_before_the_first_request(tmp_path: Path) -> None:
    # a fresh interpreter: in this one earlier tests have imported them already
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from geoservice.api.app import create_app\n"
        "from geoservice.base.settings import Settings\n"
        "from geoservice.webmaps.pages import RENDERERS\n"
        f"app = create_app(Settings(workspace={str(tmp_path / 'none.gpkg')!r}, user='t'))\n"
        "before = [n for n in RENDERERS if n in sys.modules]\n"
        "with TestClient(app):\n"
        "    after = [n for n in RENDERERS if n in sys.modules]\n"
        "print(len(before), len(after))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = (int(n) for n in out.stdout.split())
    assert before < len(RENDERERS)  # some are left to the start (maps.overlays, say)
    assert after == len(RENDERERS)
