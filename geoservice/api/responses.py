"""HTTP answers shared by several routes: files to download and cached static assets.

- :func:`scratch_folder` + :func:`download`: a file written into a temporary folder (an
  export, a report) sent with a Chinese file name; the folder is removed when writing
  fails, or after the response has been sent;
- :func:`asset_response`: a static script or style sheet with an ``ETag``, 304 when the
  client already has it;
- :func:`photo_response`: an evidence photo. The same address gives the office the copy
  with its EXIF place and time and other roles a copy without it, so the answer varies by
  who asks (``Vary``) and is never shared between callers (``private``).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

__all__ = [
    "asset_response",
    "content_disposition",
    "download",
    "etag_matches",
    "photo_response",
    "scratch_folder",
]


def content_disposition(name: str, fallback: str, kind: str = "attachment") -> str:
    """``Content-Disposition`` with an ASCII ``filename`` and the UTF-8 ``filename*``
    (RFC 5987/6266), so browsers save the Chinese name."""
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def photo_response(path: Path) -> FileResponse:
    """One evidence photo (JPEG) shown inline, kept a day by the caller's browser only."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", path.name) or "photo.jpg"
    headers = {
        "Cache-Control": "private, max-age=86400",
        "Vary": "Authorization, Cookie",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(path.name, fallback, "inline"),
    }
    return FileResponse(path, media_type="image/jpeg", headers=headers)


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A new temporary folder; removed when the block raises, otherwise left for the
    :func:`download` returned from the block to remove once sent."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def download(
    path: Path,
    folder: Path,
    media_type: str,
    name: str,
    fallback: str,
    kind: str = "attachment",
) -> FileResponse:
    """Send ``path`` as ``name`` (ASCII ``fallback``) and remove ``folder`` afterwards.

    ``kind`` is ``attachment`` (save) or ``inline`` (show in the browser).
    """
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(name, fallback, kind)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, or ``*``)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def asset_response(
    request: Request, body: bytes, media_type: str, etag: str, cache_control: str
) -> Response:
    """A static asset with its ``ETag`` and ``Cache-Control``; 304 when the client's
    ``If-None-Match`` names the ETag."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
