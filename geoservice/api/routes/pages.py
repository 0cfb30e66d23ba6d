"""Field pages: sign-in, "my tasks", a problem with its report form, a target with its
action form.

Server-rendered HTML (:mod:`geoservice.api.pages`) for a village cadre on a cheap phone and a
department officer. The routes use :class:`PageRoute`, which turns the domain errors into
pages instead of JSON: no valid token → a redirect to ``/signin`` (with ``?reason=`` when the
token is expired, revoked or unknown), anything else → an error page with the status of
:mod:`geoservice.api.errors` (an object outside the caller's scope is a 404 page).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from geoservice.api.csrf import FIELD, check_form_token
from geoservice.api.deps import (
    COOKIE,
    SettingsDep,
    WorkspaceDep,
    audit,
    client_address,
    get_principal,
    request_context,
)
from geoservice.api.errors import status_for
from geoservice.api.forms import form_day, form_people, form_photos, form_version
from geoservice.api.limits import check_length, current_limit
from geoservice.api.pages.photo_notes import problem_notes, target_notes
from geoservice.api.pages.render import page_lang, render, static_asset
from geoservice.api.pages.routing import (
    PagePrincipal,
    PageRoute,
    Today,
    error_page,
    get_today,
    page_principal,
    with_lang,
)
from geoservice.api.pages.words import WORDS
from geoservice.api.responses import asset_response
from geoservice.api.throttle import check_address, record_failure
from geoservice.base.access import Principal, authenticate
from geoservice.base.errors import (
    AuthenticationError,
    OptionError,
    StaleVersionError,
    TooLargeError,
    TooManyAttemptsError,
    message,
)
from geoservice.tasks import lists as tasks
from geoservice.tasks.detail import submit_action
from geoservice.tasks.escalation_records import village_letters
from geoservice.tasks.patch_records import patch_tasks
from layers.codes import PROBLEM_STATES
from layers.errors import MessageError
from layers.messages import pick

__all__ = ["PageRoute", "get_today", "page_principal", "router", "with_lang"]

COOKIE_DAYS = 30
STATIC_MAX_AGE = 7 * 24 * 3600


router = APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])


# --- sign-in ----------------------------------------------------------------------------


@router.get("/")
def home(request: Request, principal: PagePrincipal) -> RedirectResponse:
    """Signed in: the task list; otherwise the sign-in page (via :class:`PageRoute`)."""
    return RedirectResponse(with_lang(request, "/app"), status_code=303)


@router.get("/signin")
def signin_form(request: Request, reason: str = "") -> Response:
    """The sign-in form, with why the person was sent here (expired, revoked, ...)."""
    key = f"reason.{reason}"
    lang = page_lang(request)
    error = pick(lang, *WORDS[key]) if key in WORDS else None
    return render(request, "signin.html", None, error=error)


@router.post("/signin")
def signin(request: Request, ws: WorkspaceDep, token: Annotated[str, Form()] = "") -> Response:
    """Check the token; set the HttpOnly sign-in cookie and go to the task list."""
    token = token.strip()
    address = client_address(request)
    try:
        check_address(request, address)
        principal = authenticate(ws, token)
    except TooManyAttemptsError as exc:
        return error_page(request, exc)
    except AuthenticationError as exc:
        record_failure(request, ws, address, exc)  # audited once per address and window
        return render(
            request, "signin.html", None, status_code=401, error=exc.text(page_lang(request))
        )
    audit(request, principal, "page.signin", principal.user_id)
    response = RedirectResponse(with_lang(request, "/app"), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_DAYS * 24 * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/signout")
def signout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Forget the sign-in cookie (the form's ``csrf_token`` must match the cookie)."""
    try:
        principal = get_principal(request)
    except AuthenticationError:
        principal = None
    if principal is not None:
        try:
            check_form_token(request, csrf_token)
        except MessageError as exc:
            audit(request, principal, "page.signout", principal.user_id, {"refused": exc.code})
            raise
        audit(request, principal, "page.signout", principal.user_id)
    response = RedirectResponse(with_lang(request, "/signin?reason=signed_out"), status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# --- tasks ------------------------------------------------------------------------------


def _filters(request: Request) -> tasks.TaskFilters:
    q = request.query_params
    page = q.get("page", "1")
    if not page.isdigit():
        raise OptionError(
            message(
                "pages.bad_page",
                f"页码为“{page}”，应为正整数。",
                f"`page` was {page!r} but is expected to be a positive whole number.",
            )
        )
    return tasks.TaskFilters(
        village=q.get("village") or None,
        state=q.get("state") or None,
        overdue_only=q.get("overdue") in ("1", "on", "true"),
        page=int(page),
    )


@router.get("/app")
def my_tasks(
    request: Request, principal: PagePrincipal, ws: WorkspaceDep, today: Today
) -> Response:
    """What the person has to do: by role (village, department, office, viewer)."""
    audit(request, principal, "page.tasks", principal.role)
    patches = patch_tasks(ws, principal, today)
    if principal.role == "village":
        items = tasks.village_tasks(ws, principal, today)
        letters = village_letters(ws, principal, page_lang(request))
        return render(
            request,
            "tasks_village.html",
            principal,
            problems=items,
            patches=patches,
            escalations=letters,
        )
    if principal.role == "department":
        dept = tasks.department_tasks(ws, principal, today)
        return render(
            request,
            "tasks_department.html",
            principal,
            targets=dept.targets,
            problems=dept.problems,
            patches=patches,
        )
    if principal.role == "office":
        office = tasks.office_tasks(ws, principal, today, _filters(request))
        return render(
            request,
            "tasks_office.html",
            principal,
            office=office,
            states=PROBLEM_STATES,
            patches=patches,
        )
    summary = tasks.public_summary(ws, today)
    return render(request, "tasks_viewer.html", principal, villages=summary)


# --- a problem --------------------------------------------------------------------------


def _problem_page(
    request: Request,
    principal: Principal,
    detail: tasks.ProblemDetail,
    max_photo_mb: int,
    status_code: int = 200,
    **values: Any,
) -> Response:
    defaults: dict[str, Any] = {
        "saved": False,
        "error": None,
        "changes": None,
        "note": "",
        "chosen": None,
        "max_note_chars": current_limit("note"),
        "places": problem_notes(request, detail),
    }
    return render(
        request,
        "problem.html",
        principal,
        status_code=status_code,
        detail=detail,
        max_photo_mb=max_photo_mb,
        **{**defaults, **values},
    )


@router.get("/app/problems/{problem_id}")
def problem_page(
    request: Request,
    problem_id: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
    today: Today,
) -> Response:
    """What, where, deadline and history of a problem; the report form when the person
    may move it on."""
    detail = tasks.problem_detail(ws, principal, problem_id, today)
    audit(request, principal, "page.problem", problem_id)
    saved = request.query_params.get("saved") == "1"
    return _problem_page(request, principal, detail, settings.max_photo_mb, saved=saved)


@router.post("/app/problems/{problem_id}")
async def report_problem(
    request: Request,
    problem_id: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
    today: Today,
) -> Response:
    """Store a progress or completion report (state, note, up to 4 photos).

    Success: 303 to the problem page. A change made meanwhile by someone else: 409 with
    what changed. Refused photos or fields: the page again with the message (413/422).
    """
    async with request.form(max_files=16, max_fields=16) as form:
        to, note = str(form.get("to") or ""), str(form.get("note") or "")
        raw_version = str(form.get("version") or "")
        photos = await form_photos(form)
        sent_token = form.get(FIELD)
    detail_of: dict[str, Any] = {"to": to, "version": raw_version, "photos": len(photos)}
    try:
        check_form_token(request, sent_token)
        check_length("note", note, "note")
        version = form_version(raw_version, "pages.bad_version", "问题页面", "problem page")
        tasks.submit_update(
            ws,
            principal,
            problem_id,
            to=to,
            note=note,
            version=version,
            photos=photos,
            evidence_folder=settings.evidence_path(),
            max_photo_bytes=settings.max_photo_bytes,
            as_of=today,
            context=request_context(request, principal),
        )
    except MessageError as exc:
        refused = {**detail_of, "refused": exc.code}
        audit(request, principal, "page.problem.report", problem_id, refused)
        if not isinstance(exc, StaleVersionError | OptionError | TooLargeError):
            raise
        detail = tasks.problem_detail(ws, principal, problem_id, today)
        if isinstance(exc, StaleVersionError):  # 409: what changed meanwhile
            shown: dict[str, Any] = {"changes": tasks.changes_since(ws, problem_id, version)}
            status = 409
        else:
            shown, status = {"error": exc.text(page_lang(request))}, status_for(exc)
        return _problem_page(
            request, principal, detail, settings.max_photo_mb, status, note=note, chosen=to, **shown
        )
    return RedirectResponse(
        with_lang(request, f"/app/problems/{quote(problem_id, safe='')}?saved=1"), status_code=303
    )


# --- a target ---------------------------------------------------------------------------


@router.get("/app/targets/{target_id}")
def target_page(
    request: Request, target_id: str, principal: PagePrincipal, ws: WorkspaceDep, today: Today
) -> Response:
    """A target the office or a lead/cooperating department sees: map, reasons, evidence,
    departments and the link to its table."""
    detail = tasks.target_detail(ws, principal, target_id, today, page_lang(request))
    audit(request, principal, "page.target", target_id)
    saved = request.query_params.get("saved") == "1"
    return _target_page(request, principal, detail, today, saved=saved)


def _target_page(
    request: Request,
    principal: Principal,
    detail: tasks.TargetDetail,
    today: date,
    status_code: int = 200,
    **values: Any,
) -> Response:
    defaults: dict[str, Any] = {"saved": False, "error": None, "form": {}, "today": today}
    defaults["places"] = target_notes(request, detail)
    return render(
        request,
        "target.html",
        principal,
        status_code=status_code,
        detail=detail,
        max_note_chars=current_limit("note"),
        **{**defaults, **values},
    )


@router.post("/app/targets/{target_id}")
async def act_on_target(
    request: Request,
    target_id: str,
    principal: PagePrincipal,
    ws: WorkspaceDep,
    settings: SettingsDep,
    today: Today,
) -> Response:
    """Store what the officer's department did on a target (date, action, people deployed,
    seizures, note, up to 4 photos). Success: 303 to the target page; refused fields or
    photos: the page again with the message (413/422)."""
    async with request.form(max_files=16, max_fields=16) as form:
        fields = {k: str(form.get(k) or "") for k in ("action", "people", "seizures", "note")}
        fields["acted_on"] = str(form.get("acted_on") or "")
        photos = await form_photos(form)
        sent_token = form.get(FIELD)
    try:
        check_form_token(request, sent_token)
        for name in ("action", "seizures", "note"):
            check_length(name, fields[name], "note")
        record = submit_action(
            ws,
            principal,
            target_id,
            action=fields["action"],
            acted_on=form_day(fields["acted_on"], today),
            people=form_people(fields["people"]),
            seizures=fields["seizures"],
            note=fields["note"],
            photos=photos,
            evidence_folder=settings.evidence_path(),
            max_photo_bytes=settings.max_photo_bytes,
            context=request_context(request, principal),
        )
    except MessageError as exc:
        audit(request, principal, "page.target.action", target_id, {"refused": exc.code})
        if not isinstance(exc, OptionError | TooLargeError):
            raise
        detail = tasks.target_detail(ws, principal, target_id, today, page_lang(request))
        shown = {"error": exc.text(page_lang(request)), "form": fields}
        return _target_page(request, principal, detail, today, status_for(exc), **shown)
    audit(request, principal, "page.target.action", target_id, {"photos": len(record["photos"])})
    return RedirectResponse(
        with_lang(request, f"/app/targets/{quote(target_id, safe='')}?saved=1"), status_code=303
    )


# --- static files -----------------------------------------------------------------------


@router.get("/static/pages/{name}")
def static_file(request: Request, name: str) -> Response:
    """``field.css`` / ``field.js`` with a long public cache and an ETag."""
    asset = static_asset(name)
    if asset is None:
        return Response(status_code=404)
    cache = f"public, max-age={STATIC_MAX_AGE}"
    return asset_response(request, asset.body, asset.media_type, asset.etag, cache)
