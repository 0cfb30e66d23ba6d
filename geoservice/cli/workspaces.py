"""``geoservice workspace copy``: a workspace snapshot copied into PostGIS (工作空间复制)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geoservice.cli.common import JsonOpt, LangOpt, command, out
from layers.messages import pick

workspace_app = typer.Typer(help="工作空间 / Workspace copies.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``workspace`` command group to ``app``."""
    app.add_typer(workspace_app, name="workspace")


@workspace_app.command(
    "copy",
    help="Copy a workspace GeoPackage into a PostGIS schema, in one transaction "
    "(复制工作空间到 PostGIS). DEST: postgresql://user@host/db?schema=NAME "
    "(default schema: geoservice).",
)
def copy_cmd(
    source: Annotated[Path, typer.Argument(help="the workspace .gpkg")],
    dest: Annotated[str, typer.Argument(help="postgresql://user@host/db?schema=NAME")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace a schema that already holds tables")
    ] = False,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    from geoservice.base.postgis_copy import copy_to_postgis, parse_target

    with command(source, lang, as_json) as cmd:
        target = parse_target(dest)
        if target is None:
            cmd.fail(
                cmd.text(
                    f"错误：目标为“{dest}”，应为 postgresql:// 地址，"
                    "如 postgresql://gis@db.example/forest?schema=town。",
                    f"Error: DEST was {dest!r}; expected a postgresql:// URL, e.g. "
                    "postgresql://gis@db.example/forest?schema=town.",
                )
            )
        with cmd.spinner(cmd.text("正在复制……", "Copying...")):
            report = copy_to_postgis(source, target, replace=replace)

        def render() -> None:
            table = Table(
                title=pick(
                    cmd.lang,
                    f"已复制到 PostGIS schema “{report.schema}”",
                    f"Copied into PostGIS schema {report.schema!r}",
                )
            )
            table.add_column(pick(cmd.lang, "表", "table"))
            table.add_column(pick(cmd.lang, "行数", "rows"), justify="right")
            table.add_column(pick(cmd.lang, "坐标系", "CRS"))
            for name, rows in report.rows.items():
                epsg = report.layers.get(name)
                table.add_row(name, str(rows), f"EPSG:{epsg}" if epsg else "")
            out.print(table)

        cmd.emit({"schema": report.schema, "rows": report.rows, "layers": report.layers}, render)
