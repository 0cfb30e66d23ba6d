"""``geoservice serve`` and ``geoservice users add|list|revoke``: the web service and its
users."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from geoservice.cli.common import (
    JsonOpt,
    LangOpt,
    WorkspaceOpt,
    _guard,
    _print_json,
    _settings,
    _t,
    app,
    err,
    out,
)

users_app = typer.Typer(help="服务用户与令牌 / Service users and tokens.", no_args_is_help=True)


@app.command("serve")
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
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang)
    _guard(lg, Workspace(settings.workspace).require)
    err.print(
        _t(
            lg,
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
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """添加用户并显示其令牌（只显示这一次）/ Add a user and print its token once."""
    from geoservice.base.access import add_user
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    user, token = _guard(
        lg,
        lambda: add_user(
            Workspace(settings.workspace),
            role=role,
            name=name,
            by=settings.user,
            department=department,
            village=village,
            expires_days=expires_days,
        ),
    )
    if as_json:
        _print_json({**user.to_dict(), "token": token})
        return
    scope = user.department or (
        f"{user.village_name}（{user.village_code}）" if user.village_code else ""
    )
    out.print(
        _t(
            lg,
            f"已添加用户 {user.user_id}：{user.name}，角色 {user.role} {scope}",
            f"Added user {user.user_id}: {user.name}, role {user.role} {scope}",
        ),
        markup=False,
    )
    out.print(
        _t(
            lg,
            "令牌（只显示这一次，请妥善交给本人）：",
            "Token (shown only this once; hand it over safely):",
        ),
        markup=False,
    )
    out.print(token, markup=False)


@users_app.command("list")
def users_list(
    workspace: WorkspaceOpt = None, lang: LangOpt = None, as_json: JsonOpt = False
) -> None:
    """列出服务用户（不含令牌）/ List service users (never their tokens)."""
    from geoservice.base.access import list_users
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    users = _guard(lg, lambda: list_users(Workspace(settings.workspace)))
    if as_json:
        _print_json(users.astype(object).where(users.notna(), None).to_dict("records"))
        return
    table = Table(
        *[
            _t(lg, zh, en)
            for zh, en in (
                ("编号", "id"),
                ("姓名", "name"),
                ("角色", "role"),
                ("部门", "department"),
                ("村", "village"),
                ("创建", "created"),
                ("到期", "expires"),
                ("注销", "revoked"),
            )
        ]
    )
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
    out.print(table)


@users_app.command("revoke")
def users_revoke(
    user_id: Annotated[str, typer.Argument(help="user id from 'geoservice users list'")],
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """注销用户令牌 / Revoke a user's token."""
    from geoservice.base.access import revoke_user
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang)
    _guard(lg, lambda: revoke_user(Workspace(settings.workspace), user_id, settings.user))
    out.print(
        _t(lg, f"已注销用户 {user_id} 的令牌。", f"Revoked the token of user {user_id}."),
        markup=False,
    )
