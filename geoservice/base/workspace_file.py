"""Whether a workspace path holds a GeoPackage, and what it holds when it does not.

A workspace is a GeoPackage: an SQLite database with the tables ``gpkg_contents`` and
``gpkg_spatial_ref_sys``. People pass other files by mistake (an empty file left by a failed
copy, a CSV, the zip the survey came in, another program's SQLite database, a folder);
:func:`check_workspace_file` refuses them with one message that says what the path is, what
was expected and what to do, before GDAL or SQLite fail on them with a less helpful one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from pathlib import Path

from geoservice.base.errors import WorkspaceError, message

__all__ = ["GPKG_TABLES", "check_workspace_file"]

SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
GPKG_TABLES = ("gpkg_contents", "gpkg_spatial_ref_sys")
_HEAD = 4096
_SNIPPET = 40

_EXPECTED_ZH = "工作空间应为 geoservice import 创建的 GeoPackage 文件（.gpkg，SQLite 数据库）"
_EXPECTED_EN = (
    "a workspace is expected to be the GeoPackage file (.gpkg, an SQLite database) that "
    "geoservice import creates"
)
_FIX_ZH = (
    "请用 -w/--workspace（或 GEOSERVICE_WORKSPACE）指定已有的工作空间；要新建工作空间，"
    "请指定一个尚不存在的 .gpkg 文件名，再用 geoservice import 导入数据。"
)
_FIX_EN = (
    "Pass an existing workspace with -w/--workspace (or GEOSERVICE_WORKSPACE), or name a "
    ".gpkg file that does not exist yet and create it with geoservice import."
)


def check_workspace_file(path: Path) -> None:
    """Refuse a workspace path that exists but is not a GeoPackage.

    A path that does not exist passes: the first import creates it, and the commands that
    read say it is missing (:meth:`geoservice.base.workspace.Workspace.require`).

    Parameters
    ----------
    path : Path
        The workspace path.

    Raises
    ------
    WorkspaceError
        ``workspace.not_geopackage``: the path is a folder, an empty file, a text file, a
        ZIP archive, an SQLite database without the GeoPackage tables, a damaged SQLite
        file, another binary file or unreadable.
    """
    found = _describe(path)
    if found is None:
        return
    what_zh, what_en, fix_zh, fix_en = found
    raise WorkspaceError(
        message(
            "workspace.not_geopackage",
            f"工作空间 {path} 是{what_zh}，不是 GeoPackage；{_EXPECTED_ZH}。{fix_zh}",
            f"Workspace {path} is {what_en}, not a GeoPackage; {_EXPECTED_EN}. {fix_en}",
        )
    )


def _describe(path: Path) -> tuple[str, str, str, str] | None:
    """(what it is zh, en, fix zh, en) when ``path`` exists and is not a GeoPackage."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(exc)
    if stat.S_ISDIR(mode):
        return (
            "一个文件夹",
            "a folder",
            f"请指定文件夹中的 .gpkg 文件，如 -w {path / 'town.gpkg'}。",
            f"Name the .gpkg file inside it, e.g. -w {path / 'town.gpkg'}.",
        )
    if not stat.S_ISREG(mode):
        return (
            "一个特殊文件（不是普通文件）",
            "a special file, not a regular file",
            _FIX_ZH,
            _FIX_EN,
        )
    # Asked through SQLite first: closing any other file handle on the workspace (the
    # ``open`` below) drops every SQLite lock this process holds on it (POSIX locks are per
    # process), so another process could write under a transaction of this one, or roll
    # it back as a crashed writer's. The bytes are read only when it is not a GeoPackage.
    as_sqlite = _sqlite(path)
    if as_sqlite is None:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        return _unreadable(exc)
    if not head:
        return (
            "一个空文件（0 字节）",
            "an empty file (0 bytes)",
            "该文件不含任何数据：请删除它，再用 geoservice import 导入数据来新建工作空间，"
            "或用 -w 指定已有的工作空间。",
            "It holds no data: delete it and create the workspace with geoservice import, "
            "or pass an existing workspace with -w.",
        )
    if head.startswith(SQLITE_MAGIC):
        return as_sqlite
    if head.startswith(ZIP_MAGICS):
        return (
            "一个 ZIP 压缩包",
            "a ZIP archive",
            "若其中是调查数据，请把它导入一个新的工作空间：geoservice import KIND 文件.zip "
            "-w town.gpkg（town.gpkg 为尚不存在的文件名）。",
            "If it holds survey files, import it into a new workspace: geoservice import KIND "
            "FILE.zip -w town.gpkg (a .gpkg name that does not exist yet).",
        )
    text = _text(head)
    if text is not None:
        return (
            f"一个文本文件（开头为“{text}”）",
            f"a text file (it starts {text!r})",
            _FIX_ZH,
            _FIX_EN,
        )
    start = head[:8].hex(" ")
    return (
        f"一个其他格式的二进制文件（文件头 {start}）",
        f"a binary file of another format (it starts with the bytes {start})",
        _FIX_ZH,
        _FIX_EN,
    )


def _sqlite(path: Path) -> tuple[str, str, str, str] | None:
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=15.0)) as con:
            marks = ",".join("?" * len(GPKG_TABLES))
            rows = con.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
                GPKG_TABLES,
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        return (
            f"一个已损坏的 SQLite 数据库（{exc}）",
            f"a damaged SQLite database ({exc})",
            "请从备份恢复该文件，或用 -w 指定另一个工作空间。",
            "Restore it from a backup, or pass another workspace with -w.",
        )
    if len(rows) == len(GPKG_TABLES):
        return None
    return (
        "一个 SQLite 数据库，但没有 GeoPackage 必需的表 gpkg_contents、gpkg_spatial_ref_sys",
        "an SQLite database without the GeoPackage tables gpkg_contents and gpkg_spatial_ref_sys",
        _FIX_ZH,
        _FIX_EN,
    )


def _text(head: bytes) -> str | None:
    """The start of the first line when ``head`` reads as text (UTF-8 or GB18030)."""
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        decoded = _decode(head, encoding)
        if decoded is None:
            continue
        odd = sum(not (c.isprintable() or c in "\r\n\t") for c in decoded)
        if odd > len(decoded) // 50:
            return None
        line = next((s.strip() for s in decoded.splitlines() if s.strip()), "")
        return line[:_SNIPPET] + ("…" if len(line) > _SNIPPET else "")
    return None


def _decode(head: bytes, encoding: str) -> str | None:
    """``head`` decoded, allowing a character cut in two at the end of a full read."""
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as exc:
        cut = exc.start
        if len(head) < _HEAD or cut < len(head) - 3:
            return None
    try:
        return head[:cut].decode(encoding)
    except UnicodeDecodeError:
        return None


def _unreadable(exc: OSError) -> tuple[str, str, str, str]:
    reason = exc.strerror or str(exc)
    return (
        f"一个无法读取的文件（{reason}）",
        f"a file that cannot be read ({reason})",
        "请检查文件权限，或用 -w 指定另一个工作空间。",
        "Check the file's permissions, or pass another workspace with -w.",
    )
