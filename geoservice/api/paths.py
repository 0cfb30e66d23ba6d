"""Server paths out of error messages.

An error raised while reading an upload can quote where the server put it (GDAL says
``'/tmp/geoservice-upload-x1y2/村界.geojson' not recognized ...``; a zip is unpacked under
another temporary folder), and workspace errors quote the workspace's path. Over HTTP the
caller sees the file's own name instead: every path under the temporary folder, the
workspace's folder or the evidence folder is shown by its last part.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from geoservice.base.settings import Settings
from layers.errors import MessageError
from layers.messages import Message

__all__ = ["hide_paths", "private_folders", "scrub"]

# Characters that end a path quoted in a message (quotes, brackets, separators, space).
_END = r"""\s'"“”‘’()（）,，;；。!<>"""


def private_folders(settings: Settings | None) -> list[str]:
    """The server folders whose paths must not be shown: the temporary folder, and the
    folders of the workspace and of the evidence photos (as configured and resolved)."""
    folders = [tempfile.gettempdir()]
    if settings is not None:
        for path in (settings.workspace, settings.evidence_dir):
            if path is not None and path.parent != Path("."):
                folders.append(str(path.parent))
            if path is not None:
                folders.append(str(path.resolve().parent))
    # Longest first, so a folder inside another is replaced as a whole.
    return sorted({f.rstrip("/\\") for f in folders if f.strip("/\\")}, key=len, reverse=True)


def scrub(text: str, folders: Iterable[str]) -> str:
    """``text`` with each path under one of ``folders`` replaced by its last part."""
    for folder in folders:
        pattern = re.compile(re.escape(folder) + rf"[/\\]+([^{_END}]+)")
        text = pattern.sub(lambda m: re.split(r"[/\\]", m.group(1).rstrip("/\\"))[-1], text)
    return text


def hide_paths(exc: MessageError, settings: Settings | None) -> None:
    """Rewrite ``exc``'s message (and its import report's source) without server paths."""
    folders = private_folders(settings)
    msg = exc.message
    zh, en = scrub(msg.zh, folders), scrub(msg.en, folders)
    if (zh, en) != (msg.zh, msg.en):
        exc.message = Message(msg.code, zh, en)
        exc.args = (en,)
    report = getattr(exc, "report", None)
    if report is not None and isinstance(getattr(report, "source", None), str):
        report.source = scrub(report.source, folders)
