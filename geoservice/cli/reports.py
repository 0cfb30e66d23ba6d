"""``geoservice report`` commands: meeting reports (Article 9)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from geoservice.base.errors import OptionError, message
from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command
from geoservice.workflow.rates import rates_help

report_app = typer.Typer(help="会议报告 / Meeting reports.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command group to ``app``."""
    app.add_typer(report_app, name="report")


FORMATS = ("html", "xlsx")


def parse_date(value: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option value; :class:`OptionError` naming the option otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise OptionError(
            message(
                "report.bad_date",
                f"--{option} 为“{value}”，应为 YYYY-MM-DD 格式的日期，如 2026-11-30。",
                f"`{option}` was {value!r} but is expected to be a date YYYY-MM-DD, "
                "e.g. 2026-11-30.",
            )
        ) from None


def output_format(fmt: str | None, path: Path) -> str:
    """``html`` or ``xlsx``: ``--format`` if given, else the suffix of ``--out``."""
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    chosen = {"htm": "html"}.get(chosen, chosen)
    if chosen not in FORMATS:
        raise OptionError(
            message(
                "report.bad_format",
                f"--format 为“{fmt or path.suffix}”，应为 html 或 xlsx；"
                "请加 --format html 或 --format xlsx。",
                f"`format` was {fmt or path.suffix!r} but is expected to be html or xlsx; "
                "pass --format html or --format xlsx.",
            )
        )
    if not path.parent.is_dir():
        raise OptionError(
            message(
                "report.no_folder",
                f"--out 的文件夹 {path.parent} 不存在；请先建立该文件夹或换一个路径。",
                f"The folder of `out`, {path.parent}, does not exist; create it or choose "
                "another path.",
            )
        )
    return chosen


def make_department_report(
    ws: Any,
    start: str,
    end: str,
    out_path: Path,
    fmt: str | None,
    as_of: str | None,
    town: str | None,
    lang: Any,
    actor: str,
) -> Any:
    """Parse the options, compute and write the report, and log the export."""
    from geoservice.reports.departments import department_report
    from geoservice.reports.html import write_html
    from geoservice.reports.xlsx import write_xlsx

    first, last = parse_date(start, "from"), parse_date(end, "to")
    day = parse_date(as_of, "as-of") if as_of is not None else None
    kind = output_format(fmt, out_path)
    report = department_report(ws, first, last, day, town=town, lang=lang)
    (write_html if kind == "html" else write_xlsx)(report, out_path, lang)
    ws.log(
        actor,
        "report.departments",
        str(out_path),
        {
            "format": kind,
            "lang": lang,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "as_of": report.as_of.isoformat(),
            "departments": len(report.departments),
            "villages": len(report.villages),
            "summary": report.summary,
        },
    )
    return report


@report_app.command(
    "departments",
    help="Department report for the forest-chief meeting, Art. 9 (部门履职情况汇报): every "
    "department's ledger, targets, problems copied and own account.\n\n" + rates_help(),
)
def departments_cmd(
    start: Annotated[str, typer.Option("--from", help="first day of the period, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day of the period, YYYY-MM-DD")],
    out_path: Annotated[Path, typer.Option("--out", help="report file (.html or .xlsx)")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="html or xlsx (default: from --out)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="overdue evaluated at (default: --to)")
    ] = None,
    town: Annotated[str | None, typer.Option(help="town name for the title, e.g. 溪岭镇")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    with command(workspace, lang, as_json) as cmd:
        report = make_department_report(
            cmd.workspace, start, end, out_path, fmt, as_of, town, cmd.lang, cmd.settings.user
        )

        def render() -> None:
            cmd.say(
                cmd.text(
                    f"已生成报告：{out_path}（部门 {len(report.departments)} 个，"
                    f"村 {len(report.villages)} 个）",
                    f"Report written: {out_path} ({len(report.departments)} departments, "
                    f"{len(report.villages)} villages)",
                )
            )
            cmd.say(report.summary_text(cmd.lang))

        cmd.emit({"out": str(out_path), **report.to_dict(cmd.lang)}, render)
