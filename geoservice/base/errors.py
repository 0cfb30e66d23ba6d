"""The exception tree of the service.

``geoservice.base.errors`` holds what the workspace and the service refuse: unknown or
unauthorised callers, missing objects, conflicting or stale changes, bad options. It sits
beside :class:`layers.errors.LayersError` (a survey file cannot be used), under their
shared root :class:`layers.errors.MessageError`; errors from :mod:`layers` pass through
unchanged. The HTTP layer maps both trees to status codes in one table
(:data:`geoservice.api.errors.STATUS`); the CLI prints the message and exits with status 2.

::

    MessageError (layers.errors)
    ├── LayersError                  a survey file cannot be used (layers.errors)
    └── GeoserviceError
        ├── WorkspaceError           the workspace is missing, locked or unreadable
        ├── NotFoundError            no such object, or not visible to the caller
        │   └── NoAnalysisError      analysis results asked for before any run
        ├── ConflictError            a change conflicts with the stored state
        │   ├── StaleVersionError    the change was based on an old version
        │   └── ShrinkRefusedError   a replace import would drop most of a layer
        ├── AuthenticationError      no credentials, or unknown, revoked or expired ones
        ├── PermissionDeniedError    the caller's role does not allow the action
        │   └── CrossSiteRequestError  a cookie-signed change from another site
        ├── TooManyAttemptsError     too many failed sign-ins from one address
        ├── PreconditionRequiredError  a change without the version it was based on
        ├── TooLargeError            an upload or body over the limit
        ├── OptionError              an option outside what it accepts
        │   └── BadParameterError    a malformed OGC API query parameter
        └── NothingImportedError     every row of a file was rejected
"""

from __future__ import annotations

from datetime import date

from layers.errors import MessageError
from layers.messages import Message
from layers.report import ImportReport

__all__ = [
    "AuthenticationError",
    "BadParameterError",
    "ConflictError",
    "CrossSiteRequestError",
    "GeoserviceError",
    "NoAnalysisError",
    "NotFoundError",
    "NothingImportedError",
    "OptionError",
    "PermissionDeniedError",
    "PreconditionRequiredError",
    "ShrinkRefusedError",
    "StaleVersionError",
    "TooLargeError",
    "TooManyAttemptsError",
    "WorkspaceError",
    "no_analysis",
]


class GeoserviceError(MessageError):
    """Base class of every error the service itself raises (not about a survey file)."""


class WorkspaceError(GeoserviceError):
    """The workspace file is missing, locked, unreadable or not a workspace."""


class NotFoundError(GeoserviceError):
    """A named object (layer, target, problem) does not exist."""


class NoAnalysisError(NotFoundError):
    """A result of the analysis (targets, parcel scores) is asked for before any run."""


class ConflictError(GeoserviceError):
    """A change conflicts with the stored state (another import running, stale version)."""


class StaleVersionError(ConflictError):
    """A change was based on a version of an object that is no longer current."""


class ShrinkRefusedError(ConflictError):
    """A replace import would leave a layer with fewer than half its rows
    (``--allow-shrink`` does it anyway)."""


class AuthenticationError(GeoserviceError):
    """No credentials, or credentials that are unknown, revoked or expired."""


class PermissionDeniedError(GeoserviceError):
    """The caller is known but their role does not allow the action."""


class CrossSiteRequestError(PermissionDeniedError):
    """A change authenticated by the sign-in cookie did not come from the service's own
    pages (wrong or missing ``Origin``/``Referer``, or no anti-forgery token)."""


class TooManyAttemptsError(GeoserviceError):
    """A client address failed to authenticate too often; it may try again after
    ``retry_after`` seconds."""

    def __init__(self, msg: Message, retry_after: int) -> None:
        super().__init__(msg)
        self.retry_after = retry_after


class PreconditionRequiredError(GeoserviceError):
    """A change needs the version the caller saw (``If-Match``) and none was given."""


class TooLargeError(GeoserviceError):
    """An upload or request body is larger than the service accepts."""


def message(code: str, zh: str, en: str) -> Message:
    """Shorthand for building a :class:`~layers.messages.Message`."""
    return Message(code, zh, en)


class OptionError(GeoserviceError):
    """An option has a value outside what it accepts (mode, owner, classification)."""


class BadParameterError(OptionError):
    """A query parameter of a standard protocol (OGC API) is malformed or out of range;
    the protocol asks for status 400 rather than 422."""


class NothingImportedError(GeoserviceError):
    """Every row of a file was rejected; nothing was stored.

    Attributes
    ----------
    report : layers.report.ImportReport
        The report, whose ``rejects`` say why each row was refused.
    """

    def __init__(self, msg: Message, report: ImportReport) -> None:
        super().__init__(msg)
        self.report = report


ANALYSIS_LAYERS = ("targets", "parcel_risk", "target_reasons")
"""The workspace layers only an analysis run writes."""


def no_analysis(workspace: object, layer: str = "targets", *, web: bool = False) -> NoAnalysisError:
    """The error for ``layer`` asked for before the analysis has run on ``workspace``.

    Parameters
    ----------
    workspace : path-like
        The workspace, named in the command to run.
    layer : str
        The analysis layer asked for (``targets``, ``parcel_risk``, ``target_reasons``).
    web : bool
        Name the web service's call (``POST /analysis/runs``) instead of the command line's
        (``geoservice analyze``).
    """
    today = date.today().isoformat()
    what_zh = "联合执法目标" if layer == "targets" else f"研判结果图层 {layer}"
    what_en = (
        "there are no enforcement targets" if layer == "targets" else f"there is no {layer} layer"
    )
    if web:
        how_zh = (
            f'请镇林长办先运行研判：POST /analysis/runs，请求体 {{"as_of": "{today}"}}'
            "（研判日期）。"
        )
        how_en = (
            f'the forest-chief office runs it first: POST /analysis/runs with {{"as_of": '
            f'"{today}"}} (the date it is as of).'
        )
        where_zh, where_en = "", ""
    else:
        command = f"geoservice analyze -w {workspace} --as-of {today}"
        how_zh = f"请先运行 {command}（--as-of 为研判日期）。"
        how_en = f"run {command} first (--as-of is the date it is as of)."
        where_zh, where_en = f"工作空间 {workspace} ", f" on workspace {workspace}"
    return NoAnalysisError(
        message(
            "analysis.not_run",
            f"{where_zh}还没有运行过研判分析，因此还没有{what_zh}；{how_zh}",
            f"No analysis has been run{where_en}, so {what_en} yet; {how_en}",
        )
    )
