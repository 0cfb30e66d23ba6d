"""The department report as one self-contained HTML file for the meeting table.

Everything is inline: CSS, and SVG charts drawn here from the numbers. The file names no
external resource of any kind (no fonts, scripts, images or links), so it opens offline
and prints on A4 (``@page`` rules, page breaks before the charts and the suggestions,
table headers repeated on each page). Text uses the system's CJK fonts.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from geoservice.base.missing import (
    NO_CATEGORY,
    NO_DEADLINE,
    UNKNOWN_VILLAGE,
    or_word,
    village_word,
    word,
)
from geoservice.reports.department_columns import GROUPS, group_columns
from geoservice.reports.departments import (
    DepartmentReport,
    department_name,
    group_title,
    header,
)
from geoservice.reports.findings import zh_date
from geoservice.workflow.escalation import level_label
from geoservice.workflow.rates import ON_TIME_RATE
from layers.codes import CATEGORIES
from layers.messages import Lang, pick

__all__ = ["department_chart_svg", "render_html", "village_chart_svg", "write_html"]

_SANS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"Hiragino Sans GB", "WenQuanYi Micro Hei", "Heiti SC", "SimHei", sans-serif'
)
_SERIF = (
    '"Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "Songti SC", "STSong", "FangSong", serif'
)
_CSS = f"""
@page {{ size: A4 portrait; margin: 16mm 14mm 18mm 14mm; }}
@page {{ @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 9pt; }} }}
* {{ box-sizing: border-box; }}
body {{ font-family: {_SANS}; font-size: 10.5pt; line-height: 1.6; color: #1a1a1a;
  margin: 0 auto; max-width: 182mm; padding: 8mm 0; }}
h1 {{ font-family: {_SERIF}; font-size: 20pt; text-align: center; margin: 0 0 2mm;
  letter-spacing: 0.05em; }}
.subtitle {{ text-align: center; color: #444; margin: 0 0 1mm; }}
.basis {{ text-align: center; color: #666; font-size: 9pt; margin: 0 0 5mm; }}
h2 {{ font-family: {_SERIF}; font-size: 14pt; border-bottom: 1.5pt solid #8b1a1a;
  padding-bottom: 1mm; margin: 7mm 0 3mm; page-break-after: avoid; break-after: avoid; }}
p.summary {{ text-indent: 2em; text-align: justify; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 2mm; margin: 3mm 0; }}
.kpi {{ flex: 1 1 26mm; border: 0.75pt solid #bbb; border-radius: 2mm; padding: 2mm;
  text-align: center; }}
.kpi b {{ display: block; font-size: 16pt; color: #8b1a1a; }}
.kpi span {{ font-size: 9pt; color: #555; }}
table {{ width: 100%; border-collapse: collapse; font-size: 9.5pt; margin: 2mm 0; }}
thead {{ display: table-header-group; }}
tr {{ page-break-inside: avoid; break-inside: avoid; }}
th, td {{ border: 0.75pt solid #999; padding: 1mm 1.5mm; }}
th {{ background: #f1e6e6; font-weight: bold; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.bad td {{ background: #fdf0f0; }}
.chart {{ margin: 2mm 0 4mm; page-break-inside: avoid; break-inside: avoid; }}
.chart svg {{ width: 100%; height: auto; font-family: {_SANS}; }}
.caption {{ font-size: 9pt; color: #555; text-align: center; }}
ol.findings li {{ margin-bottom: 1.5mm; text-align: justify; }}
ol.statements li {{ margin-bottom: 1.5mm; text-align: justify; }}
.statement {{ white-space: pre-wrap; }}
h3 {{ font-size: 11pt; margin: 4mm 0 1mm; page-break-after: avoid; break-after: avoid; }}
.empty {{ border: 0.75pt dashed #999; padding: 4mm; text-align: center; color: #444; }}
.notes {{ font-size: 8.5pt; color: #555; margin-top: 6mm; border-top: 0.5pt solid #ccc; }}
.page-break {{ page-break-before: always; break-before: page; }}
@media print {{ body {{ padding: 0; max-width: none; }} .page-break {{ margin-top: 0; }} }}
"""

_BAR_COLOURS = {
    "actions": "#2e7d4f",
    "targets": "#8b1a1a",
    "problems": "#2f5d8a",
    "overdue": "#d08a1e",
}
_SERIES = (
    ("actions", ("本部门行动", "actions")),
    ("targets", ("执法目标（牵头+配合）", "targets (led + cooperating)")),
    ("problems", ("抄送问题", "problems copied")),
    ("overdue", ("逾期未整改", "overdue")),
)


def _nice_max(value: float) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step."""
    if value <= 0:
        return 1.0, 1.0
    step = 10 ** math.floor(math.log10(value / 4 if value >= 4 else 1))
    for mult in (1, 2, 5, 10):
        if value / (step * mult) <= 5:
            step *= mult
            break
    return math.ceil(value / step) * step, step


def department_chart_svg(depts: pd.DataFrame, lang: Lang = "zh") -> str:
    """Grouped horizontal bars per department: its actions (ledger entries and target
    action records), targets, problems copied, overdue.

    One ``<rect class="bar">`` per department and series, with ``data-series`` and
    ``data-department`` attributes; the number is written at the end of each bar.
    """
    label_w, width, bar_h, gap, top = 150, 680, 9, 10, 34
    plot_w = width - label_w - 40
    ledger = [c for c in group_columns("ledger") if c.startswith("entries_")]
    values = pd.DataFrame(
        {
            "actions": depts[ledger].sum(axis=1) + depts["target_actions"],
            "targets": depts["targets_led"] + depts["targets_cooperating"],
            "problems": depts["problems_copied"],
            "overdue": depts["overdue"],
        }
    )
    top_value, step = _nice_max(float(values.to_numpy().max()) if len(values) else 0.0)
    group_h = bar_h * len(_SERIES) + gap
    height = top + group_h * len(depts) + 24
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" class="dept-chart" '
        f'aria-label="{escape(pick(lang, "各部门执法目标与问题", "Targets and problems by department"))}">'
    ]
    x = label_w
    lx = float(label_w)
    for key, names in _SERIES:
        name = pick(lang, *names)
        parts.append(
            f'<rect x="{lx:.0f}" y="6" width="10" height="10" fill="{_BAR_COLOURS[key]}"/>'
            f'<text x="{lx + 14:.0f}" y="15" font-size="11">{escape(name)}</text>'
        )
        # legend entries side by side: CJK characters about 11 px wide at 11 pt, others 6
        lx += 14 + sum(11 if ord(ch) > 0x2E7F else 6 for ch in name) + 16
    ticks = round(top_value / step)
    for k in range(ticks + 1):
        tx = x + plot_w * k / ticks
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 20}" '
            f'stroke="#ddd" stroke-width="0.8"/>'
            f'<text x="{tx:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="#555">{k * step:g}</text>'
        )
    for row, (code, name) in enumerate(
        zip(depts["department"], depts["department_name"], strict=True)
    ):
        gy = top + row * group_h
        label = name if lang != "en" else department_name(str(code), "en")
        parts.append(
            f'<text x="{label_w - 6}" y="{gy + bar_h * 1.5 + 4}" font-size="11" '
            f'text-anchor="end">{escape(str(label))}</text>'
        )
        for i, (key, _names) in enumerate(_SERIES):
            value = int(values[key].iloc[row])
            w = plot_w * value / top_value
            y = gy + i * bar_h
            parts.append(
                f'<rect class="bar" data-series="{key}" data-department="{escape(str(code))}" '
                f'x="{x}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" '
                f'fill="{_BAR_COLOURS[key]}"><title>{escape(str(label))}: {value}</title></rect>'
                f'<text x="{x + w + 3:.1f}" y="{y + bar_h - 2}" font-size="9">{value}</text>'
            )
    parts.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{height - 20}" stroke="#333"/></svg>')
    return "".join(parts)


def village_chart_svg(villages: pd.DataFrame, lang: Lang = "zh", low: float = 0.6) -> str:
    """Horizontal bars of each village's on-time rate (0–100 %), below ``low`` in red.

    Villages with nothing due in the period get no bar; their label says so.
    """
    label_w, width, bar_h, gap, top = 90, 680, 14, 6, 14
    plot_w = width - label_w - 90
    height = top + (bar_h + gap) * len(villages) + 24
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" class="village-chart" '
        f'aria-label="{escape(pick(lang, f"各村{ON_TIME_RATE.zh}", f"{ON_TIME_RATE.en} by village"))}">'
    ]
    for k in range(0, 101, 20):
        tx = label_w + plot_w * k / 100
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 20}" '
            f'stroke="#ddd" stroke-width="0.8"/>'
            f'<text x="{tx:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="#555">{k}%</text>'
        )
    lx = label_w + plot_w * low
    parts.append(
        f'<line x1="{lx:.1f}" y1="{top - 4}" x2="{lx:.1f}" y2="{height - 20}" '
        'stroke="#b22" stroke-dasharray="4 3"/>'
    )
    for row, r in enumerate(villages.itertuples()):
        y = top + row * (bar_h + gap)
        # the short word fits the label column; the bar's title names the code too
        short = or_word(r.village_name, UNKNOWN_VILLAGE, lang)
        name = village_word(r.village_code, r.village_name, lang)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 3}" font-size="11" '
            f'text-anchor="end">{escape(short)}</text>'
        )
        if pd.isna(r.on_time_rate):
            parts.append(
                f'<text x="{label_w + 4}" y="{y + bar_h - 3}" font-size="10" fill="#777">'
                f"{escape(pick(lang, '期内无到期问题', 'nothing due'))}</text>"
            )
            continue
        w = plot_w * float(r.on_time_rate)
        colour = "#b22222" if r.on_time_rate < low else "#2e7d4f"
        parts.append(
            f'<rect class="bar" data-village="{escape(or_word(r.village_code, ("", "")))}" '
            f'x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
            f"<title>{escape(name)}: {r.on_time_rate:.0%}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}" font-size="10">'
            f"{r.on_time_rate:.0%}（{r.on_time}/{r.due}）</text>"
        )
    parts.append(
        f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 20}" '
        'stroke="#333"/></svg>'
    )
    return "".join(parts)


def _cell(column: str, value: Any, lang: Lang) -> str:
    if column.endswith("_rate"):
        text = "—" if pd.isna(value) else f"{float(value):.0%}"
        return f'<td class="n">{text}</td>'
    if column in ("max_escalation", "escalation"):
        return f"<td>{escape(level_label(str(value), lang)) if value != 'none' else '—'}</td>"
    if column == "category":
        if pd.isna(value):
            return f"<td>{escape(word(NO_CATEGORY, lang))}</td>"
        zh, en = CATEGORIES.get(str(value), (str(value), str(value)))
        return f"<td>{escape(pick(lang, zh, en))}</td>"
    if column == "departments":
        names = [department_name(str(c), lang) for c in value]
        return f"<td>{escape(pick(lang, '、', ', ').join(names))}</td>"
    if column == "deadline":
        day = word(NO_DEADLINE, lang) if pd.isna(value) else pd.Timestamp(value).date().isoformat()
        return f"<td>{escape(day)}</td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="n">{value:g}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(frame: pd.DataFrame, columns: list[str], lang: Lang, css: str, bad: str) -> str:
    head = "".join(f"<th>{escape(header(c, lang))}</th>" for c in columns)
    rows = []
    for record in frame.to_dict("records"):
        if "village_name" in record:
            record["village_name"] = village_word(
                record.get("village_code"), record["village_name"], lang
            )
        cls = ' class="bad"' if record.get(bad, 0) else ""
        cells = "".join(_cell(c, record[c], lang) for c in columns)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _kpis(report: DepartmentReport, lang: Lang) -> str:
    s = report.summary
    rate = "—" if s["on_time_rate"] is None else f"{s['on_time_rate']:.0%}"
    items = (
        (s["targets"], "执法目标", "targets"),
        (s["p1"], "P1 目标", "P1 targets"),
        (s["problems_handed_over"], "交办问题", "handed over"),
        (s["closed"], "已销号", "closed"),
        (s["overdue"], "逾期未整改", "overdue"),
        (rate, ON_TIME_RATE.zh, ON_TIME_RATE.en),
    )
    boxes = "".join(
        f'<div class="kpi"><b>{escape(str(v))}</b><span>{escape(pick(lang, zh, en))}</span></div>'
        for v, zh, en in items
    )
    return f'<div class="kpis">{boxes}</div>'


def _statements(report: DepartmentReport, lang: Lang) -> str:
    """Each department's own account of the period, or that it sent none."""
    items = []
    for code in report.departments["department"]:
        rows = report.statements[report.statements["department"] == code]
        name = escape(department_name(str(code), lang))
        if rows.empty:
            missing = pick(lang, "本期未报送履职情况。", "No statement for the period.")
            items.append(f'<li data-department="{escape(str(code))}"><b>{name}</b>：{missing}</li>')
            continue
        for r in rows.itertuples():
            period = pick(
                lang,
                f"（{r.period_start}至{r.period_end}，{r.updated_by}填报）",
                f" ({r.period_start} to {r.period_end}, by {r.updated_by})",
            )
            items.append(
                f'<li data-department="{escape(str(code))}"><b>{name}</b>{escape(period)}：'
                f'<span class="statement">{escape(str(r.text))}</span></li>'
            )
    return f'<ol class="statements">{"".join(items)}</ol>'


def _department_tables(report: DepartmentReport, lang: Lang) -> list[str]:
    out = []
    names = report.departments["department"].map(lambda c: department_name(str(c), lang))
    depts = report.departments.assign(department_name=names)
    for n, group in enumerate(GROUPS, start=1):
        cols = ["department_name", *group_columns(group)]
        out += [
            f"<h3>{pick(lang, f'（{n}）', f'2.{n} ')}{escape(group_title(group, lang))}</h3>",
            _table(
                depts,
                cols,
                lang,
                f"departments {group}",
                "overdue" if group == "problems" else "",
            ),
        ]
    n = len(GROUPS) + 1
    head = pick(lang, f"（{n}）各部门履职情况自述", f"2.{n} Each department's own account")
    return [*out, f"<h3>{escape(head)}</h3>", _statements(report, lang)]


def _sections(report: DepartmentReport, lang: Lang) -> list[str]:
    village_cols = [c for c in report.villages.columns if c != "village_code"]
    overdue_cols = ["problem_id", "village_name", "category", "deadline", "days_overdue"]
    overdue_cols += ["escalation", "departments"]
    no_rows = f'<p class="empty">{escape(report.summary_text(lang))}</p>'
    out = [
        f"<h2>{pick(lang, '一、总体情况', '1. Overview')}</h2>",
        f'<p class="summary">{escape(report.summary_text(lang))}</p>',
        _kpis(report, lang),
        f"<h2>{pick(lang, '二、各部门履职情况', '2. Departments')}</h2>",
        *_department_tables(report, lang),
    ]
    if not report.active_departments.empty:
        out += [
            f'<h2 class="page-break">{pick(lang, "三、图表", "3. Charts")}</h2>',
            '<div class="chart">',
            department_chart_svg(report.departments, lang),
            f'<p class="caption">{pick(lang, "图1 各部门行动（台账与目标处置记录）、执法目标、抄送问题与逾期问题", "Figure 1. Actions (ledger entries and target action records), targets, problems copied and overdue problems by department")}</p></div>',
        ]
    if len(report.villages):
        out += [
            '<div class="chart">',
            village_chart_svg(report.villages, lang),
            f'<p class="caption">{pick(lang, f"图2 各村{ON_TIME_RATE.zh}（虚线为60%）", f"Figure 2. {ON_TIME_RATE.en} by village (dashed line: 60%)")}</p></div>',
        ]
    out += [
        f"<h2>{pick(lang, '四、各村（居）整改情况', '4. Villages')}</h2>",
        _table(report.villages, village_cols, lang, "villages", "overdue")
        if len(report.villages)
        else no_rows,
        f'<h2 class="page-break">{pick(lang, "五、存在问题与工作建议", "5. Problems and suggestions")}</h2>',
    ]
    if report.findings:
        items = "".join(f"<li>{escape(f.text(lang))}</li>" for f in report.findings)
        out.append(f'<ol class="findings">{items}</ol>')
    else:
        out.append(no_rows)
    if len(report.overdue):
        out += [
            f"<h3>{pick(lang, '附表：逾期未整改问题', 'Annex: overdue problems')}</h3>",
            _table(report.overdue, overdue_cols, lang, "overdue", ""),
        ]
    return out


def render_html(report: DepartmentReport, lang: Lang = "zh") -> str:
    """The report as one self-contained HTML document (UTF-8 text)."""
    as_of = zh_date(report.as_of) if lang != "en" else report.as_of.isoformat()
    basis = pick(
        lang,
        "依据《全面推行林长制部门协作制度（试行）》第九条：各协作部门在镇级林长制会议上"
        "汇报履职情况，总结工作成效与经验，提出问题与工作建议。",
        "Under Article 9 of the town's forest-chief collaboration rules, each cooperating "
        "department reports at town forest-chief meetings on its duties, results, problems "
        "and suggestions.",
    )
    notes = "".join(f"<li>{escape(n.text(lang))}</li>" for n in report.notes)
    footer = pick(lang, f"镇林长办 编制　数据截至 {as_of}", f"Forest-chief office, as of {as_of}")
    return "".join(
        [
            "<!DOCTYPE html>\n",
            f'<html lang="{pick(lang, "zh-CN", "en")}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(report.title(lang))}</title><style>{_CSS}</style></head><body>",
            f"<h1>{escape(report.title(lang))}</h1>",
            f'<p class="subtitle">{escape(report.subtitle(lang))}</p>',
            f'<p class="basis">{escape(basis)}</p>',
            *_sections(report, lang),
            f'<div class="notes"><p>{pick(lang, "说明：", "Notes:")}</p><ul>{notes}</ul>',
            f"<p>{escape(footer)}</p></div>",
            "</body></html>\n",
        ]
    )


def write_html(report: DepartmentReport, path: Path, lang: Lang = "zh") -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8); returns the path."""
    path.write_text(render_html(report, lang), encoding="utf-8")
    return path
