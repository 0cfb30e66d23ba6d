"""The exception tree of the engine.

``geoservice.errors`` wraps what the workspace and the engine can refuse; errors from
:mod:`layers` (bad input files) pass through unchanged. The HTTP layer maps both trees to
status codes in one table; the CLI prints the message and exits with status 2.
"""

from __future__ import annotations

from layers.errors import LayersError
from layers.messages import Message
from layers.report import ImportReport

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "GeoserviceError",
    "NotFoundError",
    "NothingImportedError",
    "OptionError",
    "PermissionDeniedError",
    "PreconditionRequiredError",
    "StaleVersionError",
    "TooLargeError",
    "WorkspaceError",
]


class GeoserviceError(LayersError):
    """Base class of every error raised by :mod:`geoservice` itself."""


class WorkspaceError(GeoserviceError):
    """The workspace file is missing, locked, unreadable or not a workspace."""


class NotFoundError(GeoserviceError):
    """A named object (layer, target, problem) does not exist."""


class ConflictError(GeoserviceError):
    """A change conflicts with the stored state (another import running, stale version)."""


class StaleVersionError(ConflictError):
    """A change was based on a version of an object that is no longer current."""


class AuthenticationError(GeoserviceError):
    """No credentials, or credentials that are unknown, revoked or expired."""


class PermissionDeniedError(GeoserviceError):
    """The caller is known but their role does not allow the action."""


class PreconditionRequiredError(GeoserviceError):
    """A change needs the version the caller saw (``If-Match``) and none was given."""


class TooLargeError(GeoserviceError):
    """An upload or request body is larger than the service accepts."""


def message(code: str, zh: str, en: str) -> Message:
    """Shorthand for building a :class:`~layers.messages.Message`."""
    return Message(code, zh, en)


class OptionError(GeoserviceError):
    """An option has a value outside what it accepts (mode, owner, classification)."""


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
