"""Phone pages of a change patch (森林督查变化图斑) for the verifier.

``/app/patches/{id}``: the patch's facts, map, state with its stage deadline, links and
history; for the office and the forestry department a form to verify it (legality, date,
note, photos) or move it to its next stage, version-checked: a form based on an older
version is answered 412 with what changed and the typed text kept. A village cadre reads
its own village's patches. The domain work is in :mod:`geoservice.tasks.patch_detail`;
errors become pages as on the other field pages (:class:`~geoservice.api.routes.pages.PageRoute`).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from geoservice.api.csrf import FIELD, check_form_token
from geoservice.api.deps import SettingsDep, WorkspaceDep, audit, request_context
from geoservice.api.errors import status_for
from geoservice.api.forms import form_day, form_photos, form_version
from geoservice.api.limits import check_length, current_limit
from geoservice.api.pages.render import page_lang, render
from geoservice.api.pages.routing import PagePrincipal, PageRoute, Today, with_lang
from geoservice.api.responses import photo_response
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, StaleVersionError, TooLargeError
from geoservice.tasks.patch_detail import (
    PatchDetail,
    patch_changes_since,
    patch_detail,
    submit_patch,
)
from geoservice.tasks.patch_records import cause_words
from geoservice.workflow.patch_access import patch_photo
from geoservice.workflow.patch_states import LEGALITIES
from layers.errors import MessageError

__all__ = ["router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])


def _page(
    request: Request,
    principal: Principal,
    detail: PatchDetail,
    today: date,
    max_photo_mb: int,
    status_code: int = 200,
    **values: Any,
) -> Response:
    lang = page_lang(request)
    defaults: dict[str, Any] = {
        "saved": False,
        "error": None,
        "changes": None,
        "note": "",
        "chosen": None,
        "legality": None,
        "verified_on": None,
    }
    return render(
        request,
        "patch.html",
        principal,
        status_code=status_code,
        detail=detail,
        today=today.isoformat(),
        legalities=LEGALITIES,
        cause=lambda code: cause_words(code, lang),
        max_photo_mb=max_photo_mb,
        max_note_chars=current_limit("note"),
        **{**defaults, **values},
    )


@router.get("/app/patches/{patch_id}")
def patch_page(
    request: Request,
    patch_id: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
    today: Today,
) -> Response:
    """A change patch's facts, map, state, links and history; the verifier's form when
    the person may move it on."""
    detail = patch_detail(ws, principal, patch_id, today, settings.evidence_path())
    audit(request, principal, "page.patch", patch_id)
    saved = request.query_params.get("saved") == "1"
    return _page(request, principal, detail, today, settings.max_photo_mb, saved=saved)


def _legality(text: str) -> str | None:
    return text.strip() or None


@router.post("/app/patches/{patch_id}")
async def act_on_patch(
    request: Request,
    patch_id: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
    today: Today,
) -> Response:
    """Verify a patch or move it on (next stage, legality, date, note, up to 4 photos).

    Success: 303 to the patch page. A change made meanwhile by someone else: 412 with what
    changed and the typed text kept. Refused photos or fields: the page again with the
    message (413/422).
    """
    async with request.form(max_files=16, max_fields=16) as form:
        fields = {k: str(form.get(k) or "") for k in ("to", "legality", "verified_on", "note")}
        raw_version = str(form.get("version") or "")
        photos = await form_photos(form)
        sent_token = form.get(FIELD)
    typed = {
        "note": fields["note"],
        "chosen": fields["to"],
        "legality": _legality(fields["legality"]),
        "verified_on": fields["verified_on"],
    }
    detail_of: dict[str, Any] = {"to": fields["to"], "version": raw_version, "photos": len(photos)}
    version = None
    try:
        check_form_token(request, sent_token)
        check_length("note", fields["note"], "note")
        version = form_version(raw_version, "pages.bad_patch_version", "图斑页面", "patch page")
        change = submit_patch(
            ws,
            principal,
            patch_id,
            to=fields["to"],
            legality=_legality(fields["legality"]),
            verified_on=form_day(
                fields["verified_on"],
                None,
                code="pages.bad_verified_on",
                name=("核实日期", "The verification date"),
            ),
            note=fields["note"],
            version=version,
            photos=photos,
            evidence_folder=settings.evidence_path(),
            max_photo_bytes=settings.max_photo_bytes,
            as_of=today,
            context=request_context(request, principal),
        )
    except MessageError as exc:
        audit(request, principal, "page.patch.act", patch_id, {**detail_of, "refused": exc.code})
        if not isinstance(exc, StaleVersionError | OptionError | TooLargeError):
            raise
        detail = patch_detail(ws, principal, patch_id, today, settings.evidence_path())
        shown: dict[str, Any] = {"error": exc.text(page_lang(request))}
        if isinstance(exc, StaleVersionError) and version is not None:
            shown = {"changes": patch_changes_since(ws, patch_id, version)}
        return _page(
            request,
            principal,
            detail,
            today,
            settings.max_photo_mb,
            status_for(exc),
            **typed,
            **shown,
        )
    audit(
        request,
        principal,
        "page.patch.act",
        patch_id,
        {**detail_of, "state": change["to_state"], "version": change["version"]},
    )
    target = f"/app/patches/{quote(patch_id, safe='')}?saved=1"
    return RedirectResponse(with_lang(request, target), status_code=303)


@router.get("/app/patches/{patch_id}/photos/{name}")
def patch_photo_file(
    request: Request,
    patch_id: str,
    name: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
) -> Response:
    """One photo (JPEG) of a patch the person may see."""
    path = patch_photo(ws, principal, patch_id, name, settings.evidence_path())
    audit(request, principal, "page.patch.photo", f"{patch_id}/{name}")
    return photo_response(path)
