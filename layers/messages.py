"""Bilingual user-facing messages.

Every message a person may read (errors, warnings, reject reasons, report lines) is kept
in Chinese and English together, so the CLI and the service can show either language
without the core code knowing which one is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


@dataclass(frozen=True)
class Message:
    """One user-facing text in both languages.

    Attributes
    ----------
    code : str
        Stable machine-readable identifier, e.g. ``"encoding.sniffed_gb18030"``.
    zh, en : str
        The text in Chinese and in English.
    """

    code: str
    zh: str
    en: str

    def text(self, lang: Lang = "zh") -> str:
        """Return the text in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.en if lang == "en" else self.zh

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}

    def __str__(self) -> str:
        return self.en


def pick(lang: Lang, zh: str, en: str) -> str:
    """The Chinese or English text for ``lang``."""
    return en if lang == "en" else zh
