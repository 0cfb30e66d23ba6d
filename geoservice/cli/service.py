"""``geoservice serve`` and ``geoservice users add|list|revoke|qr``: the web service and its
users (``--qr FILE.png`` writes a sign-in QR code, :mod:`geoservice.base.signin_link`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from geoservice.cli.common import Command, JsonOpt, LangOpt, WorkspaceOpt, command, err, out
from layers.messages import Lang, pick

QrOpt = Annotated[
    Path | None,
    typer.Option("--qr", help="write a sign-in QR code (PNG or SVG) with the token in the link"),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="address phones open the service at (default: GEOSERVICE_PUBLIC_URL)",
    ),
]

users_app = typer.Typer(help="服务用户与令牌 / Service users and tokens.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command and the ``users`` command group to ``app``."""
    app.command("serve")(serve_cmd)
    app.add_typer(users_app, name="users")


def serve_cmd(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="worker processes (one per core)")
    ] = 1,
    lang: LangOpt = None,
) -> None:
    """运行网页服务（API、OGC API Features、外业页面）/ Run the web service."""
    import uvicorn

    from geoservice.api.app import create_app

    with command(workspace, lang) as cmd:  # the workspace must exist
        settings = cmd.settings
    err.print(
        cmd.text(
            f"服务地址 http://{host}:{port}/ （工作空间 {settings.workspace}；按 Ctrl+C 停止）",
            f"Serving http://{host}:{port}/ (workspace {settings.workspace}; Ctrl+C stops)",
        ),
        markup=False,
    )
    if workers == 1:
        # Forwarded headers are the app's to judge (GEOSERVICE_TRUSTED_PROXIES), not uvicorn's.
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="warning", proxy_headers=False
        )
        return
    # Worker processes build their own app from the environment: pass the settings on.
    os.environ["GEOSERVICE_WORKSPACE"] = str(settings.workspace)
    os.environ["GEOSERVICE_LANG"] = settings.lang
    uvicorn.run(
        "geoservice.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=False,
    )


_USER_HEADS = (
    ("编号", "id"),
    ("姓名", "name"),
    ("角色", "role"),
    ("部门", "department"),
    ("村", "village"),
    ("创建", "created"),
    ("到期", "expires"),
    ("注销", "revoked"),
)


def _users_table(users: pd.DataFrame, lang: Lang) -> Table:
    table = Table(*[pick(lang, zh, en) for zh, en in _USER_HEADS])
    for row in users.itertuples():
        table.add_row(
            *(
                str(v) if v is not None and v == v else ""
                for v in (
                    row.user_id,
                    row.name,
                    row.role,
                    row.department,
                    row.village_name,
                    row.created_at,
                    row.expires_at,
                    row.revoked_at,
                )
            )
        )
    return table


@users_app.command("add")
def users_add(
    role: Annotated[str, typer.Option("--role", help="office | department | village | viewer")],
    name: Annotated[str, typer.Option("--name", help="the person's name")],
    department: Annotated[
        str | None, typer.Option("--department", help="department code (role department)")
    ] = None,
    village: Annotated[
        str | None, typer.Option("--village", help="village code or name (role village)")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="token stops working after N days")
    ] = None,
    qr: QrOpt = None,
    base_url: BaseUrlOpt = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """添加用户并显示其令牌（只显示这一次）/ Add a user and print its token once."""
    from geoservice.base.access import add_user
    from geoservice.base.signin_link import check_qr_path, signin_base

    with command(workspace, lang, as_json) as cmd:
        # The link's address and file are checked before the user is added: nothing is
        # half done (a user whose token was never shown).
        base = None
        if qr is not None:
            base = signin_base(base_url, cmd.settings.public_url)
            check_qr_path(qr)
        user, token = add_user(
            cmd.workspace,
            role=role,
            name=name,
            by=cmd.settings.user,
            department=department,
            village=village,
            expires_days=expires_days,
        )

        def render() -> None:
            scope = user.department or (
                f"{user.village_name}（{user.village_code}）" if user.village_code else ""
            )
            cmd.say(
                cmd.text(
                    f"已添加用户 {user.user_id}：{user.name}，角色 {user.role} {scope}",
                    f"Added user {user.user_id}: {user.name}, role {user.role} {scope}",
                )
            )
            cmd.say(
                cmd.text(
                    "令牌（只显示这一次，请妥善交给本人）：",
                    "Token (shown only this once; hand it over safely):",
                )
            )
            cmd.say(token)
            if qr is not None:
                _say_qr(cmd, qr)

        cmd.emit({**user.to_dict(), "token": token, **_qr(qr, base, token)}, render)


def _qr(path: Path | None, base: str | None, token: str) -> dict[str, str]:
    """Write the sign-in QR code when asked; its file for the JSON output."""
    from geoservice.base.signin_link import signin_url, write_qr

    if path is None or base is None:
        return {}
    return {"qr": str(write_qr(signin_url(base, token), path))}


def _say_qr(cmd: Command, path: Path) -> None:
    cmd.say(
        cmd.text(
            f"登录二维码已写入 {path}（含令牌，只有本人可读；用手机扫码即可登录，请当面交给本人）",
            f"Sign-in QR code written to {path} (it holds the token and only you may read it; "
            "scanning it signs the phone in: hand it over in person)",
        )
    )


@users_app.command("qr")
def users_qr(
    user: Annotated[str, typer.Argument(help="user id or name from 'geoservice users list'")],
    qr: Annotated[Path, typer.Option("--qr", help="the sign-in QR code to write (PNG or SVG)")],
    base_url: BaseUrlOpt = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """为已有用户签发新令牌并写出登录二维码（旧令牌随即失效）/ Issue a new token for an
    existing user and write its sign-in QR code (the old token stops working)."""
    from geoservice.base.access import reissue_token
    from geoservice.base.signin_link import check_qr_path, signin_base

    with command(workspace, lang, as_json) as cmd:
        base = signin_base(base_url, cmd.settings.public_url)
        check_qr_path(qr)
        person, token = reissue_token(cmd.workspace, user, cmd.settings.user)
        written = _qr(qr, base, token)

        def render() -> None:
            cmd.say(
                cmd.text(
                    f"已为用户 {person.user_id}（{person.name}）签发新令牌；旧令牌已失效"
                    "（只保存令牌的哈希值，旧令牌无法再次显示）。新令牌：",
                    f"Issued a new token for user {person.user_id} ({person.name}); the old "
                    "token no longer works (only token hashes are kept, so it cannot be shown "
                    "again). New token:",
                )
            )
            cmd.say(token)
            _say_qr(cmd, qr)

        cmd.emit({**person.to_dict(), "token": token, **written}, render)


@users_app.command("list")
def users_list(
    workspace: WorkspaceOpt = None, lang: LangOpt = None, as_json: JsonOpt = False
) -> None:
    """列出服务用户（不含令牌）/ List service users (never their tokens)."""
    from geoservice.base.access import list_users

    with command(workspace, lang, as_json) as cmd:
        users = list_users(cmd.workspace)
        cmd.emit(
            users.astype(object).where(users.notna(), None).to_dict("records"),
            lambda: out.print(_users_table(users, cmd.lang)),
        )


@users_app.command("revoke")
def users_revoke(
    user_id: Annotated[str, typer.Argument(help="user id from 'geoservice users list'")],
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """注销用户令牌 / Revoke a user's token."""
    from geoservice.base.access import revoke_user

    with command(workspace, lang) as cmd:
        revoke_user(cmd.workspace, user_id, cmd.settings.user)
        cmd.say(cmd.text(f"已注销用户 {user_id} 的令牌。", f"Revoked the token of user {user_id}."))
