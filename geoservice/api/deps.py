"""Dependencies shared by the routes: settings, workspace, caller, rules, audit.

A route declares ``principal: Caller`` to get the authenticated
:class:`~geoservice.base.access.Principal` (401 without a valid token), ``ws: WorkspaceDep`` for the
workspace, ``rules: RulesDep`` and ``names: DepartmentNamesDep`` for the effective rules and
department names, and calls :func:`audit` for everything that reads shared data, exports, imports
or changes state.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from geoservice.analysis.effective_rules import department_labels, effective_rules
from geoservice.analysis.rules import Rules
from geoservice.api import throttle
from geoservice.api.errors import request_lang
from geoservice.base.access import Principal, authenticate
from geoservice.base.errors import AuthenticationError
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.intake.complaints import ComplaintIntake
from layers.messages import Lang

__all__ = [
    "COOKIE",
    "Caller",
    "DepartmentNamesDep",
    "IntakeDep",
    "LangDep",
    "RulesDep",
    "SettingsDep",
    "WorkspaceDep",
    "app_intake",
    "audit",
    "client_address",
    "get_principal",
    "get_settings",
    "get_workspace",
    "refusal_audited",
    "request_context",
    "require",
]

COOKIE = "geoservice_token"
_INTAKE_LOCK = threading.Lock()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_workspace(request: Request) -> Workspace:
    return Workspace(get_settings(request).workspace)


def bearer_token(request: Request) -> str | None:
    """The caller's token: ``Authorization: Bearer <token>``; or HTTP Basic with the token
    as the password (what GDAL's ``USERPWD`` and QGIS's user/password fields send); else
    the sign-in cookie of the field pages."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic" and value.strip():
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return request.cookies.get(COOKIE) or None


def get_principal(request: Request) -> Principal:
    """The caller; AuthenticationError (401) without a valid token, TooManyAttemptsError
    (429) while the client address has failed too often (:mod:`geoservice.api.throttle`)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        refused: AuthenticationError | None = getattr(request.state, "auth_refused", None)
        if refused is not None:  # counted once per request
            raise refused
        ws, address = get_workspace(request), client_address(request)
        throttle.check_address(request, address)  # 429 after too many failures
        try:
            principal = authenticate(ws, bearer_token(request))
        except AuthenticationError as exc:
            request.state.auth_refused = exc
            throttle.record_failure(request, ws, address, exc)
            raise
        request.state.principal = principal
    return principal


def get_lang(request: Request) -> Lang:
    return request_lang(request)


# The dependencies below that only look at the request run on the event loop (async): a
# plain function dependency costs a hop to a worker thread and back on every request.


async def _settings_dep(request: Request) -> Settings:
    return get_settings(request)


async def _workspace_dep(request: Request) -> Workspace:
    return get_workspace(request)


async def _lang_dep(request: Request) -> Lang:
    return request_lang(request)


def get_rules(request: Request) -> Rules:
    """The effective analysis rules (cached per version of the override file)."""
    return effective_rules(get_settings(request))


def get_department_names(request: Request) -> dict[str, tuple[str, str]]:
    """Department code → (Chinese, English) name from the effective rules."""
    return department_labels(get_settings(request))


SettingsDep = Annotated[Settings, Depends(_settings_dep)]
WorkspaceDep = Annotated[Workspace, Depends(_workspace_dep)]
Caller = Annotated[Principal, Depends(get_principal)]  # reads the workspace: a worker thread
LangDep = Annotated[Lang, Depends(_lang_dep)]


def app_intake(app: FastAPI) -> ComplaintIntake:
    """The app's complaint intake (one per app and workspace), created on first use."""
    intake: ComplaintIntake | None = getattr(app.state, "complaint_intake", None)
    if intake is None:
        with _INTAKE_LOCK:
            intake = getattr(app.state, "complaint_intake", None)
            if intake is None:
                settings: Settings = app.state.settings
                intake = ComplaintIntake(Workspace(settings.workspace), settings.rules_path)
                app.state.complaint_intake = intake
    return intake


def get_intake(request: Request) -> ComplaintIntake:
    """The app's complaint intake (see :func:`app_intake`)."""
    return app_intake(request.app)


RulesDep = Annotated[Rules, Depends(get_rules)]
IntakeDep = Annotated[ComplaintIntake, Depends(get_intake)]
DepartmentNamesDep = Annotated[dict[str, tuple[str, str]], Depends(get_department_names)]


def require(*roles: str) -> Any:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    async def check(principal: Caller) -> Principal:  # on the event loop: no reading
        principal.require(*roles)
        return principal

    check.__dict__["roles"] = roles  # read by the upload limits before the body is read
    return Depends(check)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def request_context(request: Request, principal: Principal) -> dict[str, Any]:
    """Who and from where, for an audit row: user id, client address, method, path, query."""
    row = {
        "user_id": principal.user_id,
        "from": client_address(request),
        "method": request.method,
        "path": request.url.path,
    }
    if request.url.query:
        row["query"] = request.url.query
    return row


def audit(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append who, when, what and from where to the workspace's audit log.

    A row whose detail has ``refused`` marks the request's refusal as audited
    (:func:`refusal_audited`), so it is not audited twice."""
    row = {**(detail or {}), **request_context(request, principal)}
    get_workspace(request).log(principal.actor, action, target, row)
    if "refused" in row:
        request.state.refusal_audited = True


def refusal_audited(request: Request) -> bool:
    """Whether a refusal of this request is already in the audit log."""
    return bool(getattr(request.state, "refusal_audited", False))
