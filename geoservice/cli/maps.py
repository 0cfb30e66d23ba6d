"""``geoservice map targets|villages|department``: offline web maps of a workspace.

At town scale a map file holds its data; above it (or with ``--tiled``) a light page is
written with its vector tiles beside it (:mod:`geoservice.cli.map_files`), never a page
over 5 MB.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
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
TiledOpt = Annotated[
    bool,
    typer.Option(
        "--tiled",
        help="write a light page with its vector tiles beside it (automatic above town scale)",
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


def _map_file(
    cmd: Command,
    kind: str,
    path: Path,
    base: Any,
    draw: Callable[[], Any],
    options: tuple[bool, date, str | None, str | None],
) -> tuple[Path, dict[str, Any]]:
    """Write the map: holding its data at town scale, else (or ``--tiled``) a light page
    with its tiles beside it; ``options`` are ``(tiled, day, village, department)``."""
    from geoservice.cli.map_files import PAGE_LIMIT, describe, needs_tiles, write_tiled

    tiled, day, village, dept = options
    if not tiled and not needs_tiles(cmd.workspace, kind):
        written = _write(draw(), path, base)
        if written.stat().st_size <= PAGE_LIMIT:
            return written, {}
    result = write_tiled(cmd.workspace, kind, path, day, cmd.lang, village, dept, base)
    return result.page, describe(result)


def _done(cmd: Command, kind: str, path: Path, extra: dict[str, Any], base: Any = None) -> None:
    size = path.stat().st_size
    offline = base is None or not base.online
    where_zh = "离线可用" if offline else "底图需联网"
    where_en = "works offline" if offline else "its basemap needs the internet"
    tiles = extra.get("tiles")
    served_zh = served_en = ""
    dept = extra.get("department")
    served = f"/maps/department/{dept}" if dept else f"/maps/{kind}"
    if tiles is not None:
        count, mb = extra["tile_count"], extra["tile_bytes"] / 1e6
        served_zh = (
            f"；矢量瓦片 {count} 个（{mb:.1f} MB）写在旁边的 {tiles}。浏览器不允许直接从本地文件"
            f"读取瓦片：请在 {path.parent} 运行 `python -m http.server` 后打开 "
            f"http://localhost:8000/{path.name}（或放到任一网站服务器上），也可以用 "
            f"geoservice serve 打开 {served}"
        )
        served_en = (
            f"; its {count} vector tiles ({mb:.1f} MB) are beside it in {tiles}. Browsers do "
            f"not let a page opened from disk read them: run `python -m http.server` in "
            f"{path.parent} and open http://localhost:8000/{path.name} (or put both on any "
            f"web server), or open {served} through geoservice serve"
        )
    cmd.emit(
        {"map": kind, "path": str(path), "bytes": size, "offline": offline, **extra},
        lambda: cmd.say(
            cmd.text(
                f"地图已写入：{path}（{size / 1e6:.1f} MB，{where_zh}）{served_zh}",
                f"Map written: {path} ({size / 1e6:.1f} MB, {where_en}){served_en}",
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
    tiled: TiledOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """联合执法目标图 / Enforcement target map."""
    with command(workspace, lang, as_json) as cmd:
        base = _basemap(cmd, basemap_name, tiles, online)
        path = out_path or Path("targets_map.html")
        draw = lambda: targets_map_of(cmd.workspace, cmd.lang, village, base)  # noqa: E731
        options = (tiled, cmd.as_of(None), village, None)
        written, extra = _map_file(cmd, "targets", path, base, draw, options)
        n = cmd.workspace.count("targets")
        _done(cmd, "targets", written, {"targets": n, **extra}, base)


@map_app.command("villages")
def villages_cmd(
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    tiled: TiledOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """各村整改情况图 / Rectification status by village."""
    with command(workspace, lang, as_json) as cmd:
        base = _basemap(cmd, basemap_name, tiles, online)
        day = cmd.as_of(as_of)
        path = out_path or Path("villages_map.html")
        draw = lambda: villages_map_of(cmd.workspace, day, cmd.lang, village, base)  # noqa: E731
        options = (tiled, day, village, None)
        written, extra = _map_file(cmd, "villages", path, base, draw, options)
        n = cmd.workspace.count("villages")
        _done(cmd, "villages", written, {"as_of": day.isoformat(), "villages": n, **extra}, base)


@map_app.command("department")
def department_cmd(
    code: Annotated[str, typer.Argument(help="department code or name, e.g. police / 镇郊派出所")],
    as_of: AsOfOpt = None,
    out_path: OutOpt = None,
    village: VillageOpt = None,
    tiles: TilesOpt = None,
    basemap_name: BasemapOpt = None,
    online: OnlineOpt = False,
    tiled: TiledOpt = False,
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
        draw = lambda: department_map_of(cmd.workspace, dept, day, cmd.lang, village, base)  # noqa: E731
        options = (tiled, day, village, dept)
        written, extra = _map_file(cmd, "department", path, base, draw, options)
        _done(cmd, "department", written, {"department": dept, **extra}, base)
