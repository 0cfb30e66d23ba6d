"""Analysis commands of the CLI: ``analyze``, ``rules show`` and ``demo``.

Registered on :data:`geoservice.cli.app.app` when :mod:`geoservice.cli.app` imports this module;
the shared helpers (settings, one-line errors, JSON output) come from there.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geoservice.cli.common import (
    DEMO_FILES,
    JsonOpt,
    LangOpt,
    RulesOpt,
    WorkspaceOpt,
    _as_of,
    _catalog_table,
    _guard,
    _print_json,
    _report_lines,
    _settings,
    _spinner,
    _t,
    app,
    err,
    out,
)
from layers.messages import Lang


def _summary_lines(
    counts: dict[str, Any], result: Any, lang: Lang, departments: dict[str, tuple[str, str]]
) -> list[str]:
    idx = 1 if lang == "en" else 0
    sep = ", " if lang == "en" else "，"
    lines = [
        _t(
            lang,
            f"评估日期 {result.as_of}：有证据的小班 {counts['parcels_with_evidence']} 个，"
            f"其中可能遭受严重破坏 {counts['flagged_parcels']} 个；联合执法目标 {counts['targets']} 处"
            f"（达到刑事立案标准 {counts['criminal_targets']} 处）。",
            f"As of {result.as_of}: {counts['parcels_with_evidence']} parcels with evidence, "
            f"{counts['flagged_parcels']} at risk of serious damage; {counts['targets']} "
            f"joint-enforcement targets ({counts['criminal_targets']} meet a criminal threshold).",
        )
    ]
    by_p = sep.join(f"{p} {n}" for p, n in counts["targets_by_priority"].items())
    lines.append(_t(lang, f"按优先级：{by_p or '无'}", f"By priority: {by_p or 'none'}"))
    by_lead = sep.join(
        f"{departments.get(d, (d, d))[idx]} {n}" for d, n in counts["targets_by_lead"].items()
    )
    lines.append(
        _t(lang, f"按牵头部门：{by_lead or '无'}", f"By lead department: {by_lead or 'none'}")
    )
    unmatched = result.unmatched_complaints
    if len(unmatched):
        ids = ("、" if lang == "zh" else ", ").join(unmatched["complaint_id"].astype(str).head(10))
        more = "…" if len(unmatched) > 10 else ""
        lines.append(
            _t(
                lang,
                f"未能对应到任何小班的举报（距所有小班超过缓冲距离）{len(unmatched)} 条：{ids}{more}",
                f"{len(unmatched)} complaints farther than the buffer from every parcel "
                f"(unmatched): {ids}{more}",
            )
        )
    if counts.get("complaints_without_location"):
        n = counts["complaints_without_location"]
        lines.append(
            _t(
                lang,
                f"另有 {n} 条举报因缺少坐标未能导入、未参与研判（见工作空间 rejects_complaints 表），"
                "补充坐标后可重新导入。",
                f"{n} more complaints had no location and were not imported, so they are not in "
                "the analysis (see the workspace table rejects_complaints); add coordinates and "
                "import them again.",
            )
        )
    if len(result.unmatched_problems):
        ids = ("、" if lang == "zh" else ", ").join(
            result.unmatched_problems["problem_id"].astype(str).head(10)
        )
        lines.append(
            _t(
                lang,
                f"未能对应到小班的未整改问题 {len(result.unmatched_problems)} 个：{ids}",
                f"{len(result.unmatched_problems)} open problems not tied to a parcel: {ids}",
            )
        )
    return lines


@app.command("analyze")
def analyze_cmd(
    workspace: WorkspaceOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="evaluate at this date (default: today)")
    ] = None,
    rules: RulesOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Find areas at risk of serious damage and the joint-enforcement targets (研判)."""
    from geoservice.analysis.pause import analysis_runtime
    from geoservice.analysis.present import department_names
    from geoservice.analysis.rules import load_rules
    from geoservice.analysis.run import analyze
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    day = _as_of(as_of, lg)
    ws = Workspace(settings.workspace)
    effective = _guard(lg, lambda: load_rules(rules or settings.rules_path()))
    # a batch run: two threads, and the process-wide runtime settings for its duration
    with _spinner(_t(lg, "正在研判 …", "Analysing …"), not as_json), analysis_runtime():
        result = _guard(
            lg,
            lambda: analyze(
                ws, as_of=day, rules=effective, actor=settings.user, lang=lg, parallel=True
            ),
        )
    counts = result.counts()
    if as_json:
        _print_json(
            {
                "workspace": str(ws.path),
                "as_of": day.isoformat(),
                "rules_hash": result.rules_hash,
                "duration_s": round(result.duration_s, 3),
                "counts": counts,
                "unmatched_complaints": result.unmatched_complaints.to_dict("records"),
                "unmatched_problems": result.unmatched_problems.to_dict("records"),
            }
        )
        return
    for line in _summary_lines(counts, result, lg, department_names(effective)):
        out.print(line, markup=False)
    out.print(
        _t(
            lg,
            f"结果已写入 {ws.path} 的 parcel_risk 与 targets 图层；导出目标清单：geoservice export "
            "targets --out 目标清单.xlsx",
            f"Results are in layers parcel_risk and targets of {ws.path}; export the list with "
            "geoservice export targets --out targets.xlsx",
        ),
        markup=False,
    )


def _cell(value: Any, lang: Lang) -> str:
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# Which columns of each rules section a person reads, with their headers.
_RULE_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "routing": [
        ("category_name", "问题类别", "category"),
        ("lead_name", "牵头部门", "lead"),
        ("cooperating_names", "配合部门", "cooperating"),
        ("citation", "依据", "basis"),
    ],
    "escalations": [
        ("description", "升级规则", "escalation"),
        ("department_name", "部门", "department"),
        ("citation", "依据", "basis"),
    ],
    "departments": [
        ("code", "代码", "code"),
        ("name", "部门", "department"),
        ("duty", "职责", "duties"),
    ],
    "keywords": [
        ("category_name", "问题类别", "category"),
        ("keywords", "关键词（按顺序匹配）", "keywords (checked in order)"),
    ],
}
_RULE_TITLES = {
    "routing": ("部门分工（按问题类别）", "Routing by category"),
    "escalations": ("升级规则", "Escalations"),
    "departments": ("部门职责（第十条）", "Departments (Article 10)"),
    "keywords": ("举报文字分类关键词", "Complaint text keywords"),
}


def _print_rules(table: dict[str, Any], lang: Lang, source: Path | None) -> None:
    """Render the effective rules as tables a planner reads."""
    idx = 1 if lang == "en" else 0
    out.print(f"{table['title']} — {table['policy']}", markup=False)
    out.print(
        _t(
            lang,
            f"规则覆盖文件：{source or '无（使用默认规则）'}；规则指纹 {table['hash'][:12]}",
            f"Rules override: {source or 'none (defaults)'}; rules hash {table['hash'][:12]}",
        ),
        markup=False,
    )
    for section in table["sections"]:
        grid = Table(title=section["title"])
        for head in (("参数", "setting"), ("取值", "value"), ("单位", "unit"), ("键", "key")):
            grid.add_column(head[idx])
        for row in section["rows"]:
            grid.add_row(row["label"], _cell(row["value"], lang), row["unit"], row["key"])
        out.print(grid)
    for name, columns in _RULE_COLUMNS.items():
        grid = Table(title=_RULE_TITLES[name][idx])
        for _key, zh, en in columns:
            grid.add_column(en if lang == "en" else zh)
        for row in table[name]:
            grid.add_row(*(_cell(row.get(key, ""), lang) for key, _zh, _en in columns))
        out.print(grid)


rules_app = typer.Typer(help="Analysis rules (研判规则).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("show")
def rules_show_cmd(
    workspace: WorkspaceOpt = None,
    rules: RulesOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Print the effective rules and the routing table (显示研判规则与部门分工)."""
    from geoservice.analysis.rules import load_rules, rules_table

    settings, lg = _settings(workspace, lang, as_json, use="optional")
    source = rules or settings.rules_path()
    effective = _guard(lg, lambda: load_rules(source))
    table = rules_table(effective, lg)
    if as_json:
        _print_json({"override": str(source) if source else None, **table})
        return
    _print_rules(table, lg, source)


def _sample_dir(data: Path | None, lang: Lang) -> Path:
    if data is not None:
        return data
    shipped = Path(__file__).resolve().parent.parent / "sample_gis"
    if (shipped / "xiaoban.shp").is_file():
        return shipped
    from geoservice.sample.town import generate

    target = Path("sample_gis")
    out.print(
        _t(
            lang,
            f"未找到随附的示例数据，正在生成到 {target} …",
            f"Shipped sample data not found; generating it into {target} …",
        ),
        markup=False,
    )
    generate(target, "town")
    return target


DEMO_AS_OF = "2026-11-28"  # the sample town's "today" (sample_gis/README.md)
DEMO_TOWN = "溪岭镇"  # the sample town's name (sample_gis/README.md)


def _demo_maps(ws: Any, day: date, lang: Lang, out_dir: Path) -> dict[str, Path]:
    """The three web maps of the demo: targets, villages, and the busiest lead department."""
    from geoservice.webmaps.build import department_map_of, targets_map_of, villages_map_of
    from maps.render import save_standalone

    targets = ws.read("targets")
    leads = targets["lead_department"].value_counts()
    dept = str(leads.index[0]) if len(leads) else "agriculture"
    names = {
        "targets": _t(lang, "联合执法目标图.html", "targets_map.html"),
        "villages": _t(lang, "各村整改情况图.html", "villages_map.html"),
        "department": _t(lang, f"部门视图_{dept}.html", f"department_{dept}_map.html"),
    }
    maps = {
        "targets": targets_map_of(ws, lang),
        "villages": villages_map_of(ws, day, lang),
        "department": department_map_of(ws, dept, day, lang),
    }
    return {k: save_standalone(m, out_dir / names[k]) for k, m in maps.items()}


def _demo_maps_if_assets(ws: Any, day: date, lang: Lang, out_dir: Path) -> dict[str, Path]:
    """The demo's maps; none, after a warning naming the fix, when the Leaflet files that
    ``npm ci --prefix maps/assets`` installs are missing (everything else is written)."""
    from maps.assets import AssetsMissingError

    try:
        return _demo_maps(ws, day, lang, out_dir)
    except AssetsMissingError as exc:
        warning = _t(lang, "提示：地图未生成。", "Warning: the maps were not written. ")
        err.print(warning + exc.text(lang), markup=False)
        return {}


@app.command("demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="output folder")] = Path("demo_output"),
    data: Annotated[Path | None, typer.Option(help="sample folder (default: sample_gis)")] = None,
    as_of: Annotated[str, typer.Option("--as-of", help="evaluation date")] = DEMO_AS_OF,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Run the whole job on the sample town (示例：导入、研判、输出目标清单)."""
    from geoservice.analysis.pause import analysis_runtime
    from geoservice.analysis.present import department_names
    from geoservice.analysis.rules import load_rules
    from geoservice.analysis.run import analyze
    from geoservice.base.workspace import Workspace
    from geoservice.files.exporting import export_layer
    from geoservice.files.importing import import_file

    settings, lg = _settings(out_dir / "demo.gpkg", lang, as_json, use="none")
    day = _as_of(as_of, lg)
    folder = _sample_dir(data, lg)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings.workspace.unlink(missing_ok=True)
    ws = Workspace(settings.workspace)
    reports = []
    for demo_file in DEMO_FILES:
        name = demo_file.name
        with _spinner(_t(lg, f"正在导入 {name} …", f"Importing {name} …"), not as_json):
            result = _guard(
                lg,
                functools.partial(
                    import_file,
                    ws,
                    folder / name,
                    demo_file.kind,
                    actor=settings.user,
                    workspace_crs=settings.crs,
                    **demo_file.options(),
                ),
            )
        reports.append(result.report)
        if not as_json:
            for line in _report_lines(result.report, lg):
                out.print(line, markup=False)
            out.print()
    effective = _guard(lg, lambda: load_rules(settings.rules_path()))
    with _spinner(_t(lg, "正在研判 …", "Analysing …"), not as_json), analysis_runtime():
        analysis = _guard(
            lg,
            lambda: analyze(
                ws, as_of=day, rules=effective, actor=settings.user, lang=lg, parallel=True
            ),
        )
    xlsx = out_dir / _t(lg, "联合执法目标清单.xlsx", "targets.xlsx")
    gpkg = out_dir / "targets.gpkg"
    for stale in (
        "联合执法目标清单.xlsx",
        "targets.xlsx",
        "部门履职情况报告.html",
        "department_report.html",
    ):
        (out_dir / stale).unlink(missing_ok=True)
    for path in (xlsx, gpkg):
        _guard(
            lg,
            functools.partial(
                export_layer, ws, "targets", path, actor=settings.user, lang=lg, rules=effective
            ),
        )
    from geoservice.cli.workflow import village_table
    from geoservice.reports.departments import department_report
    from geoservice.reports.html import write_html
    from geoservice.workflow.villages import village_status

    status = _guard(lg, lambda: village_status(ws, day))
    # The Article 9 meeting report for the year up to the demo date.
    report_html = out_dir / _t(lg, "部门履职情况报告.html", "department_report.html")
    meeting = _guard(
        lg, lambda: department_report(ws, date(day.year, 1, 1), day, day, town=DEMO_TOWN, lang=lg)
    )
    write_html(meeting, report_html, lg)
    maps = _guard(lg, lambda: _demo_maps_if_assets(ws, day, lg, out_dir))
    if as_json:
        _print_json(
            {
                "workspace": str(ws.path),
                "imports": [r.to_dict(lg) for r in reports],
                "layers": [e.to_dict() for e in ws.catalog()],
                "villages": status.to_dict("records"),
                "analysis": {"as_of": day.isoformat(), "counts": analysis.counts()},
                "outputs": {
                    "targets_xlsx": str(xlsx),
                    "targets_gpkg": str(gpkg),
                    "department_report": str(report_html),
                    "maps": {k: str(v) for k, v in maps.items()},
                },
            }
        )
        return
    out.print(_catalog_table(ws.catalog(), lg))
    out.print(village_table(status, lg, day))
    for line in _summary_lines(analysis.counts(), analysis, lg, department_names(effective)):
        out.print(line, markup=False)
    out.print(
        _t(
            lg,
            f"工作空间：{ws.path}（可直接用 QGIS 打开）\n目标清单：{xlsx}\n目标图层：{gpkg}\n"
            f"部门履职报告：{report_html}\n"
            f"地图（离线可用）：{'、'.join(str(p) for p in maps.values()) or '未生成（见上方提示）'}",
            f"Workspace: {ws.path} (opens in QGIS as it is)\nTarget list: {xlsx}\n"
            f"Target layer: {gpkg}\nDepartment report: {report_html}\n"
            f"Maps (work offline): "
            f"{', '.join(str(p) for p in maps.values()) or 'not written (see the warning above)'}",
        ),
        markup=False,
    )
