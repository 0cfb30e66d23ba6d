"""Photos of rectification reports: checked, cleaned and stored.

Design: ``docs/design.md#workflow-states``.

A village or the office uploads photos of a problem; each is recognised by its content
(never by its file name or declared type), decoded with Pillow, turned upright by its EXIF
orientation, shrunk so the long side is at most :data:`LONG_SIDE` pixels and re-encoded as
JPEG without any metadata: the copy every role is served (no GPS position or camera serial
leaves the service). Where and when the photo was taken (EXIF GPS and capture time,
:mod:`geoservice.workflow.photo_exif`) is kept as evidence: in a metadata file, and in an
office copy that carries the photo's EXIF block (upright, without maker notes), served only
to the roles of :data:`EXIF_ROLES`. Photos are kept on disk, one folder per problem::

    <folder>/<problem_id>/<yyyymmddThhmmss>-<8 hex>.jpg          served to every role
    <folder>/<problem_id>/.exif/<name>.jpg                         office copy, with EXIF
    <folder>/<problem_id>/.exif/<name>.json                        where, when, original's hash

(the time is UTC). A name starting with ``.`` is never served, so the ``.exif`` folder
cannot be asked for by name. The history of a problem stores only the photo file names.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from geoservice.base.errors import NotFoundError, OptionError, TooLargeError, message
from geoservice.workflow.photo_exif import exif_place, office_exif

__all__ = [
    "ACCEPTED_TYPES",
    "EXIF_ROLES",
    "LONG_SIDE",
    "MAX_PIXELS",
    "QUALITY",
    "check_evidence",
    "photo_meta",
    "photo_path",
    "problem_photos",
    "save_photos",
    "served_photo",
]

# Pillow format name (as recognised from the content) -> media type.
ACCEPTED_TYPES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_SHOWN = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
LONG_SIDE = 1600
QUALITY = 80
# Largest picture decoded (pixels); a 48-megapixel phone photo is 8000 x 6000.
MAX_PIXELS = 50_000_000
_SAFE_PART = re.compile(r"^[^/\\\x00]+$")
_ACCEPTED_ZH = "、".join(_SHOWN.values())
_ACCEPTED_EN = ", ".join(_SHOWN.values())
_PIXELS_IN_TEXT = re.compile(r"\((\d+) pixels\)")
# Roles served the office copy with the photo's EXIF (GPS position, capture time, camera):
# the office sees everything (docs/design.md#access-rules); departments and villages get
# the copy without metadata, so a position is never handed on beyond the office.
EXIF_ROLES: tuple[str, ...] = ("office",)
OFFICE_DIR = ".exif"


@dataclass(frozen=True)
class _Problem:
    """One reason a file was refused."""

    zh: str
    en: str
    too_large: bool = False


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _limit(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


def _label(name: str, index: int) -> str:
    return name.strip() or f"#{index + 1}"


def _sniff(data: bytes) -> tuple[str, str]:
    """What unrecognised content looks like, in Chinese and English."""
    if not data:
        return "空文件", "an empty file"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return (
            "HEIC 照片（苹果手机默认格式，请在相机设置中选“兼容性最佳”或分享为 JPEG）",
            "a HEIC photo (the iPhone default; choose 'Most Compatible' in the camera "
            "settings or share it as JPEG)",
        )
    if data.startswith(b"%PDF"):
        return "PDF 文档", "a PDF document"
    if data.startswith(b"PK\x03\x04"):
        return "ZIP 压缩包或 Office 文档", "a ZIP archive or Office document"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "无法识别的二进制数据", "unrecognised binary data"
    return "文本", "text"


def _pixel_limit() -> int:
    pillow = Image.MAX_IMAGE_PIXELS
    return min(MAX_PIXELS, int(pillow)) if pillow else MAX_PIXELS


def _bomb(label: str, pixels: int | None) -> _Problem:
    zh = f"有 {pixels:,} 像素" if pixels else "像素过多"
    en = f"has {pixels:,} pixels" if pixels else "has too many pixels"
    return _Problem(
        f"“{label}”{zh}，超过上限 {_pixel_limit():,} 像素，可能是解压炸弹；请上传普通照片。",
        f"{label!r} {en}, over the limit of {_pixel_limit():,} (it may be a decompression "
        "bomb); upload an ordinary photo.",
    )


def _bomb_pixels(exc: Exception) -> int | None:
    found = _PIXELS_IN_TEXT.search(str(exc))
    return int(found.group(1)) if found else None


def _check_one(label: str, data: bytes, max_bytes: int) -> _Problem | None:
    """Why one file cannot be stored (size, type, pixel count), or None when it can."""
    if len(data) > max_bytes:
        return _Problem(
            f"“{label}”大小为 {_size(len(data))}，超过上限 {_limit(max_bytes)}；请压缩后再上传。",
            f"{label!r} is {_size(len(data))}, over the {_limit(max_bytes)} limit; compress it "
            "and upload again.",
            too_large=True,
        )
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, (width, height) = im.format or "", im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return _bomb(label, _bomb_pixels(exc))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        zh, en = _sniff(data)
        return _wrong_type(label, zh, en)
    if fmt not in ACCEPTED_TYPES:
        return _wrong_type(label, f"{fmt} 图片", f"a {fmt} image")
    if width * height > _pixel_limit():
        return _bomb(label, width * height)
    return None


def _wrong_type(label: str, zh: str, en: str) -> _Problem:
    return _Problem(
        f"“{label}”的内容是{zh}，只接受 {_ACCEPTED_ZH} 格式的照片。",
        f"{label!r} contains {en}, but only {_ACCEPTED_EN} photos are accepted.",
    )


def _refuse(problems: Sequence[_Problem], code: str) -> OptionError | TooLargeError:
    zh = "照片未保存（一张也没有保存）：" + "；".join(p.zh for p in problems)
    en = "No photo was stored: " + " ".join(p.en for p in problems)
    msg = message(code, zh, en)
    if any(p.too_large for p in problems):
        return TooLargeError(msg)
    return OptionError(msg)


def _count_problem(count: int, max_count: int) -> _Problem | None:
    if count == 0:
        return _Problem(
            "没有收到照片；请至少选择一张照片。", "No photo was received; choose at least one."
        )
    if count > max_count:
        return _Problem(
            f"一次上传了 {count} 张照片，最多 {max_count} 张；请分批上传。",
            f"{count} photos were uploaded at once but at most {max_count} are accepted; "
            "upload them in batches.",
        )
    return None


@dataclass(frozen=True)
class _Stored:
    """One photo ready to be written: the copy for everyone, the office copy with EXIF
    (None when the photo has no EXIF) and its metadata."""

    clean: bytes
    office: bytes | None
    meta: dict[str, Any]


def _jpeg(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    extra = {"exif": exif} if exif is not None else {}
    image.save(out, format="JPEG", quality=QUALITY, optimize=True, **extra)
    return out.getvalue()


def _office_copy(rgb: Image.Image, exif: Image.Exif | None) -> bytes | None:
    if exif is None:
        return None
    try:
        return _jpeg(rgb, exif)
    except ValueError:  # an EXIF block over the 64 KB a JPEG segment holds
        return None  # the metadata file still records where and when


def _clean(data: bytes) -> _Stored:
    """Decode, turn upright, shrink and re-encode one photo as JPEG without metadata; the
    office copy with its EXIF, and where and when it was taken."""
    with Image.open(io.BytesIO(data)) as im:
        fmt, size = im.format or "", im.size
        place = exif_place(im)
        exif = office_exif(im)
        im.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(im)
    if upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    ):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    rgb = upright.convert("RGB")
    office = _office_copy(rgb, exif)
    meta = {
        **place.to_dict(),
        "original": {
            "format": fmt,
            "bytes": len(data),
            "width": size[0],
            "height": size[1],
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "office_copy": office is not None,
    }
    return _Stored(_jpeg(rgb), office, meta)


def _decoded(labels: Sequence[str], files: Sequence[tuple[str, bytes]]) -> list[_Stored]:
    cleaned: list[_Stored] = []
    problems: list[_Problem] = []
    for label, (_name, data) in zip(labels, files, strict=True):
        try:
            cleaned.append(_clean(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            problems.append(_bomb(label, _bomb_pixels(exc)))
        except (OSError, ValueError, SyntaxError) as exc:
            problems.append(
                _Problem(
                    f"“{label}”无法解码（{exc}），文件可能已损坏；请重新导出后上传。",
                    f"{label!r} could not be decoded ({exc}); the file may be damaged, export "
                    "it again and upload.",
                )
            )
    if problems:
        raise _refuse(problems, "evidence.undecodable")
    return cleaned


def _problem_dir(folder: Path, problem_id: str) -> Path:
    if not _safe(problem_id):
        raise OptionError(
            message(
                "evidence.bad_problem_id",
                f"问题编号“{problem_id}”不能用作照片目录名（含路径分隔符或“..”）。",
                f"Problem id {problem_id!r} cannot name a photo folder (it contains a path "
                "separator or '..').",
            )
        )
    return Path(folder) / problem_id


def _safe(part: str) -> bool:
    return bool(_SAFE_PART.match(part)) and part not in (".", "..") and ".." not in part


def _files_of(target: Path, name: str, item: _Stored, at: str) -> list[tuple[Path, bytes]]:
    """What one photo writes, the served copy last (so a listed photo has its metadata)."""
    meta = json.dumps({"name": name, "stored_at": at, **item.meta}, ensure_ascii=False)
    out = [(target / OFFICE_DIR / f"{name}.json", meta.encode("utf-8"))]
    if item.office is not None:
        out.append((target / OFFICE_DIR / name, item.office))
    return [*out, (target / name, item.clean)]


def _write_all(target: Path, items: Sequence[_Stored]) -> list[str]:
    """Write every photo (with its office copy and metadata) or none (temporary names,
    then renames; undone on failure)."""
    (target / OFFICE_DIR).mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    names = [f"{stamp}-{secrets.token_hex(4)}.jpg" for _ in items]
    files = [
        f
        for name, item in zip(names, items, strict=True)
        for f in _files_of(target, name, item, now.isoformat(timespec="seconds"))
    ]
    done: list[Path] = []
    try:
        for path, blob in files:
            tmp = path.with_name(f".{path.name}.part")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for path in [*done, *(p.with_name(f".{p.name}.part") for p, _blob in files)]:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return names


def save_photos(
    folder: Path,
    problem_id: str,
    files: Sequence[tuple[str, bytes]],
    *,
    max_bytes: int,
    max_count: int = 4,
) -> list[str]:
    """Check, clean and store the evidence photos of one problem, all or none.

    Parameters
    ----------
    folder : Path
        The evidence folder (``Settings.evidence_path()``).
    problem_id : str
    files : sequence of (str, bytes)
        The uploaded files: the name the client gave (only used in messages) and the
        content.
    max_bytes : int
        Largest file accepted, in bytes.
    max_count : int
        Most files accepted at once.

    Returns
    -------
    list of str
        The stored file names (``<yyyymmddThhmmss>-<8 hex>.jpg``), in upload order.

    Raises
    ------
    TooLargeError
        A file is over ``max_bytes`` (the message also lists every other problem found).
    OptionError
        No file, too many files, a file that is not a JPEG/PNG/WebP image, a picture over
        :data:`MAX_PIXELS` (decompression bomb) or one that cannot be decoded; every
        refused file is named in the one message. Nothing is stored.
    """
    target = _problem_dir(folder, problem_id)
    labels = [_label(name, i) for i, (name, _data) in enumerate(files)]
    problems = [p for p in [_count_problem(len(files), max_count)] if p is not None]
    for label, (_name, data) in zip(labels, files, strict=True):
        found = _check_one(label, data, max_bytes)
        if found is not None:
            problems.append(found)
    if problems:
        raise _refuse(problems, "evidence.rejected")
    return _write_all(target, _decoded(labels, files))


def _no_photo(problem_id: str, name: str) -> NotFoundError:
    return NotFoundError(
        message(
            "evidence.no_photo",
            f"问题 {problem_id} 没有名为“{name}”的照片；请先上传照片，或查看该问题的照片列表。",
            f"Problem {problem_id} has no photo named {name!r}; upload it first or check the "
            "problem's photo list.",
        )
    )


def photo_path(folder: Path, problem_id: str, name: str) -> Path:
    """The stored photo ``name`` of a problem.

    Raises
    ------
    NotFoundError
        No such photo, or a name (or problem id) with a path separator or ``..``.
    """
    if not (_safe(problem_id) and _safe(name)) or name.startswith("."):
        raise _no_photo(problem_id, name)
    path = Path(folder) / problem_id / name
    if not path.is_file():
        raise _no_photo(problem_id, name)
    return path


def served_photo(folder: Path, problem_id: str, name: str, role: str) -> Path:
    """The file of photo ``name`` to serve to ``role``: the office copy with the photo's
    EXIF for the roles of :data:`EXIF_ROLES` (when the photo had EXIF), else the copy
    without metadata. NotFoundError as :func:`photo_path`."""
    path = photo_path(folder, problem_id, name)
    office = path.parent / OFFICE_DIR / path.name
    return office if role in EXIF_ROLES and office.is_file() else path


def photo_meta(folder: Path, problem_id: str, name: str) -> dict[str, Any] | None:
    """The stored metadata of photo ``name`` (where and when it was taken, the original's
    format, size and SHA-256); None for a photo stored before metadata was kept or an
    unknown name."""
    if not (_safe(problem_id) and _safe(name)) or name.startswith("."):
        return None
    path = Path(folder) / problem_id / OFFICE_DIR / f"{name}.json"
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found


def problem_photos(folder: Path, problem_id: str) -> list[str]:
    """The stored photo names of a problem, oldest first (``[]`` when there are none)."""
    if not _safe(problem_id):
        return []
    target = Path(folder) / problem_id
    if not target.is_dir():
        return []
    return sorted(
        p.name for p in target.iterdir() if p.suffix == ".jpg" and not p.name.startswith(".")
    )


def check_evidence(folder: Path, problem_id: str, names: Sequence[str]) -> list[str]:
    """``names`` when every one is a stored photo of the problem.

    Raises
    ------
    OptionError
        Naming the missing photos and listing the problem's stored ones.
    """
    missing = []
    for name in names:
        try:
            photo_path(folder, problem_id, name)
        except NotFoundError:
            missing.append(name)
    if not missing:
        return list(names)
    stored = problem_photos(folder, problem_id)
    listing = "、".join(stored) or "无"
    raise OptionError(
        message(
            "evidence.unknown_names",
            f"evidence 中的照片 {'、'.join(missing)} 不是问题 {problem_id} 已上传的照片；"
            f"已上传：{listing}。请先上传照片，再用返回的文件名提交。",
            f"`evidence` names {', '.join(map(repr, missing))}, which are not uploaded photos "
            f"of problem {problem_id}; uploaded: {listing.replace('、', ', ') if stored else 'none'}. "
            "Upload the photos first and send the names the upload returned.",
        )
    )
