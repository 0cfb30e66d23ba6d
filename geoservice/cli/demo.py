"""``geoservice demo``: the whole job on the sample town, from the survey files to the
target list, the meeting report and the maps."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.cli.analysis import summary_lines
from geoservice.cli.common import DEMO_FILES, Command, JsonOpt, LangOpt, command, err, out
from geoservice.cli.patches import patch_link_line
from geoservice.cli.render import catalog_table, report_lines
from geoservice.cli.villages import village_table
from layers.messages import Lang, pick

DEMO_AS_OF = "2026-11-28"  # the sample town's "today" (sample_gis/README.md)
DEMO_TOWN = "溪岭镇"  # the sample town's name (sample_gis/README.md)
SHIPPED_SAMPLE = Path(__file__).resolve().parents[2] / "sample_gis"
"""The sample town shipped next to the package (the repository's ``sample_gis``)."""


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo_cmd)


def _sample_dir(data: Path | None, cmd: Command) -> Path:
    if data is not None:
        return data
    if (SHIPPED_SAMPLE / "xiaoban.shp").is_file():
        return SHIPPED_SAMPLE
    from geoservice.sample.town import generate

    target = Path("sample_gis")
    cmd.say(
        cmd.text(
            f"未找到随附的示例数据，正在生成到 {target} …",
            f"Shipped sample data not found; generating it into {target} …",
        )
    )
    generate(target, "town")
    return target


def _demo_maps(ws: Any, day: date, lang: Lang, out_dir: Path) -> dict[str, Path]:
    """The three web maps of the demo: targets, villages, and the busiest lead department."""
    from geoservice.webmaps.build import department_map_of, targets_map_of, villages_map_of
    from maps.render import save_standalone

    targets = ws.read("targets")
    leads = targets["lead_department"].value_counts()
    dept = str(leads.index[0]) if len(leads) else "agriculture"
    names = {
        "targets": pick(lang, "联合执法目标图.html", "targets_map.html"),
        "villages": pick(lang, "各村整改情况图.html", "villages_map.html"),
        "department": pick(lang, f"部门视图_{dept}.html", f"department_{dept}_map.html"),
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
        warning = pick(lang, "提示：地图未生成。", "Warning: the maps were not written. ")
        err.print(warning + exc.text(lang), markup=False)
        return {}


def _import_sample(cmd: Command, folder: Path) -> list[Any]:
    """Import the sample town's files into the (new) workspace; their import reports."""
    from geoservice.files.importing import import_file

    reports = []
    for demo_file in DEMO_FILES:
        name = demo_file.name
        with cmd.spinner(cmd.text(f"正在导入 {name} …", f"Importing {name} …")):
            result = import_file(
                cmd.workspace,
                folder / name,
                demo_file.kind,
                actor=cmd.settings.user,
                workspace_crs=cmd.settings.crs,
                **demo_file.options(),
            )
        reports.append(result.report)
        if not cmd.as_json:
            for line in report_lines(result.report, cmd.lang):
                cmd.say(line)
            out.print()
    return reports


_STALE_OUTPUTS = (
    "联合执法目标清单.xlsx",
    "targets.xlsx",
    "部门履职情况报告.html",
    "department_report.html",
)


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
    from geoservice.files.exporting import export_layer
    from geoservice.reports.departments import department_report
    from geoservice.reports.html import write_html
    from geoservice.workflow.patch_links import link_illegal_patches
    from geoservice.workflow.villages import village_status

    with command(out_dir / "demo.gpkg", lang, as_json, use="none") as cmd:
        lg, user = cmd.lang, cmd.settings.user
        day = cmd.as_of(as_of)
        folder = _sample_dir(data, cmd)
        out_dir.mkdir(parents=True, exist_ok=True)
        cmd.settings.workspace.unlink(missing_ok=True)
        ws = cmd.workspace
        reports = _import_sample(cmd, folder)
        effective = load_rules(cmd.settings.rules_path())
        with cmd.spinner(cmd.text("正在研判 …", "Analysing …")), analysis_runtime():
            analysis = analyze(ws, as_of=day, rules=effective, actor=user, lang=lg, parallel=True)
        # every patch established illegal gets its problem (and its target above a threshold)
        linked = link_illegal_patches(ws, day, user, rules=effective)
        xlsx = out_dir / cmd.text("联合执法目标清单.xlsx", "targets.xlsx")
        gpkg = out_dir / "targets.gpkg"
        for stale in _STALE_OUTPUTS:
            (out_dir / stale).unlink(missing_ok=True)
        for path in (xlsx, gpkg):
            export_layer(ws, "targets", path, actor=user, lang=lg, rules=effective)
        status = village_status(ws, day)
        # The Article 9 meeting report for the year up to the demo date.
        report_html = out_dir / cmd.text("部门履职情况报告.html", "department_report.html")
        meeting = department_report(ws, date(day.year, 1, 1), day, day, town=DEMO_TOWN, lang=lg)
        write_html(meeting, report_html, lg)
        maps = _demo_maps_if_assets(ws, day, lg, out_dir)
        catalog = ws.catalog()

        def render() -> None:
            out.print(catalog_table(catalog, lg))
            out.print(village_table(status, lg, day))
            for line in summary_lines(analysis.counts(), analysis, lg, department_names(effective)):
                cmd.say(line)
            if linked:
                cmd.say(patch_link_line(linked, lg))
            written = [str(p) for p in maps.values()]
            cmd.say(
                cmd.text(
                    f"工作空间：{ws.path}（可直接用 QGIS 打开）\n目标清单：{xlsx}\n目标图层：{gpkg}\n"
                    f"部门履职报告：{report_html}\n"
                    f"地图（离线可用）：{'、'.join(written) or '未生成（见上方提示）'}",
                    f"Workspace: {ws.path} (opens in QGIS as it is)\nTarget list: {xlsx}\n"
                    f"Target layer: {gpkg}\nDepartment report: {report_html}\n"
                    f"Maps (work offline): "
                    f"{', '.join(written) or 'not written (see the warning above)'}",
                )
            )

        cmd.emit(
            {
                "workspace": str(ws.path),
                "imports": [r.to_dict(lg) for r in reports],
                "layers": [e.to_dict() for e in catalog],
                "villages": status.to_dict("records"),
                "analysis": {"as_of": day.isoformat(), "counts": analysis.counts()},
                "patch_links": linked,
                "outputs": {
                    "targets_xlsx": str(xlsx),
                    "targets_gpkg": str(gpkg),
                    "department_report": str(report_html),
                    "maps": {k: str(v) for k, v in maps.items()},
                },
            },
            render,
        )
