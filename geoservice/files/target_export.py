"""Exporting the targets a caller may see: format, file names, the export itself.

The selection is the same as for ``GET /targets`` (:mod:`geoservice.analysis.target_queries`):
the caller's targets (:meth:`Principal.target_mask`), or one ``target``, filtered by
department, village and priority, written by :func:`~geoservice.files.exporting.export_layer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from geoservice.analysis.present import department_code
from geoservice.analysis.rules import Rules
from geoservice.analysis.target_queries import no_target
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message, no_analysis
from geoservice.base.workspace import Workspace
from layers.messages import Lang, pick

if TYPE_CHECKING:
    from geoservice.files.exporting import ExportResult

__all__ = [
    "EXPORT_FORMATS",
    "TargetExport",
    "export_file_name",
    "export_format",
    "export_targets",
    "keep_for",
]

EXPORT_FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
    "geojson": "application/geo+json",
}


@dataclass(frozen=True)
class TargetExport:
    """A written export: the file, its media type and its (display, ASCII) file names."""

    result: ExportResult
    media_type: str
    shown: str
    fallback: str


def export_format(fmt: str | None) -> str:
    """``xlsx`` (default), ``csv``, ``gpkg``, ``kml`` or ``geojson``; OptionError otherwise."""
    chosen = (fmt or "xlsx").strip().lower()
    if chosen not in EXPORT_FORMATS:
        allowed = ", ".join(EXPORT_FORMATS)
        raise OptionError(
            message(
                "targets.bad_export_format",
                f"format 为“{fmt}”，应为 {allowed} 之一。",
                f"`format` was {fmt!r} but is expected to be one of {allowed}.",
            )
        )
    return chosen


def export_file_name(
    fmt: str, lang: Lang, department: tuple[str, str] | None, target: str | None
) -> tuple[str, str]:
    """The (display, ASCII fallback) file names of an export; ``department`` is its
    (code, name in ``lang``)."""
    zh = "联合执法目标" + ("" if target else "清单")
    en = "target" if target else "targets"
    if department:
        zh, en = f"{zh}_{department[1]}", f"{en}_{department[0]}"
    if target:
        zh, en = f"{zh}_{target}", f"{en}_{target}"
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in en)
    return (fallback if lang == "en" else zh) + f".{fmt}", f"{fallback}.{fmt}"


def keep_for(principal: Principal, target: str | None) -> Callable[[gpd.GeoDataFrame], np.ndarray]:
    """A row mask of the targets the caller may see (only ``target`` when given)."""

    def keep(frame: gpd.GeoDataFrame) -> np.ndarray:
        mask = principal.target_mask(frame)
        if target:
            mask = mask & (frame["target_id"].astype(str) == target).to_numpy()
        return mask

    return keep


def export_targets(
    ws: Workspace,
    principal: Principal,
    folder: Path,
    *,
    fmt: str | None,
    lang: Lang,
    rules: Rules,
    names: Mapping[str, tuple[str, str]],
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    target: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> TargetExport:
    """Write the caller's targets (or one ``target``) into ``folder`` as ``fmt``.

    The file is named after the department (``department``, else the caller's own) and
    the target; ``context`` (who and from where) goes into the audit row with the
    displayed file name.

    Raises
    ------
    OptionError
        For a format other than xlsx, csv, gpkg, kml or geojson.
    NoAnalysisError
        Before the first analysis run.
    NotFoundError
        When ``target`` is not a target in the caller's scope.
    """
    from geoservice.files.exporting import export_layer  # loaded on the first export

    chosen = export_format(fmt)
    ws.require()
    if "targets" not in ws.layer_names():
        raise no_analysis(ws.path, web=True)
    keep = keep_for(principal, target)
    if target and not keep(ws.read("targets")).any():
        raise no_target(target)
    code = department_code(department, names) if department else principal.department
    label = (code, pick(lang, *names.get(code, (code, code)))) if code else None
    shown, fallback = export_file_name(chosen, lang, label, target)
    result = export_layer(
        ws,
        "targets",
        folder / fallback,
        actor=principal.actor,
        fmt=chosen,
        lang=lang,
        department=department,
        village=village,
        priorities=priority.split(",") if priority else None,
        rules=rules,
        keep=keep,
        context={**(context or {}), "target": target, "file": shown},
    )
    return TargetExport(result, EXPORT_FORMATS[chosen], shown, fallback)
