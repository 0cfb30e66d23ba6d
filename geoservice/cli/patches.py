"""``geoservice patches list|update|history``: forest-supervision change patches (森林督查
变化图斑) from interpretation to 销号. The command line acts as the forest-chief office."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from geoservice.cli.common import JsonOpt, LangOpt, WorkspaceOpt, command, out
from layers.messages import Lang, pick

patches_app = typer.Typer(
    help="森林督查变化图斑 / Forest-supervision change patches.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``patches`` command group to ``app``."""
    app.add_typer(patches_app, name="patches")


def patch_link_line(linked: dict[str, dict[str, Any]], lang: Lang) -> str:
    """One line on the patches verified illegal that got their problem or target."""
    problems = sorted({str(v["problem_id"]) for v in linked.values() if v.get("problem_id")})
    targets = sorted({str(v["target_id"]) for v in linked.values() if v.get("target_id")})
    return pick(
        lang,
        f"变化图斑：{len(linked)} 个核实违法的图斑已关联问题（{'、'.join(problems) or '无'}）"
        f"和执法目标（{'、'.join(targets) or '无'}）。",
        f"Change patches: {len(linked)} patches verified illegal are linked to problems "
        f"({', '.join(problems) or 'none'}) and targets ({', '.join(targets) or 'none'}).",
    )


_LIST_HEADS = (
    ("图斑号", "patch"),
    ("村", "village"),
    ("类别", "category"),
    ("面积(公顷)", "area (ha)"),
    ("状态", "state"),
    ("核实结论", "legality"),
    ("本环节期限", "stage due"),
    ("逾期(天)", "days overdue"),
    ("督办", "level"),
    ("问题", "problem"),
    ("目标", "target"),
    ("版本", "version"),
)


def _list_table(rows: list[dict[str, Any]], lang: Lang, day: date) -> Table:
    table = Table(title=pick(lang, f"变化图斑（{day}）", f"Change patches ({day})"))
    for zh, en in _LIST_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in rows:
        area = r.get("area_ha")
        cells = (
            r["patch_id"],
            r.get("village_name") or "",
            r.get("category_label") or "",
            f"{float(area):.2f}" if area is not None else "",
            r["state_label"],
            r.get("legality_label") or "",
            r.get("stage_due") or "",
            r["days_overdue"] or "",
            r["level_label"] if r.get("level") != "none" else "",
            r.get("problem_id") or "",
            r.get("target_id") or "",
            r["version"],
        )
        table.add_row(*(escape(str(c)) for c in cells))
    return table


@patches_app.command("list")
def list_cmd(
    state: Annotated[
        str | None, typer.Option(help="only patches in these states (comma-separated)")
    ] = None,
    village: Annotated[str | None, typer.Option(help="only this village (code or name)")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only overdue stages")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="evaluate deadlines at this date")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List the change patches with their state and stage deadline (变化图斑清单)."""
    from geoservice.workflow.patch_access import filter_patches, patch_records, visible_patches

    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        who = cmd.office()
        frame = visible_patches(cmd.workspace, who, day)
        frame = filter_patches(cmd.workspace, frame, state=state, village=village, overdue=overdue)
        rows = patch_records(frame, who, cmd.lang)
        cmd.emit(
            {"as_of": day.isoformat(), "patches": rows},
            lambda: out.print(_list_table(rows, cmd.lang, day)),
        )


@patches_app.command("update")
def update_cmd(
    patch_id: Annotated[str, typer.Argument(help="patch id (图斑号)")],
    state: Annotated[str | None, typer.Option("--state", help="new state")] = None,
    legality: Annotated[
        str | None, typer.Option(help="with --state verified: legal, illegal or other")
    ] = None,
    verifier: Annotated[str | None, typer.Option(help="who verified it on site")] = None,
    verified_on: Annotated[
        str | None, typer.Option("--verified-on", help="day of the field check YYYY-MM-DD")
    ] = None,
    note: Annotated[str | None, typer.Option(help="note (the reason when closing 'other')")] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who makes it (default: user)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Move a patch on (下发、核实、查处、整改、验收、销号), version-checked."""
    from geoservice.workflow.patch_access import change_patch
    from geoservice.workflow.patch_states import patch_state_label

    with command(workspace, lang, as_json) as cmd:
        change = change_patch(
            cmd.workspace,
            cmd.office(by),
            patch_id,
            expected=expected_version,
            state=state,
            legality=legality,
            note=note,
            verifier=verifier,
            verified_on=cmd.date_option(verified_on, "verified-on"),
        )
        old = patch_state_label(change["from_state"], cmd.lang)
        new = patch_state_label(change["to_state"], cmd.lang)

        def render() -> None:
            cmd.say(
                cmd.text(
                    f"图斑 {patch_id}：{old} → {new}（第 {change['version']} 版）",
                    f"Patch {patch_id}: {change['from_state']} → {change['to_state']} "
                    f"(version {change['version']})",
                )
            )
            if change.get("problem_id") or change.get("target_id"):
                cmd.say(patch_link_line({patch_id: change}, cmd.lang))

        cmd.emit(change, render)


_HISTORY_HEADS = (
    ("时间", "at"),
    ("操作人", "by"),
    ("事项", "event"),
    ("原状态", "from"),
    ("新状态", "to"),
    ("核实结论", "legality"),
    ("版本", "version"),
    ("说明", "note"),
)


def _history_table(frame: pd.DataFrame, patch_id: str, lang: Lang) -> Table:
    from geoservice.workflow.patch_states import legality_label, patch_state_label

    table = Table(title=pick(lang, f"图斑 {patch_id} 核查记录", f"History of patch {patch_id}"))
    for zh, en in _HISTORY_HEADS:
        table.add_column(pick(lang, zh, en))
    for r in frame.itertuples():
        cells = (
            r.at,
            r.by,
            r.event,
            patch_state_label(r.from_state, lang) if r.from_state else "",
            patch_state_label(r.to_state, lang) if r.to_state else "",
            legality_label(r.legality, lang),
            r.version,
            r.note or "",
        )
        table.add_row(*(escape(str(c)) for c in cells))
    return table


@patches_app.command("history")
def history_cmd(
    patch_id: Annotated[str, typer.Argument(help="patch id (图斑号)")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show every change and event of a patch, oldest first (核查记录)."""
    from geoservice.base.records import json_records
    from geoservice.workflow.patch_store import patch_history

    with command(workspace, lang, as_json) as cmd:
        frame = patch_history(cmd.workspace, patch_id)
        cmd.emit(
            {"patch_id": patch_id, "history": json_records(frame)},
            lambda: out.print(_history_table(frame, patch_id, cmd.lang)),
        )
