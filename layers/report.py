"""The import report: what was read, what was done to it and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from layers.attribution import Attribution
from layers.messages import Lang, Message, pick

# Reasons a row can be rejected, in both languages. Keys are stable codes.
REJECT_REASONS: dict[str, tuple[str, str]] = {
    "null_geometry": ("几何为空(null)", "geometry is null"),
    "empty_geometry": ("几何为空(empty)", "geometry is empty"),
    "wrong_geometry_type": ("几何类型不符", "wrong geometry type"),
    "invalid_geometry": ("几何无效且无法修复", "invalid geometry that could not be repaired"),
    "outside_crs_area": (
        "坐标完全在坐标系有效范围之外",
        "lies wholly outside the CRS's area of use",
    ),
    "missing_id": ("缺少编号", "missing id"),
    "duplicate_id": ("编号重复", "duplicate id"),
    "missing_coordinates": ("缺少坐标", "missing coordinates"),
    "bad_value": ("字段值无法识别", "value could not be read"),
}


def reason_text(code: str, lang: Lang = "zh") -> str:
    return pick(lang, *REJECT_REASONS.get(code, (code, code)))


@dataclass
class ImportReport:
    """What an import read, repaired, rejected and decided.

    Attributes
    ----------
    source : str
        The path as the user gave it.
    kind : str
        Canonical layer kind.
    rows_read, rows_imported, rows_repaired : int
        Counts; ``rows_read == rows_imported + rows_rejected + rows_merged``.
    parts_merged, features_merged : int
        Rows that were parts of one feature (same id and attributes, one row per part)
        and the multi-part features they became. Each such feature counts as one row
        imported (or rejected) and its other ``rows_merged`` rows as neither.
    rejected : Counter
        Rejected rows by reason code (see :data:`REJECT_REASONS`).
    rejects : pandas.DataFrame
        The rejected rows with their source attributes, ``reject_reason`` (code),
        ``reject_detail`` (text) and ``geometry_wkt``.
    """

    source: str
    kind: str
    format: str = ""
    layer: str | None = None
    encoding: str | None = None
    encoding_reason: Message | None = None
    crs: str | None = None
    crs_reason: Message | None = None
    rows_read: int = 0
    rows_imported: int = 0
    rows_repaired: int = 0
    parts_merged: int = 0
    features_merged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)
    field_mapping: dict[str, str] = field(default_factory=dict)
    unmapped_fields: list[str] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    sha256: str | None = None
    villages: Attribution | None = None

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def rows_merged(self) -> int:
        """Rows merged into another row's feature: ``parts_merged - features_merged``."""
        return self.parts_merged - self.features_merged

    def warn(self, message: Message) -> None:
        self.warnings.append(message)

    def to_dict(self, lang: Lang = "zh") -> dict[str, Any]:
        """A JSON-ready summary (the rejected rows themselves are not included)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "format": self.format,
            "layer": self.layer,
            "encoding": self.encoding,
            "encoding_reason": self.encoding_reason.text(lang) if self.encoding_reason else None,
            "crs": self.crs,
            "crs_reason": self.crs_reason.text(lang) if self.crs_reason else None,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_repaired": self.rows_repaired,
            "rows_rejected": self.rows_rejected,
            "rows_merged": self.rows_merged,
            "parts_merged": self.parts_merged,
            "features_merged": self.features_merged,
            "rejected_by_reason": {
                code: {"count": n, "reason": reason_text(code, lang)}
                for code, n in sorted(self.rejected.items())
            },
            "field_mapping": dict(self.field_mapping),
            "unmapped_fields": list(self.unmapped_fields),
            "warnings": [w.text(lang) for w in self.warnings],
            "sha256": self.sha256,
            "villages": (
                {**self.villages.to_dict(), "summary": self.villages.summary(lang)}
                if self.villages is not None
                else None
            ),
        }
