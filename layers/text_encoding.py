"""Text encoding detection for CSV tables: byte order marks, UTF-8 and GB18030.

A CSV exported by Excel or WPS on a Chinese desktop may be UTF-8 with or without a BOM,
GB18030/GBK (with the rare GB18030 BOM or, usually, without one), or UTF-16 ("Unicode
text"). The encoding is decided from the bytes and explained in Chinese and English; a
user-given ``--encoding`` is validated as for shapefiles (:mod:`layers.encoding`).
"""

from __future__ import annotations

import codecs

from layers.encoding import GB_NAME, UTF8_NAME, check_user_encoding, decodes, user_reason
from layers.errors import EncodingError
from layers.messages import Message

#: The byte order mark of GB18030: U+FEFF encoded in GB18030 (a four-byte sequence).
GB18030_BOM = b"\x84\x31\x95\x33"

_UTF8_EXAMPLES = "GB18030, GBK, UTF-8"


def detect_text_encoding(data: bytes, user_encoding: str | None = None) -> tuple[str, Message]:
    """Decide the encoding of a text file (CSV) from its bytes.

    Parameters
    ----------
    data : bytes
        The whole file (a prefix may end mid-character and be misjudged).
    user_encoding : str, optional
        Encoding given by the user; validated with :func:`codecs.lookup`.

    Returns
    -------
    encoding : str
        ``"utf-8-sig"`` (UTF-8 with BOM), ``"gb18030"`` (GB18030 with its BOM
        ``84 31 95 33``, or valid GB18030/GBK without one), ``"utf-32"`` or ``"utf-16"``
        (with BOM; UTF-16 is Excel's "Unicode text"), ``"utf-8"`` (valid UTF-8,
        including pure ASCII), or the user's value. Valid for ``bytes.decode`` and
        ``pandas.read_csv(encoding=...)``. Only the ``utf-8-sig``, ``utf-16`` and
        ``utf-32`` codecs drop the BOM themselves: GB18030 decodes its BOM to U+FEFF,
        which the caller strips (as it does after a user-given ``utf-8``).
    reason : Message

    Raises
    ------
    EncodingError
        The user's encoding is unknown, or the bytes are neither UTF-8 nor GB18030.
    """
    if user_encoding is not None:
        name = check_user_encoding(user_encoding, "CSV")
        name = name.lower() if name in {UTF8_NAME, GB_NAME} else name
        return name, user_reason(user_encoding, name)
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", Message(
            "encoding.utf8_bom",
            "文件以 UTF-8 BOM 开头，按 UTF-8 读取",
            "UTF-8 byte order mark found",
        )
    if data.startswith(GB18030_BOM):
        return "gb18030", Message(
            "encoding.gb18030_bom",
            "文件以 GB18030 BOM（84 31 95 33）开头，按 GB18030 读取",
            "GB18030 byte order mark (84 31 95 33) found",
        )
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", Message(
            "encoding.utf32_bom",
            "文件以 UTF-32 BOM 开头，按 UTF-32 读取",
            "UTF-32 byte order mark found",
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", Message(
            "encoding.utf16_bom",
            "文件以 UTF-16 BOM 开头，按 UTF-16 读取",
            "UTF-16 byte order mark found",
        )
    if data.isascii():
        return "utf-8", Message(
            "encoding.ascii",
            "文本全为 ASCII 字符，按 UTF-8 读取",
            "all text is ASCII; read as UTF-8",
        )
    if decodes(data, "utf-8"):
        return "utf-8", Message("encoding.utf8", "文本为有效 UTF-8", "the text decodes as UTF-8")
    if decodes(data, "gb18030"):
        return "gb18030", Message(
            "encoding.gb18030",
            "文本不是 UTF-8，按 GB18030 (GBK) 读取",
            "the text is not UTF-8 and decodes as GB18030 (GBK)",
        )
    raise EncodingError(
        Message(
            "encoding.undetected",
            "文本既不是 UTF-8 也不是 GB18030 (GBK)，无法判断编码；"
            f"请用 --encoding 指定编码，例如 {_UTF8_EXAMPLES}。",
            "the text is neither UTF-8 nor GB18030 (GBK), so its encoding cannot be detected; "
            f"pass --encoding with the right codec, e.g. {_UTF8_EXAMPLES}.",
        )
    )
