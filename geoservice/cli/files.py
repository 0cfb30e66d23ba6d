"""Survey files in and out of the workspace: ``import``, ``layers``, ``export`` and
``sample``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from geoservice.cli.common import Command, JsonOpt, LangOpt, WorkspaceOpt, command, out
from geoservice.cli.render import (
    catalog_table,
    coverage_table,
    kind_label,
    print_import_notes,
    report_lines,
)
from layers.table_limits import TableLimits


def register(app: typer.Typer) -> None:
    """Add the ``import``, ``layers``, ``export`` and ``sample`` commands to ``app``."""
    app.command("import")(import_cmd)
    app.command("layers")(layers_cmd)
    app.command("export")(export_cmd)
    app.command("sample")(sample_cmd)


def import_cmd(
    kind: Annotated[
        str, typer.Argument(help="villages | parcels | complaints | patches | problems")
    ],
    path: Annotated[
        Path, typer.Argument(help="shapefile/.zip/.gpkg/.geojson/.kml/.kmz/.csv/.xlsx")
    ],
    workspace: WorkspaceOpt = None,
    parcel_kind: Annotated[
        str | None, typer.Option("--kind", help="parcels only: forest or wetland")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding, e.g. GB18030")] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="CRS of the file, e.g. EPSG:4546; GCJ-02 (AutoNavi/Tencent/WeChat maps) or "
            "BD-09 (Baidu maps), any case (gcj02, bd09): lon/lat converted to CGCS2000"
        ),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="field mapping YAML")] = None,
    layer: Annotated[str | None, typer.Option(help="layer/member/sheet to read")] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="replace or append (problems: merge, the default, or replace)"),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="owner department code")] = None,
    classification: Annotated[
        str | None, typer.Option(help="public, internal or restricted")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="also write rejected rows to this CSV file")
    ] = None,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="replace even when the layer would keep fewer than half its rows",
        ),
    ] = False,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Import a survey file into the workspace (导入调查数据)."""
    from geoservice.base.cells import csv_cells
    from geoservice.base.errors import NothingImportedError
    from geoservice.files.importing import import_file

    with command(workspace, lang, as_json, use="optional") as cmd:
        settings, ws = cmd.settings, cmd.workspace
        if rejects is not None and not rejects.parent.is_dir():
            cmd.fail(
                cmd.text(
                    f"错误：--rejects 的文件夹 {rejects.parent} 不存在；请先建立该文件夹或换一个路径。",
                    f"Error: the folder of --rejects, {rejects.parent}, does not exist; create "
                    "it or choose another path.",
                )
            )
        limits = TableLimits(settings.max_import_rows, settings.max_import_cells)
        if kind == "problems":
            options = {"encoding": encoding, "crs": crs, "mapping": mapping, "layer": layer}
            _import_problems(cmd, path, mode, allow_shrink, table_limits=limits, **options)
            return
        with cmd.spinner(cmd.text(f"正在导入 {path} …", f"Importing {path} …")):
            try:
                result = import_file(
                    ws,
                    path,
                    kind,
                    actor=settings.user,
                    parcel_kind=parcel_kind,
                    encoding=encoding,
                    crs=crs,
                    mapping=mapping,
                    layer=layer,
                    mode=mode or "replace",
                    owner=owner,
                    classification=classification,
                    workspace_crs=settings.crs,
                    allow_shrink=allow_shrink,
                    table_limits=limits,
                )
            except NothingImportedError as exc:
                if rejects is not None:
                    csv_cells(exc.report.rejects).to_csv(rejects, index=False, encoding="utf-8-sig")
                raise
        if rejects is not None and len(result.report.rejects):
            csv_cells(result.report.rejects).to_csv(rejects, index=False, encoding="utf-8-sig")

        def render() -> None:
            for line in report_lines(result.report, cmd.lang):
                cmd.say(line)
            name = kind_label(result.entry.layer, cmd.lang)
            cmd.say(
                cmd.text(
                    f"已写入 {ws.path} 的“{name}”图层，现有 {result.layer_rows} 个要素。",
                    f"Stored in layer '{name}' of {ws.path}; it now holds "
                    f"{result.layer_rows} features.",
                )
            )
            if result.report.rows_rejected:
                where = str(rejects) if rejects else f"{ws.path} → rejects_{result.entry.layer}"
                cmd.say(
                    cmd.text(f"被拒绝的行及原因见：{where}", f"Rejected rows and reasons: {where}")
                )

        cmd.emit(
            {
                "workspace": str(ws.path),
                "report": result.report.to_dict(cmd.lang),
                "catalog_entry": result.entry.to_dict(),
                "layer_rows": result.layer_rows,
            },
            render,
        )


def _import_problems(
    cmd: Command, path: Path, mode: str | None, allow_shrink: bool, **options: Any
) -> None:
    """Import a problem list keeping the workflow state of problems already stored.

    ``merge`` (default) adds new problems and keeps the state and history of known ones;
    ``replace`` makes the layer exactly the file (see geoservice.workflow.imports).
    """
    from geoservice.workflow.imports import import_problems

    wf_mode = "replace" if mode == "replace" else "merge"
    given = {k: v for k, v in {"allow_shrink": allow_shrink, **options}.items() if v}
    result = import_problems(cmd.workspace, path, actor=cmd.settings.user, mode=wf_mode, **given)
    detail = result.to_dict(cmd.lang)

    def render() -> None:
        cmd.say(
            cmd.text(
                f"督查问题导入（{wf_mode}）：读取 {result.rows_read} 行，新增 {len(result.added)} 个，"
                f"保留已有整改状态 {len(result.kept_ids)} 个，覆盖 {len(result.overwritten)} 个，"
                f"移除 {len(result.removed)} 个，拒绝 {result.rows_rejected} 行。",
                f"Problems import ({wf_mode}): read {result.rows_read}, added "
                f"{len(result.added)}, kept stored workflow state of {len(result.kept_ids)}, "
                f"overwrote {len(result.overwritten)}, removed {len(result.removed)}, rejected "
                f"{result.rows_rejected}.",
            )
        )
        print_import_notes(detail, cmd.lang)

    cmd.emit({"workspace": str(cmd.workspace.path), "problems_import": detail}, render)


def layers_cmd(
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """List the workspace's sharing register (数据共享目录)."""
    with command(workspace, lang, as_json) as cmd:
        ws = cmd.workspace
        entries = ws.catalog()
        crs = ws.crs()
        coverage = ws.village_coverage()

        def render() -> None:
            out.print(catalog_table(entries, cmd.lang))
            if coverage:
                out.print(coverage_table(coverage, cmd.lang))
            if crs is not None:
                from layers.crs import describe_crs

                cmd.say(
                    cmd.text(
                        f"工作空间坐标系：{describe_crs(crs)}",
                        f"Workspace CRS: {describe_crs(crs)}",
                    )
                )

        cmd.emit(
            {
                "workspace": str(ws.path),
                "crs": crs.to_string() if crs else None,
                "layers": [e.to_dict() for e in entries],
                "village_coverage": coverage,
            },
            render,
        )


def export_cmd(
    layer: Annotated[str, typer.Argument(help="workspace layer, e.g. targets or parcels")],
    path: Annotated[Path, typer.Option("--out", help="output file")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="gpkg, geojson, kml (lon/lat), shp, csv or xlsx"),
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="targets: led or cooperated on by this department code")
    ] = None,
    village: Annotated[str | None, typer.Option(help="targets: in this village code")] = None,
    priority: Annotated[str | None, typer.Option(help="targets: e.g. P1,P2")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Export a workspace layer to a file (导出图层); written to the audit log."""
    from geoservice.analysis.rules import load_rules
    from geoservice.files.exporting import export_layer

    with command(workspace, lang, as_json) as cmd:
        result = export_layer(
            cmd.workspace,
            layer,
            path,
            actor=cmd.settings.user,
            fmt=fmt,
            lang=cmd.lang,
            department=department,
            village=village,
            priorities=priority.split(",") if priority else None,
            rules=load_rules(cmd.settings.rules_path()),
        )
        cmd.emit(
            {
                "layer": result.layer,
                "path": str(result.path),
                "driver": result.driver,
                "rows": result.rows,
                "crs": result.crs,
                "renamed_fields": result.renamed,
                "encoding": result.encoding,
            },
            lambda: cmd.say(
                cmd.text(
                    f"已导出 {result.rows} 个要素到 {result.path}（{result.driver}，{result.crs}）",
                    f"Exported {result.rows} features to {result.path} ({result.driver}, "
                    f"{result.crs})",
                )
            ),
        )


def sample_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the files into")],
    scale: Annotated[str, typer.Option(help="town, county or province")] = "town",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 20261128,
    lang: LangOpt = None,
) -> None:
    """Write a synthetic town/county/province as real survey files (生成示例数据)."""
    from geoservice.sample.town import Scale, generate

    with command(None, lang, use="none") as cmd:
        with cmd.spinner(cmd.text("正在生成示例数据 …", "Generating sample data …")):
            files = generate(out_dir, cast(Scale, scale), seed)
        for kind, path in files.items():
            cmd.say(f"{kind}: {path}")
