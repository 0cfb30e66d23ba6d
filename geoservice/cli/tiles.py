"""``geoservice tiles build``: a static vector tile set of a workspace (folder or PMTiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command

tiles_app = typer.Typer(help="矢量瓦片 / Vector tiles.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``tiles`` command group to ``app``."""
    app.add_typer(tiles_app, name="tiles")


@tiles_app.command("build")
def build_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="folder of <layer>/<z>/<x>/<y>.mvt, or FILE.pmtiles")
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="whose view the tiles hold: office (default), department, village, viewer",
        ),
    ] = "office",
    department: Annotated[
        str | None, typer.Option("--department", help="department code (with --role department)")
    ] = None,
    village: Annotated[
        str | None, typer.Option("--village", help="village code (with --role village)")
    ] = None,
    layer: Annotated[
        list[str] | None, typer.Option("--layer", help="a tile layer (repeat; default all visible)")
    ] = None,
    min_zoom: Annotated[int, typer.Option("--min-zoom", help="lowest zoom")] = 8,
    max_zoom: Annotated[int, typer.Option("--max-zoom", help="highest zoom")] = 16,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """写出静态矢量瓦片 / Write a static vector tile set (for intranet servers, offline use)."""
    from geoservice.tiles.build import build_tiles, scope_principal

    with command(workspace, lang, as_json) as cmd:
        principal = scope_principal(role, department, village)
        with cmd.spinner(cmd.text("正在切瓦片…", "Cutting tiles…")):
            report = build_tiles(cmd.workspace, out, principal, layer or None, min_zoom, max_zoom)
        name, size = report.largest
        data = {
            "out": str(report.out),
            "role": role,
            "layers": report.layers,
            "tiles": report.tiles,
            "bytes": report.bytes,
            "largest": {"tile": name, "bytes": size},
            "per_zoom": report.per_zoom,
        }
        cmd.emit(
            data,
            lambda: cmd.say(
                cmd.text(
                    f"瓦片已写入：{report.out}（{report.tiles} 个，{report.bytes / 1e6:.1f} MB，"
                    f"最大 {name} {size / 1e3:.0f} KB；图层 {'、'.join(report.layers)}；"
                    f"按“{role}”的权限范围，勿放到该范围以外的人能访问的地方）",
                    f"Tiles written: {report.out} ({report.tiles} tiles, "
                    f"{report.bytes / 1e6:.1f} MB, largest {name} {size / 1e3:.0f} KB; layers "
                    f"{', '.join(report.layers)}; what role {role!r} may see: keep them where "
                    "only such users can reach them)",
                )
            ),
        )
