"""Analysis commands of the CLI: ``analyze`` and ``rules show``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geoservice.cli.common import JsonOpt, LangOpt, RulesOpt, WorkspaceOpt, command, out
from layers.messages import Lang, pick

rules_app = typer.Typer(help="Analysis rules (研判规则).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``analyze`` command and the ``rules`` command group to ``app``."""
    app.command("analyze")(analyze_cmd)
    app.add_typer(rules_app, name="rules")


def summary_lines(
    counts: dict[str, Any], result: Any, lang: Lang, departments: dict[str, tuple[str, str]]
) -> list[str]:
    """The lines summing up an analysis: counts, priorities, lead departments, unmatched."""
    idx = 1 if lang == "en" else 0
    sep = ", " if lang == "en" else "，"
    lines = [
        pick(
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
    lines.append(pick(lang, f"按优先级：{by_p or '无'}", f"By priority: {by_p or 'none'}"))
    by_lead = sep.join(
        f"{departments.get(d, (d, d))[idx]} {n}" for d, n in counts["targets_by_lead"].items()
    )
    lines.append(
        pick(lang, f"按牵头部门：{by_lead or '无'}", f"By lead department: {by_lead or 'none'}")
    )
    unmatched = result.unmatched_complaints
    if len(unmatched):
        ids = ("、" if lang == "zh" else ", ").join(unmatched["complaint_id"].astype(str).head(10))
        more = "…" if len(unmatched) > 10 else ""
        lines.append(
            pick(
                lang,
                f"未能对应到任何小班的举报（距所有小班超过缓冲距离）{len(unmatched)} 条：{ids}{more}",
                f"{len(unmatched)} complaints farther than the buffer from every parcel "
                f"(unmatched): {ids}{more}",
            )
        )
    if counts.get("complaints_without_location"):
        n = counts["complaints_without_location"]
        lines.append(
            pick(
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
            pick(
                lang,
                f"未能对应到小班的未整改问题 {len(result.unmatched_problems)} 个：{ids}",
                f"{len(result.unmatched_problems)} open problems not tied to a parcel: {ids}",
            )
        )
    return lines


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
    from geoservice.cli.patches import patch_link_line
    from geoservice.workflow.patch_links import link_illegal_patches

    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        ws = cmd.workspace
        effective = load_rules(rules or cmd.settings.rules_path())
        # a batch run: two threads, and the process-wide runtime settings for its duration
        with cmd.spinner(cmd.text("正在研判 …", "Analysing …")), analysis_runtime():
            result = analyze(
                ws,
                as_of=day,
                rules=effective,
                actor=cmd.settings.user,
                lang=cmd.lang,
                parallel=True,
            )
        counts = result.counts()
        linked = link_illegal_patches(ws, day, cmd.settings.user, rules=effective)

        def render() -> None:
            for line in summary_lines(counts, result, cmd.lang, department_names(effective)):
                cmd.say(line)
            if linked:
                cmd.say(patch_link_line(linked, cmd.lang))
            cmd.say(
                cmd.text(
                    f"结果已写入 {ws.path} 的 parcel_risk 与 targets 图层；导出目标清单："
                    "geoservice export targets --out 目标清单.xlsx",
                    f"Results are in layers parcel_risk and targets of {ws.path}; export the "
                    "list with geoservice export targets --out targets.xlsx",
                )
            )

        cmd.emit(
            {
                "workspace": str(ws.path),
                "as_of": day.isoformat(),
                "rules_hash": result.rules_hash,
                "duration_s": round(result.duration_s, 3),
                "counts": counts,
                "patch_links": linked,
                "unmatched_complaints": result.unmatched_complaints.to_dict("records"),
                "unmatched_problems": result.unmatched_problems.to_dict("records"),
            },
            render,
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
        pick(
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


@rules_app.command("show")
def rules_show_cmd(
    workspace: WorkspaceOpt = None,
    rules: RulesOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Print the effective rules and the routing table (显示研判规则与部门分工)."""
    from geoservice.analysis.rules import load_rules, rules_table

    with command(workspace, lang, as_json, use="optional") as cmd:
        source = rules or cmd.settings.rules_path()
        table = rules_table(load_rules(source), cmd.lang)
        cmd.emit(
            {"override": str(source) if source else None, **table},
            lambda: _print_rules(table, cmd.lang, source),
        )
