"""Text encoding detection for survey shapefiles (their DBF attribute tables).

Chinese survey shapefiles usually come as GBK without a ``.cpg`` sidecar, and the DBF's
language driver id (LDID, header byte 29) is often wrong (``0x57`` "ANSI" and ``0x13``
Japanese are common on GBK files). GDAL then decodes as ISO-8859-1 or CP1252 and the
Chinese text comes back as mojibake. This module decides the encoding from the bytes
themselves and says why, in Chinese and English, so the decision can be shown to the user.

Reading a shapefile with the detected encoding::

    encoding, reason = detect_shapefile_encoding(path)
    gdf = pyogrio.read_dataframe(path, encoding=encoding)  # never also pass ENCODING=

UTF-8 shapefiles whose field names or values were cut mid-character (the DBF limits a
field name to 10 bytes, i.e. three Chinese characters in UTF-8) make pyogrio raise
``UnicodeDecodeError``. The detector reports them with the reason code
:data:`UTF8_TRUNCATED_CODE`; a reader should then (or whenever a UTF-8 read raises
``UnicodeDecodeError``) read with ``encoding="latin1"``, which maps every byte to one
character, and apply :func:`repair_truncated_utf8` to the column names and to every
string value::

    gdf = pyogrio.read_dataframe(path, encoding="latin1")
    gdf = gdf.rename(columns=lambda c: repair_truncated_utf8(c) if c != "geometry" else c)
    for col in string_columns:
        gdf[col] = gdf[col].map(repair_truncated_utf8, na_action="ignore")

The DBF bytes are read by :mod:`layers.dbf`; CSV tables are handled by
:mod:`layers.text_encoding`, which shares the validation of a user-given ``--encoding``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np

from layers.dbf import CHUNK_SEP, read_records, text_chunks
from layers.errors import EncodingError, SourceError
from layers.messages import Message
from layers.shapefile_parts import shapefile_parts

#: Reason code of a UTF-8 DBF with names or values cut mid-character (see module doc).
UTF8_TRUNCATED_CODE = "encoding.sniffed_utf8_truncated"

#: Name returned for GBK-family data: a superset of GBK/CP936/GB2312 that both Python and
#: GDAL (pyogrio's SHAPE_ENCODING) decode correctly. Python's "936" is not a codec name.
GB_NAME = "GB18030"
#: Name returned for UTF-8 data.
UTF8_NAME = "UTF-8"

# .cpg labels we trust (upper case, trimmed) -> encoding name for pyogrio.
# fmt: off
_CPG_LABELS: dict[str, str] = {
    "UTF-8": UTF8_NAME, "UTF8": UTF8_NAME, "65001": UTF8_NAME,
    "936": GB_NAME, "CP936": GB_NAME, "GBK": GB_NAME, "GB2312": GB_NAME, "GB18030": GB_NAME,
}

# What the DBF language driver id claims (dBASE / Esri code page table), for the reason.
_LDID_CLAIMS: dict[int, str] = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x13: "cp932 (Shift-JIS)",
    0x4D: "cp936 (GBK)", 0x4E: "cp949", 0x4F: "cp950 (Big5)", 0x57: "ANSI/cp1252",
    0x58: "cp1252", 0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x78: "cp950 (Big5)",
    0x79: "cp949", 0x7A: "cp936 (GBK)", 0x7B: "cp932 (Shift-JIS)", 0x7C: "cp874",
    0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253",
}
# fmt: on
_LDID_GBK = frozenset({0x4D, 0x7A})


# --------------------------------------------------------------------------- user input


def check_user_encoding(user_encoding: str, what: str) -> str:
    """Validate a user-given encoding; return the name to use (Chinese labels normalised)."""
    label = user_encoding.strip()
    mapped = _CPG_LABELS.get(label.upper())
    if mapped is not None:
        return mapped  # GBK/GB2312/936 -> GB18030 (a superset both Python and GDAL read)
    try:
        codecs.lookup(label)
    except LookupError:
        raise EncodingError(
            Message(
                "encoding.unknown_user_encoding",
                f"{what} 的编码 `--encoding` 为 '{user_encoding}'，这不是可识别的编码名；"
                f"应为 Python/GDAL 编码名，例如 GB18030 或 UTF-8。请改用 --encoding GB18030。",
                f"`--encoding` for {what} was '{user_encoding}' but is expected to be a "
                f"Python/GDAL codec name such as GB18030 or UTF-8; pass --encoding GB18030.",
            )
        ) from None
    return label


def user_reason(given: str, name: str) -> Message:
    """Why the encoding ``name`` is used: the user gave ``given`` (named too when it differs)."""
    if given.strip() == name:
        return Message(
            "encoding.user", f"编码 {name} 由用户指定", f"encoding {name} given by the user"
        )
    return Message(
        "encoding.user",
        f"编码 {given.strip()} 由用户指定，按 {name} 读取",
        f"encoding {given.strip()} given by the user, read as {name}",
    )


# --------------------------------------------------------------------------- sidecars


def _find_sidecar(shp_path: Path, suffix: str) -> Path | None:
    """``<stem>.<suffix>`` next to ``shp_path``, whatever the case of stem and suffix."""
    if not shp_path.parent.is_dir():
        return None
    return shapefile_parts(shp_path).get(suffix.lower())


def _read_cpg_label(cpg_path: Path) -> str:
    """The code page label of a ``.cpg`` file: first line, BOM and whitespace removed."""
    raw = cpg_path.read_bytes()[:200].removeprefix(codecs.BOM_UTF8)
    text = raw.decode("ascii", errors="replace").strip()
    return text.splitlines()[0].strip() if text else ""


# --------------------------------------------------------------------------- DBF sniffing


def _trim_utf8_tails(text: np.ndarray, ends: list[int]) -> np.ndarray:
    """Blank an incomplete UTF-8 sequence at the end of every text chunk (vectorised).

    ``text`` holds chunks each followed by a separator column at the indices ``ends``. A
    chunk cut mid-character ends in a lead byte missing 1-3 continuation bytes; those
    bytes are replaced by spaces. One pass per field, not per record.
    """
    out = text.copy()
    start = 0
    for end in ends:
        width = end - start
        start = end + 1
        if width < 1:
            continue
        b1 = text[:, end - 1]
        cont1 = (b1 & 0xC0) == 0x80
        cut1 = (b1 >= 0xC2) & (b1 <= 0xF4)  # a lead byte with nothing after it
        cut2 = np.zeros_like(cut1)
        cut3 = np.zeros_like(cut1)
        if width >= 2:
            b2 = text[:, end - 2]
            cut2 = cont1 & (b2 >= 0xE0) & (b2 <= 0xF4)  # 3/4-byte lead + 1 continuation
            if width >= 3:
                b3 = text[:, end - 3]
                cont2 = (b2 & 0xC0) == 0x80
                cut3 = cont1 & cont2 & (b3 >= 0xF0) & (b3 <= 0xF4)  # 4-byte lead + 2
        out[cut1 | cut2 | cut3, end - 1] = 0x20
        out[cut2 | cut3, end - 2] = 0x20
        out[cut3, end - 3] = 0x20
    return out


def _drop_utf8_tail(data: bytes) -> bytes:
    """``data`` without an incomplete UTF-8 sequence at its end."""
    for k in range(1, min(3, len(data)) + 1):
        byte = data[-k]
        if byte & 0xC0 == 0x80:
            continue  # continuation byte: look further back for the lead
        need = 2 if 0xC2 <= byte <= 0xDF else 3 if 0xE0 <= byte <= 0xEF else 4
        if byte >= 0xC2 and k < need <= 4 and byte <= 0xF4:
            return data[:-k]
        return data
    return data


def _utf8_error(data: bytes) -> int | None:
    """Offset of the first invalid UTF-8 byte in ``data``, or None when it all decodes."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def decodes(data: bytes, encoding: str) -> bool:
    """True when all of ``data`` decodes with ``encoding``."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _error_count(data: bytes, encoding: str) -> int:
    return data.decode(encoding, errors="replace").count("\ufffd")


def _values_cut_utf8(
    text: np.ndarray, ends: list[int], values: bytes, first_error: int | None
) -> bool:
    """True when the values decode as UTF-8 once cut-off last characters are blanked."""
    if first_error is None:
        return True
    # Blanking can only help when the first error sits at the end of a chunk.
    if not 0 <= values.find(bytes([CHUNK_SEP]), first_error) - first_error <= 3:
        return False
    return decodes(_trim_utf8_tails(text, ends).tobytes(), "utf-8")


def _classify(names: list[bytes], text: np.ndarray, ends: list[int]) -> str:
    """Decide from raw text bytes: ascii, utf8, utf8_truncated, gb18030, guess_*.

    ``text`` holds only records with non-ASCII bytes (see :func:`layers.dbf.text_chunks`). Names
    and values are decoded separately so the record bytes are never copied again.
    """
    names_raw = b"\n".join(names)
    values = text.tobytes()
    if names_raw.isascii() and not values:
        return "ascii"
    names_error, values_error = _utf8_error(names_raw), _utf8_error(values)
    if names_error is None and values_error is None:
        return "utf8"
    names_cut = b"\n".join(_drop_utf8_tail(n) for n in names)
    if decodes(names_cut, "utf-8") and _values_cut_utf8(text, ends, values, values_error):
        return "utf8_truncated"
    if decodes(names_raw, "gb18030") and decodes(values, "gb18030"):
        return "gb18030"
    utf8_errors = _error_count(names_cut, "utf-8") + _error_count(
        _trim_utf8_tails(text, ends).tobytes(), "utf-8"
    )
    gb_errors = _error_count(names_raw, "gb18030") + _error_count(values, "gb18030")
    return "guess_utf8" if utf8_errors < gb_errors else "guess_gb18030"


def _ldid_note(ldid: int, detected: str) -> tuple[str, str]:
    """A (zh, en) clause about the LDID byte when it disagrees with ``detected``."""
    if detected == GB_NAME and ldid in _LDID_GBK:
        return "", ""
    if ldid == 0:
        return (
            "；DBF 头部 LDID 为 0x00（未声明代码页，GDAL 会按 ISO-8859-1 读取），已忽略",
            "; LDID 0x00 names no code page (GDAL would read ISO-8859-1); ignored",
        )
    claim = _LDID_CLAIMS.get(ldid, "an unknown code page")
    claim_zh = _LDID_CLAIMS.get(ldid, "未知代码页")
    return (
        f"；DBF 头部 LDID 0x{ldid:02X} 声称 {claim_zh}，与实际不符，已忽略",
        f"; LDID 0x{ldid:02X} claims {claim}; ignored",
    )


_SNIFF_TEXT: dict[str, tuple[str, str, str]] = {
    # kind -> (encoding, zh, en)
    "ascii": (
        UTF8_NAME,
        "DBF 中文本全为 ASCII 字符，按 UTF-8 读取",
        "all text is ASCII; read as UTF-8",
    ),
    "utf8": (UTF8_NAME, "按 DBF 文本字节判断为 UTF-8", "the DBF text bytes decode as UTF-8"),
    "utf8_truncated": (
        UTF8_NAME,
        "按 DBF 文本字节判断为 UTF-8，但有字段名或字段值在字符中间被截断"
        "（DBF 字段名限 10 字节）；需按 latin1 读取后修复",
        "the DBF text bytes decode as UTF-8, but some field names or values were cut "
        "mid-character (a DBF field name holds 10 bytes); read as latin1 and repair",
    ),
    "gb18030": (
        GB_NAME,
        "按 DBF 文本字节判断为 GB18030 (GBK)",
        "the DBF text bytes decode as GB18030 (GBK)",
    ),
    "guess_utf8": (
        UTF8_NAME,
        "DBF 文本既非有效 UTF-8 也非有效 GB18030；"
        "UTF-8 解码错误较少，按 UTF-8 读取，部分字符可能乱码",
        "the DBF text is neither valid UTF-8 nor valid GB18030; UTF-8 gives fewer decoding "
        "errors, so UTF-8 is used and some characters may be garbled",
    ),
    "guess_gb18030": (
        GB_NAME,
        "DBF 文本既非有效 UTF-8 也非有效 GB18030；"
        "GB18030 解码错误较少，按 GB18030 读取，部分字符可能乱码",
        "the DBF text is neither valid UTF-8 nor valid GB18030; GB18030 gives fewer decoding "
        "errors, so GB18030 is used and some characters may be garbled",
    ),
}


def _sniff_dbf(dbf_path: Path, prefix_zh: str, prefix_en: str) -> tuple[str, Message]:
    header, records = read_records(dbf_path)
    names, text, ends = text_chunks(header, records)
    kind = _classify(names, text, ends)
    encoding, zh, en = _SNIFF_TEXT[kind]
    note_zh, note_en = ("", "") if kind == "ascii" else _ldid_note(header.ldid, encoding)
    code = UTF8_TRUNCATED_CODE if kind == "utf8_truncated" else f"encoding.sniffed_{kind}"
    return encoding, Message(code, f"{prefix_zh}{zh}{note_zh}", f"{prefix_en}{en}{note_en}")


# --------------------------------------------------------------------------- public API


def detect_shapefile_encoding(
    shp_path: Path, user_encoding: str | None = None
) -> tuple[str, Message]:
    """Decide the text encoding of a shapefile's attribute table.

    Order: the user's ``--encoding``; a ``.cpg`` sidecar with a trusted label (UTF-8,
    UTF8, 65001, 936, CP936, GBK, GB2312, GB18030); otherwise the bytes of the DBF field
    names and character fields (all ASCII -> UTF-8; valid UTF-8 -> UTF-8; valid GB18030
    -> GB18030; else whichever gives fewer errors). The LDID byte is never trusted.

    Parameters
    ----------
    shp_path : Path
        The ``.shp`` file (or any file of the set; the ``.dbf`` sibling is found by stem,
        case-insensitively).
    user_encoding : str, optional
        Encoding given by the user; validated with :func:`codecs.lookup`.

    Returns
    -------
    encoding : str
        A name for ``pyogrio.read_dataframe(path, encoding=...)``: ``"UTF-8"`` or
        ``"GB18030"`` when detected (GBK-family ``.cpg`` labels map to ``"GB18030"``),
        else the user's value.
    reason : Message
        Why, in Chinese and English. Its code is ``encoding.user``, ``encoding.cpg``,
        ``encoding.sniffed_<kind>`` or :data:`UTF8_TRUNCATED_CODE`.

    Raises
    ------
    EncodingError
        ``user_encoding`` is not a known codec.
    SourceError
        The ``.dbf`` is missing (and no user encoding or trusted ``.cpg`` made it
        unnecessary) or its header is corrupt.
    """
    shp_path = Path(shp_path)
    if user_encoding is not None:
        name = check_user_encoding(user_encoding, shp_path.name)
        return name, user_reason(user_encoding, name)
    cpg = _find_sidecar(shp_path, ".cpg")
    prefix_zh, prefix_en = "未找到 .cpg 文件，", "no .cpg file; "
    if cpg is not None:
        label = _read_cpg_label(cpg)
        encoding = _CPG_LABELS.get(label.upper())
        if encoding is not None:
            return encoding, Message(
                "encoding.cpg",
                f"按 {cpg.name} 中的代码页 '{label}' 读取为 {encoding}",
                f"{cpg.name} says '{label}'; read as {encoding}",
            )
        prefix_zh = f"{cpg.name} 中的代码页 '{label}' 不在可信列表中，已改为检查文本字节："
        prefix_en = (
            f"{cpg.name} says '{label}', which is not a trusted label, so the text was checked: "
        )
    dbf = _find_sidecar(shp_path, ".dbf")
    if dbf is None:
        raise SourceError(
            Message(
                "source.missing_dbf",
                f"缺少属性表文件 {shp_path.stem}.dbf（与 {shp_path.name} 同目录）；"
                f"shapefile 需要 .shp、.shx 和 .dbf 三个文件，请一并提供。",
                f"the attribute table {shp_path.stem}.dbf is missing next to {shp_path.name}; "
                f"a shapefile needs its .shp, .shx and .dbf files together: add the .dbf.",
            )
        )
    return _sniff_dbf(dbf, prefix_zh, prefix_en)


def repair_truncated_utf8(text: str) -> str:
    """Decode a string read as latin1 from a UTF-8 DBF, dropping a cut-off last character.

    Reading a DBF with ``encoding="latin1"`` maps each byte to one character, so it never
    fails. This function turns such a string back into bytes and decodes them as UTF-8:
    an incomplete multi-byte sequence at the end (a field name or value cut at the DBF
    byte limit) is dropped; any other invalid byte becomes U+FFFD.

    Parameters
    ----------
    text : str
        A column name or value as read with ``encoding="latin1"``.

    Returns
    -------
    str
        The UTF-8 text, e.g. ``'å°\\x8fç\\x8f\\xadå¤\\x87æ'`` -> ``'小班备'``. A string that
        holds characters above U+00FF was not read as latin1 and is returned unchanged.
    """
    try:
        data = text.encode("latin1")
    except UnicodeEncodeError:
        return text
    return _drop_utf8_tail(data).decode("utf-8", errors="replace")
