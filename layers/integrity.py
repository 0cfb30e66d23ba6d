"""Record counts of a shapefile's parts, checked against each other before reading.

A shapefile is three files that must agree: the ``.shp`` holds the shapes, the ``.shx``
one 8-byte index entry per shape and the ``.dbf`` one attribute record per shape. A copy
cut short (a mail attachment limit, a USB stick pulled out too early) or a part taken from
another version of the layer makes them disagree, and GDAL then reads fewer rows without a
word: a ``.dbf`` whose header counts 3 records beside 5 shapes imports as "read 3, imported
3". :func:`check_shapefile` reads the counts from the headers and the file sizes (the
``.shx`` index as one numpy array) and refuses any disagreement with a
:class:`~layers.errors.ShapefileIntegrityError` that names the file, both counts and the
repair.

Counts, per the Esri shapefile technical description and the dBASE file format:

- ``.shx``: a 100-byte header (file code 9994, file length in 16-bit words at bytes
  24-27, big-endian) and one record per shape: offset and content length in words.
  Records: ``(file length * 2 - 100) / 8``.
- ``.shp``: the same header, then records of an 8-byte header (record number, content
  length in words) and the content. The shapes the index points at must lie inside the
  file; records after the last indexed one are counted by walking their headers.
- ``.dbf``: the record count at bytes 4-7 (little-endian), header length at 8-9, record
  length at 10-11; the file is ``header length + n * record length`` bytes, optionally
  followed by one end-of-file byte 0x1A.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layers.errors import ShapefileIntegrityError
from layers.messages import Message

__all__ = ["ShapefileCounts", "check_shapefile", "shapefile_counts"]

_FILE_CODE = 9994
_HEADER = 100
_DBF_EOF = 0x1A

_COPY_ZH = "请向数据提供方重新索取完整的数据（全部组成文件一起复制，或打包成 .zip 发送）"
_COPY_EN = (
    "ask the provider for a complete copy (all parts of the shapefile copied together,"
    " or sent as one .zip)"
)
_SHX_ZH = (
    "索引文件 .shx 可由 .shp 重建：删除该 .shx 后运行 "
    "ogr2ogr --config SHAPE_RESTORE_SHX YES 修复后.shp {shp}，"
    "或在 QGIS 处理工具箱中运行“修复 Shapefile”（Repair Shapefile）"
)
_SHX_EN = (
    "the .shx index can be rebuilt from the .shp: delete that .shx and run"
    " ogr2ogr --config SHAPE_RESTORE_SHX YES repaired.shp {shp}, or run"
    " 'Repair Shapefile' from the QGIS Processing Toolbox"
)


@dataclass(frozen=True)
class ShapefileCounts:
    """How many records each part of a shapefile holds.

    Attributes
    ----------
    shapes : int
        Complete shape records in the ``.shp``.
    index : int
        Entries in the ``.shx``.
    dbf_header : int
        Records the ``.dbf`` header declares.
    dbf_records : int
        Complete records the ``.dbf`` holds (from its size).
    """

    shapes: int
    index: int
    dbf_header: int
    dbf_records: int


@dataclass(frozen=True)
class _Part:
    """One file of the shapefile and the name it is shown by (``a.zip!小班.dbf``)."""

    path: Path
    display: str


def check_shapefile(shp: Path, shx: Path, dbf: Path, prefix: str = "") -> ShapefileCounts:
    """Refuse a shapefile whose ``.shp``, ``.shx`` and ``.dbf`` disagree on the record count.

    Parameters
    ----------
    shp, shx, dbf : Path
        The three parts.
    prefix : str
        Display name of the folder or archive they are in (``"parcels.zip!"``), put
        before each file name in messages.

    Returns
    -------
    ShapefileCounts
        The counts, all in agreement.

    Raises
    ------
    ShapefileIntegrityError
        A part is cut short or not what its ending says, or two parts hold different
        numbers of records; the message names the file, both counts and the repair.
    """
    counts = shapefile_counts(shp, shx, dbf, prefix)
    shp_part, shx_part, dbf_part = (_Part(p, prefix + p.name) for p in (shp, shx, dbf))
    if counts.dbf_header != counts.dbf_records:
        raise _dbf_count_mismatch(dbf_part, counts.dbf_header, counts.dbf_records)
    if counts.index != counts.shapes:
        raise _index_mismatch(shx_part, shp_part, counts.index, counts.shapes)
    if counts.dbf_header != counts.shapes:
        raise _table_mismatch(dbf_part, shp_part, counts.dbf_header, counts.shapes)
    return counts


def shapefile_counts(shp: Path, shx: Path, dbf: Path, prefix: str = "") -> ShapefileCounts:
    """Read the record counts of the three parts (see the module doc for how).

    Raises
    ------
    ShapefileIntegrityError
        A part is too short for its header, carries the wrong file code, or is cut in
        the middle of a record.
    """
    shp_part, shx_part, dbf_part = (_Part(p, prefix + p.name) for p in (shp, shx, dbf))
    entries = _index_entries(shx_part, shp_part)
    shapes = _shape_count(shp_part, entries)
    header, records = _dbf_counts(dbf_part)
    return ShapefileCounts(shapes, len(entries), header, records)


# --- reading the parts --------------------------------------------------------------------


def _index_entries(shx: _Part, shp: _Part) -> np.ndarray:
    """The ``.shx`` entries as an ``(n, 2)`` int64 array of byte offsets and lengths."""
    size = shx.path.stat().st_size
    with shx.path.open("rb") as fh:
        head = fh.read(_HEADER)
        if size < _HEADER or struct.unpack_from(">i", head, 0)[0] != _FILE_CODE:
            raise _broken_index(shx, shp, f"不是有效的 .shx 文件（{size} 字节）", f"{size} bytes")
        declared = struct.unpack_from(">i", head, 24)[0] * 2
        if declared != size or (size - _HEADER) % 8:
            raise _broken_index(
                shx,
                shp,
                f"文件头记载长度 {declared} 字节，实际 {size} 字节",
                f"its header says {declared} bytes, the file has {size}",
            )
        words = np.fromfile(fh, dtype=">i4", count=(size - _HEADER) // 4)
    return words.astype(np.int64).reshape(-1, 2) * 2


def _shape_count(shp: _Part, entries: np.ndarray) -> int:
    """Complete shape records in the ``.shp``; refuses one cut short."""
    size = shp.path.stat().st_size
    with shp.path.open("rb") as fh:
        head = fh.read(_HEADER)
        if size < _HEADER or struct.unpack_from(">i", head, 0)[0] != _FILE_CODE:
            raise _not_a_shp(shp, size)
        declared = struct.unpack_from(">i", head, 24)[0] * 2
        ends = entries[:, 0] + 8 + entries[:, 1]
        inside = int(np.count_nonzero(ends <= size))
        if declared > size or inside < len(entries):
            raise _shp_cut_short(shp, len(entries), inside, declared, size)
        start = int(ends.max()) if len(ends) else _HEADER
        fh.seek(start)
        tail = fh.read(max(declared - start, 0))
    extra = _walk_records(tail)
    if extra is None:
        raise _shp_cut_short(shp, len(entries), len(entries), declared, size)
    return len(entries) + extra


def _walk_records(data: bytes) -> int | None:
    """Records in ``data`` (shapes after the last indexed one); None when one is cut.

    Runs only over shapes the index does not know about, which is none in a sound file.
    """
    pos, found = 0, 0
    while pos < len(data):
        if pos + 8 > len(data):
            return None
        length = struct.unpack_from(">i", data, pos + 4)[0] * 2
        if length < 0 or pos + 8 + length > len(data):
            return None
        pos += 8 + length
        found += 1
    return found


def _dbf_counts(dbf: _Part) -> tuple[int, int]:
    """(records the header declares, complete records the file holds)."""
    size = dbf.path.stat().st_size
    with dbf.path.open("rb") as fh:
        head = fh.read(32)
        fh.seek(max(size - 1, 0))
        last = fh.read(1)
    if size < 32:
        raise _dbf_unreadable(dbf, f"只有 {size} 字节，不足 32 字节的文件头", f"{size} bytes")
    n_records, header_length, record_length = struct.unpack_from("<IHH", head, 4)
    if record_length == 0 or header_length < 33 or header_length > size:
        raise _dbf_unreadable(
            dbf,
            f"文件头无效（文件头长度 {header_length}，记录长度 {record_length}，共 {size} 字节）",
            f"header length {header_length}, record length {record_length}, {size} bytes",
        )
    body = size - header_length
    if body % record_length == 1 and last == bytes([_DBF_EOF]):
        body -= 1
    if body % record_length:
        raise _dbf_cut_record(dbf, n_records, body // record_length, body % record_length)
    return n_records, body // record_length


# --- messages -----------------------------------------------------------------------------


def _error(code: str, zh: str, en: str) -> ShapefileIntegrityError:
    return ShapefileIntegrityError(Message(code, zh, en))


def _shx_fix(shp: _Part) -> tuple[str, str]:
    return _SHX_ZH.format(shp=shp.path.name), _SHX_EN.format(shp=shp.path.name)


def _broken_index(
    shx: _Part, shp: _Part, detail_zh: str, detail_en: str
) -> ShapefileIntegrityError:
    fix_zh, fix_en = _shx_fix(shp)
    return _error(
        "shapefile.broken_index",
        f"Shapefile 索引文件“{shx.display}”已损坏：{detail_zh}；应为 100 字节文件头加每个图形"
        f" 8 字节。{fix_zh}；或{_COPY_ZH}。",
        f"The shapefile index '{shx.display}' is broken ({detail_en}); a 100-byte header and"
        f" 8 bytes per shape are expected. {fix_en[0].upper()}{fix_en[1:]}; or {_COPY_EN}.",
    )


def _index_mismatch(shx: _Part, shp: _Part, index: int, shapes: int) -> ShapefileIntegrityError:
    fix_zh, fix_en = _shx_fix(shp)
    return _error(
        "shapefile.index_count",
        f"Shapefile 索引文件“{shx.display}”登记了 {index} 个图形，而“{shp.display}”中有"
        f" {shapes} 个图形；两者应相同（索引来自另一版本或未写完），按原样读取会少读或错读图形。"
        f"{fix_zh}。",
        f"The shapefile index '{shx.display}' lists {index} shapes but '{shp.display}' holds"
        f" {shapes}; they should be equal (the index is from another version or was not"
        f" finished), and reading as it is would drop or mismatch shapes."
        f" {fix_en[0].upper()}{fix_en[1:]}.",
    )


def _not_a_shp(shp: _Part, size: int) -> ShapefileIntegrityError:
    return _error(
        "shapefile.not_shp",
        f"{shp.display} 无法读取：不是有效的 .shp 文件（{size} 字节，没有 Shapefile 的 100 字节"
        f"文件头），文件可能已损坏或不完整；{_COPY_ZH}。",
        f"{shp.display} could not be read: it is not a valid .shp file ({size} bytes without"
        f" the 100-byte shapefile header), so it may be damaged or incomplete; {_COPY_EN}.",
    )


def _shp_cut_short(
    shp: _Part, indexed: int, complete: int, declared: int, size: int
) -> ShapefileIntegrityError:
    return _error(
        "shapefile.shp_truncated",
        f"图形文件“{shp.display}”不完整：索引登记了 {indexed} 个图形，文件中完整的只有"
        f" {complete} 个（文件头记载 {declared} 字节，实际 {size} 字节），文件在复制或传输中被截断。"
        f"{_COPY_ZH}。",
        f"The shape file '{shp.display}' is cut short: the index lists {indexed} shapes and"
        f" only {complete} are complete in the file (its header says {declared} bytes, the"
        f" file has {size}); the copy or transfer stopped early. Please {_COPY_EN}.",
    )


def _dbf_unreadable(dbf: _Part, detail_zh: str, detail_en: str) -> ShapefileIntegrityError:
    return _error(
        "shapefile.dbf_header",
        f"属性表“{dbf.display}”{detail_zh}，不是有效的 .dbf 文件；{_COPY_ZH}。",
        f"The attribute table '{dbf.display}' is not a valid .dbf file ({detail_en}); {_COPY_EN}.",
    )


def _dbf_cut_record(
    dbf: _Part, declared: int, complete: int, extra: int
) -> ShapefileIntegrityError:
    return _error(
        "shapefile.dbf_truncated",
        f"属性表“{dbf.display}”在一条记录中间结束：文件头记载 {declared} 条记录，文件中完整的只有"
        f" {complete} 条，另有 {extra} 字节的残缺记录；文件在复制或传输中被截断。{_COPY_ZH}。",
        f"The attribute table '{dbf.display}' ends in the middle of a record: its header"
        f" declares {declared} records, the file holds {complete} complete ones and {extra}"
        f" bytes of a cut one; the copy or transfer stopped early. Please {_COPY_EN}.",
    )


def _dbf_count_mismatch(dbf: _Part, declared: int, present: int) -> ShapefileIntegrityError:
    if declared > present:
        why_zh, why_en = "文件在复制或传输中被截断", "the copy or transfer stopped early"
    else:
        why_zh = "写入该文件的程序未写完（文件头未更新）"
        why_en = "the program writing it stopped before updating the header"
    return _error(
        "shapefile.dbf_count",
        f"属性表“{dbf.display}”的文件头记载 {declared} 条记录，文件中实际有 {present} 条；"
        f"两者应相同（{why_zh}）。{_COPY_ZH}。",
        f"The attribute table '{dbf.display}' declares {declared} records in its header but"
        f" holds {present}; they should be equal ({why_en}). Please {_COPY_EN}.",
    )


def _table_mismatch(dbf: _Part, shp: _Part, records: int, shapes: int) -> ShapefileIntegrityError:
    if records < shapes:
        why_zh = (
            f"属性表少了 {shapes - records} 条记录，多半是被截断的副本；按原样读取只会导入前"
            f" {records} 个图形，其余的被悄悄丢掉"
        )
        why_en = (
            f"the table lacks {shapes - records} records, most likely a truncated copy;"
            f" read as it is, only the first {records} shapes would be imported and the rest"
            " silently dropped"
        )
    else:
        why_zh = (
            f"属性表多出 {records - shapes} 条记录：图形文件不完整，或 .dbf 来自该图层的另一个版本"
        )
        why_en = (
            f"the table has {records - shapes} records more than there are shapes: the shape"
            " file is incomplete, or the .dbf comes from another version of the layer"
        )
    return _error(
        "shapefile.record_count",
        f"属性表“{dbf.display}”有 {records} 条记录，而“{shp.display}”中有 {shapes} 个图形；"
        f"两者应一一对应（{why_zh}）。{_COPY_ZH}，各组成文件须来自同一次导出。",
        f"The attribute table '{dbf.display}' holds {records} records but '{shp.display}'"
        f" holds {shapes} shapes; they should match one to one ({why_en}). Please"
        f" {_COPY_EN}, with every part from the same export.",
    )
