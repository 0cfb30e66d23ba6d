"""``geoservice problems list|due|update|add|history|import``: inspection problems and
their rectification (Art. 7)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

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
from geoservice.cli.render import print_import_notes
from layers.messages import Lang, pick

problems_app = typer.Typer(help="督查问题整改 / Inspection problems.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``problems`` command group to ``app``."""
    app.add_typer(problems_app, name="problems")


def _listing(
    ws: Any,
    day: date,
    village: str | None,
    status: str | None,
    overdue: bool,
    department: str | None,
) -> pd.DataFrame:
    from geoservice.base.villages import read_villages, resolve_village
    from geoservice.workflow.escalation import escalate
    from geoservice.workflow.states import check_state
    from geoservice.workflow.store import read_problems

    probs = read_problems(ws)
    probs = pd.concat([probs, escalate(probs, day)], axis=1)
    if village:
        code, _name = resolve_village(village, read_villages(ws))
        probs = probs[probs["village_code"] == code]
    if status:
        probs = probs[probs["status"] == check_state(status)]
    if overdue:
        probs = probs[probs["overdue"]]
    if department:
        from geoservice.workflow.records import departments_from_text

        wanted = set(departments_from_text(department, "other"))
        probs = probs[
            probs["cc_departments"]
            .fillna("")
            .astype(str)
            .str.split(",")
            .map(lambda d: bool(wanted & set(d)))
        ]
    return probs.reset_index(drop=True)


_PROBLEM_HEADS = (
    ("编号", "id"),
    ("村", "village"),
    ("类别", "category"),
    ("状态", "status"),
    ("整改期限", "deadline"),
    ("逾期天数", "days overdue"),
    ("督办", "escalation"),
    ("版本", "version"),
)


def _problem_table(probs: pd.DataFrame, lang: Lang, title: str) -> Table:
    from geoservice.workflow.escalation import level_label
    from geoservice.workflow.states import state_label
    from layers.codes import CATEGORIES

    table = Table(title=title)
    for zh, en in _PROBLEM_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in probs.itertuples():
        cat = CATEGORIES.get(str(r.category), (str(r.category), str(r.category)))
        table.add_row(
            str(r.problem_id),
            str(r.village_name),
            cat[1] if lang == "en" else cat[0],
            state_label(str(r.status), lang),
            "" if pd.isna(r.deadline) else r.deadline.strftime("%Y-%m-%d"),
            str(r.days_overdue) if r.days_overdue else "",
            level_label(str(r.escalation), lang) if r.escalation != "none" else "",
            str(r.version),
        )
    return table


@problems_app.command("list")
def list_cmd(
    village: Annotated[str | None, typer.Option(help="village code or name")] = None,
    status: Annotated[
        str | None, typer.Option(help="assigned|in_progress|reported|verified|rejected")
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only overdue problems")] = False,
    department: Annotated[str | None, typer.Option(help="copied to this department")] = None,
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List problems with overdue days and escalation (问题清单)."""
    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        probs = _listing(cmd.workspace, day, village, status, overdue, department)
        title = cmd.text(f"督查问题（{day}）", f"Problems as of {day}")
        cmd.emit(
            {"as_of": day.isoformat(), "problems": json_records(probs)},
            lambda: out.print(_problem_table(probs, cmd.lang, title)),
        )


@problems_app.command("due")
def due_cmd(
    within: Annotated[int, typer.Option(help="days before the deadline")] = 7,
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Open problems due within N days or overdue: what needs a reminder now (到期提醒)."""
    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        if within < 0:
            cmd.fail(
                cmd.text(
                    f"错误：--within 为 {within}，应为不小于 0 的天数。",
                    f"Error: `within` was {within} but is expected to be a number of days >= 0.",
                )
            )
        probs = _listing(cmd.workspace, day, None, None, False, None)
        probs = probs[probs["status"].isin(["assigned", "in_progress", "rejected"])]
        probs = probs[probs["overdue"] | (probs["days_to_deadline"].between(0, within))]
        title = cmd.text(
            f"需提醒的问题（{day}，{within} 天内到期或已逾期）",
            f"Problems due within {within} days or overdue ({day})",
        )
        cmd.emit(
            {"as_of": day.isoformat(), "within": within, "problems": json_records(probs)},
            lambda: out.print(_problem_table(probs, cmd.lang, title)),
        )


@problems_app.command("update")
def update_cmd(
    problem_id: Annotated[str, typer.Argument(help="problem id")],
    to: Annotated[str, typer.Option("--to", help="new state")],
    by: Annotated[str, typer.Option("--by", help="who makes the change")],
    note: Annotated[str | None, typer.Option(help="note")] = None,
    evidence: Annotated[list[Path] | None, typer.Option(help="evidence file (repeatable)")] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Change a problem's state (更新整改状态), version-checked."""
    from geoservice.workflow.states import state_label
    from geoservice.workflow.store import update_problem

    with command(workspace, lang, as_json) as cmd:
        change = update_problem(
            cmd.workspace,
            problem_id,
            to,
            by,
            note=note,
            evidence=evidence or [],
            expected_version=expected_version,
        )
        cmd.emit(
            change,
            lambda: cmd.say(
                cmd.text(
                    f"问题 {problem_id}：{state_label(change['from_state'])} → {state_label(to)}"
                    f"（第 {change['version']} 版）",
                    f"Problem {problem_id}: {change['from_state']} → {to} "
                    f"(version {change['version']})",
                )
            ),
        )


@problems_app.command("add")
def add_cmd(
    village: Annotated[str, typer.Option(help="village code or name")],
    category: Annotated[str, typer.Option(help="category code or Chinese name")],
    description: Annotated[str, typer.Option(help="what was found")],
    deadline: Annotated[str, typer.Option(help="rectification deadline YYYY-MM-DD")],
    by: Annotated[str | None, typer.Option("--by", help="who records it (default: user)")] = None,
    found_on: Annotated[
        str | None, typer.Option("--found-on", help="date found (default today)")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="campaign id or name")] = None,
    cc: Annotated[
        str | None, typer.Option(help="copied-to departments (default: routing rules)")
    ] = None,
    lon: Annotated[float | None, typer.Option(help="longitude, degrees")] = None,
    lat: Annotated[float | None, typer.Option(help="latitude, degrees")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Add a problem found by hand (手工登记问题); the id is generated."""
    from geoservice.workflow.records import add_problem

    with command(workspace, lang, as_json) as cmd:
        due = cmd.date_option(deadline, "deadline")
        found = cmd.date_option(found_on, "found-on")
        row = add_problem(
            cmd.workspace,
            village=village,
            category=category,
            description=description,
            deadline=due or date.today(),
            by=by or cmd.settings.user,
            found_on=found,
            campaign=campaign,
            cc=cc,
            lon=lon,
            lat=lat,
        )
        cmd.emit(
            row,
            lambda: cmd.say(
                cmd.text(
                    f"已登记问题 {row['problem_id']}（{row['village_name']}，期限 {due}）",
                    f"Added problem {row['problem_id']} ({row['village_name']}, deadline {due})",
                )
            ),
        )


_HISTORY_HEADS = (
    ("时间", "at"),
    ("操作人", "by"),
    ("原状态", "from"),
    ("新状态", "to"),
    ("版本", "version"),
    ("说明", "note"),
    ("佐证材料", "evidence"),
)


def _history_table(frame: pd.DataFrame, problem_id: str, lang: Lang) -> Table:
    table = Table(title=pick(lang, f"问题 {problem_id} 整改记录", f"History of {problem_id}"))
    for zh, en in _HISTORY_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in frame.itertuples():
        table.add_row(
            str(r.at),
            str(r.by),
            str(r.from_state or ""),
            str(r.to_state),
            str(r.version),
            str(r.note or ""),
            "、".join(r.evidence),
        )
    return table


@problems_app.command("history")
def history_cmd(
    problem_id: Annotated[str, typer.Argument(help="problem id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show a problem's history (整改记录)."""
    from geoservice.workflow.store import history

    with command(workspace, lang, as_json) as cmd:
        frame = history(cmd.workspace, problem_id)
        cmd.emit(
            {"problem_id": problem_id, "history": json_records(frame)},
            lambda: out.print(_history_table(frame, problem_id, cmd.lang)),
        )


@problems_app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="problem list (XLSX/CSV/shapefile)")],
    mode: Annotated[str, typer.Option(help="merge (keep workflow state) or replace")] = "merge",
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink", help="replace even when fewer than half the problems would stay"
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Import a problem list keeping workflow state (导入问题清单，保留整改状态)."""
    from geoservice.workflow.imports import import_problems

    with command(workspace, lang, as_json, use="optional") as cmd:
        result = import_problems(
            cmd.workspace, path, actor=cmd.settings.user, mode=mode, allow_shrink=allow_shrink
        )
        detail = result.to_dict(cmd.lang)

        def render() -> None:
            cmd.say(
                cmd.text(
                    f"新增 {len(result.added)} 个问题；保留已有状态 {len(result.kept_ids)} 个"
                    f"（文件状态不同）；覆盖 {len(result.overwritten)} 个；"
                    f"移除 {len(result.removed)} 个。",
                    f"Added {len(result.added)}; kept stored state of {len(result.kept_ids)} "
                    f"(file differs); overwritten {len(result.overwritten)}; removed "
                    f"{len(result.removed)}.",
                )
            )
            print_import_notes(detail, cmd.lang)

        cmd.emit(detail, render)
