"""What every part of the ``geoservice`` command line shares: the app, settings, output,
one-line errors, common options.

Only the CLI modules (``geoservice.cli.app`` and ``geoservice.cli_*``) import typer and rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from geoservice.base.settings import Settings
from layers.errors import MessageError
from layers.messages import Lang

app = typer.Typer(
    name="geoservice",
    help="林长制联合执法规划工具 / Forest-chief enforcement planning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")

KIND_LABELS = {
    "villages": ("村界", "villages"),
    "parcels": ("森林湿地小班", "parcels"),
    "complaints": ("举报投诉", "complaints"),
    "patches": ("变化图斑", "change patches"),
    "problems": ("督查问题", "inspection problems"),
}
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh (default) or en")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="workspace .gpkg (default: GEOSERVICE_WORKSPACE)"),
]


def _t(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


# Set by commands run with --json: errors are then also printed as one JSON object.
_JSON_ERRORS: dict[str, bool] = {"on": False}


def _fail(text: str, code: str = "usage") -> None:
    err.print(text, markup=False)
    if _JSON_ERRORS["on"]:
        sys.stdout.write(
            json.dumps({"error": {"code": code, "message": text}}, ensure_ascii=False) + "\n"
        )
    raise typer.Exit(2)


def _settings(
    workspace: Path | None,
    lang: str | None,
    as_json: bool = False,
    *,
    use: Literal["existing", "optional", "none"] = "existing",
) -> tuple[Settings, Lang]:
    """The settings with the command's options, and the language.

    ``use`` says what the command needs of the workspace: ``existing`` a GeoPackage that
    exists; ``optional`` a GeoPackage or a path that does not exist yet (an import creates
    it); ``none`` nothing (the command does not open it). Anything but a GeoPackage at the
    path is one line on stderr and exit status 2.
    """
    _JSON_ERRORS["on"] = as_json
    overrides: dict[str, Any] = {}
    if workspace is not None:
        overrides["workspace"] = workspace
    if lang is not None:
        overrides["lang"] = lang
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(f"错误 / error: {problems}")
        raise AssertionError from exc  # unreachable: _fail exits
    if use != "none":
        _guard(settings.lang, lambda: _check_workspace(settings.workspace, use == "existing"))
    return settings, settings.lang


def _check_workspace(path: Path, must_exist: bool) -> None:
    from geoservice.base.workspace import Workspace
    from geoservice.base.workspace_file import check_workspace_file

    if must_exist:
        Workspace(path).require()
    else:
        check_workspace_file(path)


def _guard(lang: Lang, action: Callable[[], T]) -> T:
    """Run ``action``; a user error becomes one line on stderr and exit status 2."""
    try:
        return action()
    except MessageError as exc:
        _fail(_t(lang, "错误：", "Error: ") + exc.text(lang), exc.code)
        raise AssertionError from exc  # unreachable
    except KeyboardInterrupt:
        _fail(_t(lang, "已中断，工作空间未改变。", "Interrupted; the workspace is unchanged."))
        raise


@contextmanager
def _spinner(text: str, enabled: bool) -> Iterator[None]:
    if not enabled or not err.is_terminal:
        yield
        return
    with err.status(text):
        yield


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _report_lines(report: Any, lang: Lang) -> list[str]:
    d = report.to_dict(lang)
    lines = [
        _t(lang, f"文件：{d['source']}（{d['format']}）", f"File: {d['source']} ({d['format']})"),
        _t(
            lang,
            f"编码：{d['encoding']} — {d['encoding_reason']}",
            f"Encoding: {d['encoding']} — {d['encoding_reason']}",
        ),
        _t(lang, f"坐标系：{d['crs']} — {d['crs_reason']}", f"CRS: {d['crs']} — {d['crs_reason']}"),
        _t(
            lang,
            f"读取 {d['rows_read']} 行，导入 {d['rows_imported']} 行，修复 {d['rows_repaired']} 行，"
            f"拒绝 {d['rows_rejected']} 行",
            f"Read {d['rows_read']}, imported {d['rows_imported']}, repaired "
            f"{d['rows_repaired']}, rejected {d['rows_rejected']}",
        ),
    ]
    if d["parts_merged"]:
        lines.append(
            _t(
                lang,
                f"合并 {d['rows_merged']} 行：{d['parts_merged']} 行是同一要素的多个部分，"
                f"合并为 {d['features_merged']} 个要素",
                f"Merged {d['rows_merged']}: {d['parts_merged']} rows were parts of "
                f"{d['features_merged']} features and became one row each",
            )
        )
    for code, item in d["rejected_by_reason"].items():
        lines.append(f"  - {item['reason']} ({code}): {item['count']}")
    if d.get("villages"):
        lines.append(_t(lang, "村归属：", "Villages: ") + d["villages"]["summary"])
    if d["unmapped_fields"]:
        unused = ", ".join(d["unmapped_fields"])
        lines.append(
            _t(
                lang,
                f"未使用的字段（原样保留）：{unused}",
                f"Columns not used (kept as they are): {unused}",
            )
        )
    lines.extend(_t(lang, "提示：", "Warning: ") + w for w in d["warnings"])
    return lines


def _print_import_notes(detail: dict[str, Any], lang: Lang) -> None:
    """The village attribution line and the warnings of a problems import."""
    if detail.get("villages"):
        out.print(_t(lang, "村归属：", "Villages: ") + detail["villages"]["summary"], markup=False)
    for warning in detail.get("warnings", []):
        out.print(_t(lang, "提示：", "Warning: ") + warning, markup=False)


def _coverage_table(coverage: dict[str, dict[str, int]], lang: Lang) -> Table:
    """Rows per layer by the way they got their village (code, name, location, none)."""
    from layers.attribution import VILLAGE_BY, VILLAGE_BY_LABELS

    table = Table(title=_t(lang, "村归属情况", "Village attribution"))
    table.add_column(_t(lang, "图层", "layer"))
    for by in VILLAGE_BY:
        zh, en = VILLAGE_BY_LABELS[by]
        table.add_column(_t(lang, zh, en), justify="right")
    table.add_column(_t(lang, "有村比例", "with a village"), justify="right")
    for layer, counts in coverage.items():
        total = sum(counts.values())
        share = f"{100 * (total - counts['none']) / total:.1f}%" if total else "-"
        label = KIND_LABELS[layer][0 if lang == "zh" else 1] if layer in KIND_LABELS else layer
        table.add_row(label, *(str(counts[by]) for by in VILLAGE_BY), share)
    return table


def _catalog_table(entries: list[Any], lang: Lang) -> Table:
    from layers.codes import DEPARTMENTS

    heads = (
        ("图层", "layer"),
        ("部分", "part"),
        ("主管部门", "owner"),
        ("密级", "classification"),
        ("来源文件", "source file"),
        ("编码", "encoding"),
        ("坐标系", "CRS"),
        ("要素数", "rows"),
        ("拒绝", "rejected"),
        ("导入人", "imported by"),
        ("导入时间", "imported at"),
    )
    table = Table(title=_t(lang, "数据共享目录", "Layer catalog"))
    for zh, en in heads:
        table.add_column(
            _t(lang, zh, en), justify="right" if en in ("rows", "rejected") else "left"
        )
    for e in entries:
        dept = DEPARTMENTS.get(e.owner_department, (e.owner_department, e.owner_department))
        table.add_row(
            KIND_LABELS[e.layer][0 if lang == "zh" else 1] if e.layer in KIND_LABELS else e.layer,
            e.part,
            dept[0] if lang == "zh" else dept[1],
            e.classification,
            e.source_file,
            e.encoding or "",
            (e.crs or "").split(" ")[0],
            str(e.rows),
            str(e.rows_rejected),
            e.imported_by,
            e.imported_at,
        )
    return table


def _date_option(value: str | None, option: str, lang: Lang) -> date | None:
    """A ``YYYY-MM-DD`` option value (None stays None); a one-line error otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(
            _t(
                lang,
                f"错误：--{option} 为“{value}”，应为 YYYY-MM-DD 格式的日期，如 2026-11-28。",
                f"Error: `{option}` was {value!r} but is expected to be a date YYYY-MM-DD, "
                "e.g. 2026-11-28.",
            )
        )
        raise AssertionError from None  # unreachable


def _as_of(value: str | None, lang: Lang) -> date:
    """The ``--as-of`` date, today when not given."""
    return _date_option(value, "as-of", lang) or date.today()


RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="rules YAML overriding the defaults")
]


class DemoFile(NamedTuple):
    """One file of the sample town, in the order the demo imports it, and how."""

    kind: str
    name: str
    parcel_kind: str | None = None
    crs: str | None = None
    mode: str = "replace"

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``geoservice.files.importing.import_file`` for this file."""
        return {"parcel_kind": self.parcel_kind, "crs": self.crs, "mode": self.mode}


DEMO_FILES: tuple[DemoFile, ...] = (
    DemoFile("villages", "villages.shp"),
    DemoFile("parcels", "xiaoban.shp", "forest"),
    DemoFile("parcels", "wetlands.shp", "wetland"),
    DemoFile("complaints", "complaints.csv"),
    # complaints sent through the WeChat mini-program: web-map (GCJ-02) coordinates
    DemoFile("complaints", "complaints_wechat.csv", crs="GCJ-02", mode="append"),
    DemoFile("patches", "patches.shp"),
    DemoFile("problems", "problems.xlsx"),
)
