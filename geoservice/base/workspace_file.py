"""Whether a workspace path holds a GeoPackage, and what it holds when it does not.

A workspace is a GeoPackage: an SQLite database with the tables ``gpkg_contents`` and
``gpkg_spatial_ref_sys``. People pass other files by mistake (an empty file left by a failed
copy, a CSV, the zip the survey came in, another program's SQLite database, a folder);
:func:`check_workspace_file` refuses them with one message that says what the path is, what
was expected and what to do, before GDAL or SQLite fail on them with a less helpful one.

Every request of the service checks its workspace several times, and the full check
parses the file's schema with SQLite (about 0.6 ms on a county workspace). What passed is
therefore remembered, in two steps:

- the file's identity: device, inode, size, modification and change times (nanoseconds).
  While ``stat`` gives the same, the file is the one that passed (a ``stat`` costs a few
  microseconds). Any other file at the path, or the same file written in any way (its
  change time moves even when a writer puts the size and modification time back), has
  another identity. A file changed so recently that a write in the same tick of the file
  system's clock would leave its times as they are is not remembered (:func:`_settled`);
- for the same inode with other times (every audited request writes the file): SQLite
  reads the header fields that change with the schema or the kind of file (schema cookie,
  application id, user version) without parsing the schema (about 30 µs); the same values
  as when it passed mean the GeoPackage tables are still there. Garbage written over the
  file, or another database, fails this and gets the full check.

Refusals are never remembered: a file that cannot be read now may be readable later.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from geoservice.base.connection_pool import connection
from geoservice.base.errors import WorkspaceError, message
from geoservice.base.workspace_gate import gate

__all__ = ["GPKG_TABLES", "check_workspace_file"]

SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
GPKG_TABLES = ("gpkg_contents", "gpkg_spatial_ref_sys")
_HEAD = 4096
_SNIPPET = 40
# How long after its last change a file's times are trusted to move with the next write:
# two ticks of a file system with sub-second times (the kernel's clock tick, 10 ms at
# most), with room; whole-second times (ext3, FAT: 2 s) need seconds.
_SETTLE_NS = 50_000_000
_SETTLE_WHOLE_SECOND_NS = 5_000_000_000
_REMEMBERED_PATHS = 64
# Header fields read by SQLite without parsing the schema (see the module docstring).
_HEADER_PRAGMAS = ("schema_version", "application_id", "user_version")
Identity = tuple[int, int, int, int, int]
Found = tuple[str, str, str, str]


@dataclass(frozen=True)
class _Passed:
    """What is known of a file that passed the full check."""

    identity: Identity | None  # None while its times were too recent to trust
    inode: tuple[int, int]  # device, inode
    header: tuple[int, ...]  # the values of _HEADER_PRAGMAS


# Path -> the file that passed there.
_PASSED: dict[str, _Passed] = {}

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
    key, started = os.fspath(path), time.time_ns()
    identity = _identity(path)
    if identity is not None and _still_passes(key, path, identity, started):
        return
    found, header = _describe(path)
    if found is None:
        if identity is not None and header is not None:
            trusted = identity if _settled(identity, started) else None
            _remember(key, _Passed(trusted, identity[:2], header))
        return
    what_zh, what_en, fix_zh, fix_en = found
    raise WorkspaceError(
        message(
            "workspace.not_geopackage",
            f"工作空间 {path} 是{what_zh}，不是 GeoPackage；{_EXPECTED_ZH}。{fix_zh}",
            f"Workspace {path} is {what_en}, not a GeoPackage; {_EXPECTED_EN}. {fix_en}",
        )
    )


def _identity(path: Path) -> Identity | None:
    """(device, inode, size, mtime ns, ctime ns) of a regular file; None otherwise.

    A ``stat``, never an ``open``: see the comment in :func:`_describe`."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _settled(identity: Identity, started_ns: int) -> bool:
    """Whether a file of ``identity``, checked from ``started_ns`` on, got its times long
    enough before that any later write gives it other times.

    A write stamps the file with the file system's clock, which moves in ticks; a write in
    the tick of the last one would leave the times as they were. Times with a fraction of
    a second move in kernel ticks; whole-second times may move in seconds.
    """
    changed = max(identity[3], identity[4])
    whole = identity[3] % 1_000_000_000 == 0 and identity[4] % 1_000_000_000 == 0
    return started_ns - changed >= (_SETTLE_WHOLE_SECOND_NS if whole else _SETTLE_NS)


def _still_passes(key: str, path: Path, identity: Identity, started: int) -> bool:
    """Whether the file that passed at ``key`` is still there, unchanged or changed only
    as a GeoPackage in use changes (see the module docstring)."""
    passed = _PASSED.get(key)
    if passed is None or passed.inode != identity[:2]:
        return False
    if passed.identity == identity:
        return True
    if _header(path) != passed.header:
        return False
    if _settled(identity, started):
        _remember(key, _Passed(identity, passed.inode, passed.header))
    return True


def _header(path: Path) -> tuple[int, ...] | None:
    """The values of :data:`_HEADER_PRAGMAS`, read through SQLite; None when it cannot
    (``mode=rw``: a file removed meanwhile is not created again)."""
    try:
        with connection(Path(path), 15.0) as con:
            return _header_of(con)
    except sqlite3.DatabaseError:
        return None


# the header fields in one statement (each statement is a turn at the interpreter lock)
_HEADER_SQL = f"SELECT * FROM {', '.join(f'pragma_{name}' for name in _HEADER_PRAGMAS)}"


def _header_of(con: sqlite3.Connection) -> tuple[int, ...]:
    return tuple(int(value) for value in con.execute(_HEADER_SQL).fetchone())


def _remember(key: str, passed: _Passed) -> None:
    if len(_PASSED) >= _REMEMBERED_PATHS:
        _PASSED.clear()
    _PASSED[key] = passed


def _describe(path: Path) -> tuple[Found | None, tuple[int, ...] | None]:
    """(what it is zh, en, fix zh, en) when ``path`` exists and is not a GeoPackage, else
    None; with the header fields SQLite read when it is one (:func:`_sqlite`)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return _unreadable(exc), None
    if stat.S_ISDIR(mode):
        return (
            "一个文件夹",
            "a folder",
            f"请指定文件夹中的 .gpkg 文件，如 -w {path / 'town.gpkg'}。",
            f"Name the .gpkg file inside it, e.g. -w {path / 'town.gpkg'}.",
        ), None
    if not stat.S_ISREG(mode):
        return (
            "一个特殊文件（不是普通文件）",
            "a special file, not a regular file",
            _FIX_ZH,
            _FIX_EN,
        ), None
    # Asked through SQLite first: closing any other file handle on the workspace (the
    # ``open`` below) drops every SQLite lock this process holds on it (POSIX locks are per
    # process), so another process could write under a transaction of this one, or roll
    # it back as a crashed writer's. The bytes are read only when it is not a GeoPackage.
    as_sqlite, header = _sqlite(path)
    if as_sqlite is None:
        return None, header
    return _from_bytes(path, as_sqlite), None


def _from_bytes(path: Path, as_sqlite: Found) -> Found:
    """What a regular file that is not a GeoPackage is, from its first bytes."""
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


def _sqlite(path: Path) -> tuple[Found | None, tuple[int, ...] | None]:
    """(why it is not a GeoPackage, or None; the header fields when it is one), both read
    in one read transaction, so the header belongs to the schema that was checked."""
    try:
        with (
            gate(Path(path)).sql(),
            contextlib.closing(sqlite3.connect(path, timeout=15.0, isolation_level=None)) as con,
        ):
            con.execute("BEGIN")
            marks = ",".join("?" * len(GPKG_TABLES))
            rows = con.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})",
                GPKG_TABLES,
            ).fetchall()
            header = _header_of(con)
            con.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        return (
            f"一个已损坏的 SQLite 数据库（{exc}）",
            f"a damaged SQLite database ({exc})",
            "请从备份恢复该文件，或用 -w 指定另一个工作空间。",
            "Restore it from a backup, or pass another workspace with -w.",
        ), None
    if len(rows) == len(GPKG_TABLES):
        return None, header
    return (
        "一个 SQLite 数据库，但没有 GeoPackage 必需的表 gpkg_contents、gpkg_spatial_ref_sys",
        "an SQLite database without the GeoPackage tables gpkg_contents and gpkg_spatial_ref_sys",
        _FIX_ZH,
        _FIX_EN,
    ), None


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
