"""``geoservice map targets|villages|department``: offline web maps of a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.cli.common import AsOfOpt, Command, JsonOpt, LangOpt, WorkspaceOpt, command
from geoservice.webmaps.build import department_map_of, targets_map_of, villages_map_of

map_app = typer.Typer(help="网页地图（离线可用）/ Offline web maps.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``map`` command group to ``app``."""
    app.add_typer(map_app, name="map")


OutOpt = Annotated[Path | None, typer.Option("--out", help="HTML file to write")]
VillageOpt = Annotated[
    str | None, typer.Option("--village", help="zoom to this village (code or name)")
]
TilesOpt = Annotated[
    str | None,
    typer.Option("--tiles", help="XYZ tile URL template of an intranet basemap (default none)"),
]


BasemapOpt = Annotated[
    str | None,
    typer.Option(
        "--basemap", help="none (default), osm, tianditu-vec or tianditu-img (online basemaps)"
    ),
]
OnlineOpt = Annotated[
    bool,
    typer.Option(
        "--allow-online-basemap",
        help="allow an internet basemap (and the Tianditu key) in the standalone file",
    ),
]


def _basemap(cmd: Command, name: str | None, tiles: str | None, online: bool) -> Any:
    """The basemap asked for; an internet one only when explicitly allowed."""
    from maps.basemaps import basemap

    chosen = basemap(name, url=tiles, key=cmd.settings.tianditu_key)
    if chosen is not None and chosen.online and not online:
        key_zh = "，且会把天地图密钥写进文件" if chosen.name.startswith("tianditu") else ""
        key_en = " and would write the Tianditu key into the file" if key_zh else ""
        cmd.fail(
            cmd.text(
                f"错误：底图 {chosen.name} 需要连接互联网，内网打不开{key_zh}；"
                "确需使用请加 --allow-online-basemap，否则改用默认无底图或内网瓦片（--tiles）。",
                f"Error: basemap {chosen.name} needs the internet, which an intranet lacks"
                f"{key_en}; add --allow-online-basemap if that is intended, or keep the default "
                "(none) or an intranet tile server (--tiles).",
            )
        )
    return chosen


def _write(m: Any, path: Path, tiles: Any) -> Path:
    from maps.render import save_standalone

    return save_standalone(m, path, tiles.url_prefixes() if tiles is not None else ())


def _done(cmd: Command, kind: str, path: Path, extra: dict[str, Any], base: Any = None) -> None:
    size = path.stat().st_size
    offline = base is None or not base.online
    where_zh = "离线可用" if offline else "底图需联网"
    where_en = "works offline" if offline else "its basemap needs the internet"
    cmd.emit(
        {"map": kind, "path": str(path), "bytes": size, "offline": offline, **extra},
        lambda: cmd.say(
            cmd.text(
                f"地图已写入：{path}（{size / 1e6:.1f} MB，{where_zh}）",
                f"Map written: {path} ({size / 1e6:.1f} MB, {where_en})",
            )
        ),
    )


@map_app.command("targets")
def targets_cmd(
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """联合执法目标图 / Enforcement target map."""
    with command(workspace, lang, as_json) as cmd:
        base = _basemap(cmd, basemap_name, tiles, online)
        path = out_path or Path("targets_map.html")
        m = targets_map_of(cmd.workspace, cmd.lang, village, base)
        written, n = _write(m, path, base), cmd.workspace.count("targets")
        _done(cmd, "targets", written, {"targets": n}, base)


@map_app.command("villages")
def villages_cmd(
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """各村整改情况图 / Rectification status by village."""
    with command(workspace, lang, as_json) as cmd:
        base = _basemap(cmd, basemap_name, tiles, online)
        day = cmd.as_of(as_of)
        path = out_path or Path("villages_map.html")
        m = villages_map_of(cmd.workspace, day, cmd.lang, village, base)
        written, n = _write(m, path, base), cmd.workspace.count("villages")
        _done(cmd, "villages", written, {"as_of": day.isoformat(), "villages": n}, base)


@map_app.command("department")
def department_cmd(
    code: Annotated[str, typer.Argument(help="department code or name, e.g. police / 镇郊派出所")],
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """部门视图 / One department's targets and the problems copied to it."""
    from geoservice.analysis.present import department_code

    with command(workspace, lang, as_json) as cmd:
        base = _basemap(cmd, basemap_name, tiles, online)
        day = cmd.as_of(as_of)
        dept = department_code(code)
        path = out_path or Path(f"department_{dept}_map.html")
        m = department_map_of(cmd.workspace, dept, day, cmd.lang, village, base)
        _done(cmd, "department", _write(m, path, base), {"department": dept}, base)
