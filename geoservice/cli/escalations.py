"""``geoservice escalations issue|list|show``: the escalation documents (提醒函, 督办函,
挂牌督办通知书) sent to villages for overdue problems and change patches (Art. 7).

``issue`` issues the documents due at ``--as-of`` (one per village and level, each numbered
by the town's pattern in ``workflow.yaml``), records them and writes each as HTML and PDF;
a second run at the same date issues nothing new. The command line acts as the
forest-chief office.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from geoservice.cli.common import AsOfOpt, JsonOpt, LangOpt, WorkspaceOpt, command, out
from layers.messages import Lang, pick

__all__ = ["register"]

escalations_app = typer.Typer(
    help="督办文书：提醒函、督办函、挂牌督办通知书 / Escalation documents.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``escalations`` command group to ``app``."""
    app.add_typer(escalations_app, name="escalations")


def _actor(cmd: Any, by: str | None) -> str:
    return str(cmd.office(by).actor)


def _village(code: Any, name: Any, lang: Lang) -> str:
    from geoservice.base.missing import village_word

    return village_word(code or None, name or None, lang)


_HEADS = (
    ("文号", "number"),
    ("文书", "document"),
    ("主送", "to"),
    ("日期", "date"),
    ("回复期限", "reply by"),
    ("事项", "items"),
)


def _table(docs: list[dict[str, Any]], title: str, lang: Lang) -> Table:
    from geoservice.workflow.escalation_docs import document_title

    table = Table(title=title)
    for zh, en in _HEADS:
        table.add_column(pick(lang, zh, en))
    for d in docs:
        items = d["items"]
        shown = "、".join(str(i["item_id"]) for i in items) if isinstance(items, list) else items
        cells = (
            d["number"],
            document_title(str(d["level"]), lang),
            _village(d["village_code"], d["village_name"], lang),
            d["as_of"],
            d["reply_by"],
            shown,
        )
        table.add_row(*(escape(str(c)) for c in cells))
    return table


@escalations_app.command("issue")
def issue_cmd(
    as_of: AsOfOpt = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="folder for the HTML and PDF files (default ./督办文书)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="only list what would be issued; write nothing")
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="who issues (default: user)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Issue the escalation documents due at --as-of and write them as HTML and PDF
    (签发督办文书); documents already issued are not issued again."""
    from geoservice.analysis.effective_rules import effective_rules
    from geoservice.reports.escalation_letters import write_letters
    from geoservice.workflow.escalation_docs import issue_documents

    with command(workspace, lang, as_json) as cmd:
        day = cmd.as_of(as_of)
        folder = out_dir or Path(cmd.text("督办文书", "escalation-documents"))
        docs = issue_documents(cmd.workspace, day, _actor(cmd, by), dry_run=dry_run)
        written: list[Path] = []
        if not dry_run:
            written = write_letters(docs, folder, cmd.lang, effective_rules(cmd.settings))

        def render() -> None:
            if not docs:
                cmd.say(
                    cmd.text(
                        f"截至 {day} 没有需要新发的督办文书（已发过同级或更高级文书的事项不再重发）。",
                        f"No new escalation document is due at {day} (items already covered "
                        "at their level or higher are not covered again).",
                    )
                )
                return
            title = cmd.text(
                f"{'将签发' if dry_run else '已签发'}的督办文书（{day}）",
                f"Escalation documents {'to issue' if dry_run else 'issued'} ({day})",
            )
            out.print(_table(docs, title, cmd.lang))
            if dry_run:
                cmd.say(
                    cmd.text("试运行：未记录、未写文件。", "Dry run: nothing recorded or written.")
                )
            else:
                cmd.say(
                    cmd.text(
                        f"已写入 {len(written)} 个文件到 {folder}",
                        f"Wrote {len(written)} files into {folder}",
                    )
                )

        result = {"as_of": day.isoformat(), "dry_run": dry_run, "documents": docs}
        cmd.emit({**result, "files": [str(p) for p in written]}, render)


@escalations_app.command("list")
def list_cmd(
    village: Annotated[str | None, typer.Option(help="only this village (code or name)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """List the issued escalation documents, newest first (督办文书清单)."""
    from geoservice.base.records import json_records
    from geoservice.workflow.escalation_docs import list_documents

    with command(workspace, lang, as_json) as cmd:
        rows = json_records(list_documents(cmd.workspace, village=village))
        title = cmd.text("督办文书", "Escalation documents")
        cmd.emit({"documents": rows}, lambda: out.print(_table(rows, title, cmd.lang)))


_ITEM_HEADS = (
    ("类型", "type"),
    ("编号", "id"),
    ("整改期限", "deadline"),
    ("逾期天数", "days overdue"),
    ("内容", "what"),
)


def _items_table(doc: dict[str, Any], lang: Lang) -> Table:
    table = Table(title=pick(lang, f"{doc['number']} 所列事项", f"Items of {doc['number']}"))
    for zh, en in _ITEM_HEADS:
        table.add_column(pick(lang, zh, en))
    kinds = {"problem": pick(lang, "督查问题", "problem"), "patch": pick(lang, "变化图斑", "patch")}
    for i in doc["items"]:
        cells = (kinds[i["kind"]], i["item_id"], i["deadline"] or "", i["days_overdue"])
        table.add_row(*(escape(str(c)) for c in cells), escape(str(i["description"] or "")))
    return table


@escalations_app.command("show")
def show_cmd(
    number: Annotated[str, typer.Argument(help="document number, e.g. 镇林长办提〔2026〕1号")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="also write the document to this .pdf or .html")
    ] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    lang: LangOpt = None,
) -> None:
    """Show one issued document and the items it covers (督办文书详情)."""
    from geoservice.analysis.effective_rules import effective_rules
    from geoservice.reports.escalation_letters import render_letter
    from geoservice.workflow.escalation_docs import document_title, read_document

    with command(workspace, lang, as_json) as cmd:
        doc = read_document(cmd.workspace, number)
        rules = effective_rules(cmd.settings)
        if out_file is not None:
            fmt = out_file.suffix or None
            done = render_letter(cmd.workspace, None, number, fmt, cmd.lang, rules)
            out_file.write_bytes(done.body)

        def render() -> None:
            village = _village(doc["village_code"], doc["village_name"], cmd.lang)
            names = [rules.department_name(c, cmd.lang) for c in doc["cc_departments"]]
            cc = cmd.text("、", ", ").join(names) or "-"
            cmd.say(
                cmd.text(
                    f"{document_title(doc['level'])} {doc['number']}：主送 {village}；"
                    f"日期 {doc['as_of']}，回复期限 {doc['reply_by']}；抄送 {cc}；"
                    f"签发 {doc['issued_by']}（{doc['issued_at']}）",
                    f"{document_title(doc['level'], 'en')} {doc['number']}: to {village}; "
                    f"dated {doc['as_of']}, reply by {doc['reply_by']}; copied to {cc}; "
                    f"issued by {doc['issued_by']} ({doc['issued_at']})",
                )
            )
            out.print(_items_table(doc, cmd.lang))
            if out_file is not None:
                cmd.say(cmd.text(f"已写入 {out_file}", f"Wrote {out_file}"))

        cmd.emit(doc, render)
