"""``geoservice campaign add``: inspection campaigns (督查批次)."""

from __future__ import annotations

from typing import Annotated

import typer

from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command

campaign_app = typer.Typer(help="督查批次 / Inspection campaigns.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``campaign`` command group to ``app``."""
    app.add_typer(campaign_app, name="campaign")


@campaign_app.command("add")
def campaign_add_cmd(
    campaign_id: Annotated[str, typer.Argument(help="campaign id, e.g. 2026Q4")],
    name: Annotated[str, typer.Option(help="name, e.g. 2026年第四季度林长制联合督查")],
    start: Annotated[str | None, typer.Option(help="start date YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="end date YYYY-MM-DD")] = None,
    departments: Annotated[
        str | None, typer.Option(help="taking part, e.g. police,agriculture")
    ] = None,
    note: Annotated[str | None, typer.Option(help="note")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who (default: user)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Register an inspection campaign (登记督查批次)."""
    from geoservice.workflow.records import add_campaign

    with command(workspace, lang, as_json) as cmd:
        started = cmd.date_option(start, "start")
        ended = cmd.date_option(end, "end")
        row = add_campaign(
            cmd.workspace,
            campaign_id=campaign_id,
            name=name,
            by=by or cmd.settings.user,
            started_on=started,
            ended_on=ended,
            departments=departments,
            note=note,
        )
        cmd.emit(
            row,
            lambda: cmd.say(
                cmd.text(
                    f"已登记督查批次 {campaign_id}：{name}", f"Added campaign {campaign_id}: {name}"
                )
            ),
        )
