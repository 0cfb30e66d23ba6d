"""``geoservice targets dossier``: the joint-enforcement work order (联合执法任务书) of a
target as PDF or HTML, or one per target with ``--all``.

The command line works on the workspace file and so sees every target as the office does
(the reporter's phone included). Each file written is recorded in the audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command

__all__ = ["dossier_cmd", "register"]


def register(targets_app: typer.Typer) -> None:
    """Add the ``dossier`` command to the ``targets`` command group."""
    targets_app.command("dossier")(dossier_cmd)


def dossier_cmd(
    target_id: Annotated[
        str | None, typer.Argument(help="target id, e.g. T-c00d6fd525 (or --all)")
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="file .pdf or .html; with --all, the folder to write one file per target"
        ),
    ] = Path("."),
    all_targets: Annotated[bool, typer.Option("--all", help="one work order per target")] = False,
    fmt: Annotated[str, typer.Option("--format", help="with --all: pdf (default) or html")] = "pdf",
    issued: Annotated[
        str | None, typer.Option("--date", help="date of issue YYYY-MM-DD (default today)")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Joint-enforcement work order of a target, PDF or HTML on A4 (联合执法任务书)."""
    from geoservice.analysis.effective_rules import effective_rules
    from geoservice.reports.dossier import write_all_dossiers, write_dossier

    with command(workspace, lang, as_json) as cmd:
        if all_targets == (target_id is not None):
            cmd.fail(
                cmd.text(
                    "错误：请给出一个目标编号（如 T-c00d6fd525），或用 --all 为每个目标各生成一份。",
                    "Error: give one target id (e.g. T-c00d6fd525), or --all for one work "
                    "order per target.",
                )
            )
        options = {
            "lang": cmd.lang,
            "issued": cmd.date_option(issued, "date"),
            "base_url": cmd.settings.public_url,
        }
        rules = effective_rules(cmd.settings)
        ws = cmd.workspace
        if all_targets:
            written = write_all_dossiers(ws, None, out, rules, fmt=fmt, **options)
        else:
            assert target_id is not None
            written = [write_dossier(ws, None, target_id, out, rules, **options)]
        ws.log(
            cmd.settings.user,
            "targets.dossier",
            target_id or "*",
            {"files": [str(p) for p in written], "lang": cmd.lang},
        )

        def render() -> None:
            if not written:
                cmd.say(
                    cmd.text("没有联合执法目标，未生成任务书。", "No targets; nothing written.")
                )
            for path in written:
                cmd.say(cmd.text(f"已生成任务书：{path}", f"Work order written: {path}"))

        cmd.emit({"files": [str(p) for p in written]}, render)
