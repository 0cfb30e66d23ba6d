"""Text output shared by several commands: import reports, the layer catalog and the
village attribution table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from geoservice.cli.common import out
from layers.messages import Lang, pick

KIND_LABELS = {
    "villages": ("村界", "villages"),
    "parcels": ("森林湿地小班", "parcels"),
    "complaints": ("举报投诉", "complaints"),
    "patches": ("变化图斑", "change patches"),
    "problems": ("督查问题", "inspection problems"),
}


def kind_label(layer: str, lang: Lang) -> str:
    """The name of a survey layer in ``lang``; other layers by their table name."""
    return KIND_LABELS[layer][0 if lang == "zh" else 1] if layer in KIND_LABELS else layer


def report_lines(report: Any, lang: Lang) -> list[str]:
    """The lines of an import report: file, encoding, CRS, row counts, rejects, warnings."""
    d = report.to_dict(lang)
    lines = [
        pick(lang, f"文件：{d['source']}（{d['format']}）", f"File: {d['source']} ({d['format']})"),
        pick(
            lang,
            f"编码：{d['encoding']} — {d['encoding_reason']}",
            f"Encoding: {d['encoding']} — {d['encoding_reason']}",
        ),
        pick(
            lang, f"坐标系：{d['crs']} — {d['crs_reason']}", f"CRS: {d['crs']} — {d['crs_reason']}"
        ),
        pick(
            lang,
            f"读取 {d['rows_read']} 行，导入 {d['rows_imported']} 行，修复 {d['rows_repaired']} 行，"
            f"拒绝 {d['rows_rejected']} 行",
            f"Read {d['rows_read']}, imported {d['rows_imported']}, repaired "
            f"{d['rows_repaired']}, rejected {d['rows_rejected']}",
        ),
    ]
    if d["parts_merged"]:
        lines.append(
            pick(
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
        lines.append(pick(lang, "村归属：", "Villages: ") + d["villages"]["summary"])
    if d["unmapped_fields"]:
        unused = ", ".join(d["unmapped_fields"])
        lines.append(
            pick(
                lang,
                f"未使用的字段（原样保留）：{unused}",
                f"Columns not used (kept as they are): {unused}",
            )
        )
    lines.extend(pick(lang, "提示：", "Warning: ") + w for w in d["warnings"])
    return lines


def print_import_notes(detail: dict[str, Any], lang: Lang) -> None:
    """The village attribution line and the warnings of a problems import."""
    if detail.get("villages"):
        out.print(
            pick(lang, "村归属：", "Villages: ") + detail["villages"]["summary"], markup=False
        )
    for warning in detail.get("warnings", []):
        out.print(pick(lang, "提示：", "Warning: ") + warning, markup=False)


def coverage_table(coverage: dict[str, dict[str, int]], lang: Lang) -> Table:
    """Rows per layer by the way they got their village (code, name, location, none)."""
    from layers.attribution import VILLAGE_BY, VILLAGE_BY_LABELS

    table = Table(title=pick(lang, "村归属情况", "Village attribution"))
    table.add_column(pick(lang, "图层", "layer"))
    for by in VILLAGE_BY:
        zh, en = VILLAGE_BY_LABELS[by]
        table.add_column(pick(lang, zh, en), justify="right")
    table.add_column(pick(lang, "有村比例", "with a village"), justify="right")
    for layer, counts in coverage.items():
        total = sum(counts.values())
        share = f"{100 * (total - counts['none']) / total:.1f}%" if total else "-"
        table.add_row(kind_label(layer, lang), *(str(counts[by]) for by in VILLAGE_BY), share)
    return table


_CATALOG_HEADS = (
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


def catalog_table(entries: list[Any], lang: Lang) -> Table:
    """The sharing register (one row per imported file) as a table."""
    from layers.codes import DEPARTMENTS

    table = Table(title=pick(lang, "数据共享目录", "Layer catalog"))
    for zh, en in _CATALOG_HEADS:
        table.add_column(
            pick(lang, zh, en), justify="right" if en in ("rows", "rejected") else "left"
        )
    for e in entries:
        dept = DEPARTMENTS.get(e.owner_department, (e.owner_department, e.owner_department))
        table.add_row(
            kind_label(e.layer, lang),
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
