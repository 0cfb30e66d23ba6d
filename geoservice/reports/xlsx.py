"""The department report as an Excel workbook (openpyxl).

Sheets: 总体情况 (title, period, summary, problems and suggestions, notes), 各部门 (the
department table, every registered department, with a native bar chart of ledger
entries, target actions, targets, problems copied and overdue), 履职自述 (each
department's own account of the period, or that it sent none), 各村 (the village table
with a bar chart of on-time rates) and 逾期问题 (the overdue problems). Headings are Chinese (English with ``lang="en"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from geoservice.base.cells import text_cells
from geoservice.base.missing import NO_CATEGORY, NO_DEADLINE, village_word, word
from geoservice.reports.departments import DepartmentReport, department_name, header
from geoservice.workflow.escalation import level_label
from geoservice.workflow.rates import ON_TIME_RATE
from layers.codes import CATEGORIES
from layers.messages import Lang, pick

__all__ = ["write_xlsx"]

_HEAD_FILL = PatternFill("solid", fgColor="F1E6E6")
_BOLD = Font(bold=True)
_SHEETS = {
    "summary": ("总体情况", "Overview"),
    "departments": ("各部门", "Departments"),
    "statements": ("履职自述", "Statements"),
    "villages": ("各村", "Villages"),
    "overdue": ("逾期问题", "Overdue"),
}


def _cell(value: Any) -> Any:
    """``value`` without the control characters a worksheet cannot hold (text only); they
    can come from any free text, e.g. the town name asked for."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _value(column: str, value: Any, lang: Lang) -> Any:
    if column in ("escalation", "max_escalation"):
        return level_label(str(value), lang) if value != "none" else ""
    if column == "category":
        if pd.isna(value):
            return word(NO_CATEGORY, lang)
        zh, en = CATEGORIES.get(str(value), (str(value), str(value)))
        return pick(lang, zh, en)
    if column == "departments":
        return pick(lang, "、", ", ").join(department_name(str(c), lang) for c in value)
    if column == "deadline":
        return word(NO_DEADLINE, lang) if pd.isna(value) else pd.Timestamp(value).date()
    if column == "department_name" and lang == "en":
        return value
    if isinstance(value, float) and pd.isna(value):
        return None
    return value


def _table(ws: Worksheet, frame: pd.DataFrame, columns: list[str], lang: Lang) -> None:
    ws.append([header(c, lang) for c in columns])
    for cell in ws[1]:
        cell.font, cell.fill = _BOLD, _HEAD_FILL
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for record in frame.to_dict("records"):
        if lang == "en" and "department" in record:
            record["department_name"] = department_name(str(record["department"]), "en")
        if "village_name" in record:
            record["village_name"] = village_word(
                record.get("village_code"), record["village_name"], lang
            )
        ws.append([_cell(_value(c, record[c], lang)) for c in columns])
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = 14 if column != "departments" else 36
        if column.endswith("_rate"):
            for cell in ws[letter][1:]:
                cell.number_format = "0%"
        if column == "deadline":
            for cell in ws[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"


def _summary_sheet(ws: Worksheet, report: DepartmentReport, lang: Lang) -> None:
    ws.column_dimensions["A"].width = 110
    findings = [f"{n}. {f.text(lang)}" for n, f in enumerate(report.findings, start=1)]
    blocks: list[tuple[str, list[str]]] = [
        (pick(lang, "一、总体情况", "1. Overview"), [report.summary_text(lang)]),
        (
            pick(lang, "二、存在问题与工作建议", "2. Problems and suggestions"),
            findings or [report.summary_text(lang)],
        ),
        (pick(lang, "说明", "Notes"), [n.text(lang) for n in report.notes]),
    ]
    ws.append([_cell(report.title(lang))])
    ws["A1"].font = Font(bold=True, size=16)
    ws.append([_cell(report.subtitle(lang))])
    for heading, lines in blocks:
        ws.append([])
        ws.append([heading])
        ws.cell(ws.max_row, 1).font = _BOLD
        for line in lines:
            ws.append([_cell(line)])
            ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")


def _statement_sheet(ws: Worksheet, report: DepartmentReport, lang: Lang) -> None:
    """One row per statement, and one per department that sent none."""
    columns = ["department_name", "period_start", "period_end", "text", "updated_by"]
    columns.append("updated_at")
    rows = report.departments[["department"]].merge(
        report.statements, on="department", how="left", sort=False
    )
    rows["department_name"] = rows["department"].map(lambda c: department_name(str(c), lang))
    none = pick(lang, "本期未报送履职情况", "no statement for the period")
    rows["text"] = rows["text"].astype(object).where(rows["text"].notna(), none)
    _table(ws, rows.astype(object).where(rows.notna(), ""), columns, lang)
    ws.column_dimensions["D"].width = 80
    for cell in ws["D"][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _bar_chart(
    ws: Worksheet, title: str, y_title: str, cols: list[int], rows: int, anchor: str
) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.y_axis.title = y_title
    chart.height = max(7.5, 0.9 * rows + 3)
    chart.width = 18
    for col in cols:
        chart.add_data(
            Reference(ws, min_col=col, min_row=1, max_row=rows + 1), titles_from_data=True
        )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=rows + 1))
    ws.add_chart(chart, anchor)
    return chart


def write_xlsx(report: DepartmentReport, path: Path, lang: Lang = "zh") -> Path:
    """Write the workbook to ``path``; returns the path.

    The department and village sheets carry openpyxl bar charts (one bar per row and
    series) when they have rows.
    """
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = pick(lang, *_SHEETS["summary"])
    _summary_sheet(summary, report, lang)

    depts = wb.create_sheet(pick(lang, *_SHEETS["departments"]))
    dept_cols = [c for c in report.departments.columns if c != "department"]
    _table(depts, report.departments, dept_cols, lang)
    n = len(report.departments)
    if n:
        idx = {c: i for i, c in enumerate(dept_cols, start=1)}
        _bar_chart(
            depts,
            pick(lang, "各部门执法目标与问题", "Targets and problems by department"),
            pick(lang, "数量", "count"),
            [
                idx["target_actions"],
                idx["targets_led"],
                idx["targets_cooperating"],
                idx["problems_copied"],
                idx["overdue"],
            ],
            n,
            f"A{n + 4}",
        )

    _statement_sheet(wb.create_sheet(pick(lang, *_SHEETS["statements"])), report, lang)

    villages = wb.create_sheet(pick(lang, *_SHEETS["villages"]))
    village_cols = [c for c in report.villages.columns if c != "village_code"]
    _table(villages, report.villages, village_cols, lang)
    m = len(report.villages)
    if m:
        chart = _bar_chart(
            villages,
            pick(lang, f"各村{ON_TIME_RATE.zh}", f"{ON_TIME_RATE.en} by village"),
            ON_TIME_RATE.word(lang),
            [village_cols.index("on_time_rate") + 1],
            m,
            f"A{m + 4}",
        )
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        chart.y_axis.numFmt = "0%"
        chart.legend = None

    overdue = wb.create_sheet(pick(lang, *_SHEETS["overdue"]))
    cols = ["problem_id", "village_name", "category", "deadline", "days_overdue", "escalation"]
    _table(overdue, report.overdue, [*cols, "departments"], lang)
    for sheet in wb.worksheets:  # town, village and department names are free text
        for row in sheet.iter_rows():
            text_cells(row)
    wb.save(path)
    return path
