"""The data contract: canonical layers, their columns and their vocabularies.

See ``docs/design.md#data-contract``. Every imported layer is a GeoDataFrame with these
English snake_case columns (plus any unknown source columns, kept as they came).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["villages", "parcels", "complaints", "patches", "problems"]
KINDS: tuple[Kind, ...] = ("villages", "parcels", "complaints", "patches", "problems")

Dtype = Literal["str", "int", "float", "bool", "date"]
GeometryRule = Literal["polygon", "point", "point_optional"]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes
    ----------
    name : str
        Canonical English name.
    dtype : {"str", "int", "float", "bool", "date"}
        Logical type after normalisation.
    required : bool
        The import fails (listing every missing column) when a required column cannot be
        found or derived.
    zh : str
        Chinese label, used in reports and exports.
    """

    name: str
    dtype: Dtype
    required: bool = False
    zh: str = ""


@dataclass(frozen=True)
class LayerSchema:
    kind: Kind
    geometry: GeometryRule
    id_column: str
    columns: tuple[Column, ...]
    zh: str
    en: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SCHEMAS: dict[Kind, LayerSchema] = {
    "villages": LayerSchema(
        "villages",
        "polygon",
        "village_code",
        (
            Column("village_code", "str", True, "村代码"),
            Column("village_name", "str", True, "村名"),
            Column("area_ha", "float", False, "面积(公顷)"),
        ),
        "村界",
        "villages",
    ),
    "parcels": LayerSchema(
        "parcels",
        "polygon",
        "parcel_id",
        (
            Column("parcel_id", "str", True, "小班号"),
            Column("kind", "str", True, "类型"),
            Column("village_code", "str", False, "村代码"),
            Column("village_name", "str", False, "村名"),
            Column("village_by", "str", False, "村归属依据"),
            Column("land_class", "str", False, "地类"),
            Column("forest_category", "str", False, "森林类别"),
            Column("public_welfare", "str", False, "公益林等级"),
            Column("protection_grade", "int", False, "林地保护等级"),
            Column("forest_type", "str", False, "林种"),
            Column("wetland_type", "str", False, "湿地类型"),
            Column("origin", "str", False, "起源"),
            Column("dominant_species", "str", False, "优势树种"),
            Column("volume_per_ha", "float", False, "公顷蓄积(立方米)"),
            Column("area_ha", "float", True, "面积(公顷)"),
            Column("nature_reserve", "bool", False, "自然保护区"),
        ),
        "森林湿地小班",
        "forest and wetland parcels",
    ),
    "complaints": LayerSchema(
        "complaints",
        "point",
        "complaint_id",
        (
            Column("complaint_id", "str", True, "举报编号"),
            Column("received_at", "date", True, "受理时间"),
            Column("category", "str", True, "类别"),
            Column("description", "str", False, "举报内容"),
            Column("channel", "str", False, "来源"),
            Column("status", "str", True, "核实结果"),
            Column("place", "str", False, "地点"),
            Column("village_code", "str", False, "村代码"),
            Column("village_name", "str", False, "村名"),
            Column("village_by", "str", False, "村归属依据"),
        ),
        "举报投诉",
        "complaints",
    ),
    "patches": LayerSchema(
        "patches",
        "polygon",
        "patch_id",
        (
            Column("patch_id", "str", True, "图斑编号"),
            Column("year", "int", False, "变化年度"),
            Column("change_cause", "str", False, "变化原因"),
            Column("category", "str", True, "违法类别"),
            Column("illegal", "str", True, "是否违法"),
            Column("illegal_area_ha", "float", False, "违法面积(公顷)"),
            Column("area_ha", "float", True, "面积(公顷)"),
            Column("permit_no", "str", False, "审核文号"),
            Column("imaged_on", "date", False, "后期影像时间"),
            Column("dispatched_on", "date", False, "下发日期"),
            Column("checked_on", "date", False, "检查日期"),
            Column("village_code", "str", False, "村代码"),
            Column("village_name", "str", False, "村名"),
            Column("village_by", "str", False, "村归属依据"),
        ),
        "森林督查变化图斑",
        "change patches",
    ),
    "problems": LayerSchema(
        "problems",
        "point_optional",
        "problem_id",
        (
            Column("problem_id", "str", True, "问题编号"),
            Column("campaign", "str", False, "督查批次"),
            Column("found_on", "date", False, "发现日期"),
            Column("village_code", "str", False, "村代码"),
            Column("village_name", "str", False, "村名"),
            Column("village_by", "str", False, "村归属依据"),
            Column("category", "str", True, "问题类别"),
            Column("description", "str", False, "问题描述"),
            Column("deadline", "date", False, "整改期限"),
            Column("status", "str", True, "整改状态"),
            Column("cc_departments", "str", False, "抄送部门"),
            Column("place", "str", False, "地点"),
        ),
        "督查问题",
        "inspection problems",
    ),
}


def schema_for(kind: str) -> LayerSchema:
    """Return the schema of ``kind``; raises :class:`~layers.errors.SchemaError`."""
    from layers.errors import SchemaError
    from layers.messages import Message

    if kind not in SCHEMAS:
        allowed = ", ".join(KINDS)
        raise SchemaError(
            Message(
                "schema.unknown_kind",
                f"图层类型为“{kind}”，应为以下之一：{allowed}。",
                f"`kind` was {kind!r} but is expected to be one of: {allowed}.",
            )
        )
    return SCHEMAS[kind]
