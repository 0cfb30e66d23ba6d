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
    The same selection (or one ``target``) as ``xlsx`` (printable: A4 landscape, header
    row on every page), ``csv``, ``gpkg``, ``kml`` or ``geojson`` (labels beside the codes),
    each with the lon/lat of a point inside the target and its deadline, written by
    :func:`geoservice.files.target_export.export_targets` and sent with a Chinese file name.
``GET /targets/{target_id}``
    One target as a GeoJSON Feature with its reasons and evidence: the flagged parcels with
    their scores and the ids of the complaints, change patches and problems behind them.
``GET /targets/{target_id}/dossier``
    The target's joint-enforcement work order (联合执法任务书) as ``format=pdf`` (default)
    or ``html``, A4, in the caller's language; the reporter's phone for the office only
    (:func:`geoservice.reports.dossier.render_dossier`).

The queries and the GeoJSON are built by :mod:`geoservice.analysis.target_queries`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from geoservice.analysis.target_queries import target_feature, targets_collection
from geoservice.api.deps import (
    DepartmentNamesDep,
    LangDep,
    RulesDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    request_context,
    require,
)
from geoservice.api.origin import public_base
from geoservice.api.responses import content_disposition, download, scratch_folder
from geoservice.base.access import Principal
from geoservice.files.target_export import export_targets as write_export
from geoservice.reports.dossier import render_dossier

router = APIRouter(tags=["targets"])

GEOJSON = "application/geo+json"
Viewer = Annotated[Principal, require("office", "department")]


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
    names: DepartmentNamesDep,
    lang: LangDep,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
) -> Response:
    """The caller's joint-enforcement targets as GeoJSON (联合执法目标), lon/lat."""
    filters = {"department": department, "village": village, "priority": priority}
    doc = targets_collection(ws, principal, names, lang, **filters)
    detail = {"rows": len(doc["features"]), **{k: v for k, v in filters.items() if v}}
    audit(request, principal, "targets.list", "targets", detail)
    return _geojson(doc)


@router.get("/targets/export", response_class=FileResponse)
def export_targets(
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    rules: RulesDep,
    names: DepartmentNamesDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    target: str | None = None,
) -> FileResponse:
    """Download the caller's targets (or one ``target``) as xlsx, csv, gpkg, kml or geojson."""
    with scratch_folder("geoservice-export-") as folder:
        done = write_export(
            ws,
            principal,
            folder,
            fmt=fmt,
            lang=lang,
            rules=rules,
            names=names,
            department=department,
            village=village,
            priority=priority,
            target=target,
            context=request_context(request, principal),
        )
        return download(done.result.path, folder, done.media_type, done.shown, done.fallback)


@router.get("/targets/{target_id}", response_class=Response)
def get_target(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    names: DepartmentNamesDep,
    lang: LangDep,
) -> Response:
    """One target as a GeoJSON Feature with its reasons and evidence (目标详情)."""
    feature = target_feature(ws, principal, target_id, names, lang)
    audit(request, principal, "targets.read", target_id)
    return _geojson(feature)


@router.get(
    "/targets/{target_id}/dossier",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}}}},
)
def target_dossier(
    target_id: str,
    request: Request,
    principal: Viewer,
    ws: WorkspaceDep,
    rules: RulesDep,
    settings: SettingsDep,
    lang: LangDep,
    fmt: Annotated[str | None, Query(alias="format")] = None,
) -> Response:
    """The target's joint-enforcement work order, PDF or HTML on A4 (联合执法任务书)."""
    done = render_dossier(
        ws,
        principal,
        target_id,
        rules,
        fmt,
        lang=lang,
        base_url=public_base(settings, request.scope),
    )
    audit(
        request, principal, "targets.read", target_id, {"document": "dossier", "format": done.fmt}
    )
    disposition = content_disposition(done.name, done.fallback, "inline")
    return Response(
        done.body, media_type=done.media_type, headers={"Content-Disposition": disposition}
    )
