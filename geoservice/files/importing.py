"""Importing survey files into the workspace: read, choose the CRS, merge, store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj

from geoservice.base.errors import ConflictError, NothingImportedError, OptionError, message
from geoservice.base.workspace import (
    CLASSIFICATIONS,
    DEFAULT_CLASSIFICATION,
    DEFAULT_OWNER,
    CatalogEntry,
    Workspace,
    now_iso,
)
from geoservice.files.shrink import check_shrink, replaced_rows
from layers import read_layer
from layers.attribution import attribute_villages
from layers.codes import DEPARTMENTS
from layers.crs import describe_crs, is_projected_metres
from layers.messages import Message
from layers.report import ImportReport, reason_text
from layers.schema import Kind, schema_for
from layers.table_limits import TableLimits


@dataclass
class ImportResult:
    """What one import did: the report, the register row and the stored row count."""

    report: ImportReport
    entry: CatalogEntry
    layer_rows: int


def gauss_kruger_for(lon: float) -> pyproj.CRS:
    """CGCS2000 3-degree Gauss-Kruger CRS (central-meridian form) nearest ``lon``.

    EPSG:4534 is CM 75E and each next code is 3 degrees further east, up to 4554 (CM 135E).
    """
    cm = int(round(lon / 3.0) * 3)
    cm = min(max(cm, 75), 135)
    return pyproj.CRS.from_epsg(4534 + (cm - 75) // 3)


def _check_options(mode: str, owner: str | None, classification: str | None) -> None:
    if mode not in ("replace", "append"):
        raise OptionError(
            message(
                "import.bad_mode",
                f"--mode 为“{mode}”，应为 replace（替换）或 append（追加）。",
                f"`mode` was {mode!r} but is expected to be 'replace' or 'append'.",
            )
        )
    if owner is not None and owner not in DEPARTMENTS:
        raise OptionError(
            message(
                "import.bad_owner",
                f"--owner 为“{owner}”，应为部门代码之一：{', '.join(DEPARTMENTS)}。",
                f"`owner` was {owner!r} but is expected to be one of: {', '.join(DEPARTMENTS)}.",
            )
        )
    if classification is not None and classification not in CLASSIFICATIONS:
        raise OptionError(
            message(
                "import.bad_classification",
                f"--classification 为“{classification}”，应为 {'/'.join(CLASSIFICATIONS)}。"
                "涉密数据不得导入本系统。",
                f"`classification` was {classification!r} but is expected to be one of "
                f"{', '.join(CLASSIFICATIONS)}; classified data does not belong on this system.",
            )
        )


def to_workspace_crs(
    frame: gpd.GeoDataFrame, target: pyproj.CRS | None, report: ImportReport
) -> gpd.GeoDataFrame:
    if frame.geometry.isna().all():
        # No locations at all (a problem list without coordinates): nothing to project.
        return frame.set_crs(target or pyproj.CRS.from_epsg(4490), allow_override=True)
    if target is not None:
        return frame.to_crs(target) if frame.crs is not None and frame.crs != target else frame
    if frame.crs is not None and is_projected_metres(frame.crs):
        return frame
    geoms = frame.geometry[frame.geometry.notna()]
    lon = float(geoms.to_crs(4326).union_all().centroid.x) if len(geoms) else 111.0
    chosen = gauss_kruger_for(lon)
    report.warn(
        Message(
            "workspace.crs_chosen",
            f"工作空间尚无投影坐标系，按数据中心经度 {lon:.2f}° 选用 {describe_crs(chosen)}；"
            "如需其他坐标系，请设置 GEOSERVICE_CRS 后重新导入。",
            f"The workspace had no projected CRS yet; chose {describe_crs(chosen)} from the "
            f"data's central longitude {lon:.2f}. Set GEOSERVICE_CRS and import again to use "
            "another.",
        )
    )
    if frame.crs is None:
        return frame.set_crs(chosen)
    return frame.to_crs(chosen)


def _kept_ids(
    old: gpd.GeoDataFrame | None, id_col: str, mode: str, parcel_kind: str | None
) -> set[str] | None:
    """Ids of stored rows that stay beside the new ones (so a new row may not reuse them)."""
    if old is None:
        return None
    if mode == "append":
        return set(old[id_col].dropna().astype(str))
    if "kind" in old.columns and parcel_kind is not None:
        return set(old.loc[old["kind"] != parcel_kind, id_col].dropna().astype(str))
    return None


def _merge(
    old: gpd.GeoDataFrame | None, kind: Kind, new: gpd.GeoDataFrame, mode: str
) -> gpd.GeoDataFrame:
    """Combine the new rows with what the workspace holds under the import mode."""
    if old is None:
        return new
    if old.crs is not None and new.crs is not None and old.crs != new.crs:
        if old.geometry.isna().all():
            old = old.set_crs(new.crs, allow_override=True)
        else:
            new = new.to_crs(old.crs)
    if mode == "append":
        return _concat(old, new)
    if kind != "parcels":
        return new
    kept = old.loc[~old["kind"].isin(new["kind"].dropna().unique()).to_numpy()]
    clash = sorted(set(kept["parcel_id"]) & set(new["parcel_id"]))
    if clash:
        raise ConflictError(
            message(
                "import.parcel_id_clash",
                f"新导入的小班号与工作空间中另一类（森林/湿地）小班重复：{'、'.join(clash[:10])}"
                f"（共 {len(clash)} 个）；请用 --kind 指明类型，或在字段映射中为湿地指定不同的编号字段。",
                f"New parcel ids clash with stored parcels of the other kind (forest/wetland): "
                f"{', '.join(clash[:10])} ({len(clash)} in all); pass --kind, or map a "
                "different id field for the wetland file.",
            )
        )
    return _concat(kept, new)


def _nothing_imported(report: ImportReport) -> Message:
    reasons_zh = "；".join(
        f"{reason_text(code)} {n} 行" for code, n in report.rejected.most_common()
    )
    reasons_en = "; ".join(
        f"{reason_text(code, 'en')}: {n}" for code, n in report.rejected.most_common()
    )
    sample = report.rejects["reject_detail"].dropna().astype(str)
    sample = sample[sample != ""].head(1).tolist()
    hint_zh = f"例如：{sample[0]}。" if sample else ""
    hint_en = f" For example: {sample[0]}." if sample else ""
    return message(
        "import.nothing_imported",
        f"{report.source} 的 {report.rows_read} 行全部被拒绝（{reasons_zh}），工作空间未改变。"
        f"{hint_zh}请检查坐标系（--crs）、编码（--encoding）和字段，或用 --rejects 文件查看每行原因。",
        f"All {report.rows_read} rows of {report.source} were rejected ({reasons_en}); the "
        f"workspace is unchanged.{hint_en} Check the CRS (--crs), the encoding (--encoding) "
        "and the fields, or write the reasons per row with --rejects FILE.",
    )


def _concat(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not len(old):
        return new
    frames = [f for f in (old, new) if len(f)]
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=new.crs or old.crs)


ATTRIBUTED: tuple[Kind, ...] = ("parcels", "complaints", "patches", "problems")


def stored_villages(ws: Workspace) -> gpd.GeoDataFrame | None:
    """The workspace's villages layer (code, name, polygon), or None when it has none."""
    if not ws.exists() or "villages" not in ws.layer_names():
        return None
    return ws.read("villages", columns=["village_code", "village_name"])


def attribute(
    frame: gpd.GeoDataFrame,
    kind: Kind,
    villages: gpd.GeoDataFrame | None,
    report: ImportReport,
) -> gpd.GeoDataFrame:
    """Give every imported row its village (code, name or location) and report how."""
    frame, result = attribute_villages(frame, villages, id_column=schema_for(kind).id_column)
    report.villages = result
    report.warnings.extend(result.messages())
    return frame


def reattribute(
    ws: Workspace, villages: gpd.GeoDataFrame, report: ImportReport
) -> dict[str, gpd.GeoDataFrame]:
    """The stored layers given their villages again from new village boundaries.

    Rows placed by location are placed again; rows that gave a code or a name are matched
    again (a village that is gone leaves them with what they gave, reported).
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    names = ws.layer_names() if ws.exists() else []
    for kind in ATTRIBUTED:
        if kind not in names:
            continue
        frame = ws.read(kind)
        if "village_by" in frame.columns:
            placed = frame["village_by"].astype("string").eq("location").fillna(False)
            for col in ("village_code", "village_name"):
                if col in frame.columns:
                    frame[col] = frame[col].astype("string").mask(placed.to_numpy())
        frame, result = attribute_villages(frame, villages, id_column=schema_for(kind).id_column)
        out[kind] = frame
        label = schema_for(kind)
        report.warn(
            Message(
                "villages.reattributed",
                f"{label.zh}已按新的村界重新归属村：{result.summary('zh')}。",
                f"{label.en.capitalize()} given their villages again from the new "
                f"boundaries: {result.summary('en')}.",
            )
        )
        report.warnings.extend(result.messages())
    return out


def import_file(
    ws: Workspace,
    path: str | Path,
    kind: str,
    *,
    actor: str,
    parcel_kind: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    mapping: str | Path | None = None,
    layer: str | None = None,
    mode: str = "replace",
    owner: str | None = None,
    classification: str | None = None,
    workspace_crs: str | None = None,
    allow_shrink: bool = False,
    table_limits: TableLimits | None = None,
) -> ImportResult:
    """Import one survey file into the workspace, atomically.

    The file is read and cleaned by :func:`layers.read_layer`, reprojected to the
    workspace CRS (the stored one; else ``workspace_crs``; else the layer's own when it
    is projected in metres; else the CGCS2000 3-degree Gauss-Kruger zone of its centre),
    merged with what the layer holds (``replace``: the new rows replace the layer, for
    parcels only the rows of the same forest/wetland kind; ``append``: added, rows whose
    id is already stored are rejected), and stored with its register and audit rows.
    A ``replace`` that would leave fewer than half the rows it replaces is refused
    (:class:`~geoservice.base.errors.ShrinkRefusedError`) unless ``allow_shrink``.

    Returns
    -------
    ImportResult
    """
    _check_options(mode, owner, classification)
    schema = schema_for(kind)
    stored = ws.crs()
    target = stored or (pyproj.CRS.from_user_input(workspace_crs) if workspace_crs else None)
    old = ws.read(schema.kind) if schema.kind in ws.layer_names() else None
    frame, report = read_layer(
        path,
        kind,
        parcel_kind=parcel_kind,
        encoding=encoding,
        crs=crs,
        mapping=mapping,
        layer=layer,
        target_crs=target,
        existing_ids=_kept_ids(old, schema.id_column, mode, parcel_kind),
        table_limits=table_limits,
    )
    if (
        stored is not None
        and workspace_crs
        and not stored.equals(pyproj.CRS.from_user_input(workspace_crs))
    ):
        report.warn(
            Message(
                "workspace.crs_setting_ignored",
                f"工作空间已使用 {describe_crs(stored)}，GEOSERVICE_CRS={workspace_crs} 不再改变它。",
                f"The workspace already uses {describe_crs(stored)}; GEOSERVICE_CRS="
                f"{workspace_crs} does not change it.",
            )
        )
    if report.rows_read and not report.rows_imported:
        raise NothingImportedError(_nothing_imported(report), report)
    frame = to_workspace_crs(frame, target, report)
    also: dict[str, gpd.GeoDataFrame] = {}
    if schema.kind in ATTRIBUTED:
        frame = attribute(frame, schema.kind, stored_villages(ws), report)
    if mode == "replace":
        replaced = replaced_rows(old, schema.kind, frame)
        check_shrink(replaced, frame, schema.kind, Path(path).name, allow=allow_shrink)
    merged = _merge(old, schema.kind, frame, mode)
    if schema.kind == "villages":
        also = reattribute(ws, merged, report)
    parts = sorted(frame["kind"].dropna().unique()) if kind == "parcels" else []
    part = ",".join(parts)
    entry = CatalogEntry(
        layer=schema.kind,
        part=part,
        owner_department=owner or DEFAULT_OWNER[kind],
        classification=classification or DEFAULT_CLASSIFICATION[kind],
        source_file=Path(path).name,
        sha256=report.sha256,
        encoding=report.encoding,
        crs=report.crs,
        rows=report.rows_imported,
        rows_rejected=report.rows_rejected,
        imported_by=actor,
        imported_at=now_iso(),
        mode=mode,
    )
    replace_parts = None
    if mode == "replace":
        replace_parts = [""]
        if kind == "parcels":
            replace_parts = [
                e.part
                for e in (ws.catalog() if ws.exists() else [])
                if e.layer == "parcels" and set(e.part.split(",")) & set(parts)
            ] or [part]
    ws.write_layer(
        schema.kind,
        merged,
        report.rejects,
        entry,
        replace_parts=replace_parts,
        audit_detail={"report": report.to_dict("en")},
        also=also,
    )
    return ImportResult(report, entry, len(merged))
