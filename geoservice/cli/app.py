"""The ``geoservice`` command line: the import, layers, export and sample commands, and the
registration of the other command groups (the only modules that import typer and rich are
``geoservice.cli.app`` and ``geoservice.cli_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from geoservice.cli.common import (
    DEMO_FILES,
    KIND_LABELS,
    JsonOpt,
    LangOpt,
    WorkspaceOpt,
    _catalog_table,
    _coverage_table,
    _fail,
    _guard,
    _print_import_notes,
    _print_json,
    _report_lines,
    _settings,
    _spinner,
    _t,
    app,
    out,
)
from layers.messages import Lang
from layers.table_limits import TableLimits

__all__ = ["DEMO_FILES", "app", "main"]


@app.command("import")
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
    from geoservice.base.workspace import Workspace
    from geoservice.files.importing import import_file

    settings, lg = _settings(workspace, lang, as_json, use="optional")
    ws = Workspace(settings.workspace)
    if rejects is not None and not rejects.parent.is_dir():
        _fail(
            _t(
                lg,
                f"错误：--rejects 的文件夹 {rejects.parent} 不存在；请先建立该文件夹或换一个路径。",
                f"Error: the folder of --rejects, {rejects.parent}, does not exist; create it "
                "or choose another path.",
            )
        )

    if kind == "problems":
        _import_problems(
            ws,
            path,
            mode,
            settings.user,
            lg,
            as_json,
            allow_shrink=allow_shrink,
            encoding=encoding,
            crs=crs,
            mapping=mapping,
            layer=layer,
            table_limits=TableLimits(settings.max_import_rows, settings.max_import_cells),
        )
        return

    def run() -> Any:
        try:
            return import_file(
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
                table_limits=TableLimits(settings.max_import_rows, settings.max_import_cells),
            )
        except NothingImportedError as exc:
            if rejects is not None:
                csv_cells(exc.report.rejects).to_csv(rejects, index=False, encoding="utf-8-sig")
            raise

    with _spinner(_t(lg, f"正在导入 {path} …", f"Importing {path} …"), not as_json):
        result = _guard(lg, run)
    if rejects is not None and len(result.report.rejects):
        csv_cells(result.report.rejects).to_csv(rejects, index=False, encoding="utf-8-sig")
    if as_json:
        _print_json(
            {
                "workspace": str(ws.path),
                "report": result.report.to_dict(lg),
                "catalog_entry": result.entry.to_dict(),
                "layer_rows": result.layer_rows,
            }
        )
        return
    for line in _report_lines(result.report, lg):
        out.print(line, markup=False)
    name = KIND_LABELS[result.entry.layer][0 if lg == "zh" else 1]
    out.print(
        _t(
            lg,
            f"已写入 {ws.path} 的“{name}”图层，现有 {result.layer_rows} 个要素。",
            f"Stored in layer '{name}' of {ws.path}; it now holds {result.layer_rows} features.",
        ),
        markup=False,
    )
    if result.report.rows_rejected:
        where = str(rejects) if rejects else f"{ws.path} → rejects_{result.entry.layer}"
        out.print(
            _t(lg, f"被拒绝的行及原因见：{where}", f"Rejected rows and reasons: {where}"),
            markup=False,
        )


def _import_problems(
    ws: Any, path: Path, mode: str | None, actor: str, lang: Lang, as_json: bool, **options: Any
) -> None:
    """Import a problem list keeping the workflow state of problems already stored.

    ``merge`` (default) adds new problems and keeps the state and history of known ones;
    ``replace`` makes the layer exactly the file (see geoservice.workflow.imports).
    """
    from geoservice.workflow.imports import import_problems

    wf_mode = "replace" if mode == "replace" else "merge"
    result = _guard(
        lang,
        lambda: import_problems(
            ws, path, actor=actor, mode=wf_mode, **{k: v for k, v in options.items() if v}
        ),
    )
    if as_json:
        _print_json({"workspace": str(ws.path), "problems_import": result.to_dict(lang)})
        return
    out.print(
        _t(
            lang,
            f"督查问题导入（{wf_mode}）：读取 {result.rows_read} 行，新增 {len(result.added)} 个，"
            f"保留已有整改状态 {len(result.kept_ids)} 个，覆盖 {len(result.overwritten)} 个，"
            f"移除 {len(result.removed)} 个，拒绝 {result.rows_rejected} 行。",
            f"Problems import ({wf_mode}): read {result.rows_read}, added {len(result.added)}, "
            f"kept stored workflow state of {len(result.kept_ids)}, overwrote "
            f"{len(result.overwritten)}, removed {len(result.removed)}, rejected "
            f"{result.rows_rejected}.",
        ),
        markup=False,
    )
    _print_import_notes(result.to_dict(lang), lang)


@app.command("layers")
def layers_cmd(
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """List the workspace's sharing register (数据共享目录)."""
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    ws = Workspace(settings.workspace)
    entries = _guard(lg, ws.catalog)
    crs = ws.crs()
    coverage = _guard(lg, ws.village_coverage)
    if as_json:
        _print_json(
            {
                "workspace": str(ws.path),
                "crs": crs.to_string() if crs else None,
                "layers": [e.to_dict() for e in entries],
                "village_coverage": coverage,
            }
        )
        return
    out.print(_catalog_table(entries, lg))
    if coverage:
        out.print(_coverage_table(coverage, lg))
    if crs is not None:
        from layers.crs import describe_crs

        out.print(
            _t(lg, f"工作空间坐标系：{describe_crs(crs)}", f"Workspace CRS: {describe_crs(crs)}"),
            markup=False,
        )


@app.command("export")
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
    from geoservice.base.workspace import Workspace
    from geoservice.files.exporting import export_layer

    settings, lg = _settings(workspace, lang, as_json)
    ws = Workspace(settings.workspace)
    result = _guard(
        lg,
        lambda: export_layer(
            ws,
            layer,
            path,
            actor=settings.user,
            fmt=fmt,
            lang=lg,
            department=department,
            village=village,
            priorities=priority.split(",") if priority else None,
            rules=load_rules(settings.rules_path()),
        ),
    )
    if as_json:
        _print_json(
            {
                "layer": result.layer,
                "path": str(result.path),
                "driver": result.driver,
                "rows": result.rows,
                "crs": result.crs,
                "renamed_fields": result.renamed,
                "encoding": result.encoding,
            }
        )
        return
    out.print(
        _t(
            lg,
            f"已导出 {result.rows} 个要素到 {result.path}（{result.driver}，{result.crs}）",
            f"Exported {result.rows} features to {result.path} ({result.driver}, {result.crs})",
        ),
        markup=False,
    )


@app.command("sample")
def sample_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the files into")],
    scale: Annotated[str, typer.Option(help="town, county or province")] = "town",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 20261128,
    lang: LangOpt = None,
) -> None:
    """Write a synthetic town/county/province as real survey files (生成示例数据)."""
    from geoservice.sample.town import Scale, generate

    _, lg = _settings(None, lang, use="none")
    with _spinner(_t(lg, "正在生成示例数据 …", "Generating sample data …"), True):
        files = _guard(lg, lambda: generate(out_dir, cast(Scale, scale), seed))
    for kind, path in files.items():
        out.print(f"{kind}: {path}", markup=False)


# The other command groups live in their own modules and are registered here.
from geoservice.cli.workflow import campaign_app, problems_app, villages_app  # noqa: E402

app.add_typer(problems_app, name="problems")
app.add_typer(campaign_app, name="campaign")
app.add_typer(villages_app, name="villages")

from geoservice.cli.reports import report_app  # noqa: E402

app.add_typer(report_app, name="report")

from geoservice.cli.maps import map_app  # noqa: E402

app.add_typer(map_app, name="map")

from geoservice.cli import analysis as cli_analysis  # noqa: E402, F401  (registers analyze, rules, demo)


def main() -> None:
    app()


from geoservice.cli.service import users_app  # noqa: E402  (also registers serve)

app.add_typer(users_app, name="users")
