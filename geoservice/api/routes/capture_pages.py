"""Field pages for capture on the spot: a new problem (village cadre, office), an
observation at a target (department officer), patrol tracks, and the survey CRS the map
context of the problem and target pages shows coordinates in.

- ``GET|POST /app/capture``: a new problem with the phone's position, a drawn area, photos;
- ``GET|POST /app/targets/{id}/observe``: an on-the-spot observation at a target;
- ``GET|POST /app/patrol``: start, stop and save a patrol track, and the recent ones;
- ``GET /app/field/crs.json``: the workspace CRS as a PROJ string (for proj4 on the phone).

Every form carries ``data-offline-queue`` (kept on the phone and sent when the network
returns) and a ``submission_id`` the page draws anew: a form replayed after a lost reply is
answered with what the first one created (303 to it), and nothing is stored twice. The
rules live in :mod:`geoservice.workflow.capture` and :mod:`geoservice.workflow.patrols`.
"""

from __future__ import annotations

import json
import uuid
import warnings
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import shapely
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from geoservice.api.csrf import FIELD, check_form_token
from geoservice.api.deps import SettingsDep, WorkspaceDep, audit, request_context
from geoservice.api.errors import status_for
from geoservice.api.forms import form_day, form_photos
from geoservice.api.limits import check_length
from geoservice.api.pages.field_words import field_words
from geoservice.api.pages.render import page_lang, render, static_asset
from geoservice.api.pages.routing import PageRoute, Today, page_principal
from geoservice.base.access import Principal
from geoservice.base.errors import (
    OptionError,
    PermissionDeniedError,
    TooLargeError,
    message,
)
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.tasks import lists as tasks
from geoservice.workflow import capture, patrols
from geoservice.workflow.field_scope import (
    field_limits,
    lonlat_feature,
    metric_crs,
    outlines,
    village_outline,
)
from layers.codes import CATEGORIES
from layers.errors import MessageError
from layers.messages import pick

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])
SHOWN_ERRORS = (OptionError, TooLargeError, PermissionDeniedError)
CAPTURE_FIELDS: tuple[str, ...] = (
    "submission_id",
    "category",
    "description",
    "deadline",
    "lon",
    "lat",
    "accuracy",
    "area",
)


def _href(request: Request, path: str, **query: str) -> str:
    """``path`` with ``query`` and the page's language."""
    if page_lang(request) == "en":
        query["lang"] = "en"
    return path + ("?" + urlencode(query) if query else "")


async def _form(
    request: Request, names: tuple[str, ...]
) -> tuple[dict[str, str], list[tuple[str, bytes]], object]:
    """The text fields ``names``, the chosen photos and the sent CSRF token of a form."""
    async with request.form(max_files=16, max_fields=24) as form:
        fields = {k: str(form.get(k) or "") for k in names}
        return fields, await form_photos(form), form.get(FIELD)


def _page(
    request: Request, template: str, principal: Principal, status: int = 200, **values: Any
) -> Response:
    lang = page_lang(request)
    script = static_asset("capture.js")
    defaults: dict[str, Any] = {
        "error": None,
        "form": {},
        "submission_id": uuid.uuid4().hex,
        "capture_js": "/static/pages/capture.js?v=" + (script.etag.strip('"') if script else ""),
    }
    return render(
        request,
        template,
        principal,
        status_code=status,
        w=field_words(lang),
        **{**defaults, **values},
    )


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _village_shapes(ws: Workspace, principal: Principal) -> dict[str, Any]:
    """The map's outline as GeoJSON (degrees): the cadre's village, or for the others the
    town (every village of the layer, merged and simplified to 20 m)."""
    if principal.role == "village" and principal.village_code:
        _name, outline = village_outline(ws, principal.village_code)
    else:
        villages = ws.read("villages", columns=["village_code"]).geometry.to_numpy()
        outline = shapely.union_all(villages).simplify(20)
    return _collection(lonlat_feature(ws, outline, "village"))


# --- a new problem ----------------------------------------------------------------------


def _capture_page(
    request: Request,
    principal: Principal,
    ws: Workspace,
    settings: Settings,
    today: date,
    status: int = 200,
    **values: Any,
) -> Response:
    lang = page_lang(request)
    categories = [(code, pick(lang, *words)) for code, words in CATEGORIES.items()]
    deadline = today + timedelta(days=field_limits().deadline_days)
    return _page(
        request,
        "capture_problem.html",
        principal,
        status,
        categories=categories,
        deadline=deadline.isoformat(),
        shapes=_village_shapes(ws, principal),
        max_photo_mb=settings.max_photo_mb,
        **values,
    )


@router.get("/app/capture")
def capture_form(
    request: Request, ws: WorkspaceDep, settings: SettingsDep, today: Today
) -> Response:
    """The form of a new problem recorded on the spot (village cadres, the office)."""
    principal = page_principal(request)
    principal.require("village", "office")
    audit(request, principal, "page.capture", principal.village_code or principal.role)
    return _capture_page(request, principal, ws, settings, today)


@router.post("/app/capture")
async def capture_submit(
    request: Request, ws: WorkspaceDep, settings: SettingsDep, today: Today
) -> Response:
    """Store a new problem; 303 to its page (also for a replayed submission)."""
    principal = page_principal(request)
    fields, photos, sent = await _form(request, CAPTURE_FIELDS)
    try:
        check_form_token(request, sent)
        principal.require("village", "office")
        check_length("description", fields["description"], "note")
        pid, created = capture.capture_problem(
            ws,
            principal,
            category=fields["category"],
            description=fields["description"],
            lon=fields["lon"],
            lat=fields["lat"],
            accuracy_m=fields["accuracy"] or None,
            area=fields["area"] or None,
            deadline=form_day(fields["deadline"], None, example="2026-12-31"),
            photos=photos,
            evidence_folder=settings.evidence_path(),
            max_photo_bytes=settings.max_photo_bytes,
            submission_id=fields["submission_id"] or None,
            today=today,
            context=request_context(request, principal),
        )
    except MessageError as exc:
        audit(request, principal, "page.capture.submit", "problems", {"refused": exc.code})
        if not isinstance(exc, SHOWN_ERRORS):
            raise
        error = exc.text(page_lang(request))
        return _capture_page(
            request, principal, ws, settings, today, status_for(exc), error=error, form=fields
        )
    audit(
        request, principal, "page.capture.submit", pid, {"created": created, "photos": len(photos)}
    )
    page = _href(request, f"/app/problems/{quote(pid, safe='')}", saved="1")
    return RedirectResponse(page, status_code=303)


# --- an observation at a target ---------------------------------------------------------


def _observe_page(
    request: Request,
    principal: Principal,
    settings: Settings,
    subject: dict[str, Any],
    status: int = 200,
    **values: Any,
) -> Response:
    """The observation form of a target or patch (``subject``: kind, id, shapes, page)."""
    return _page(
        request,
        "capture_observation.html",
        principal,
        status,
        subject=subject,
        shapes=subject["shapes"],
        reach=int(field_limits().observation_distance_m),
        max_photo_mb=settings.max_photo_mb,
        **values,
    )


def _target_subject(
    request: Request, ws: Workspace, principal: Principal, target_id: str, today: date
) -> dict[str, Any]:
    detail = tasks.target_detail(ws, principal, target_id, today, page_lang(request))
    return {
        "kind": "target",
        "id": target_id,
        "shapes": detail.shapes,
        "page": f"/app/targets/{quote(target_id, safe='')}",
    }


def _patch_subject(ws: Workspace, principal: Principal, patch_id: str) -> dict[str, Any]:
    capture.check_patch_observer(ws, principal, patch_id)
    shapes = outlines(ws, "patches", "patch_id", [patch_id])
    features = [lonlat_feature(ws, shapes.iloc[0], "target")] if len(shapes) else []
    return {
        "kind": "patch",
        "id": patch_id,
        "shapes": _collection(*features),
        "page": f"/app/patches/{quote(patch_id, safe='')}",
    }


OBSERVE_FIELDS = ("submission_id", "note", "lon", "lat", "accuracy", "area")


@router.get("/app/targets/{target_id}/observe")
def observe_target_form(
    request: Request, target_id: str, ws: WorkspaceDep, settings: SettingsDep, today: Today
) -> Response:
    """The form of an observation at a target in the officer's scope."""
    principal = page_principal(request)
    audit(request, principal, "page.observe", target_id)
    subject = _target_subject(request, ws, principal, target_id, today)
    return _observe_page(request, principal, settings, subject)


@router.get("/app/patches/{patch_id}/observe")
def observe_patch_form(
    request: Request, patch_id: str, ws: WorkspaceDep, settings: SettingsDep
) -> Response:
    """The form of an observation at a change patch (the office, department officers)."""
    principal = page_principal(request)
    audit(request, principal, "page.observe", patch_id)
    return _observe_page(request, principal, settings, _patch_subject(ws, principal, patch_id))


async def _observe(
    request: Request, ws: Workspace, settings: Settings, kind: str, object_id: str, today: date
) -> Response:
    principal = page_principal(request)
    fields, photos, sent = await _form(request, OBSERVE_FIELDS)
    values: dict[str, Any] = {
        "note": fields["note"],
        "lon": fields["lon"],
        "lat": fields["lat"],
        "accuracy_m": fields["accuracy"] or None,
        "area": fields["area"] or None,
        "photos": photos,
        "evidence_folder": settings.evidence_path(),
        "max_photo_bytes": settings.max_photo_bytes,
        "submission_id": fields["submission_id"] or None,
        "context": request_context(request, principal),
    }
    try:
        check_form_token(request, sent)
        check_length("note", fields["note"], "note")
        if kind == "target":
            created = capture.observe_target(ws, principal, object_id, today=today, **values)
        else:
            created = capture.observe_patch(ws, principal, object_id, **values)
    except MessageError as exc:
        audit(request, principal, "page.observe.submit", object_id, {"refused": exc.code})
        if not isinstance(exc, SHOWN_ERRORS):
            raise
        subject = (
            _target_subject(request, ws, principal, object_id, today)
            if kind == "target"
            else _patch_subject(ws, principal, object_id)
        )
        error = exc.text(page_lang(request))
        return _observe_page(
            request, principal, settings, subject, status_for(exc), error=error, form=fields
        )
    audit(
        request,
        principal,
        "page.observe.submit",
        object_id,
        {"created": created, "photos": len(photos)},
    )
    page = f"/app/{'targets' if kind == 'target' else 'patches'}/{quote(object_id, safe='')}"
    return RedirectResponse(_href(request, page, saved="1"), status_code=303)


@router.post("/app/targets/{target_id}/observe")
async def observe_target_submit(
    request: Request, target_id: str, ws: WorkspaceDep, settings: SettingsDep, today: Today
) -> Response:
    """Store an observation as an action record with its position; 303 to the target."""
    return await _observe(request, ws, settings, "target", target_id, today)


@router.post("/app/patches/{patch_id}/observe")
async def observe_patch_submit(
    request: Request, patch_id: str, ws: WorkspaceDep, settings: SettingsDep, today: Today
) -> Response:
    """Store an observation in the patch's history with its position; 303 to the patch."""
    return await _observe(request, ws, settings, "patch", patch_id, today)


# --- patrols ----------------------------------------------------------------------------


def _patrol_page(
    request: Request, principal: Principal, ws: Workspace, status: int = 200, **values: Any
) -> Response:
    recent = patrols.list_patrols(ws, principal)[-10:][::-1]
    for row in recent:
        row.pop("track", None)
    shapes = _village_shapes(ws, principal)
    return _page(request, "patrol.html", principal, status, recent=recent, shapes=shapes, **values)


@router.get("/app/patrol")
def patrol_page(request: Request, ws: WorkspaceDep) -> Response:
    """Start and stop a patrol; the person's recent patrols."""
    principal = page_principal(request)
    audit(request, principal, "page.patrol", principal.user_id)
    saved = request.query_params.get("saved") or None
    return _patrol_page(request, principal, ws, saved=saved)


def _track(text: str) -> list[Any]:
    try:
        points = json.loads(text) if text.strip() else []
    except ValueError:
        points = None
    if not isinstance(points, list):
        raise OptionError(
            message(
                "patrols.bad_track",
                "巡护轨迹数据无法读取（应为位置列表）；请重新开始巡护。",
                "The patrol track cannot be read (a list of positions is expected); start "
                "the patrol again.",
            )
        )
    return points


@router.post("/app/patrol")
async def patrol_submit(request: Request, ws: WorkspaceDep) -> Response:
    """Save a patrol track; 303 to the patrol page naming it (also for a replay)."""
    principal = page_principal(request)
    fields, _photos, sent = await _form(request, ("submission_id", "track", "note"))
    try:
        check_form_token(request, sent)
        check_length("note", fields["note"], "note")
        record = patrols.record_patrol(
            ws,
            principal,
            _track(fields["track"]),
            submission_id=fields["submission_id"] or None,
            note=fields["note"],
            context=request_context(request, principal),
        )
    except MessageError as exc:
        audit(request, principal, "page.patrol.submit", "patrols", {"refused": exc.code})
        if not isinstance(exc, SHOWN_ERRORS):
            raise
        error = exc.text(page_lang(request))
        return _patrol_page(request, principal, ws, status_for(exc), error=error, saved=None)
    pid = str(record["patrol_id"])
    audit(request, principal, "page.patrol.submit", pid, {"replayed": record["replayed"]})
    return RedirectResponse(_href(request, "/app/patrol", saved=pid), status_code=303)


# --- the survey CRS ---------------------------------------------------------------------


@router.get("/app/field/crs.json")
def survey_crs(request: Request, ws: WorkspaceDep) -> Response:
    """The workspace CRS (name, EPSG code, PROJ string) for positions in survey coordinates."""
    page_principal(request)
    crs = metric_crs(ws)
    with warnings.catch_warnings():  # a PROJ string drops datum details: fine for display
        warnings.simplefilter("ignore", UserWarning)
        proj = crs.to_proj4()
    body = {"name": crs.name, "epsg": crs.to_epsg(), "proj4": proj}
    return JSONResponse(body, headers={"Cache-Control": "private, max-age=86400"})
