"""The ``geoservice`` command line (the only module that imports typer and rich)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from geoservice.settings import Settings
from layers.errors import LayersError
from layers.messages import Lang

app = typer.Typer(
    name="geoservice",
    help="林长制联合执法规划工具 / Forest-chief enforcement planning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

KIND_LABELS = {
    "villages": ("村界", "villages"),
    "parcels": ("森林湿地小班", "parcels"),
    "complaints": ("举报投诉", "complaints"),
    "patches": ("变化图斑", "change patches"),
    "problems": ("督查问题", "inspection problems"),
}
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh (default) or en")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="workspace .gpkg (default: GEOSERVICE_WORKSPACE)"),
]


def _t(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


# Set by commands run with --json: errors are then also printed as one JSON object.
_JSON_ERRORS: dict[str, bool] = {"on": False}


def _fail(text: str, code: str = "usage") -> None:
    err.print(text, markup=False)
    if _JSON_ERRORS["on"]:
        sys.stdout.write(
            json.dumps({"error": {"code": code, "message": text}}, ensure_ascii=False) + "\n"
        )
    raise typer.Exit(2)


def _settings(
    workspace: Path | None, lang: str | None, as_json: bool = False
) -> tuple[Settings, Lang]:
    _JSON_ERRORS["on"] = as_json
    overrides: dict[str, Any] = {}
    if workspace is not None:
        overrides["workspace"] = workspace
    if lang is not None:
        overrides["lang"] = lang
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(f"错误 / error: {problems}")
        raise AssertionError from exc  # unreachable: _fail exits
    return settings, settings.lang


def _guard(lang: Lang, action: Callable[[], T]) -> T:
    """Run ``action``; a user error becomes one line on stderr and exit status 2."""
    try:
        return action()
    except LayersError as exc:
        _fail(_t(lang, "错误：", "Error: ") + exc.text(lang), exc.code)
        raise AssertionError from exc  # unreachable
    except KeyboardInterrupt:
        _fail(_t(lang, "已中断，工作空间未改变。", "Interrupted; the workspace is unchanged."))
        raise


@contextmanager
def _spinner(text: str, enabled: bool) -> Iterator[None]:
    if not enabled or not err.is_terminal:
        yield
        return
    with err.status(text):
        yield


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _report_lines(report: Any, lang: Lang) -> list[str]:
    d = report.to_dict(lang)
    lines = [
        _t(lang, f"文件：{d['source']}（{d['format']}）", f"File: {d['source']} ({d['format']})"),
        _t(
            lang,
            f"编码：{d['encoding']} — {d['encoding_reason']}",
            f"Encoding: {d['encoding']} — {d['encoding_reason']}",
        ),
        _t(lang, f"坐标系：{d['crs']} — {d['crs_reason']}", f"CRS: {d['crs']} — {d['crs_reason']}"),
        _t(
            lang,
            f"读取 {d['rows_read']} 行，导入 {d['rows_imported']} 行，修复 {d['rows_repaired']} 行，"
            f"拒绝 {d['rows_rejected']} 行",
            f"Read {d['rows_read']}, imported {d['rows_imported']}, repaired "
            f"{d['rows_repaired']}, rejected {d['rows_rejected']}",
        ),
    ]
    for code, item in d["rejected_by_reason"].items():
        lines.append(f"  - {item['reason']} ({code}): {item['count']}")
    lines.extend(_t(lang, "提示：", "Warning: ") + w for w in d["warnings"])
    return lines


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
    crs: Annotated[str | None, typer.Option(help="CRS of the file, e.g. EPSG:4546")] = None,
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
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Import a survey file into the workspace (导入调查数据)."""
    from geoservice.errors import NothingImportedError
    from geoservice.importing import import_file
    from geoservice.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
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
            encoding=encoding,
            crs=crs,
            mapping=mapping,
            layer=layer,
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
            )
        except NothingImportedError as exc:
            if rejects is not None:
                exc.report.rejects.to_csv(rejects, index=False, encoding="utf-8-sig")
            raise

    with _spinner(_t(lg, f"正在导入 {path} …", f"Importing {path} …"), not as_json):
        result = _guard(lg, run)
    if rejects is not None and len(result.report.rejects):
        result.report.rejects.to_csv(rejects, index=False, encoding="utf-8-sig")
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
        _print_json({"workspace": str(ws.path), "problems_import": result.to_dict()})
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


def _catalog_table(entries: list[Any], lang: Lang) -> Table:
    from layers.codes import DEPARTMENTS

    heads = (
        ("图层", "layer"),
        ("部分", "part"),
        ("主管部门", "owner"),
        ("密级", "classification"),
        ("来源文件", "source file"),
        ("编码", "encoding"),
        ("坐标系", "CRS"),
        ("要素数", "rows"),
        ("拒绝", "rejected"),
        ("导入人", "imported by"),
        ("导入时间", "imported at"),
    )
    table = Table(title=_t(lang, "数据共享目录", "Layer catalog"))
    for zh, en in heads:
        table.add_column(
            _t(lang, zh, en), justify="right" if en in ("rows", "rejected") else "left"
        )
    for e in entries:
        dept = DEPARTMENTS.get(e.owner_department, (e.owner_department, e.owner_department))
        table.add_row(
            KIND_LABELS[e.layer][0 if lang == "zh" else 1] if e.layer in KIND_LABELS else e.layer,
            e.part,
            dept[0] if lang == "zh" else dept[1],
            e.classification,
            e.source_file,
            e.encoding or "",
            (e.crs or "").split(" ")[0],
            str(e.rows),
            str(e.rows_rejected),
            e.imported_by,
            e.imported_at,
        )
    return table


@app.command("layers")
def layers_cmd(
    workspace: WorkspaceOpt = None, as_json: JsonOpt = False, lang: LangOpt = None
) -> None:
    """List the workspace's sharing register (数据共享目录)."""
    from geoservice.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    ws = Workspace(settings.workspace)
    entries = _guard(lg, ws.catalog)
    crs = ws.crs()
    if as_json:
        _print_json(
            {
                "workspace": str(ws.path),
                "crs": crs.to_string() if crs else None,
                "layers": [e.to_dict() for e in entries],
            }
        )
        return
    out.print(_catalog_table(entries, lg))
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
    from geoservice.exporting import export_layer
    from geoservice.workspace import Workspace

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


def _date_option(value: str | None, option: str, lang: Lang) -> date | None:
    """A ``YYYY-MM-DD`` option value (None stays None); a one-line error otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(
            _t(
                lang,
                f"错误：--{option} 为“{value}”，应为 YYYY-MM-DD 格式的日期，如 2026-11-28。",
                f"Error: `{option}` was {value!r} but is expected to be a date YYYY-MM-DD, "
                "e.g. 2026-11-28.",
            )
        )
        raise AssertionError from None  # unreachable


def _as_of(value: str | None, lang: Lang) -> date:
    """The ``--as-of`` date, today when not given."""
    return _date_option(value, "as-of", lang) or date.today()


RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="rules YAML overriding the defaults")
]


@app.command("sample")
def sample_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the files into")],
    scale: Annotated[str, typer.Option(help="town, county or province")] = "town",
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files)")] = 20261128,
    lang: LangOpt = None,
) -> None:
    """Write a synthetic town/county/province as real survey files (生成示例数据)."""
    from geoservice.sample import Scale, generate

    _, lg = _settings(None, lang)
    with _spinner(_t(lg, "正在生成示例数据 …", "Generating sample data …"), True):
        files = _guard(lg, lambda: generate(out_dir, cast(Scale, scale), seed))
    for kind, path in files.items():
        out.print(f"{kind}: {path}", markup=False)


DEMO_FILES: tuple[tuple[str, str, str | None], ...] = (
    ("villages", "villages.shp", None),
    ("parcels", "xiaoban.shp", "forest"),
    ("parcels", "wetlands.shp", "wetland"),
    ("complaints", "complaints.csv", None),
    ("patches", "patches.shp", None),
    ("problems", "problems.xlsx", None),
)


# Sub-commands of the inspection workflow live in their own module, which reuses the
# helpers above; it is imported here, after them, and registered on the app.
from geoservice.cli_workflow import campaign_app, problems_app, villages_app  # noqa: E402

app.add_typer(problems_app, name="problems")
app.add_typer(campaign_app, name="campaign")
app.add_typer(villages_app, name="villages")

from geoservice.cli_reports import report_app  # noqa: E402

app.add_typer(report_app, name="report")

from geoservice import cli_analysis  # noqa: E402, F401  (registers analyze, rules, demo)


def main() -> None:
    app()
