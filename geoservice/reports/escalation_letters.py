"""Escalation documents (提醒函, 督办函, 挂牌督办通知书) as printable A4 HTML and PDF.

A document is rendered from its record as issued (:func:`geoservice.workflow.
escalation_docs.read_document`), so it prints the same whenever it is printed: the number,
the addressee village, the problems and patches it covers in a table (id, what it is, the
deadline, days overdue on the document's date), what the village must do and by when it
must reply, the legal basis quoted from the town's Collaboration Rules (Articles 4 and 7),
the issuer and date, and the departments copied.

The HTML comes from the Jinja2 template ``templates/escalation_letter.html`` (print CSS for
A4, no external resource); the PDF is laid out by the same WeasyPrint as the joint-
enforcement work order (:func:`geoservice.reports.dossier.load_weasyprint`). Chinese by
default, English with ``lang="en"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from geoservice.analysis.labels import article_label, category_name
from geoservice.analysis.rules import Rules, load_rules
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message
from geoservice.base.missing import village_word
from geoservice.base.workspace import Workspace
from geoservice.reports.dossier import FORMATS, load_weasyprint
from geoservice.reports.escalation_words import ARTICLES, WORDS, action_text
from geoservice.workflow.document_numbers import DocumentRules, load_document_rules
from geoservice.workflow.escalation_docs import document_title, read_document
from geoservice.workflow.escalation_patches import patch_stage_label
from geoservice.workflow.states import state_label
from layers.messages import Lang, pick

__all__ = [
    "RenderedLetter",
    "letter_file_name",
    "letter_html",
    "letter_pdf",
    "render_letter",
    "write_letters",
]

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _day(text: str, lang: Lang) -> str:
    """``2026-11-28`` as ``2026年11月28日`` (Chinese) or as it is (English)."""
    day = date.fromisoformat(text)
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else day.isoformat()


def _what(item: dict[str, Any], lang: Lang) -> str:
    """What an item is: a problem's own description; a patch's category, area and stage."""
    category = category_name(str(item["category"]), lang) if item["category"] else ""
    if item["kind"] == "problem":
        text = item["description"] or ""
        return (
            f"{category}{pick(lang, '：', ': ')}{text}" if category and text else category or text
        )
    area = "" if item["area_ha"] is None else f"{item['area_ha']:.2f}"
    stage = patch_stage_label(item["status"], lang)
    if lang == "en":
        return f"change patch, {category}, {area} ha; stage {stage} overdue"
    return f"变化图斑，{category}，{area} 公顷；{stage}阶段逾期"


def _noun(items: list[dict[str, Any]]) -> str:
    """Which words name the items: problems, change patches, or both."""
    kinds = {str(i["kind"]) for i in items}
    if kinds == {"patch"}:
        return "what_patch"
    return "what_both" if "patch" in kinds else "what_problem"


def _rows(doc: dict[str, Any], lang: Lang) -> list[dict[str, Any]]:
    kinds = {"problem": WORDS["kind_problem"], "patch": WORDS["kind_patch"]}
    return [
        {
            "no": n,
            "kind": pick(lang, *kinds[str(item["kind"])]),
            "item_id": item["item_id"],
            "what": _what(item, lang),
            "status": state_label(str(item["status"]), lang)
            if item["kind"] == "problem"
            else patch_stage_label(item["status"], lang),
            "deadline": item["deadline"] or "—",
            "days": item["days_overdue"],
        }
        for n, item in enumerate(doc["items"], start=1)
    ]


def _articles(rules: Rules, lang: Lang) -> list[dict[str, str]]:
    def cite(n: int) -> str:
        if lang == "en":
            return f"{article_label(n, 'en')} of the {rules.policy.title_en}"
        return f"《{rules.policy.title_zh}》{article_label(n)}"

    return [{"citation": cite(n), "text": pick(lang, *ARTICLES[n])} for n in sorted(ARTICLES)]


def letter_html(
    doc: dict[str, Any],
    lang: Lang = "zh",
    *,
    rules: Rules | None = None,
    numbering: DocumentRules | None = None,
) -> str:
    """The document ``doc`` (a record of :func:`read_document`) as one self-contained HTML
    page for A4."""
    rules = rules or load_rules()
    numbering = numbering or load_document_rules()
    level = str(doc["level"])
    village = village_word(doc["village_code"] or None, doc["village_name"] or None, lang)
    context = {
        "lang": lang,
        "w": {key: pick(lang, *pair) for key, pair in WORDS.items()},
        "colon": pick(lang, "：", ": "),
        "title": document_title(level, lang),
        "number": doc["number"],
        "level": level,
        "addressee": village,
        "intro": pick(lang, *WORDS[f"intro_{level}"]).format(
            n=len(doc["items"]),
            what=pick(lang, *WORDS[_noun(doc["items"])]),
            pending=pick(lang, *WORDS[_noun(doc["items"]).replace("what_", "pending_")]),
        ),
        "action": action_text(level, _day(doc["reply_by"], lang), lang),
        "rows": _rows(doc, lang),
        "articles": _articles(rules, lang),
        "signature": pick(lang, numbering.signature_zh, numbering.signature_en),
        "date": _day(doc["as_of"], lang),
        "cc": pick(lang, "、", ", ").join(
            rules.department_name(c, lang) for c in doc["cc_departments"]
        ),
        "issued_by": doc["issued_by"],
        "issued_at": doc["issued_at"],
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("escalation_letter.html").render(**context)


def letter_pdf(html: str) -> bytes:
    """The HTML of :func:`letter_html` laid out as an A4 PDF by WeasyPrint."""
    return bytes(load_weasyprint().HTML(string=html).write_pdf())


def letter_file_name(doc: dict[str, Any], fmt: str, lang: Lang) -> str:
    """``提醒函_镇林长办提〔2026〕1号.pdf``; in English (and as the ASCII fallback)
    ``escalation-letter-2026-1.pdf``."""
    if lang == "zh":
        return f"{document_title(str(doc['level']))}_{doc['number']}.{fmt}"
    return f"escalation-{doc['level']}-{doc['year']}-{doc['seq']}.{fmt}"


def _format(fmt: str | None) -> str:
    value = (fmt or "pdf").strip().lower().lstrip(".")
    if value in FORMATS:
        return value
    raise OptionError(
        message(
            "escalations.bad_format",
            f"format 为“{fmt}”，督办文书只能生成 pdf 或 html；请改为 pdf 或 html。",
            f"`format` was {fmt!r} but an escalation document is written as pdf or html; "
            "use pdf or html.",
        )
    )


@dataclass(frozen=True)
class RenderedLetter:
    """A document ready to send: its bytes, format, media type and file names (in the
    document's language, and an ASCII fallback)."""

    body: bytes
    fmt: str
    media_type: str
    name: str
    fallback: str


def render_letter(
    ws: Workspace,
    principal: Principal | None,
    number: str,
    fmt: str | None = "pdf",
    lang: Lang = "zh",
    rules: Rules | None = None,
) -> RenderedLetter:
    """The issued document ``number`` as ``fmt`` (``pdf``, the default, or ``html``).

    Raises
    ------
    OptionError
        ``fmt`` is not ``pdf`` or ``html``.
    NotFoundError
        Naming ``number`` when there is no such document in the caller's scope.
    """
    kind = _format(fmt)
    doc = read_document(ws, number, principal)
    html = letter_html(doc, lang, rules=rules)
    body = letter_pdf(html) if kind == "pdf" else html.encode("utf-8")
    return RenderedLetter(
        body=body,
        fmt=kind,
        media_type=FORMATS[kind],
        name=letter_file_name(doc, kind, lang),
        fallback=letter_file_name(doc, kind, "en"),
    )


def write_letters(
    docs: list[dict[str, Any]], folder: Path, lang: Lang = "zh", rules: Rules | None = None
) -> list[Path]:
    """Write each document as HTML and PDF into ``folder`` (created when missing), named
    by :func:`letter_file_name`; the files written, two per document.

    Raises
    ------
    OptionError
        ``folder`` cannot be written.
    """
    rules = rules or load_rules()
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for doc in docs:
            html = letter_html(doc, lang, rules=rules)
            for fmt, body in (("html", html.encode("utf-8")), ("pdf", letter_pdf(html))):
                path = folder / letter_file_name(doc, fmt, lang)
                path.write_bytes(body)
                written.append(path)
    except OSError as exc:
        raise OptionError(
            message(
                "escalations.cannot_write",
                f"无法写入 {folder}：{exc}；请用 --out 换一个有写权限的文件夹。",
                f"Cannot write into {folder}: {exc}; choose a folder you can write to with --out.",
            )
        ) from exc
    return written
