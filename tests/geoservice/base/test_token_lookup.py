"""A token is looked up in the users table as it is now: every change counts at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from geoservice.base.access import add_user, authenticate, revoke_user
from geoservice.base.connection_pool import close_idle
from geoservice.base.errors import AuthenticationError, WorkspaceError
from geoservice.base.workspace import Workspace


def _gpkg(path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"village_code": ["441882101201"], "village_name": ["沙坪村"]},
        geometry=[box(0, 0, 1, 1)],
        crs="EPSG:4546",
    )
    frame.to_file(path, layer="villages", driver="GPKG")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(_gpkg(tmp_path / "tiny.gpkg"))


_REVOKE = """
import sqlite3, sys
with sqlite3.connect(sys.argv[1]) as con:
    con.execute("UPDATE service_users SET revoked_at = '2026-12-06T10:00:00+00:00'")
"""

_TRY_EXCLUSIVE = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    con.execute("BEGIN EXCLUSIVE")
except sqlite3.OperationalError:
    print("locked")
else:
    print("free")
"""


def _run(script: str, path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_token_revoked_by_another_process_is_refused_on_the_next_lookup(ws):
    _, token = add_user(ws, role="viewer", name="访客", by="test")
    authenticate(ws, token)
    _run(_REVOKE, ws.path)
    with pytest.raises(AuthenticationError, match="This token was revoked at 2026-12-06"):
        authenticate(ws, token)


def test_a_token_revoked_in_this_process_is_refused_on_the_next_lookup(ws):
    user, token = add_user(ws, role="viewer", name="访客", by="test")
    for _ in range(3):
        assert authenticate(ws, token) == user
    revoke_user(ws, user.user_id, by="test")
    with pytest.raises(AuthenticationError, match="This token was revoked"):
        authenticate(ws, token)


def test_the_first_user_added_after_a_refused_lookup_can_sign_in(ws):
    with pytest.raises(AuthenticationError, match="no user holds it"):
        authenticate(ws, "gs_x")  # no users table yet
    user, token = add_user(ws, role="viewer", name="访客", by="test")
    assert authenticate(ws, token) == user


def test_a_lookup_leaves_no_lock_behind(ws):
    _, token = add_user(ws, role="viewer", name="访客", by="test")
    authenticate(ws, token)
    assert _run(_TRY_EXCLUSIVE, ws.path) == "free"


def test_a_workspace_replaced_by_another_reads_the_new_users(ws, tmp_path):
    other = Workspace(_gpkg(tmp_path / "other.gpkg"))
    _, old_token = add_user(ws, role="viewer", name="旧", by="test")
    new_user, new_token = add_user(other, role="office", name="新", by="test")
    authenticate(ws, old_token)
    # files are replaced while nothing uses them: the kept connections closed, as they are
    # a second after the last use, so the write-ahead logs are folded back in
    close_idle(ws.path)
    close_idle(other.path)
    shutil.move(other.path, ws.path)
    with pytest.raises(AuthenticationError, match="no user holds it"):
        authenticate(ws, old_token)
    assert authenticate(ws, new_token) == new_user


def test_a_workspace_replaced_by_a_text_file_is_refused_not_read(ws, tmp_path):
    _, token = add_user(ws, role="viewer", name="访客", by="test")
    authenticate(ws, token)
    close_idle(ws.path)  # replaced while nothing uses it (see the test above)
    (tmp_path / "notes.txt").write_text("user,token\n", encoding="utf-8")
    (tmp_path / "notes.txt").replace(ws.path)
    with pytest.raises(WorkspaceError, match="is a text file"):
        authenticate(ws, token)
