"""The OGC ``patches`` collection carries each change patch's workflow (state, legality,
stage deadline, days overdue, linked problem and target) for the office and departments,
filterable like the layer's columns, and GDAL and QGIS read it from a live server."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pyogrio
import pytest

from geoservice.base.access import add_user
from geoservice.base.workspace import Workspace
from geoservice.ogc.workflow_fields import WORKFLOW_FIELDS
from geoservice.workflow.patch_store import read_patch_states, update_patch
from tests.support.files import copy_workspace

from .conftest import DEPARTMENT

FIELDS = WORKFLOW_FIELDS["patches"]
ITEMS = "/ogc/collections/patches/items"


def _states(town) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    frame = read_patch_states(town.ws, date.today()).set_index("patch_id")
    return frame.astype(object).where(frame.notna(), None).to_dict("index")


def _items(town, who: str, **params: str) -> dict:  # type: ignore[no-untyped-def]
    res = town.get(ITEMS, who, params={"limit": "1000", **params})
    assert res.status_code == 200, res.text
    return res.json()


@pytest.mark.parametrize("who", ["office", "department"])
def test_the_office_and_departments_get_every_patch_s_workflow(town, who):
    body = _items(town, who)
    states = _states(town)
    assert body["numberMatched"] == len(states) > 0
    for feature in body["features"]:
        props = feature["properties"]
        want = states[feature["id"]]
        assert {k: props[k] for k in FIELDS} == {
            "state": want["state"],
            "legality": want["legality"],
            "stage_due": want["stage_due"],
            "days_overdue": int(want["days_overdue"]),
            "problem_id": want["problem_id"],
            "target_id": want["target_id"],
        }


@pytest.mark.parametrize("who", ["viewer", "village"])
def test_roles_that_may_not_read_the_patches_do_not_see_the_collection(town, who):
    assert town.get("/ogc/collections/patches", who).status_code == 404


def test_a_public_patches_layer_gives_a_viewer_the_layer_without_the_workflow(town):
    with contextlib.closing(sqlite3.connect(town.path)) as con, con:
        con.execute("UPDATE layer_catalog SET classification = 'public' WHERE layer = 'patches'")
    props = _items(town, "viewer")["features"][0]["properties"]
    assert "patch_id" in props
    assert not set(FIELDS) & set(props)
    res = town.get(ITEMS, "viewer", params={"state": "closed"})
    assert res.status_code == 400 and "state" in res.text


def test_patches_filter_by_workflow_state_and_a_layer_column_together(town):
    states = _states(town)
    verified = {pid for pid, r in states.items() if r["state"] == "verified"}
    assert verified
    body = _items(town, "office", state="verified")
    assert {f["id"] for f in body["features"]} == verified
    assert body["numberMatched"] == len(verified)
    village = str(states[sorted(verified)[0]]["village_name"])
    both = _items(town, "office", state="verified", village_name=village)
    want = {p for p in verified if states[p]["village_name"] == village}
    assert {f["id"] for f in both["features"]} == want


def test_an_unknown_property_names_the_workflow_ones_among_those_to_filter_on(town):
    res = town.get(ITEMS, "office", params={"stage": "x"})
    assert res.status_code == 400
    assert "stage_due" in res.text and "days_overdue" in res.text


def test_one_patch_carries_its_workflow_and_a_move_shows_at_once(town):
    states = _states(town)
    pid = next(p for p, r in states.items() if r["state"] == "interpreted")
    url = f"{ITEMS}/{pid}"
    assert town.get(url, "office").json()["properties"]["state"] == "interpreted"
    update_patch(town.ws, pid, int(states[pid]["version"]), actor="office:t", state="dispatched")
    props = town.get(url, "department").json()["properties"]
    assert props["state"] == "dispatched" and props["stage_due"] is not None
    assert props["days_overdue"] == 0


# --- real clients -----------------------------------------------------------------------


@dataclass
class Live:
    url: str
    tokens: dict[str, str]
    ws: Workspace


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live(town_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app in a uvicorn process (GDAL holds the GIL while it waits for the server)."""
    root = tmp_path_factory.mktemp("live_patches")
    ws = Workspace(root / "town.gpkg")
    copy_workspace(town_template, ws.path)
    tokens = {
        "office": add_user(ws, role="office", name="办公室", by="test")[1],
        "department": add_user(
            ws, role="department", department=DEPARTMENT, name="派出所", by="test"
        )[1],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOSERVICE_")}
    env.update(GEOSERVICE_WORKSPACE=str(ws.path), GEOSERVICE_USER="service", NO_PROXY="127.0.0.1")
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "geoservice.api.app:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with open(root / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.05)
        yield Live(f"http://127.0.0.1:{port}/ogc", tokens, ws)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_gdal_reads_the_patches_with_their_workflow_state(live):
    frame = pyogrio.read_dataframe(
        f"OAPIF:{live.url}", layer="patches", USERPWD=f"x:{live.tokens['department']}"
    )
    states = read_patch_states(live.ws, date.today()).set_index("patch_id")
    assert len(frame) == len(states) > 0
    assert set(FIELDS) <= set(frame.columns)
    got = frame.set_index("patch_id")
    assert got["state"].to_dict() == states["state"].to_dict()
    assert (got["legality"].fillna("") == states["legality"].fillna("")).all()
    assert frame.crs.to_epsg() == 4326


@pytest.mark.slow
def test_qgis_saves_the_patches_with_their_state(live, tmp_path, qgis_process):
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    out = tmp_path / "patches.gpkg"
    source = (
        f"OAPIF://url='{live.url}' typename='patches' username='x' "
        f"password='{live.tokens['office']}'"
    )
    env = {
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "NO_PROXY": "127.0.0.1",
    }
    res = subprocess.run(
        [qgis_process, "run", "native:savefeatures", "--", f"INPUT={source}", f"OUTPUT={out}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    frame = pyogrio.read_dataframe(out)
    states = read_patch_states(live.ws, date.today())
    assert sorted(frame["patch_id"]) == sorted(states["patch_id"])
    assert set(frame["state"]) == set(states["state"])
