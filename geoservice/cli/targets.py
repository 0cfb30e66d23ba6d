"""``geoservice targets list|show|update|history|act``: joint-enforcement targets and their
outcomes (Art. 8, 11): dispatch, case, penalty or transfer, closing, and what each
department did. The command line acts as the forest-chief office."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from geoservice.cli import dossier
from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command, out
from layers.messages import Lang, pick

targets_app = typer.Typer(help="联合执法目标 / Joint-enforcement targets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``targets`` command group to ``app``."""
    app.add_typer(targets_app, name="targets")
    dossier.register(targets_app)


_LIST_HEADS = (
    ("编号", "id"),
    ("优先级", "priority"),
    ("村", "villages"),
    ("牵头部门", "lead"),
    ("状态", "state"),
    ("立案编号", "case number"),
    ("版本", "version"),
)


def _list_table(rows: list[dict[str, Any]], lang: Lang) -> Table:
    table = Table(title=pick(lang, "联合执法目标", "Joint-enforcement targets"))
    for zh, en in _LIST_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in rows:
        table.add_row(
            str(r["target_id"]),
            str(r["priority"] or ""),
            str(r["village_names"] or ""),
            str(r["lead_department_name"] or ""),
            str(r["state_label"]),
            str(r["case_number"] or ""),
            str(r["version"]),
        )
    return table


@targets_app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option(help="only targets in this state")] = None,
    department: Annotated[
        str | None, typer.Option(help="lead or cooperating department (code or name)")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List the targets with their state (目标清单), resolved ones included."""
    from geoservice.workflow.target_actions import target_list

    with command(workspace, lang, as_json) as cmd:
        rows = target_list(
            cmd.workspace, cmd.office(), cmd.lang, state=state, department=department
        )
        cmd.emit({"targets": rows}, lambda: out.print(_list_table(rows, cmd.lang)))


def _say_detail(cmd: Any, doc: dict[str, Any]) -> None:
    cmd.say(
        cmd.text(
            f"目标 {doc['target_id']}：{doc['state_label']}（第 {doc['version']} 版）；"
            f"牵头部门 {doc['lead_department_name']}；小班 {doc['parcel_ids'] or ''}",
            f"Target {doc['target_id']}: {doc['state_label']} (version {doc['version']}); "
            f"lead {doc['lead_department']}; parcels {doc['parcel_ids'] or ''}",
        )
    )
    if doc["case_number"]:
        cmd.say(cmd.text(f"立案编号：{doc['case_number']}", f"Case number: {doc['case_number']}"))
    nxt = ", ".join(s["state"] for s in doc["next_states"]) or "-"
    cmd.say(cmd.text(f"可改为：{nxt}", f"Next states: {nxt}"))
    out.print(_actions_table(pd.DataFrame(doc["actions"]), doc["target_id"], cmd.lang))


@targets_app.command("show")
def show_cmd(
    target_id: Annotated[str, typer.Argument(help="target id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show one target: state, case number, next states and action records (目标详情)."""
    from geoservice.workflow.target_actions import target_detail

    with command(workspace, lang, as_json) as cmd:
        doc = target_detail(cmd.workspace, cmd.office(), target_id, cmd.lang)
        cmd.emit(doc, lambda: _say_detail(cmd, doc))


@targets_app.command("update")
def update_cmd(
    target_id: Annotated[str, typer.Argument(help="target id")],
    to: Annotated[str, typer.Option("--to", help="new state")],
    note: Annotated[str | None, typer.Option(help="note (the reason when dismissing)")] = None,
    case_number: Annotated[
        str | None, typer.Option("--case-number", help="case number (立案编号)")
    ] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who makes it (default: user)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Change a target's state (更新处置状态), version-checked."""
    from geoservice.workflow.target_actions import change_target
    from geoservice.workflow.target_states import target_state_label

    with command(workspace, lang, as_json) as cmd:
        who = cmd.office(by)
        change = change_target(
            cmd.workspace,
            who,
            target_id,
            cmd.lang,
            state=to,
            expected_version=expected_version,
            note=note,
            case_number=case_number,
        )
        old = target_state_label(change["from_state"], cmd.lang)
        cmd.emit(
            change,
            lambda: cmd.say(
                cmd.text(
                    f"目标 {target_id}：{old} → {change['state_label']}（第 {change['version']} 版）",
                    f"Target {target_id}: {change['from_state']} → {to} "
                    f"(version {change['version']})",
                )
            ),
        )


_HISTORY_HEADS = (
    ("目标", "target"),
    ("时间", "at"),
    ("操作人", "by"),
    ("原状态", "from"),
    ("新状态", "to"),
    ("版本", "version"),
    ("说明", "note"),
)
_ACTION_HEADS = (
    ("日期", "date"),
    ("部门", "department"),
    ("处置情况", "action"),
    ("出动人数", "people"),
    ("查扣", "seizures"),
    ("备注", "note"),
    ("照片", "photos"),
)


def _history_table(frame: pd.DataFrame, target_id: str, lang: Lang) -> Table:
    table = Table(title=pick(lang, f"目标 {target_id} 处置记录", f"History of {target_id}"))
    for zh, en in _HISTORY_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in frame.itertuples():
        cells = (r.target_id, r.at, r.by, r.from_state or "", r.to_state, r.version, r.note or "")
        table.add_row(*(escape(str(c)) for c in cells))
    return table


def _actions_table(frame: pd.DataFrame, target_id: str, lang: Lang) -> Table:
    table = Table(title=pick(lang, f"目标 {target_id} 部门处置", f"Actions on {target_id}"))
    for zh, en in _ACTION_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in frame.itertuples():
        people = "" if r.people is None or pd.isna(r.people) else str(int(r.people))
        cells = (r.acted_on, r.department, r.action, people, r.seizures or "", r.note or "")
        table.add_row(*(escape(str(c)) for c in cells), "、".join(r.photos))
    return table


@targets_app.command("history")
def history_cmd(
    target_id: Annotated[str, typer.Argument(help="target id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show every change and action record of a target and its predecessors (处置记录)."""
    from geoservice.base.records import json_records
    from geoservice.workflow.target_actions import find_target
    from geoservice.workflow.target_store import target_actions, target_history

    with command(workspace, lang, as_json) as cmd:
        find_target(cmd.workspace, cmd.office(), target_id)
        past = target_history(cmd.workspace, target_id)
        acts = target_actions(cmd.workspace, target_id)

        def render() -> None:
            out.print(_history_table(past, target_id, cmd.lang))
            out.print(_actions_table(acts, target_id, cmd.lang))

        doc = {
            "target_id": target_id,
            "history": json_records(past),
            "actions": json_records(acts),
        }
        cmd.emit(doc, render)


@targets_app.command("act")
def act_cmd(
    target_id: Annotated[str, typer.Argument(help="target id")],
    action: Annotated[str, typer.Option("--action", help="what was done")],
    department: Annotated[
        str | None, typer.Option(help="department that acted (default: the lead)")
    ] = None,
    on: Annotated[str | None, typer.Option("--on", help="date YYYY-MM-DD (default today)")] = None,
    people: Annotated[int | None, typer.Option(help="people deployed")] = None,
    seizures: Annotated[str | None, typer.Option(help="what was seized")] = None,
    note: Annotated[str | None, typer.Option(help="note")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Record what a department did on a target (添加处置记录)."""
    from geoservice.workflow.target_actions import record_action

    with command(workspace, lang, as_json) as cmd:
        record = record_action(
            cmd.workspace,
            cmd.office(),
            target_id,
            acted_on=cmd.date_option(on, "on") or date.today(),
            action=action,
            evidence_folder=cmd.settings.evidence_dir,
            department=department,
            people=people,
            seizures=seizures,
            note=note,
        )
        cmd.emit(
            record,
            lambda: cmd.say(
                cmd.text(
                    f"已记录 {record['department']} 于 {record['acted_on']} 对目标 {target_id} "
                    f"的处置：{record['action']}",
                    f"Recorded {record['department']}'s action on {target_id} "
                    f"({record['acted_on']}): {record['action']}",
                )
            ),
        )
