"""Audit of "not found" refusals of a signed-in caller.

An object outside the caller's scope (another village's problem, a target another
department leads, another department's map) is answered exactly like one that does not
exist: 404, naming only the id asked for. Such a refusal is still written to the audit log,
as ``access.not_found`` with who asked, for what (method, path, query, error code) and from
where, so that someone probing ids of other villages shows up; the log keeps what the caller
is not told.

Once per request: a route that audits its own refusal (``audit(..., {"refused": code})``)
is not audited again, and neither is a second error of the same request. A refusal before
anyone is known (no or a bad token) is the throttle's business
(:mod:`geoservice.api.throttle`).
"""

from __future__ import annotations

from fastapi import Request

from geoservice.api.deps import audit, refusal_audited
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError

__all__ = ["audit_not_found"]


def audit_not_found(request: Request, exc: NotFoundError) -> None:
    """Write one ``access.not_found`` row for a 404 of an authenticated caller."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or refusal_audited(request):
        return
    audit(request, principal, "access.not_found", request.url.path, {"refused": exc.code})
