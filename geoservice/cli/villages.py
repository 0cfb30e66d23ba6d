"""``geoservice villages status``: rectification status by village (各村整改情况)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import typer
from rich.table import Table

from geoservice.cli.common import (
    AsOfOpt,
    JsonOpt,
    LangOpt,
    WorkspaceOpt,
    command,
    json_records,
    out,
)
from geoservice.workflow.patch_progress import (
    PATCH_STATUS_COLUMNS,
    figure_word,
    patch_figures_help,
)
from geoservice.workflow.rates import ON_TIME_RATE, rates_help
from layers.messages import Lang, pick

villages_app = typer.Typer(help="村整改情况 / Village status.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``villages`` command group to ``app``."""
    app.add_typer(villages_app, name="villages")


_VILLAGE_HEADS = (
    ("村", "village"),
    ("问题", "problems"),
    ("未整改", "open"),
    ("逾期", "overdue"),
    ("待核验", "awaiting check"),
    ("已销号", "verified"),
    (ON_TIME_RATE.zh, ON_TIME_RATE.en),
    ("最高督办", "highest escalation"),
    ("距上次督查(天)", "days since inspection"),
    ("执法目标", "targets"),
    ("本月巡护", "patrols this month"),
)


def village_table(frame: pd.DataFrame, lang: Lang, day: date) -> Table:
    """The village status (``geoservice.workflow.villages.village_status``) as a table."""
    from geoservice.base.missing import village_word
    from geoservice.workflow.escalation import level_label

    table = Table(
        title=pick(lang, f"各村问题整改情况（{day}）", f"Rectification by village ({day})")
    )
    for i, (zh, en) in enumerate(_VILLAGE_HEADS):
        table.add_column(pick(lang, zh, en), justify="left" if i in (0, 7) else "right")
    for r in frame.itertuples():
        table.add_row(
            village_word(r.village_code, r.village_name, lang),
            str(r.problems),
            str(r.open),
            str(r.overdue),
            str(r.awaiting_verification),
            str(r.verified),
            "—" if pd.isna(r.on_time_rate) else f"{r.on_time_rate:.0%}",
            level_label(str(r.max_escalation), lang) if r.max_escalation != "none" else "",
            "—" if pd.isna(r.days_since_inspection) else str(int(r.days_since_inspection)),
            str(r.targets),
            str(r.patrols),
        )
    return table


def patch_table(frame: pd.DataFrame, lang: Lang, day: date) -> Table:
    """The change-patch figures of the village status, one row per village with patches
    (columns :data:`~geoservice.workflow.patch_progress.PATCH_STATUS_COLUMNS`)."""
    from geoservice.base.missing import village_word

    table = Table(
        title=pick(lang, f"各村变化图斑办理进度（{day}）", f"Change patches by village ({day})")
    )
    table.add_column(pick(lang, "村", "village"))
    for column in PATCH_STATUS_COLUMNS:
        table.add_column(figure_word(column, lang), justify="right")
    shown = frame[frame["patches"] > 0]
    names = [
        village_word(c, n, lang)
        for c, n in zip(shown["village_code"], shown["village_name"], strict=True)
    ]
    for name, counts in zip(names, shown[PATCH_STATUS_COLUMNS].to_numpy().tolist(), strict=True):
        table.add_row(name, *(str(n) for n in counts))
    return table


@villages_app.command(
    "status",
    help=f"Per-village rectification status (各村整改情况).\n\n{rates_help()}"
    f"\n\nChange-patch figures (变化图斑):\n\n{patch_figures_help()}",
)
def villages_status_cmd(
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    from geoservice.workflow.villages import village_status

    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        frame = village_status(cmd.workspace, day)
        unmatched = frame.attrs.get("unmatched")

        def render() -> None:
            out.print(village_table(frame, cmd.lang, day))
            if frame["patches"].sum():
                out.print(patch_table(frame, cmd.lang, day))
            for r in () if unmatched is None else unmatched.itertuples():
                cmd.say(
                    cmd.text(
                        f"提示：问题 {r.problem_id} 的村名“{r.village_name}”未找到，"
                        f"最接近：{'、'.join(r.suggestions)}",
                        f"Warning: problem {r.problem_id} names unknown village "
                        f"{r.village_name!r}; closest: {', '.join(r.suggestions)}",
                    )
                )

        cmd.emit(
            {
                "as_of": day.isoformat(),
                "villages": json_records(frame),
                "unmatched": json_records(unmatched) if unmatched is not None else [],
            },
            render,
        )
