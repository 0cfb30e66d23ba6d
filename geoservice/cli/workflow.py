"""``geoservice problems|campaign|villages`` commands: inspection and rectification (Art. 7)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from geoservice.cli.common import (
    JsonOpt,
    LangOpt,
    WorkspaceOpt,
    _as_of,
    _date_option,
    _fail,
    _guard,
    _print_import_notes,
    _print_json,
    _settings,
    _t,
    out,
)
from layers.messages import Lang

problems_app = typer.Typer(help="督查问题整改 / Inspection problems.", no_args_is_help=True)
campaign_app = typer.Typer(help="督查批次 / Inspection campaigns.", no_args_is_help=True)
villages_app = typer.Typer(help="村整改情况 / Village status.", no_args_is_help=True)

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="date YYYY-MM-DD (default today)")]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    for col in clean.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            clean[col] = (
                frame[col].dt.strftime("%Y-%m-%d").astype(object).where(frame[col].notna(), None)
            )
    return clean.to_dict("records")


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
        from geoservice.workflow.records import _departments

        wanted = set(_departments(department, "other"))
        probs = probs[
            probs["cc_departments"]
            .fillna("")
            .astype(str)
            .str.split(",")
            .map(lambda d: bool(wanted & set(d)))
        ]
    return probs.reset_index(drop=True)


def _problem_table(probs: pd.DataFrame, lang: Lang, title: str) -> Table:
    from geoservice.workflow.escalation import level_label
    from geoservice.workflow.states import state_label

    table = Table(title=title)
    heads = (
        ("编号", "id"),
        ("村", "village"),
        ("类别", "category"),
        ("状态", "status"),
        ("整改期限", "deadline"),
        ("逾期天数", "days overdue"),
        ("督办", "escalation"),
        ("版本", "version"),
    )
    for zh, en in heads:
        table.add_column(_t(lang, zh, en))
    from layers.codes import CATEGORIES

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
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    day = _as_of(as_of, lg)
    ws = Workspace(settings.workspace)
    probs = _guard(lg, lambda: _listing(ws, day, village, status, overdue, department))
    if as_json:
        _print_json({"as_of": day.isoformat(), "problems": _records(probs)})
        return
    out.print(_problem_table(probs, lg, _t(lg, f"督查问题（{day}）", f"Problems as of {day}")))


@problems_app.command("due")
def due_cmd(
    within: Annotated[int, typer.Option(help="days before the deadline")] = 7,
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Open problems due within N days or overdue: what needs a reminder now (到期提醒)."""
    from geoservice.base.workspace import Workspace

    settings, lg = _settings(workspace, lang, as_json)
    day = _as_of(as_of, lg)
    if within < 0:
        _fail(
            _t(
                lg,
                f"错误：--within 为 {within}，应为不小于 0 的天数。",
                f"Error: `within` was {within} but is expected to be a number of days >= 0.",
            )
        )
    ws = Workspace(settings.workspace)
    probs = _guard(lg, lambda: _listing(ws, day, None, None, False, None))
    probs = probs[probs["status"].isin(["assigned", "in_progress", "rejected"])]
    probs = probs[probs["overdue"] | (probs["days_to_deadline"].between(0, within))]
    if as_json:
        _print_json({"as_of": day.isoformat(), "within": within, "problems": _records(probs)})
        return
    out.print(
        _problem_table(
            probs,
            lg,
            _t(
                lg,
                f"需提醒的问题（{day}，{within} 天内到期或已逾期）",
                f"Problems due within {within} days or overdue ({day})",
            ),
        )
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
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.states import state_label
    from geoservice.workflow.store import update_problem

    settings, lg = _settings(workspace, lang, as_json)
    ws = Workspace(settings.workspace)
    change = _guard(
        lg,
        lambda: update_problem(
            ws,
            problem_id,
            to,
            by,
            note=note,
            evidence=evidence or [],
            expected_version=expected_version,
        ),
    )
    if as_json:
        _print_json(change)
        return
    out.print(
        _t(
            lg,
            f"问题 {problem_id}：{state_label(change['from_state'])} → {state_label(to)}（第 {change['version']} 版）",
            f"Problem {problem_id}: {change['from_state']} → {to} (version {change['version']})",
        ),
        markup=False,
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
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.records import add_problem

    settings, lg = _settings(workspace, lang, as_json)
    due = _date_option(deadline, "deadline", lg)
    found = _date_option(found_on, "found-on", lg)
    ws = Workspace(settings.workspace)
    row = _guard(
        lg,
        lambda: add_problem(
            ws,
            village=village,
            category=category,
            description=description,
            deadline=due or date.today(),
            by=by or settings.user,
            found_on=found,
            campaign=campaign,
            cc=cc,
            lon=lon,
            lat=lat,
        ),
    )
    if as_json:
        _print_json(row)
        return
    out.print(
        _t(
            lg,
            f"已登记问题 {row['problem_id']}（{row['village_name']}，期限 {due}）",
            f"Added problem {row['problem_id']} ({row['village_name']}, deadline {due})",
        ),
        markup=False,
    )


@problems_app.command("history")
def history_cmd(
    problem_id: Annotated[str, typer.Argument(help="problem id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show a problem's history (整改记录)."""
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.store import history

    settings, lg = _settings(workspace, lang, as_json)
    ws = Workspace(settings.workspace)
    frame = _guard(lg, lambda: history(ws, problem_id))
    if as_json:
        _print_json({"problem_id": problem_id, "history": _records(frame)})
        return
    table = Table(title=_t(lg, f"问题 {problem_id} 整改记录", f"History of {problem_id}"))
    for zh, en in (
        ("时间", "at"),
        ("操作人", "by"),
        ("原状态", "from"),
        ("新状态", "to"),
        ("版本", "version"),
        ("说明", "note"),
        ("佐证材料", "evidence"),
    ):
        table.add_column(_t(lg, zh, en))
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
    out.print(table)


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
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.records import add_campaign

    settings, lg = _settings(workspace, lang, as_json)
    s, e = _date_option(start, "start", lg), _date_option(end, "end", lg)
    ws = Workspace(settings.workspace)
    row = _guard(
        lg,
        lambda: add_campaign(
            ws,
            campaign_id=campaign_id,
            name=name,
            by=by or settings.user,
            started_on=s,
            ended_on=e,
            departments=departments,
            note=note,
        ),
    )
    if as_json:
        _print_json(row)
        return
    out.print(
        _t(lg, f"已登记督查批次 {campaign_id}：{name}", f"Added campaign {campaign_id}: {name}"),
        markup=False,
    )


def village_table(frame: pd.DataFrame, lang: Lang, day: date) -> Table:
    """The village status as a rich table."""
    from geoservice.base.missing import village_word
    from geoservice.workflow.escalation import level_label

    table = Table(title=_t(lang, f"各村问题整改情况（{day}）", f"Rectification by village ({day})"))
    heads = (
        ("村", "village"),
        ("问题", "problems"),
        ("未整改", "open"),
        ("逾期", "overdue"),
        ("待核验", "awaiting check"),
        ("已销号", "verified"),
        ("按期率", "on time"),
        ("最高督办", "highest escalation"),
        ("距上次督查(天)", "days since inspection"),
        ("执法目标", "targets"),
    )
    for i, (zh, en) in enumerate(heads):
        table.add_column(_t(lang, zh, en), justify="left" if i in (0, 7) else "right")
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
        )
    return table


@villages_app.command("status")
def villages_status_cmd(
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Per-village rectification status (各村整改情况)."""
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.villages import village_status

    settings, lg = _settings(workspace, lang, as_json)
    day = _as_of(as_of, lg)
    ws = Workspace(settings.workspace)
    frame = _guard(lg, lambda: village_status(ws, day))
    unmatched = frame.attrs.get("unmatched")
    if as_json:
        _print_json(
            {
                "as_of": day.isoformat(),
                "villages": _records(frame),
                "unmatched": _records(unmatched) if unmatched is not None else [],
            }
        )
        return
    out.print(village_table(frame, lg, day))
    if unmatched is not None:
        for r in unmatched.itertuples():
            out.print(
                _t(
                    lg,
                    f"提示：问题 {r.problem_id} 的村名“{r.village_name}”未找到，最接近：{'、'.join(r.suggestions)}",
                    f"Warning: problem {r.problem_id} names unknown village {r.village_name!r}; closest: {', '.join(r.suggestions)}",
                ),
                markup=False,
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
    from geoservice.base.workspace import Workspace
    from geoservice.workflow.imports import import_problems

    settings, lg = _settings(workspace, lang, as_json, use="optional")
    ws = Workspace(settings.workspace)
    result = _guard(
        lg,
        lambda: import_problems(
            ws, path, actor=settings.user, mode=mode, allow_shrink=allow_shrink
        ),
    )
    if as_json:
        _print_json(result.to_dict(lg))
        return
    out.print(
        _t(
            lg,
            f"新增 {len(result.added)} 个问题；保留已有状态 {len(result.kept_ids)} 个（文件状态不同）；"
            f"覆盖 {len(result.overwritten)} 个；移除 {len(result.removed)} 个。",
            f"Added {len(result.added)}; kept stored state of {len(result.kept_ids)} (file "
            f"differs); overwritten {len(result.overwritten)}; removed {len(result.removed)}.",
        ),
        markup=False,
    )
    _print_import_notes(result.to_dict(lg), lg)
