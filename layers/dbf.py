"""Reading the header and records of a shapefile's DBF attribute table as raw bytes.

The dBASE III/IV header gives the record count, the header and record lengths, the
language driver id (LDID, byte 29) and the field descriptors; Clipper/FoxPro store the
high byte of a long character field's length in the descriptor's byte 17. The records
are read into one uint8 array and the character fields of the records that hold non-ASCII
bytes are gathered for :mod:`layers.encoding` to decide the text encoding from.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import numpy as np

from layers.errors import SourceError
from layers.messages import Message

#: Byte put after each text field by :func:`text_chunks`: ASCII, never part of a UTF-8 or
#: GB18030 sequence.
CHUNK_SEP = 0x0A


@dataclass(frozen=True)
class DbfField:
    """One field descriptor of a DBF header."""

    name: bytes
    type: str
    offset: int  # byte offset within a record (the deletion flag is byte 0)
    length: int


@dataclass(frozen=True)
class DbfHeader:
    """A DBF header: record count, header and record lengths (bytes), LDID and fields."""

    n_records: int
    header_length: int
    record_length: int
    ldid: int
    fields: tuple[DbfField, ...]


def _parse_dbf_header(head: bytes, dbf_path: Path) -> DbfHeader:
    """Parse the dBASE III/IV header: counts, lengths, LDID and field descriptors."""
    if len(head) < 32:
        raise _dbf_corrupt(dbf_path, "the file is shorter than a 32-byte DBF header")
    n_records, header_length, record_length = struct.unpack_from("<IHH", head, 4)
    descs: list[bytes] = []
    for start in range(32, min(header_length, len(head)) - 31, 32):
        if head[start] == 0x0D:
            break
        descs.append(head[start : start + 32])
    types = [chr(d[11]).upper() for d in descs]
    plain = [d[16] for d in descs]
    # Clipper/FoxPro keep the high byte of a long character field's length in byte 17.
    wide = [
        n + (d[17] << 8 if t == "C" else 0) for n, d, t in zip(plain, descs, types, strict=True)
    ]
    lengths = wide if sum(wide) + 1 <= record_length else plain
    if sum(lengths) + 1 > record_length:
        raise _dbf_corrupt(dbf_path, "the fields are longer than the record length")
    offsets = accumulate([1, *lengths])
    fields = tuple(
        DbfField(d[:11].split(b"\0", 1)[0], t, o, n)
        for d, t, o, n in zip(descs, types, offsets, lengths, strict=False)
    )
    return DbfHeader(n_records, header_length, record_length, head[29], fields)


def _dbf_corrupt(dbf_path: Path, detail: str) -> SourceError:
    return SourceError(
        Message(
            "source.dbf_corrupt",
            f"无法读取属性表 {dbf_path.name}：{detail}。"
            "请检查文件是否完整，或用 QGIS 重新导出该图层。",
            f"cannot read the attribute table {dbf_path.name}: {detail}; check that the file "
            f"is complete or export the layer again from QGIS.",
        )
    )


def read_records(dbf_path: Path) -> tuple[DbfHeader, np.ndarray]:
    """Read the header and the record block as an ``(n_records, record_length)`` uint8 array."""
    with dbf_path.open("rb") as fh:
        head = fh.read(32)
        if len(head) >= 12:
            header_length = struct.unpack_from("<H", head, 8)[0]
            head += fh.read(max(header_length - 32, 0))
        header = _parse_dbf_header(head, dbf_path)
        fh.seek(header.header_length)
        block = np.fromfile(fh, dtype=np.uint8, count=header.n_records * header.record_length)
    n_full = block.size // header.record_length if header.record_length else 0
    return header, block[: n_full * header.record_length].reshape(n_full, header.record_length)


def text_chunks(
    header: DbfHeader, records: np.ndarray
) -> tuple[list[bytes], np.ndarray, list[int]]:
    """Field names, and the character fields of the records that hold non-ASCII bytes.

    Returns
    -------
    names : list of bytes
        The raw field names.
    text : numpy.ndarray
        2-D uint8: the ``C`` columns of every record with a byte >= 0x80 in them, each
        field followed by a separator column.
    ends : list of int
        The column index of each separator in ``text``.
    """
    names = [f.name for f in header.fields]
    text_fields = [f for f in header.fields if f.type == "C" and f.length > 0]
    if not text_fields or records.shape[0] == 0:
        return names, np.empty((0, 0), dtype=np.uint8), []
    sep = np.full((records.shape[0], 1), CHUNK_SEP, dtype=np.uint8)
    parts: list[np.ndarray] = []
    ends: list[int] = []
    width = 0
    for f in text_fields:
        parts += [records[:, f.offset : f.offset + f.length], sep]
        width += f.length + 1
        ends.append(width - 1)
    text = np.concatenate(parts, axis=1)
    return names, text[(text >= 0x80).any(axis=1)], ends
