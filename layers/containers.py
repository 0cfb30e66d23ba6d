"""Choosing one layer of a GeoPackage or KML, or one sheet of a workbook.

A container file may hold several layers or sheets; the one to read is named with
``--layer`` or, when there is only one (for a workbook: one with data rows), taken as is.
Every layer and sheet name is checked for a classification mark before anything is read.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pyogrio
from openpyxl.utils.exceptions import InvalidFileException

from layers.classified import check_not_classified
from layers.errors import LayerChoiceError, SourceError
from layers.messages import Message

LAYER_WORDS = ("图层", "layer", "layers")
"""How a layer is named in messages: Chinese, English singular, English plural."""
SHEET_WORDS = ("有数据的工作表", "sheet with data rows", "sheets")
"""How a workbook sheet with data is named in messages."""


def ogr_layers(path: Path, display: str, kind: str) -> list[str]:
    """Layer names of a GeoPackage or KML, each checked for a classification mark."""
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise unreadable_error(display, kind, exc) from exc
    for name in names:
        check_not_classified(f"{display}!{name}")
    return names


def filled_sheets(path: Path, display: str) -> list[str]:
    """Names of the worksheets with a header and at least one data row."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise unreadable_error(display, "Excel (.xlsx)", exc) from exc
    try:
        for title in book.sheetnames:
            check_not_classified(f"{display}!{title}")
        return [ws.title for ws in book.worksheets if _has_data_row(ws.iter_rows(values_only=True))]
    finally:
        book.close()


def _has_data_row(rows: Iterable[tuple[object, ...]]) -> bool:
    """True when at least two rows are non-empty (a header and one data row)."""
    seen = 0
    for row in rows:
        if any(v is not None and str(v).strip() for v in row):
            seen += 1
            if seen == 2:
                return True
    return False


def choose(display: str, names: list[str], layer: str | None, what: tuple[str, str, str]) -> str:
    """Pick one of ``names`` (layers or sheets) for ``layer`` (case-insensitive).

    ``what`` names the kind of item: Chinese, English singular, English plural.
    """
    what_zh, what_en, what_plural = what
    if not names:
        raise SourceError(
            Message(
                "source.no_layers",
                f"“{display}”中没有可读取的{what_zh}；应至少有一个。请检查文件内容后重新导出。",
                f"'{display}' has no readable {what_en}; at least one is expected. Check the"
                " file's content and export it again.",
            )
        )
    if layer is not None:
        matches = [n for n in names if n.casefold() == layer.casefold()]
        if len(matches) != 1:
            raise layer_choice_error(display, names, layer, (what_zh, what_plural))
        return matches[0]
    if len(names) > 1:
        raise layer_choice_error(display, names, None, (what_zh, what_plural))
    return names[0]


def layer_choice_error(
    where: str,
    choices: list[str],
    layer: str | None,
    what: tuple[str, str] = ("数据图层", "datasets"),
) -> LayerChoiceError:
    """``what`` names the items in Chinese and in English (plural)."""
    listed = "、".join(choices)
    listed_en = ", ".join(choices)
    if layer is None:
        zh_head = f"“{where}”中有多个{what[0]}：{listed}；需要指定其中一个。"
        en_head = f"'{where}' holds several {what[1]}: {listed_en}; one must be chosen."
    else:
        zh_head = f"“{where}”中没有唯一与“{layer}”对应的{what[0]}；可选：{listed}。"
        en_head = (
            f"'{where}' has no single one of its {what[1]} matching '{layer}';"
            f" choices: {listed_en}."
        )
    return LayerChoiceError(
        Message(
            "source.choose_layer",
            f"{zh_head}请用 --layer 名称 指定，例如 --layer {choices[0]}。",
            f"{en_head} Pass --layer NAME, e.g. --layer {choices[0]}.",
        ),
        choices,
    )


def unreadable_error(display: str, kind: str, exc: Exception) -> SourceError:
    return SourceError(
        Message(
            "source.unreadable",
            f"“{display}”无法作为 {kind} 打开（{exc}）；应为有效的 {kind} 文件。"
            "请确认文件完整、扩展名与内容一致，必要时重新导出。",
            f"'{display}' cannot be opened as {kind} ({exc}); a valid {kind} file is"
            " expected. Check that the file is complete and its extension matches its"
            " content, and export it again if needed.",
        )
    )


__all__ = [
    "LAYER_WORDS",
    "SHEET_WORDS",
    "choose",
    "filled_sheets",
    "layer_choice_error",
    "ogr_layers",
    "unreadable_error",
]
