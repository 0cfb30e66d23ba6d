"""``geoservice patrols list``: patrol tracks (巡护轨迹) recorded on the phones."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command, json_records, out
from layers.messages import Lang, pick

patrols_app = typer.Typer(help="巡护轨迹 / Patrol tracks.", no_args_is_help=True)

MonthOpt = Annotated[str | None, typer.Option("--month", help="YYYY-MM, e.g. 2026-12")]
VillageOpt = Annotated[str | None, typer.Option("--village", help="village code")]
ByMonthOpt = Annotated[
    bool, typer.Option("--by-month", help="patrols per village and month instead of each patrol")
]


def register(app: typer.Typer) -> None:
    """Add the ``patrols`` command group to ``app``."""
    app.add_typer(patrols_app, name="patrols")


_HEADS = (
    ("编号", "patrol"),
    ("日期", "date"),
    ("村", "village"),
    ("巡护人", "by"),
    ("长度(km)", "length (km)"),
    ("时长(分钟)", "minutes"),
    ("经过的问题/目标", "problems/targets passed"),
)


def patrol_table(rows: list[dict], lang: Lang) -> Table:
    """Each patrol: id, date, village, who, length, duration and what it passed."""
    table = Table(title=pick(lang, "巡护轨迹", "Patrol tracks"))
    for i, (zh, en) in enumerate(_HEADS):
        table.add_column(pick(lang, zh, en), justify="right" if i in (4, 5) else "left")
    for r in rows:
        table.add_row(
            r["patrol_id"],
            r["patrol_on"],
            r["village_name"] or "—",
            r["by"],
            f"{r['length_m'] / 1000:.2f}",
            f"{r['duration_s'] / 60:.0f}",
            "、".join(r["visited_problems"] + r["visited_targets"]) or "—",
        )
    return table


@patrols_app.command("list", help="Patrol tracks, oldest first, or counted per village and month.")
def patrols_list_cmd(
    month: MonthOpt = None,
    village: VillageOpt = None,
    by_month: ByMonthOpt = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    from geoservice.workflow.patrols import list_patrols, monthly_patrols, parse_month

    with command(workspace, lang, as_json) as cmd:
        if by_month:
            frame = monthly_patrols(cmd.workspace)
            if month:
                frame = frame[frame["month"] == parse_month(month)]
            if village:
                frame = frame[frame["village_code"] == village]

            def render_months() -> None:
                table = Table(title=pick(cmd.lang, "各村每月巡护", "Patrols per village and month"))
                for zh, en in (("村", "village"), ("月份", "month"), ("次数", "patrols")):
                    table.add_column(pick(cmd.lang, zh, en))
                for zh, en in (("长度(km)", "length (km)"), ("时长(小时)", "hours")):
                    table.add_column(pick(cmd.lang, zh, en), justify="right")
                for r in frame.itertuples():
                    name = r.village_name if isinstance(r.village_name, str) else "—"
                    table.add_row(
                        name, r.month, str(r.patrols), f"{r.length_km:.2f}", f"{r.hours:.2f}"
                    )
                out.print(table)

            cmd.emit({"months": json_records(frame)}, render_months)
            return
        office = cmd.office()
        rows = list_patrols(cmd.workspace, office, village=village, month=month)
        for row in rows:
            row.pop("track", None)
        cmd.emit({"patrols": rows}, lambda: out.print(patrol_table(rows, cmd.lang)))
