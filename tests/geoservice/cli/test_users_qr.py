"""``geoservice users add --qr`` and ``users qr``: a sign-in QR code whose link carries the
token only in its fragment, decoded back with zxing-cpp."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from geoservice.base.access import authenticate
from geoservice.base.errors import AuthenticationError
from geoservice.base.workspace import Workspace
from geoservice.cli.app import app
from tests.support.workflow import workspace

BASE = "http://192.168.1.20:8000"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.delenv("GEOSERVICE_PUBLIC_URL", raising=False)
    return workspace(tmp_path)


def _cli(ws: Workspace, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        app, [*args, "-w", str(ws.path), "--json", "--lang", "en"], env=env or {}
    )


def _decoded(path: Path) -> str:
    with Image.open(path) as im:
        found = zxingcpp.read_barcodes(im)
    assert len(found) == 1
    return str(found[0].text)


def _add(ws: Workspace, qr: Path, *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    args = ["users", "add", "--role", "village", "--name", "张三", "--village", "丰阳村"]
    return _cli(ws, *args, "--qr", str(qr), *extra, env=env)


def test_add_writes_a_qr_code_of_the_signin_link_with_the_token_in_the_fragment(ws, tmp_path):
    res = _add(ws, tmp_path / "张三.png", "--base-url", BASE)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    url = urlsplit(_decoded(tmp_path / "张三.png"))
    assert (url.scheme, url.netloc, url.path, url.query) == (
        "http",
        "192.168.1.20:8000",
        "/signin",
        "",
    )
    assert url.fragment == f"token={out['token']}"
    assert authenticate(ws, url.fragment.removeprefix("token=")).name == "张三"


def test_the_qr_file_is_readable_only_by_its_owner(ws, tmp_path):
    _add(ws, tmp_path / "a.png", "--base-url", BASE)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o600


def test_the_base_address_defaults_to_the_public_url_setting(ws, tmp_path):
    res = _add(ws, tmp_path / "a.png", env={"GEOSERVICE_PUBLIC_URL": "https://lz.example.cn/"})
    assert res.exit_code == 0, res.output
    assert _decoded(tmp_path / "a.png").startswith("https://lz.example.cn/signin#token=gs_")


def test_a_base_url_under_a_path_keeps_the_path(ws, tmp_path):
    _add(ws, tmp_path / "a.png", "--base-url", "https://gov.example.cn/linzhang")
    assert _decoded(tmp_path / "a.png").startswith("https://gov.example.cn/linzhang/signin#token=")


def test_without_any_base_address_nothing_is_added(ws, tmp_path):
    res = _add(ws, tmp_path / "a.png")
    assert res.exit_code == 2
    assert "GEOSERVICE_PUBLIC_URL" in res.output and "--base-url" in res.output
    assert not (tmp_path / "a.png").exists()
    assert _cli(ws, "users", "list").stdout.strip() == "[]"


def test_a_bad_base_url_names_the_value(ws, tmp_path):
    res = _add(ws, tmp_path / "a.png", "--base-url", "ftp://host/x")
    assert res.exit_code == 2
    assert "'ftp://host/x'" in res.output and "http(s)://host[:port]" in res.output


def test_a_bad_public_url_setting_names_the_value(ws, tmp_path):
    res = _add(ws, tmp_path / "a.png", env={"GEOSERVICE_PUBLIC_URL": "lz.example.cn"})
    assert res.exit_code == 2
    assert "'lz.example.cn'" in res.output


def test_a_qr_file_that_is_not_png_or_svg_is_refused(ws, tmp_path):
    res = _add(ws, tmp_path / "a.jpg", "--base-url", BASE)
    assert res.exit_code == 2
    assert "--qr was" in res.output and ".png or .svg" in res.output
    assert _cli(ws, "users", "list").stdout.strip() == "[]"


def test_a_qr_file_in_a_missing_folder_adds_no_user(ws, tmp_path):
    res = _add(ws, tmp_path / "nowhere" / "a.png", "--base-url", BASE)
    assert res.exit_code == 2
    assert "does not exist" in res.output
    assert _cli(ws, "users", "list").stdout.strip() == "[]"


def test_reissuing_a_token_is_audited_without_the_token(ws, tmp_path):
    _add(ws, tmp_path / "a.png", "--base-url", BASE)
    res = _cli(ws, "users", "qr", "张三", "--qr", str(tmp_path / "b.png"), "--base-url", BASE)
    token = json.loads(res.stdout)["token"]
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        rows = con.execute("SELECT action, target, detail FROM audit_log").fetchall()
    assert [r for r in rows if r[0] == "user.reissue"]
    assert not any(token in str(r) for r in rows)


def test_users_qr_reissues_the_token_and_the_old_one_stops_working(ws, tmp_path):
    old = json.loads(_add(ws, tmp_path / "old.png", "--base-url", BASE).stdout)["token"]
    res = _cli(ws, "users", "qr", "张三", "--qr", str(tmp_path / "new.png"), "--base-url", BASE)
    assert res.exit_code == 0, res.output
    new = json.loads(res.stdout)["token"]
    assert new != old
    assert _decoded(tmp_path / "new.png") == f"{BASE}/signin#token={new}"
    assert authenticate(ws, new).name == "张三"
    with pytest.raises(AuthenticationError, match="no user holds it"):
        authenticate(ws, old)


def test_users_qr_says_the_old_token_no_longer_works(ws, tmp_path):
    _add(ws, tmp_path / "old.png", "--base-url", BASE)
    res = CliRunner().invoke(
        app,
        [
            "users",
            "qr",
            "张三",
            "--qr",
            str(tmp_path / "n.png"),
            "--base-url",
            BASE,
            "-w",
            str(ws.path),
            "--lang",
            "en",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "the old token no longer works" in res.stdout


def test_users_qr_for_an_unknown_user_lists_the_users(ws, tmp_path):
    _add(ws, tmp_path / "a.png", "--base-url", BASE)
    res = _cli(ws, "users", "qr", "李四", "--qr", str(tmp_path / "b.png"), "--base-url", BASE)
    assert res.exit_code != 0
    assert "no active user with id or name '李四'" in res.output and "张三" in res.output
    assert not (tmp_path / "b.png").exists()


def test_users_qr_with_a_shared_name_asks_for_the_id(ws, tmp_path):
    _add(ws, tmp_path / "a.png", "--base-url", BASE)
    _add(ws, tmp_path / "b.png", "--base-url", BASE)
    res = _cli(ws, "users", "qr", "张三", "--qr", str(tmp_path / "c.png"), "--base-url", BASE)
    assert res.exit_code == 2
    assert "2 active users are named '张三'" in res.output and "give the user id" in res.output
