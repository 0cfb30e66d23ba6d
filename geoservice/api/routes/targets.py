"""Joint-enforcement targets over the web: GeoJSON for maps, one target, file exports.

Who sees what (:meth:`Principal.target_mask`): the office every target, a department the
targets it leads or cooperates on; villages and viewers none (403). A target outside the
caller's scope does not exist for the caller (404 naming the id, the same answer as for an
id that was never issued). Before the first analysis run, the list and the export answer
404 ``analysis.not_run``, naming ``POST /analysis/runs``.

``GET /targets``
    A GeoJSON FeatureCollection in lon/lat (EPSG:4326), filtered by ``department`` (lead
    or cooperating, code or name), ``village`` (code or name) and ``priority`` (``P1,P2``);
    names and reasons in the caller's language (``?lang=`` or Accept-Language).
``GET /targets/export``
    The same selection (or one ``target``) as ``xlsx``, ``csv``, ``gpkg`` or ``kml``,
    written by :func:`geoservice.files.exporting.export_layer` and sent with a Chinese file name.
``GET /targets/{target_id}``
    One target as a GeoJSON Feature with its reasons and evidence: the flagged parcels with
    their scores and the ids of the complaints, change patches and problems behind them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from geoservice.analysis.labels import priority_word
from geoservice.analysis.present import department_code, filter_targets, village_code
from geoservice.api.deps import LangDep, SettingsDep, WorkspaceDep, audit, request_context, require
from geoservice.api.responses import (
    content_disposition as content_disposition,  # re-exported: the export file names
)
from geoservice.api.responses import download, scratch_folder
from geoservice.api.routes.layers import department_labels, effective_rules
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, message, no_analysis
from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from layers.codes import CATEGORIES
from layers.messages import Lang

router = APIRouter(tags=["targets"])

GEOJSON = "application/geo+json"
EXPORT_FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
    "kml": "application/vnd.google-earth.kml+xml",
}
_EVIDENCE_COLUMNS = [
    "parcel_id",
    "kind",
    "village_code",
    "village_name",
    "public_welfare",
    "nature_reserve",
    "area_ha",
    "score",
    "complaint_ids",
    "patch_ids",
    "problem_ids",
    "overdue_problem_count",
    "illegal_area_ha",
    "criminal_threshold_met",
    "criminal_basis",
    "estimated_volume_m3",
]
_ID_LISTS = ("complaint_ids", "patch_ids", "problem_ids")
Viewer = Annotated[Principal, require("office", "department")]


# --- selection ------------------------------------------------------------------------


def _no_target(target_id: str) -> NotFoundError:
    return NotFoundError(
        message(
            "targets.not_found",
            f"没有编号为“{target_id}”的目标，或该目标不在您的查看范围内；请从目标清单中选择。",
            f"There is no target {target_id!r}, or it is outside what you may see; pick one "
            "from the target list.",
        )
    )


def read_targets(ws: Workspace) -> tuple[gpd.GeoDataFrame | None, set[str]]:
    """The ``targets`` layer (None before the first analysis run) and the layer names."""
    ws.require()
    present = set(ws.layer_names())
    return (ws.read("targets") if "targets" in present else None), present


def select_targets(
    ws: Workspace,
    principal: Principal,
    names: dict[str, tuple[str, str]],
    department: str | None,
    village: str | None,
    priority: str | None,
) -> tuple[gpd.GeoDataFrame | None, set[str]]:
    """The caller's targets (target mask) matching the filters, by priority then score,
    and the workspace's layer names."""
    targets, present = read_targets(ws)
    if targets is None:
        return None, present
    scoped = targets.loc[principal.target_mask(targets)]
    villages = read_villages(ws) if village and "villages" in present else None
    chosen = filter_targets(
        scoped,
        department=department_code(department, names) if department else None,
        village=village_code(village, villages) if village else None,
        priorities=priority.split(",") if priority else None,
    )
    return chosen, present


def reasons_in(
    ws: Workspace, targets: gpd.GeoDataFrame, lang: Lang, present: set[str]
) -> pd.Series:
    """Each target's reasons in ``lang`` (every run stores both languages)."""
    own = targets["reasons"].astype("string")
    if "target_reasons" not in present or not len(targets):
        return own
    table = ws.read("target_reasons", use_arrow=False, read_geometry=False)
    by_id = table.set_index("target_id")[f"reasons_{lang}"]
    return targets["target_id"].map(by_id).astype("string").fillna(own)


# --- GeoJSON ----------------------------------------------------------------------------


def _codes(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("").str.split(";")
    return text.map(lambda xs: [x for x in xs if x])


def _named(codes: pd.Series, table: dict[str, tuple[str, str]], lang: Lang) -> pd.Series:
    idx = 1 if lang == "en" else 0
    return codes.map(lambda xs: [table.get(c, (c, c))[idx] for c in xs])


def target_features(
    targets: gpd.GeoDataFrame,
    reasons: pd.Series,
    names: dict[str, tuple[str, str]],
    lang: Lang,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (lon/lat, EPSG:4326) of ``targets`` with readable names.

    Lists (villages, parcels, categories, cooperating departments) are JSON arrays; codes
    stay beside their names so clients can filter and link.
    """
    idx = 1 if lang == "en" else 0
    coop = _codes(targets["cooperating_departments"])
    categories = _codes(targets["categories"])
    lead = targets["lead_department"].astype("string").fillna("")
    props = pd.DataFrame(
        {
            "target_id": targets["target_id"].astype(str),
            "priority": targets["priority"].astype(str),
            "priority_label": targets["priority"].map(lambda p: priority_word(str(p), lang)),
            "score": pd.to_numeric(targets["score"], errors="coerce").round(2),
            "village_codes": _codes(targets["village_codes"]),
            "village_names": _codes(targets["village_names"]),
            "parcel_ids": _codes(targets["parcel_ids"]),
            "parcel_count": targets["parcel_count"],
            "area_ha": pd.to_numeric(targets["area_ha"], errors="coerce").round(4),
            "categories": categories,
            "category_names": _named(categories, dict(CATEGORIES), lang),
            "lead_department": lead,
            "lead_department_name": lead.map(lambda c: names.get(c, (c, c))[idx]),
            "cooperating_departments": coop,
            "cooperating_department_names": _named(coop, names, lang),
            "criminal_threshold_met": targets["criminal_threshold_met"].astype(bool),
            "estimated_volume_m3": targets["estimated_volume_m3"],
            "complaint_count": targets["complaint_count"],
            "patch_area_ha": targets["patch_area_ha"],
            "open_problem_count": targets["open_problem_count"],
            "reasons": reasons,
        },
        index=targets.index,
    )
    frame = gpd.GeoDataFrame(props, geometry=targets.geometry.to_crs(4326), crs=4326)
    frame.index = frame["target_id"].to_numpy()
    doc: dict[str, Any] = json.loads(frame.to_json(na="null", drop_id=False))
    return doc


def _geojson(doc: dict[str, Any]) -> Response:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return Response(body, media_type=GEOJSON)


@router.get(
    "/targets",
    response_class=Response,
    responses={
        200: {
            "links": {
                "GetTarget": {
                    "operationRef": "#/paths/~1targets~1{target_id}/get",
                    "parameters": {"target_id": "$response.body#/features/0/properties/target_id"},
                    "description": "Read the first target listed.",
                }
            }
        }
    },
)
def list_targets(
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
) -> Response:
    """The caller's joint-enforcement targets as GeoJSON (联合执法目标), lon/lat."""
    names = department_labels(settings)
    chosen, present = select_targets(ws, principal, names, department, village, priority)
    if chosen is None:
        raise no_analysis(ws.path, web=True)
    doc = target_features(chosen, reasons_in(ws, chosen, lang, present), names, lang)
    filters = {"department": department, "village": village, "priority": priority}
    audit(
        request,
        principal,
        "targets.list",
        "targets",
        {"rows": len(doc["features"]), **{k: v for k, v in filters.items() if v}},
    )
    return _geojson(doc)


# --- export -----------------------------------------------------------------------------


def export_format(fmt: str | None) -> str:
    """``xlsx`` (default), ``csv``, ``gpkg`` or ``kml``; OptionError otherwise."""
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


def _keep_for(principal: Principal, target: str | None) -> Callable[[gpd.GeoDataFrame], np.ndarray]:
    def keep(frame: gpd.GeoDataFrame) -> np.ndarray:
        mask = principal.target_mask(frame)
        if target:
            mask = mask & (frame["target_id"].astype(str) == target).to_numpy()
        return mask

    return keep


@router.get("/targets/export", response_class=FileResponse)
def export_targets(
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    target: str | None = None,
) -> FileResponse:
    """Download the caller's targets (or one ``target``) as xlsx, csv, gpkg or kml."""
    from geoservice.files.exporting import export_layer

    fmt = export_format(fmt)
    ws.require()
    if "targets" not in ws.layer_names():
        raise no_analysis(ws.path, web=True)
    keep = _keep_for(principal, target)
    if target and not keep(ws.read("targets")).any():
        raise _no_target(target)
    rules = effective_rules(settings)
    names = department_labels(settings)
    code = department_code(department, names) if department else principal.department
    label = (code, names.get(code, (code, code))[1 if lang == "en" else 0]) if code else None
    shown, fallback = export_file_name(fmt, lang, label, target)
    with scratch_folder("geoservice-export-") as folder:
        result = export_layer(
            ws,
            "targets",
            folder / fallback,
            actor=principal.actor,
            fmt=fmt,
            lang=lang,
            department=department,
            village=village,
            priorities=priority.split(",") if priority else None,
            rules=rules,
            keep=keep,
            context={**request_context(request, principal), "target": target, "file": shown},
        )
        return download(result.path, folder, EXPORT_FORMATS[fmt], shown, fallback)


# --- one target -------------------------------------------------------------------------


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def target_evidence(ws: Workspace, parcel_ids: list[str], present: set[str]) -> dict[str, Any]:
    """The flagged parcels behind a target and the evidence ids they carry."""
    if "parcel_risk" not in present or not parcel_ids:
        return {"parcels": [], **{k: [] for k in _ID_LISTS}}
    info = ws.info("parcel_risk")
    columns = [c for c in _EVIDENCE_COLUMNS if c in set(info["fields"])]
    rows = ws.read(
        "parcel_risk",
        use_arrow=False,
        columns=columns,
        read_geometry=False,
        where=f"parcel_id IN ({_sql_list(parcel_ids)})",
    )
    rows = rows.sort_values("score", ascending=False, kind="stable")
    out: dict[str, Any] = {}
    for col in _ID_LISTS:
        if col in rows.columns:
            lists = _codes(rows[col])
            rows[col] = lists
            out[col] = sorted({i for ids in lists for i in ids})
        else:
            out[col] = []
    parcels: list[dict[str, Any]] = json.loads(rows.to_json(orient="records", force_ascii=False))
    return {"parcels": parcels, **out}


@router.get("/targets/{target_id}", response_class=Response)
def get_target(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
) -> Response:
    """One target as a GeoJSON Feature with its reasons and evidence (目标详情)."""
    targets, present = read_targets(ws)
    if targets is None:
        raise _no_target(target_id)
    hit = targets.loc[
        principal.target_mask(targets) & (targets["target_id"].astype(str) == target_id).to_numpy()
    ]
    if not len(hit):
        raise _no_target(target_id)
    names = department_labels(settings)
    feature = target_features(hit, reasons_in(ws, hit, lang, present), names, lang)["features"][0]
    props = feature["properties"]
    props["evidence"] = target_evidence(ws, props["parcel_ids"], present)
    audit(request, principal, "targets.read", target_id)
    return _geojson(feature)
