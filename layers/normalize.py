"""Turn mapped source columns into canonical columns, per layer kind.

Each ``normalize_<kind>`` takes a GeoDataFrame whose columns were renamed by
:func:`layers.aliases.match_columns` (canonical names, helper names starting with ``_``,
and unknown source columns as they came) and returns a :class:`Normalized`: the frame
with canonical columns filled and helper columns removed, aligned to the input index,
plus row problems and warnings. Areas are computed in a projected CRS in metres and
given in hectares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from layers import codes
from layers.messages import Message
from layers.schema import SCHEMAS, Kind

AREA_TOLERANCE = 0.05


@dataclass
class Normalized:
    """Result of a normalisation step.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        Canonical columns first, then the unknown source columns; index as the input.
    problems : pandas.DataFrame
        Rows to reject: index of the row, ``reason`` (code) and ``detail`` (text).
    warnings : list of Message
    """

    frame: gpd.GeoDataFrame
    problems: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"reason": [], "detail": []}, dtype="string")
    )
    warnings: list[Message] = field(default_factory=list)


class _Collector:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.warnings: list[Message] = []

    def bad(self, mask: pd.Series, reason: str, detail: pd.Series | str) -> None:
        if not mask.any():
            return
        det = detail[mask] if isinstance(detail, pd.Series) else detail
        self.parts.append(
            pd.DataFrame({"reason": reason, "detail": det}, index=mask.index[mask.to_numpy()])
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"reason": [], "detail": []}, dtype="string")
        df = pd.concat(self.parts)
        return df[~df.index.duplicated(keep="first")].astype("string")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="string")


def _text(df: pd.DataFrame, name: str) -> pd.Series:
    s = _col(df, name).astype("string").str.strip()
    return s.where(s != "", pd.NA)


def _number(df: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(_col(df, name), errors="coerce").astype("Float64")


def _bad_words(
    out: _Collector, raw: pd.Series, mapped: pd.Series, column: str, allowed: tuple[str, ...]
) -> None:
    bad = raw.notna() & mapped.isna()
    out.bad(
        bad,
        "bad_value",
        column + "=" + raw.astype("string").fillna("") + " (expected " + "/".join(allowed) + ")",
    )


def _dates(out: _Collector, df: pd.DataFrame, name: str) -> pd.Series:
    parsed, bad = codes.parse_dates(_col(df, name))
    out.bad(bad, "bad_value", name + "=" + _col(df, name).astype("string").fillna(""))
    return parsed


#: The dates of a change patch (the data contract's ``date`` columns of ``patches``).
PATCH_DATES = ("imaged_on", "dispatched_on", "checked_on")


def _past_dates(out: _Collector, df: pd.DataFrame, name: str, today: date) -> pd.Series:
    """:func:`_dates`, and a date after ``today`` (a typing slip: nothing was imaged,
    handed down or checked in the future) rejects its row, naming the column and value."""
    parsed = _dates(out, df, name)
    late = (parsed > pd.Timestamp(today)).fillna(False).astype(bool)
    detail = f"{name}=" + parsed.dt.strftime("%Y-%m-%d").fillna("")
    out.bad(late, "bad_value", detail + f" (after the import day {today.isoformat()})")
    return parsed


def area_hectares(geometry: gpd.GeoSeries, metric_crs: object) -> pd.Series:
    """Planar area of each geometry in hectares, measured in ``metric_crs`` (metres)."""
    g = geometry if geometry.crs == metric_crs else geometry.to_crs(metric_crs)
    return pd.Series(g.area.to_numpy() / 10_000.0, index=geometry.index, dtype="Float64")


def _check_area(out: _Collector, computed: pd.Series, file_area: pd.Series, ids: pd.Series) -> None:
    both = computed.notna() & file_area.notna() & (file_area > 0)
    rel = ((computed - file_area).abs() / file_area).where(both)
    off = (rel > AREA_TOLERANCE).fillna(False).astype(bool)
    n = int(off.sum())
    if n:
        sample = ", ".join(ids[off].astype("string").fillna("?").head(5))
        out.warnings.append(
            Message(
                "area.mismatch",
                f"{n} 个要素的文件面积与按图形计算的面积相差超过 5%（如 {sample}）；"
                "导入采用按图形计算的面积，原面积保留在 area_file_ha 字段。",
                f"{n} features have a file area that differs from the area computed from "
                f"their geometry by more than 5% (e.g. {sample}); the computed area is used "
                "and the file's area is kept in area_file_ha.",
            )
        )


def _file_area(df: pd.DataFrame) -> pd.Series:
    ha = _number(df, "_area_file_ha")
    m2 = _number(df, "_area_file_m2") / 10_000.0
    return ha.fillna(m2)


def _digits(df: pd.DataFrame, name: str) -> pd.Series:
    """A code column as a string of digits (``<NA>`` where it holds anything else)."""
    s = codes.normalize_code(_col(df, name))
    return s.where(s.str.fullmatch(r"\d+").fillna(False).astype(bool))


def full_village_code(values: pd.Series) -> pd.Series:
    """12-digit village codes from codes in the forms real files use.

    12 digits as they are; longer codes whose digits after the 12th are zeros (the
    19-character 坐落单位代码 ZLDWDM) cut to 12; 6- and 9-digit county and township codes
    padded with zeros (they name no village and match none); anything else ``<NA>``.
    """
    s = codes.normalize_code(values)
    digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
    s = s.where(digits)
    long = (s.str.len() > 12) & s.str[12:].str.fullmatch("0*").fillna(False).astype(bool)
    s = s.where(~long.fillna(False).astype(bool), s.str[:12])
    short = s.str.len().isin([6, 9]).fillna(False).astype(bool)
    s = s.where(~short, s.str.ljust(12, "0"))
    return s.where(s.str.len() == 12)


def _village_code(df: pd.DataFrame) -> pd.Series:
    """12-digit village code of each row, from a code column or from XIAN, XIANG, CUN.

    ``XIAN``/``XIANG``/``CUN`` come in two shapes: composed parts (6 + 3 + 3 digits, each
    within its parent) and full-length codes (6, 9 and 12 digits, so ``CUN`` alone is the
    village code), and a 9-digit ``XIANG`` beside a 3-digit ``CUN``. A direct code column
    wins over the parts.
    """
    direct = full_village_code(_col(df, "village_code"))
    xian, xiang, cun = _digits(df, "_xian"), _digits(df, "_xiang"), _digits(df, "_cun")
    cun_full = full_village_code(cun.where(cun.str.len() >= 12))
    short_cun = cun.where(cun.str.len() <= 3).str.zfill(3)
    xiang9 = xiang.where(xiang.str.len() == 9)
    xiang3 = xiang.where(xiang.str.len() <= 3).str.zfill(3)
    xian6 = xian.where(xian.str.len() == 6)
    from_township = xiang9 + short_cun
    composed = xian6 + xiang3 + short_cun
    return direct.fillna(cun_full).fillna(from_township).fillna(composed).astype("string")


def _village_name(df: pd.DataFrame) -> pd.Series:
    """Village names from a name column, else from a ``CUN`` field that holds a name."""
    name = _text(df, "village_name")
    cun = _text(df, "_cun")
    cun_name = cun.where(~cun.str.fullmatch(r"[\d.]+").fillna(True).astype(bool))
    return name.fillna(cun_name)


def _finish(df: gpd.GeoDataFrame, kind: Kind, out: _Collector) -> Normalized:
    schema = SCHEMAS[kind]
    for column in schema.columns:
        if column.name not in df.columns:
            df[column.name] = pd.Series(pd.NA, index=df.index, dtype="string")
    helpers = [c for c in df.columns if isinstance(c, str) and c.startswith("_")]
    df = df.drop(columns=helpers)
    extra = [c for c in df.columns if c not in schema.names and c != "geometry"]
    ordered = gpd.GeoDataFrame(
        df[[*schema.names, *extra, "geometry"]], geometry="geometry", crs=df.crs
    )
    return Normalized(ordered, out.frame(), out.warnings)


def normalize_villages(df: gpd.GeoDataFrame, metric_crs: object) -> Normalized:
    """Canonical villages: 12-digit ``village_code``, ``village_name``, ``area_ha``."""
    out = _Collector()
    df = df.copy()
    df["village_code"] = _village_code(df)
    df["village_name"] = _village_name(df)
    df["area_ha"] = area_hectares(df.geometry, metric_crs)
    _check_area(out, df["area_ha"], _file_area(df), df["village_code"])
    return _finish(df, "villages", out)


def _parcel_id(df: pd.DataFrame) -> pd.Series:
    direct = _text(df, "parcel_id")
    # 林班 are written with 4 digits and 小班 with 3 in most surveys; padding makes
    # "8" + "56" and "0008" + "056" the same parcel. Longer numbers keep their length.
    lin = codes.normalize_code(_col(df, "_lin_ban"), 4)
    xiao = codes.normalize_code(_col(df, "_xiao_ban"), 3)
    xi = codes.normalize_code(_col(df, "_xi_ban"))
    built = (lin + "-" + xiao).where(lin.notna() & xiao.notna())
    built = built.where(xi.isna() | xi.isin(["0", "00", "000"]), built + "-" + xi)
    xiang = codes.normalize_code(_col(df, "_xiang"), 3)
    if xiang.dropna().nunique() > 1:
        built = (xiang + "-" + built).where(xiang.notna(), built)
    return direct.fillna(built)


def _public_welfare(df: pd.DataFrame) -> pd.Series:
    direct = _text(df, "public_welfare").str.lower()
    allowed = ("national_1", "national_2", "local_key", "local_general", "none")
    direct = direct.where(direct.isin(allowed))
    shi_quan = codes.code_key(_col(df, "_shi_quan"))
    grade = codes.code_key(_col(df, "_gjgyl"))
    category = codes.code_key(_col(df, "forest_category"))
    national = shi_quan.isin(["10", "1"]).fillna(False).astype(bool)
    local = shi_quan.isin(["20", "2"]).fillna(False).astype(bool)
    out = pd.Series("none", index=df.index, dtype="string")
    out = out.mask(national, "national_2")
    out = out.mask(national & grade.eq("1").fillna(False).astype(bool), "national_1")
    out = out.mask(local, "local_general")
    out = out.mask(local & category.eq("11").fillna(False).astype(bool), "local_key")
    return direct.fillna(out)


def _protection_grade(df: pd.DataFrame) -> pd.Series:
    raw = _text(df, "protection_grade").str.upper()
    words = raw.map(codes.PROTECTION_GRADE_WORDS, na_action="ignore")
    number = pd.to_numeric(raw, errors="coerce")
    grade = number.fillna(pd.to_numeric(words, errors="coerce"))
    return grade.where(grade.between(1, 4)).astype("Int64")


def _kind_unknown(n: int, total: int) -> Message:
    return Message(
        "parcels.kind_unknown",
        f"{n} 个小班（共 {total} 个）既无地类也无湿地类型，无法判断是森林还是湿地，已按森林导入；"
        "如为湿地，请用 --kind wetland 重新导入，或在字段映射中指明地类字段（land_class: 字段名）。",
        f"{n} of {total} parcels have neither a land class nor a wetland type, so whether "
        "they are forest or wetland cannot be derived; they were imported as forest. If they "
        "are wetland, import again with --kind wetland, or map the land-class field "
        "(land_class: FIELD) in a --mapping file.",
    )


def normalize_parcels(
    df: gpd.GeoDataFrame, metric_crs: object, parcel_kind: str | None
) -> Normalized:
    """Canonical parcels (forest sub-compartments and wetland parcels).

    ``kind`` is ``parcel_kind`` when given, else ``wetland`` where the land class is a
    三调 wetland code or a wetland type is present, else ``forest``. ``nature_reserve``
    is true where the forest type is 127 (自然保护区林) or a reserve flag says so.
    """
    out = _Collector()
    df = df.copy()
    df["parcel_id"] = _parcel_id(df)
    df["village_code"] = _village_code(df)
    df["village_name"] = _village_name(df)
    land4 = codes.normalize_code(_col(df, "land_class"), 4)
    df["land_class"] = land4
    df["wetland_type"] = codes.normalize_code(_col(df, "wetland_type"))
    if parcel_kind is not None:
        df["kind"] = parcel_kind
    else:
        given = _text(df, "kind").str.lower()
        # A wetland type of 0 or 00 is "none" in real files, not a wetland class.
        typed = codes.code_key(df["wetland_type"]).fillna("0").ne("0")
        wet = land4.isin(codes.WETLAND_LAND_CLASSES).fillna(False).astype(bool) | typed
        derived = pd.Series(np.where(wet, "wetland", "forest"), index=df.index, dtype="string")
        given = given.where(given.isin(["forest", "wetland"]))
        unknown = given.isna() & ~wet & land4.isna()
        if unknown.any():
            out.warnings.append(_kind_unknown(int(unknown.sum()), len(df)))
        df["kind"] = given.fillna(derived)
    df["forest_category"] = codes.normalize_code(_col(df, "forest_category"))
    df["public_welfare"] = _public_welfare(df)
    df["protection_grade"] = _protection_grade(df)
    df["forest_type"] = codes.normalize_code(_col(df, "forest_type"))
    df["origin"] = codes.normalize_code(_col(df, "origin"))
    df["dominant_species"] = codes.normalize_code(_col(df, "dominant_species"))
    df["volume_per_ha"] = _number(df, "volume_per_ha")
    flag = _text(df, "nature_reserve").str.lower()
    flagged = flag.isin(["1", "true", "yes", "是", "y"]).fillna(False).astype(bool)
    reserve_type = codes.code_key(df["forest_type"]).isin(codes.RESERVE_FOREST_TYPES)
    df["nature_reserve"] = (flagged | reserve_type.fillna(False).astype(bool)).astype(bool)
    file_area = _file_area(df)
    df["area_ha"] = area_hectares(df.geometry, metric_crs)
    if file_area.notna().any():
        df["area_file_ha"] = file_area
    _check_area(out, df["area_ha"], file_area, df["parcel_id"])
    return _finish(df, "parcels", out)


def normalize_complaints(df: gpd.GeoDataFrame) -> Normalized:
    """Canonical complaints; a missing category is classified from the text."""
    out = _Collector()
    df = df.copy()
    df["complaint_id"] = _text(df, "complaint_id")
    df["received_at"] = _dates(out, df, "received_at")
    missing_date = df["received_at"].isna() & _text(df, "received_at").isna()
    out.bad(missing_date, "bad_value", "received_at is empty")
    by_category = codes.category_from_text(_col(df, "category"))
    by_text = codes.category_from_text(_col(df, "description"))
    df["category"] = (
        by_category.mask(by_category.eq("other") & by_text.notna(), by_text)
        .fillna(by_text)
        .fillna("other")
    )
    df["description"] = _text(df, "description")
    df["channel"] = _text(df, "channel")
    raw = _text(df, "status")
    status = codes.map_words(raw, codes.COMPLAINT_STATUS, codes.COMPLAINT_STATES)
    _bad_words(out, raw, status, "status", codes.COMPLAINT_STATES)
    df["status"] = status.fillna("new")
    df["village_code"] = _village_code(df)
    df["village_name"] = _village_name(df)
    df["place"] = _text(df, "place")
    return _finish(df, "complaints", out)


def _illegal(df: pd.DataFrame, verified_cause: pd.Series) -> pd.Series:
    """Legality of each patch: 'true', 'false' or 'unknown'.

    An explicit 是否违法违规 (SHIFOU_WF) value wins; else the cause found by the field
    check (BHYY) decides when it is an approved or an unapproved cause. The remote-sensing
    interpreter's cause (PAN_BHYY) never decides: a patch not yet checked is 'unknown'.
    """
    flag = _text(df, "_illegal_flag").str.lower()
    true = flag.isin(["1", "true", "yes", "是", "y", "违法", "违规", "违法违规"])
    false = flag.isin(["0", "false", "no", "否", "n", "合法"])
    out = pd.Series("unknown", index=df.index, dtype="string")
    out = out.mask(verified_cause.isin(codes.APPROVED_CAUSES).fillna(False).astype(bool), "false")
    out = out.mask(verified_cause.isin(codes.ILLEGAL_CAUSES).fillna(False).astype(bool), "true")
    out = out.mask(true.fillna(False).astype(bool), "true")
    return out.mask(false.fillna(False).astype(bool), "false")


def normalize_patches(
    df: gpd.GeoDataFrame, metric_crs: object, today: date | None = None
) -> Normalized:
    """Canonical change patches: cause → category, legality, areas in hectares, and the
    dates of :data:`PATCH_DATES` (a date after ``today``, default the day of the import,
    rejects its row)."""
    out = _Collector()
    df = df.copy()
    df["patch_id"] = codes.normalize_code(_col(df, "patch_id"))
    year = _number(df, "year")
    df["year"] = year.where(year.between(1990, 2100)).round().astype("Int64")
    verified_cause = codes.normalize_code(_col(df, "_cause"))
    cause = verified_cause.fillna(codes.normalize_code(_col(df, "_cause_interpreted")))
    df["change_cause"] = cause
    given = codes.category_from_text(_col(df, "_category"))
    by_cause = cause.map(codes.CAUSE_CATEGORY, na_action="ignore").astype("string")
    df["illegal"] = _illegal(df, verified_cause)
    df["category"] = given.fillna(by_cause).fillna("other")
    df["area_ha"] = area_hectares(df.geometry, metric_crs)
    _check_area(out, df["area_ha"], _file_area(df), df["patch_id"])
    df["illegal_area_ha"] = _number(df, "illegal_area_ha")
    df["permit_no"] = _text(df, "permit_no").fillna(_text(df, "_felling_permit"))
    for name in PATCH_DATES:
        df[name] = _past_dates(out, df, name, today or date.today())
    df["village_code"] = _village_code(df)
    df["village_name"] = _village_name(df)
    return _finish(df, "patches", out)


def normalize_problems(df: gpd.GeoDataFrame) -> Normalized:
    """Canonical inspection problems; departments copied become department codes."""
    out = _Collector()
    df = df.copy()
    df["problem_id"] = _text(df, "problem_id")
    df["campaign"] = _text(df, "campaign")
    df["found_on"] = _dates(out, df, "found_on")
    df["deadline"] = _dates(out, df, "deadline")
    df["village_code"] = _village_code(df)
    df["village_name"] = _village_name(df)
    by_category = codes.category_from_text(_col(df, "category"))
    by_text = codes.category_from_text(_col(df, "description"))
    df["category"] = by_category.fillna(by_text).fillna("other")
    df["description"] = _text(df, "description")
    df["place"] = _text(df, "place")
    raw = _text(df, "status")
    status = codes.map_words(raw, codes.PROBLEM_STATUS, codes.PROBLEM_STATES)
    _bad_words(out, raw, status, "status", codes.PROBLEM_STATES)
    df["status"] = status.fillna("assigned")
    depts, unknown = codes.department_codes(_col(df, "cc_departments"))
    df["cc_departments"] = depts
    if unknown:
        names = "、".join(sorted(unknown))
        out.warnings.append(
            Message(
                "problems.unknown_department",
                f"抄送部门中有无法识别的名称：{names}；已忽略，请核对部门名称。",
                f"Copied-to departments not recognised and left out: {names}; check the names.",
            )
        )
    return _finish(df, "problems", out)
