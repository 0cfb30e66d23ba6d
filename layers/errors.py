"""The exception trees: the root every user-facing error shares, and the survey-file errors.

Every error carries a :class:`~layers.messages.Message`: what input was wrong, what was
received, what was expected and how to fix it, in Chinese and English. ``str(error)`` is
the English text so that logs and tests read the same everywhere.

:class:`MessageError` is the root. Under it, :class:`LayersError` is about survey files:
a file that cannot be read, decoded, placed or mapped onto the data contract. The service's
own refusals (authentication, permission, workspace, versions) are
:class:`geoservice.base.errors.GeoserviceError`, a sibling of :class:`LayersError`; map
builders raise their own errors (:mod:`maps.render`, :mod:`maps.assets`,
:mod:`maps.basemaps`), also directly under :class:`MessageError`.

::

    MessageError        any error with a bilingual message for the person who caused it
    └── LayersError     a survey file (or its field mapping) cannot be used
        ├── SourceError              the file cannot be opened (missing part, format)
        │   ├── ArchiveError         an unsafe or unusable archive (zip slip, bomb)
        │   ├── ShapefileIntegrityError  the parts of a shapefile disagree (cut short)
        │   └── LayerChoiceError     several layers in a container and none chosen
        ├── EncodingError            text cannot be decoded with the given or sniffed encoding
        ├── CRSError                 no usable coordinate reference system
        ├── ClassifiedDataError      the data is marked as classified and must not be stored
        └── SchemaError              required fields missing or a mapping file is invalid
"""

from __future__ import annotations

from layers.messages import Lang, Message


class MessageError(Exception):
    """Base class of every error whose message is shown to a person, in either language."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.en)
        self.message = message

    @property
    def code(self) -> str:
        return self.message.code

    def text(self, lang: Lang = "zh") -> str:
        """The message in ``lang``."""
        return self.message.text(lang)


class LayersError(MessageError):
    """A survey file, or the field mapping for it, cannot be read or used."""


class SourceError(LayersError):
    """The input path cannot be read as a layer (missing file or part, unknown format)."""


class ArchiveError(SourceError):
    """An archive is unsafe (path escape, bomb) or unusable (nested archive, empty)."""


class ShapefileIntegrityError(SourceError):
    """The ``.shp``, ``.shx`` and ``.dbf`` of a shapefile hold different numbers of records,
    or one of them is cut short: reading it would silently drop or mismatch rows."""


class LayerChoiceError(SourceError):
    """A container holds several layers; the caller must name one.

    Attributes
    ----------
    choices : list of str
        The layer names found, for the caller to list.
    """

    def __init__(self, message: Message, choices: list[str]) -> None:
        super().__init__(message)
        self.choices = choices


class EncodingError(LayersError):
    """Text in the file cannot be decoded with the detected or requested encoding."""


class CRSError(LayersError):
    """The coordinate reference system is missing, unknown or cannot be used."""


class ClassifiedDataError(LayersError):
    """The file is marked classified (涉密); it does not belong on this system."""


class SchemaError(LayersError):
    """Required fields are missing, or a field mapping file is invalid."""
