"""How escalation documents are numbered and how long a village has to reply.

The ``documents`` section of ``geoservice/workflow/workflow.yaml`` holds the town's pattern
of document numbers (发文字号), e.g. ``{issuer}{mark}〔{year}〕{seq}号`` giving
``镇林长办督〔2026〕3号``:

- ``{issuer}``: the issuing office's short name (``issuer``);
- ``{mark}``: the level's mark (``marks``: 提 for 提醒函, 督 for 督办函, 挂 for
  挂牌督办通知书);
- ``{year}``: the year of the document's date (the as-of date it is issued at);
- ``{seq}``: its sequence number in that year, from 1.

Sequence: with ``{mark}`` in the pattern each level counts its own sequence per year
(``…提〔2026〕1号`` and ``…督〔2026〕1号`` are two documents); without it one sequence per
year is shared by every level, so that numbers stay unique. Numbers are allocated from a
counter stored in the workspace, in the transaction that records the document, and never
reused (:mod:`geoservice.workflow.escalation_docs`).
"""

from __future__ import annotations

import sqlite3
import string
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from geoservice.base.errors import OptionError, message
from geoservice.base.workspace_write import has_table

__all__ = [
    "DOCUMENT_LEVELS",
    "DocumentRules",
    "NumberAllocator",
    "document_rules",
    "load_document_rules",
]

# The escalation levels that produce a document, lowest first (geoservice.workflow.escalation).
DOCUMENT_LEVELS: tuple[str, ...] = ("letter", "supervision", "listed")
_FIELDS = {"issuer", "mark", "year", "seq"}


@dataclass(frozen=True)
class DocumentRules:
    """The ``documents`` section of ``workflow.yaml`` (see the module docstring)."""

    number_pattern: str
    issuer: str
    signature_zh: str
    signature_en: str
    marks: dict[str, str]
    reply_days: dict[str, int]

    def __post_init__(self) -> None:
        fields = {f for _, f, _, _ in string.Formatter().parse(self.number_pattern) if f}
        if not {"year", "seq"} <= fields or not fields <= _FIELDS:
            raise _bad(
                "number_pattern",
                self.number_pattern,
                "含 {year} 和 {seq}、只用 {issuer} {mark} {year} {seq} 的编号格式",
                "a pattern with {year} and {seq} using only {issuer}, {mark}, {year}, {seq}",
            )
        for key, table in (("marks", self.marks), ("reply_days", self.reply_days)):
            if set(table) != set(DOCUMENT_LEVELS):
                raise _bad(
                    key,
                    sorted(table),
                    "letter、supervision、listed 三项",
                    "the three keys letter, supervision, listed",
                )
        if self.per_level and len({str(m) for m in self.marks.values()}) != len(self.marks):
            raise _bad("marks", self.marks, "各级不同的代字", "a different mark for each level")
        for level, days in self.reply_days.items():
            if not isinstance(days, int) or isinstance(days, bool) or days < 1:
                raise _bad(f"reply_days.{level}", days, "不小于 1 的整数天数", "whole days >= 1")

    @property
    def per_level(self) -> bool:
        """Whether each level counts its own sequence (the pattern has ``{mark}``)."""
        return "{mark}" in self.number_pattern

    def scope(self, level: str) -> str:
        """The sequence a document of ``level`` takes its number from."""
        return level if self.per_level else "*"

    def number(self, level: str, year: int, seq: int) -> str:
        """The document number, e.g. ``镇林长办提〔2026〕3号``."""
        return self.number_pattern.format(
            issuer=self.issuer, mark=self.marks[level], year=year, seq=seq
        )


def _bad(key: str, value: object, zh: str, en: str) -> OptionError:
    return OptionError(
        message(
            "documents.bad_setting",
            f"documents.{key} 为 {value!r}，应为{zh}；请修改 workflow.yaml。",
            f"`documents.{key}` was {value!r} but is expected to be {en}; fix workflow.yaml.",
        )
    )


def document_rules(values: dict[str, Any]) -> DocumentRules:
    """:class:`DocumentRules` from the ``documents`` mapping; OptionError naming a missing
    or unknown key."""
    keys = set(DocumentRules.__dataclass_fields__)
    if set(values) != keys:
        wrong = sorted(set(values) ^ keys)
        raise _bad(", ".join(wrong), "?", f"以下各项：{', '.join(sorted(keys))}", str(sorted(keys)))
    return DocumentRules(
        number_pattern=str(values["number_pattern"]),
        issuer=str(values["issuer"]),
        signature_zh=str(values["signature_zh"]),
        signature_en=str(values["signature_en"]),
        marks={str(k): str(v) for k, v in dict(values["marks"]).items()},
        reply_days=dict(values["reply_days"]),
    )


def load_document_rules() -> DocumentRules:
    """The packaged ``documents`` section of ``workflow.yaml``."""
    text = (resources.files("geoservice.workflow") / "workflow.yaml").read_text("utf-8")
    return document_rules(dict(yaml.safe_load(text)["documents"]))


@dataclass
class NumberAllocator:
    """Allocates document numbers on ``con``: the next sequence per (year, scope) from the
    stored counters (``escalation_sequences``), skipping any number a document already
    has, and writes the counter back when ``write`` (inside the caller's transaction)."""

    con: sqlite3.Connection
    rules: DocumentRules
    write: bool

    def __post_init__(self) -> None:
        self.last: dict[tuple[int, str], int] = {}
        self.taken: set[str] = set()
        if has_table(self.con, "escalation_sequences"):
            for year, scope, seq in self.con.execute(
                "SELECT year, scope, last_seq FROM escalation_sequences"
            ):
                self.last[(int(year), str(scope))] = int(seq)
        if has_table(self.con, "escalation_documents"):
            self.taken = {
                str(r[0]) for r in self.con.execute("SELECT number FROM escalation_documents")
            }

    def next(self, level: str, year: int) -> tuple[str, int]:
        """The next unused number of ``level`` in ``year`` and its sequence."""
        key = (year, self.rules.scope(level))
        seq = self.last.get(key, 0) + 1
        while self.rules.number(level, year, seq) in self.taken:
            seq += 1
        self.last[key] = seq
        number = self.rules.number(level, year, seq)
        self.taken.add(number)
        if self.write:
            self.con.execute(
                "INSERT INTO escalation_sequences (year, scope, last_seq) VALUES (?, ?, ?) "
                "ON CONFLICT (year, scope) DO UPDATE SET last_seq = excluded.last_seq",
                (year, key[1], seq),
            )
        return number, seq
