"""``geoservice departments``: each department's ledger and its own account (Art. 9).

``list``
    The 14 departments with what their ledger holds.
``record CODE --kind KIND [--problem ID | --patch ID | --target ID]``
    Record an action of a department (联合核查, 巡查检查, 执法行动, 宣传, 其他) with people
    deployed, a note and photos.
``entries CODE``
    The department's ledger: its entries and its action records on targets, newest first.
``statement CODE PERIOD [--text TEXT --version N]``
    Show, or write, the department's own account (履职情况) of a period (``2026-Q4``,
    ``2026-11``, ``2026`` or ``2026-09-01_2026-11-30``).

The command line acts as the forest-chief office, which records for any department.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from geoservice.base.errors import OptionError, message
from geoservice.cli.common import Command, JsonOpt, LangOpt, WorkspaceOpt, command, out
from layers.messages import Lang, pick

if TYPE_CHECKING:
    pass

departments_app = typer.Typer(
    help="部门履职台账 / Department ledgers (Art. 9).", no_args_is_help=True
)
CodeArg = Annotated[str, typer.Argument(help="department code or name, e.g. police or 镇郊派出所")]


def register(app: typer.Typer) -> None:
    """Add the ``departments`` command group to ``app``."""
    app.add_typer(departments_app, name="departments")


def _object(problem: str | None, patch: str | None, target: str | None) -> tuple[str, str | None]:
    given = [(k, v) for k, v in (("problem", problem), ("patch", patch), ("target", target)) if v]
    if len(given) > 1:
        raise OptionError(
            message(
                "departments.two_objects",
                "一条台账只对应一个对象；--problem、--patch、--target 请只给一个。",
                "One entry concerns one object; give only one of --problem, --patch, --target.",
            )
        )
    return given[0] if given else ("none", None)


def _photos(cmd: Command, code: str, paths: list[Path]) -> list[str]:
    from geoservice.workflow.ledger_access import attach_department_photos

    if not paths:
        return []
    files = []
    for path in paths:
        if not path.is_file():
            raise OptionError(
                message(
                    "departments.no_photo_file",
                    f"--photo 为 {path}，该文件不存在；请给出照片文件的路径。",
                    f"`photo` was {path}, which is not a file; give the path of a photo.",
                )
            )
        files.append((path.name, path.read_bytes()))
    return attach_department_photos(
        cmd.office(),
        code,
        files,
        cmd.settings.evidence_path(),
        max_bytes=cmd.settings.max_photo_bytes,
    )


@departments_app.command("list")
def list_cmd(
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List the departments with their ledger counts (部门清单)."""
    from geoservice.workflow.ledger_access import department_list

    with command(workspace, lang, as_json) as cmd:
        rows = department_list(cmd.workspace, cmd.office(), cmd.lang)

        def render() -> None:
            heads = [("代码", "code"), ("部门", "department"), ("台账", "entries")]
            heads += [("目标处置", "target actions"), ("履职自述", "statements")]
            table = Table(title=pick(cmd.lang, "部门履职台账", "Department ledgers"))
            for zh, en in heads:
                table.add_column(pick(cmd.lang, zh, en))
            for r in rows:
                cells = (r["code"], r["name"], r["entries"], r["target_actions"], r["statements"])
                table.add_row(*(escape(str(c)) for c in cells))
            out.print(table)

        cmd.emit({"departments": rows}, render)


@departments_app.command("record")
def record_cmd(
    department: CodeArg,
    kind: Annotated[
        str,
        typer.Option(
            help="co_verification (联合核查), inspection (巡查检查), enforcement (执法行动), "
            "publicity (宣传) or other (其他)"
        ),
    ],
    problem: Annotated[str | None, typer.Option(help="problem id (copied to it)")] = None,
    patch: Annotated[str | None, typer.Option(help="change patch id (图斑号)")] = None,
    target: Annotated[
        str | None, typer.Option(help="target id (it leads or cooperates on)")
    ] = None,
    on: Annotated[str | None, typer.Option("--on", help="date YYYY-MM-DD (default today)")] = None,
    people: Annotated[int | None, typer.Option(help="people deployed")] = None,
    note: Annotated[str | None, typer.Option(help="what was done and found")] = None,
    photo: Annotated[
        list[Path] | None, typer.Option("--photo", help="photo file (repeat for more)")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Record an action in a department's ledger (记录部门履职台账)."""
    from geoservice.workflow.ledger import ENTRY_KINDS
    from geoservice.workflow.ledger_access import acting_department, check_object, record_entry

    with command(workspace, lang, as_json) as cmd:
        object_kind, object_id = _object(problem, patch, target)
        office = cmd.office()
        code = acting_department(office, department)
        check_object(cmd.workspace, office, code, object_kind, object_id)
        names = _photos(cmd, code, list(photo or []))
        record = record_entry(
            cmd.workspace,
            office,
            code,
            kind=kind,
            acted_on=cmd.date_option(on, "on") or date.today(),
            object_kind=object_kind,
            object_id=object_id,
            people=people,
            note=note,
            photos=names,
            evidence_folder=cmd.settings.evidence_path(),
        )
        cmd.emit(
            record,
            lambda: cmd.say(
                cmd.text(
                    f"已记录 {record['department']} 于 {record['acted_on']} 的台账 "
                    f"E{record['entry_id']}（{ENTRY_KINDS[record['kind']][0]}）",
                    f"Recorded ledger entry E{record['entry_id']} of {record['department']} "
                    f"({record['kind']}, {record['acted_on']})",
                )
            ),
        )


def _entries_table(rows: pd.DataFrame, code: str, lang: Lang) -> Table:
    from geoservice.workflow.ledger import ENTRY_KINDS

    kinds = {**ENTRY_KINDS, "target_action": ("目标处置", "target action")}
    table = Table(title=pick(lang, f"{code} 履职台账", f"Ledger of {code}"))
    heads = [("编号", "id"), ("日期", "date"), ("类别", "kind"), ("对象", "object")]
    heads += [("人次", "people"), ("内容", "what"), ("照片", "photos")]
    for zh, en in heads:
        table.add_column(pick(lang, zh, en))
    for r in rows.itertuples():
        obj = "" if r.object_kind == "none" else f"{r.object_kind} {r.object_id}"
        people = "" if pd.isna(r.people) else str(int(r.people))
        what = "；".join(str(x) for x in (r.action, r.note) if isinstance(x, str) and x)
        kind = pick(lang, *kinds.get(str(r.kind), (str(r.kind), str(r.kind))))
        cells = (r.entry_id, r.acted_on, kind, obj, people, what, "、".join(r.photos))
        table.add_row(*(escape(str(c)) for c in cells))
    return table


@departments_app.command("entries")
def entries_cmd(
    department: CodeArg,
    start: Annotated[str | None, typer.Option("--from", help="first day YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day YYYY-MM-DD")] = None,
    kind: Annotated[str | None, typer.Option(help="one kind, or target_action")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """A department's ledger with its target action records, newest first (台账)."""
    from geoservice.workflow.ledger_access import acting_department, ledger_records, ledger_rows

    with command(workspace, lang, as_json) as cmd:
        code = acting_department(cmd.office(), department)
        first, last = cmd.date_option(start, "from"), cmd.date_option(end, "to")
        rows = ledger_rows(cmd.workspace, code, first, last, kind)
        cmd.emit(
            {"department": code, "entries": ledger_records(rows)},
            lambda: out.print(_entries_table(rows, code, cmd.lang)),
        )


@departments_app.command("statement")
def statement_cmd(
    department: CodeArg,
    period: Annotated[str, typer.Argument(help="2026-Q4, 2026-11, 2026 or 2026-09-01_2026-11-30")],
    text: Annotated[
        str | None, typer.Option(help="the department's own account (write it)")
    ] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", help="read the account from a UTF-8 file")
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(help="the version the change is based on (needed to change one)"),
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show or write a department's own account of a period (履职情况自述)."""
    from geoservice.workflow.ledger_access import statement, write_statement

    with command(workspace, lang, as_json) as cmd:
        body = text_file.read_text(encoding="utf-8") if text_file is not None else text
        if body is None:
            doc: dict[str, Any] = statement(cmd.workspace, cmd.office(), department, period)
        else:
            doc = write_statement(
                cmd.workspace,
                cmd.office(),
                department,
                period,
                body,
                expected_version=version,
            )

        def render() -> None:
            if doc.get("text") is None:
                cmd.say(
                    cmd.text(
                        f"{doc['department']} 在 {doc['period']} 尚未填写履职情况。",
                        f"{doc['department']} has no statement for {doc['period']}.",
                    )
                )
                return
            cmd.say(
                cmd.text(
                    f"{doc['department']} {doc['period']} 履职情况（第 {doc['version']} 版，"
                    f"{doc['updated_by']} {doc['updated_at']}）：",
                    f"{doc['department']} {doc['period']} (version {doc['version']}, "
                    f"{doc['updated_by']} {doc['updated_at']}):",
                )
            )
            out.print(escape(str(doc["text"])))

        cmd.emit(doc, render)
