"""Safe extraction of zip archives (and KMZ, which is a zip).

Survey data usually arrives zipped: a shapefile's parts, a KMZ from a GPS app, a folder of
layers sent by e-mail. An archive is untrusted input, so before anything is written every
member is checked: no path may leave the destination folder (zip slip), no symbolic links,
no nested archives, no encryption, and the sizes must be sane (zip bombs). Sizes are
checked twice: from the declared sizes before extraction, and by counting the bytes really
written while extracting, because declared sizes can lie.

Member names written by Chinese Windows are GBK (CP936) bytes without the UTF-8 flag;
Python reads them as CP437. :func:`decode_member_name` turns them back into Chinese.
"""

from __future__ import annotations

import contextlib
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from layers.errors import ArchiveError
from layers.messages import Message

NESTED_ARCHIVE_SUFFIXES = frozenset(
    {".zip", ".kmz", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz"}
)
"""Member suffixes refused as nested archives."""

JUNK_DIRS = frozenset({"__macosx"})
JUNK_FILES = frozenset({".ds_store", "thumbs.db"})

RATIO_MIN_BYTES = 1024**2
"""Compression ratios are only judged for members (or archives) that unpack to more than
this many bytes: tiny files such as a .cpg or an empty .dbf legitimately compress very well
and cannot do harm."""

_UTF8_FLAG = 0x800  # general purpose bit 11: names are UTF-8
_ENCRYPTED_FLAG = 0x1  # general purpose bit 0
_READABLE_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    name: str  # decoded, "/"-separated
    target: Path  # resolved path inside the destination


class _CapExceeded(Exception):
    """Raised by :func:`_copy_capped` when more bytes arrive than allowed."""


def decode_member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it, with ``/`` separators.

    Without the UTF-8 flag (general purpose bit 11) :mod:`zipfile` decodes names as CP437.
    Non-ASCII names are re-encoded to their original bytes and decoded as UTF-8 when that
    is valid, otherwise as GB18030 (a superset of GBK/CP936, what Chinese Windows writes).

    Parameters
    ----------
    info : zipfile.ZipInfo
        A member as read from the archive.

    Returns
    -------
    str
        The decoded name; backslashes (written by some Windows tools) become ``/``.
    """
    name = info.orig_filename
    if not info.flag_bits & _UTF8_FLAG and not name.isascii():
        raw = name.encode("cp437")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("gb18030", errors="replace")
    return name.replace("\\", "/")


def is_junk_name(name: str) -> bool:
    """True for operating-system clutter: ``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``, ``._*``.

    Parameters
    ----------
    name : str
        A ``/``-separated relative path.
    """
    parts = [p for p in name.split("/") if p]
    if not parts:
        return False
    if any(p.casefold() in JUNK_DIRS for p in parts[:-1]) or parts[-1].casefold() in JUNK_DIRS:
        return True
    leaf = parts[-1]
    return leaf.casefold() in JUNK_FILES or leaf.startswith("._")


def member_names(archive: Path) -> list[str]:
    """Decoded names of the archive's entries (files and folders), junk left out.

    Nothing is extracted. Use it to look at names before deciding to extract (for
    example, to refuse data marked classified).

    Raises
    ------
    ArchiveError
        The file is not a readable zip.
    """
    with _open_zip(archive) as zf:
        names = (decode_member_name(info) for info in zf.infolist())
        return [n for n in names if not is_junk_name(n)]


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    max_total_bytes: int = 4 * 1024**3,
    max_ratio: float = 200.0,
    max_members: int = 20000,
) -> list[Path]:
    """Extract a zip or KMZ into ``dest`` after checking that it is safe.

    Every member is checked before anything is written; on any refusal nothing is
    extracted. During extraction the bytes written are counted, and if they pass
    ``max_total_bytes`` (or a member turns out damaged) everything written is removed.

    Parameters
    ----------
    archive : Path
        The zip (or KMZ) file.
    dest : Path
        Destination folder; created (once the checks pass) if missing. Should be fresh
        and empty.
    max_total_bytes : int, default 4 GiB
        Cap on the total uncompressed size, in bytes, declared and actually written.
    max_ratio : float, default 200
        Cap on uncompressed / compressed size, per member and for the whole archive
        (judged only above :data:`RATIO_MIN_BYTES` uncompressed).
    max_members : int, default 20000
        Cap on the number of entries in the archive.

    Returns
    -------
    list of Path
        The extracted files (resolved absolute paths), in archive order. Directory
        entries and junk (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``) are skipped.

    Raises
    ------
    ArchiveError
        Not a valid zip, encrypted, a member path that is absolute, has a drive letter or
        escapes ``dest``, a symbolic link, a nested archive, too many members, too large,
        a compression ratio typical of a zip bomb, or a damaged member.
    """
    root = dest.resolve()
    with _open_zip(archive) as zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise _too_many(archive, len(infos), max_members)
        members: list[_Member] = []
        for info in infos:
            name = decode_member_name(info)
            if not name.endswith("/") and not is_junk_name(name):
                members.append(_checked_member(archive, info, name, root))
        _check_sizes(archive, members, max_total_bytes, max_ratio)
        root.mkdir(parents=True, exist_ok=True)
        return _extract(archive, zf, members, root, max_total_bytes)


# --- checks -------------------------------------------------------------------------------


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
        raise ArchiveError(
            Message(
                "archive.not_zip",
                f"压缩包“{archive.name}”不是有效的 zip 文件（{exc}）；只接受用常见压缩工具制作的"
                " .zip 或 .kmz。请确认文件已完整下载，或重新压缩后再导入。",
                f"Archive '{archive.name}' is not a valid zip file ({exc}); expected a .zip or"
                " .kmz made by a common zip tool. Check that the download is complete, or"
                " re-create the zip and import it again.",
            )
        ) from exc


def _checked_member(archive: Path, info: zipfile.ZipInfo, name: str, root: Path) -> _Member:
    """Check one file entry and return where it will be written."""
    target = _target_path(archive, name, root)
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise _refuse(
            "archive.encrypted",
            archive,
            name,
            "设置了密码（加密）；不接受加密的压缩包",
            "is password-protected; encrypted archives are not accepted",
            "请自行解压后导入其中的文件，或不设密码重新压缩",
            "extract it yourself and import the file, or re-create the zip without a password",
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse(
            "archive.symlink",
            archive,
            name,
            "是符号链接；压缩包中只接受普通文件",
            "is a symbolic link; only regular files are accepted",
            "请用真实文件（而非链接）重新压缩",
            "re-create the zip with the real files instead of links",
        )
    if PurePosixPath(name).suffix.lower() in NESTED_ARCHIVE_SUFFIXES:
        raise _refuse(
            "archive.nested",
            archive,
            name,
            "本身也是压缩包（嵌套压缩包）；只接受直接包含数据文件的压缩包",
            "is itself an archive (nested archive); the archive must hold the data files directly",
            "请先解压内层压缩包，再导入其中的文件",
            "extract it first and import the inner file",
        )
    if info.compress_type not in _READABLE_METHODS:
        raise _refuse(
            "archive.unsupported_method",
            archive,
            name,
            f"使用了无法读取的压缩方法（编号 {info.compress_type}）；只支持 Deflate 等标准方法",
            f"uses compression method {info.compress_type}, which cannot be read; standard"
            " methods such as Deflate are expected",
            "请用标准 zip 格式（Deflate）重新压缩",
            "re-create the zip with standard Deflate compression",
        )
    return _Member(info, name, target)


def _target_path(archive: Path, name: str, root: Path) -> Path:
    """Resolve ``name`` under ``root``; refuse absolute, drive-letter and escaping paths."""
    fix_zh = "请在数据所在文件夹内重新压缩（成员须为相对路径）"
    fix_en = "re-create the zip from inside the data folder so that members are relative paths"
    if "\x00" in name:
        raise _refuse(
            "archive.bad_name",
            archive,
            name,
            "名称中含有空字符；成员名称须为普通相对路径",
            "has a NUL character in its name; member names must be plain relative paths",
            fix_zh,
            fix_en,
        )
    if name.startswith("/"):
        raise _refuse(
            "archive.absolute_path",
            archive,
            name,
            "使用了绝对路径；成员须为压缩包内的相对路径",
            "has an absolute path; members must be relative paths inside the archive",
            fix_zh,
            fix_en,
        )
    if _DRIVE.match(name):
        raise _refuse(
            "archive.drive_letter",
            archive,
            name,
            "以盘符开头（如 C:）；成员须为压缩包内的相对路径",
            "starts with a drive letter (such as C:); members must be relative paths inside"
            " the archive",
            fix_zh,
            fix_en,
        )
    target = (root / name).resolve()
    if target == root or not target.is_relative_to(root):
        raise _refuse(
            "archive.path_escape",
            archive,
            name,
            "通过“..”指向解压目录之外（zip slip）；成员须留在解压目录之内",
            "uses '..' to point outside the extraction folder (zip slip); members must stay"
            " inside it",
            fix_zh,
            fix_en,
        )
    return target


def _check_sizes(
    archive: Path, members: list[_Member], max_total_bytes: int, max_ratio: float
) -> None:
    """Refuse by declared sizes: total over the cap, or a ratio typical of a zip bomb."""
    if not members:
        return
    total = sum(m.info.file_size for m in members)
    packed = sum(m.info.compress_size for m in members)
    largest = max(members, key=lambda m: m.info.file_size)
    if total > max_total_bytes:
        raise _refuse(
            "archive.too_large",
            archive,
            largest.name,
            f"（最大的成员）使整个压缩包解压后达 {_mb(total)}，超过上限 {_mb(max_total_bytes)}",
            f"(the largest) brings the archive to {_mb(total)} unpacked, more than the limit"
            f" of {_mb(max_total_bytes)}",
            "请只压缩需要导入的图层，或分成几个压缩包分别导入",
            "zip only the layers to import, or split them into several archives",
        )
    worst = max(members, key=lambda m: _ratio(m.info.file_size, m.info.compress_size))
    ratio = _ratio(worst.info.file_size, worst.info.compress_size)
    if worst.info.file_size > RATIO_MIN_BYTES and ratio > max_ratio:
        raise _bomb(archive, (worst.name, worst.name), ratio, max_ratio)
    whole = _ratio(total, packed)
    if total > RATIO_MIN_BYTES and whole > max_ratio:
        raise _bomb(archive, ("（全部成员合计）", "(all members together)"), whole, max_ratio)


def _ratio(size: int, packed: int) -> float:
    if size == 0:
        return 1.0
    return size / packed if packed > 0 else float("inf")


# --- extraction ---------------------------------------------------------------------------


def _extract(
    archive: Path,
    zf: zipfile.ZipFile,
    members: list[_Member],
    root: Path,
    max_total_bytes: int,
) -> list[Path]:
    """Stream every member to disk, counting bytes; on failure remove what was written."""
    written: list[Path] = []
    made_dirs: list[Path] = []
    budget = max_total_bytes
    member: _Member | None = None
    try:
        for member in members:
            made_dirs.extend(_make_parents(member.target, root))
            written.append(member.target)
            with zf.open(member.info) as src, member.target.open("wb") as dst:
                budget -= _copy_capped(src, dst, budget)
    except _CapExceeded as exc:
        _remove(written, made_dirs)
        name = member.name if member else ""
        raise _refuse(
            "archive.size_lied",
            archive,
            name,
            f"解压时实际写出的数据超过上限 {_mb(max_total_bytes)}（压缩包声明的大小不实），"
            "已删除已写出的文件",
            f"wrote more than the limit of {_mb(max_total_bytes)} while extracting (the"
            " archive's declared sizes are wrong); what was written has been removed",
            "请检查压缩包来源，只压缩需要导入的图层后重新发送",
            "check where the archive came from, zip only the layers to import and send it again",
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        _remove(written, made_dirs)
        name = member.name if member else ""
        raise _refuse(
            "archive.damaged",
            archive,
            name,
            f"已损坏，无法完整解压（{exc}）",
            f"is damaged and cannot be extracted ({exc})",
            "请重新下载或重新压缩后再导入",
            "download the archive again or re-create it, then import it again",
        ) from exc
    return written


def _copy_capped(src: IO[bytes], dst: IO[bytes], limit: int) -> int:
    """Copy ``src`` to ``dst`` in chunks; raise :class:`_CapExceeded` past ``limit`` bytes.

    Returns the number of bytes copied.
    """
    copied = 0
    while chunk := src.read(_CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise _CapExceeded(copied)
        dst.write(chunk)
    return copied


def _make_parents(target: Path, root: Path) -> list[Path]:
    """Create ``target``'s missing parent folders; return those created, outermost first."""
    missing = [p for p in target.parents if p.is_relative_to(root) and not p.exists()]
    missing.reverse()
    for folder in missing:
        folder.mkdir()
    return missing


def _remove(files: list[Path], dirs: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
    for folder in reversed(dirs):
        with contextlib.suppress(OSError):
            folder.rmdir()


# --- messages -----------------------------------------------------------------------------


def _mb(size: int | float) -> str:
    return f"{size / 1024**2:,.1f} MB"


def _refuse(
    code: str,
    archive: Path,
    member: str,
    problem_zh: str,
    problem_en: str,
    fix_zh: str,
    fix_en: str,
) -> ArchiveError:
    return ArchiveError(
        Message(
            code,
            f"压缩包“{archive.name}”中的成员“{member}”{problem_zh}。{fix_zh}。",
            f"Archive '{archive.name}': member '{member}' {problem_en}. Fix: {fix_en}.",
        )
    )


def _bomb(archive: Path, member: tuple[str, str], ratio: float, max_ratio: float) -> ArchiveError:
    """``member`` is the offending member's label in Chinese and in English."""
    return ArchiveError(
        Message(
            "archive.ratio",
            f"压缩包“{archive.name}”中的成员“{member[0]}”解压后膨胀 {ratio:,.0f} 倍，"
            f"超过允许的 {max_ratio:,.0f} 倍，疑似压缩炸弹。"
            "如确为正常数据，请自行解压后直接导入解压出的文件。",
            f"Archive '{archive.name}': member '{member[1]}' expands {ratio:,.0f} times when"
            f" unpacked, more than the allowed {max_ratio:,.0f} times; this looks like a zip"
            " bomb. Fix: if the data is genuine, extract it yourself and import the extracted"
            " file.",
        )
    )


def _too_many(archive: Path, count: int, limit: int) -> ArchiveError:
    return ArchiveError(
        Message(
            "archive.too_many_members",
            f"压缩包“{archive.name}”含有 {count:,} 个条目，超过上限 {limit:,} 个。"
            "请只压缩需要导入的图层后再导入。",
            f"Archive '{archive.name}' has {count:,} entries, more than the limit of"
            f" {limit:,}. Fix: zip only the layers to import and import that archive.",
        )
    )
