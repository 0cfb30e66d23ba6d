"""The fields of the phone pages' plain form posts, read and checked.

:func:`form_photos` reads the chosen photos of a multipart form (and
:func:`uploaded_files` those of the API's uploads, :data:`PhotoUploads`); :func:`form_version`,
:func:`form_people` and :func:`form_day` turn the typed text into the value the domain
takes, or raise :class:`~geoservice.base.errors.OptionError` naming what was received and
what is expected (the page shows it again with the message).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import File, UploadFile
from starlette.datastructures import UploadFile as FormFile

from geoservice.base.errors import OptionError, message

__all__ = [
    "PhotoUploads",
    "form_day",
    "form_people",
    "form_photos",
    "form_version",
    "uploaded_files",
]

_Blank = TypeVar("_Blank", date, None)
# The ``files`` of the API's photo uploads (``POST .../photos``, ``.../evidence``).
PhotoUploads = Annotated[list[UploadFile], File(description="JPEG, PNG or WebP photos")]


async def form_photos(form: Any) -> list[tuple[str, bytes]]:
    """The chosen photos (an empty file input sends one nameless empty part: skipped)."""
    out: list[tuple[str, bytes]] = []
    for item in form.getlist("photos"):
        if isinstance(item, FormFile):  # a page form holds starlette files
            data = await item.read()
            if item.filename or data:
                out.append((item.filename or "", data))
    return out


def uploaded_files(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    """Each uploaded file's name (empty when none was sent) and content."""
    return [(f.filename or "", f.file.read()) for f in files]


def form_version(text: str, code: str, page_zh: str, page_en: str) -> int:
    """The form's ``version`` as a whole number; OptionError ``code`` asking to open the
    page (``page_zh`` / ``page_en``, e.g. 问题页面 / problem page) again otherwise."""
    if not text.strip().isdigit():
        raise OptionError(
            message(
                code,
                f"表单的版本号为“{text}”，应为整数；请重新打开{page_zh}后再提交。",
                f"The form's `version` was {text!r} but is expected to be a whole number; "
                f"open the {page_en} again and resubmit.",
            )
        )
    return int(text)


def form_people(text: str) -> int | None:
    """The people deployed (None when blank), a whole number >= 0."""
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise OptionError(
            message(
                "pages.bad_people",
                f"出动人数为“{text}”，应为不小于 0 的整数，如 4。",
                f"`people` was {text!r} but is expected to be a whole number >= 0, e.g. 4.",
            )
        )
    return int(text)


def form_day(
    text: str,
    default: _Blank,
    *,
    code: str = "pages.bad_date",
    name: tuple[str, str] = ("日期", "The date"),
    example: str = "2026-12-01",
) -> date | _Blank:
    """The ISO date typed (``default`` when blank); OptionError ``code`` naming the field
    (``name``, zh and en) and an ``example`` otherwise."""
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise OptionError(
            message(
                code,
                f"{name[0]}为“{text}”，应为 YYYY-MM-DD 格式，如 {example}。",
                f"{name[1]} was {text!r} but is expected to be YYYY-MM-DD, e.g. {example}.",
            )
        ) from None
