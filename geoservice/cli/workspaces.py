"""``geoservice workspace copy``: a workspace between a GeoPackage and PostGIS (工作空间复制)."""

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
    help="Copy a workspace between a GeoPackage and a PostGIS schema, either way, in one "
    "transaction (在 GeoPackage 与 PostGIS 之间复制工作空间). A PostGIS end is "
    "postgresql://user@host/db?schema=NAME (default schema: geoservice); a GeoPackage "
    "made from PostGIS must not exist yet.",
)
def copy_cmd(
    source: Annotated[str, typer.Argument(help="the workspace .gpkg, or a postgresql:// URL")],
    dest: Annotated[str, typer.Argument(help="a postgresql:// URL, or a new .gpkg")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace a PostGIS schema that already holds tables")
    ] = False,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    from geoservice.base.postgis_copy import copy_to_postgis, parse_target
    from geoservice.base.postgis_restore import copy_from_postgis

    from_pg = parse_target(source)
    with command(
        None if from_pg else Path(source), lang, as_json, use="none" if from_pg else "existing"
    ) as cmd:
        to_pg = parse_target(dest)
        if (from_pg is None) == (to_pg is None):
            cmd.fail(
                cmd.text(
                    f"错误：源为“{source}”，目标为“{dest}”；应一端为 GeoPackage 工作空间，另一端为 "
                    "postgresql:// 地址，如 postgresql://gis@db.example/forest?schema=town。",
                    f"Error: SRC was {source!r} and DEST {dest!r}; expected a GeoPackage "
                    "workspace at one end and a postgresql:// URL at the other, e.g. "
                    "postgresql://gis@db.example/forest?schema=town.",
                )
            )
        with cmd.spinner(cmd.text("正在复制……", "Copying...")):
            if to_pg is not None:
                report = copy_to_postgis(Path(source), to_pg, replace=replace)
            else:
                assert from_pg is not None
                report = copy_from_postgis(from_pg, Path(dest))
        where = f"PostGIS schema “{report.schema}”"

        def render() -> None:
            title = (
                pick(cmd.lang, f"已复制到 {where}", f"Copied into PostGIS schema {report.schema!r}")
                if to_pg is not None
                else pick(
                    cmd.lang,
                    f"已由 {where} 生成 {dest}",
                    f"Made {dest} from PostGIS schema {report.schema!r}",
                )
            )
            table = Table(title=title)
            table.add_column(pick(cmd.lang, "表", "table"))
            table.add_column(pick(cmd.lang, "行数", "rows"), justify="right")
            table.add_column(pick(cmd.lang, "坐标系", "CRS"))
            for name, rows in report.rows.items():
                epsg = report.layers.get(name)
                table.add_row(name, str(rows), f"EPSG:{epsg}" if epsg else "")
            out.print(table)

        cmd.emit({"schema": report.schema, "rows": report.rows, "layers": report.layers}, render)
