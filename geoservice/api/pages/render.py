"""The Jinja2 environment of the field pages and the helpers every template gets.

Templates live in ``templates/``, the stylesheet and the map script in ``static/``. Autoescape
is on for everything; text is looked up in :data:`~geoservice.api.pages.words.WORDS` in the
caller's language (``?lang=en``, else Chinese), and every link keeps that language.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from geoservice.analysis.target_register import TARGET_STATE_LABELS
from geoservice.api.csrf import form_token
from geoservice.api.errors import request_lang
from geoservice.api.pages.words import WORDS
from geoservice.base.access import ROLE_LABELS, Principal
from geoservice.base.missing import NO_CATEGORY, NO_TEXT, is_missing, village_word, word
from geoservice.tasks.lists import ProblemTask
from layers.codes import (
    CATEGORIES,
    DEPARTMENTS,
    ESCALATION_LABELS,
    PRIORITY_WORDS,
    PROBLEM_STATE_LABELS,
)
from layers.messages import Lang, pick

__all__ = [
    "STATIC",
    "Asset",
    "asset_url",
    "environment",
    "page_lang",
    "render",
    "static_asset",
]

HERE = Path(__file__).parent
STATIC: dict[str, str] = {
    "field.css": "text/css",
    "field.js": "text/javascript",
    "signin.js": "text/javascript",
    "capture.js": "text/javascript",  # field capture, map context, patrols
}
# China Standard Time (no daylight saving): history times are shown as the town reads them.
CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Asset:
    """A static file of the pages: its bytes, media type and ETag (content hash)."""

    body: bytes
    media_type: str
    etag: str


@functools.cache
def static_asset(name: str) -> Asset | None:
    """The static file ``name`` (only the files of :data:`STATIC`), read once."""
    media_type = STATIC.get(name)
    if media_type is None:
        return None
    body = (HERE / "static" / name).read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


def asset_url(name: str) -> str:
    """``/static/pages/<name>?v=<content hash>``: a new file is never taken from a cache."""
    asset = static_asset(name)
    return f"/static/pages/{name}?v=" + (asset.etag.strip('"') if asset else "")


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment (autoescape on, undefined names are errors)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seg"] = lambda value: quote(str(value), safe="")
    env.globals["asset_url"] = asset_url
    return env


def page_lang(request: Request) -> Lang:
    """``en`` only when the page asks for it with ``?lang=en`` (or the browser prefers it)."""
    return request_lang(request)


def _href(lang: Lang) -> Callable[..., str]:
    def href(path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "", False)}
        if lang == "en":
            query["lang"] = "en"
        return path + ("?" + urlencode(query) if query else "")

    return href


def _countdown(lang: Lang) -> Callable[[ProblemTask], str]:
    def countdown(task: ProblemTask) -> str:
        left = task.days_left
        if left is None:
            return pick(lang, *WORDS["no_deadline"])
        if left == 0:
            return pick(lang, *WORDS["due_today"])
        if left == 1 or left == -1:
            return pick(lang, *WORDS["day_left" if left > 0 else "day_overdue"])
        key = "days_left" if left > 0 else "days_overdue"
        return pick(lang, *WORDS[key]).format(n=abs(left))

    return countdown


def _actor(lang: Lang) -> Callable[[str], str]:
    """``village:441882101212:张三`` as ``张三（村）``; ``department:police:李四`` as
    ``李四（镇郊派出所）``; anything else as written."""

    def actor(by: str) -> str:
        parts = str(by).split(":", 2)
        if parts[0] not in ROLE_LABELS or len(parts) < 2:
            return str(by)
        name = parts[-1]
        if parts[0] == "department" and len(parts) == 3 and parts[1] in DEPARTMENTS:
            return name + _paren(pick(lang, *DEPARTMENTS[parts[1]]), lang)
        return name + _paren(pick(lang, *ROLE_LABELS[parts[0]]), lang)

    return actor


def _paren(text: str, lang: Lang) -> str:
    return f" ({text})" if lang == "en" else f"（{text}）"


def _when(value: str) -> str:
    """An ISO 8601 time (UTC) as ``2026-11-29 07:24`` in China Standard Time."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def _menu(principal: Principal | None, lang: Lang) -> list[tuple[str, str]]:
    """(link, label) of the menu, scoped to the person."""
    if principal is None:
        return []
    href = _href(lang)
    items = [(href("/app"), pick(lang, *WORDS["tasks"]))]
    if principal.role in ("office", "department"):
        items.append((href("/maps/targets"), pick(lang, *WORDS["map_targets"])))
    items.append((href("/maps/villages"), pick(lang, *WORDS["map_villages"])))
    if principal.role == "department" and principal.department:
        items.append(
            (
                href(f"/maps/department/{quote(principal.department, safe='')}"),
                pick(lang, *WORDS["map_department"]),
            )
        )
    return items


def context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What every template gets: the language, words, labels, links and the menu."""
    lang = page_lang(request)

    def t(key: str, **fmt: Any) -> str:
        text = pick(lang, *WORDS[key])
        return text.format(**fmt) if fmt else text

    def label(table: dict[str, tuple[str, str]]) -> Callable[[Any], str]:
        return lambda code: pick(lang, *table[code]) if code in table else str(code or "")

    def category(code: Any) -> str:
        return word(NO_CATEGORY, lang) if is_missing(code) else label(CATEGORIES)(code)

    def villages(task: Any) -> str:
        """A target's villages: their names, else their codes or 未知村 in words."""
        names = [n for n in task.village_names if n]
        if names:
            return "、".join(names)
        return village_word("、".join(task.village_codes), None, lang)

    css, js = static_asset("field.css"), static_asset("field.js")
    return {
        "lang": lang,
        "t": t,
        "href": _href(lang),
        "state": label(PROBLEM_STATE_LABELS),
        "level": label(ESCALATION_LABELS),
        "target_state": label(TARGET_STATE_LABELS),
        "category": category,
        "village": lambda code, name: village_word(code, name, lang),
        "target_villages": villages,
        "no_text": word(NO_TEXT, lang),
        "dept": label(DEPARTMENTS),
        "prio": label(PRIORITY_WORDS),
        "countdown": _countdown(lang),
        "paren": lambda text: _paren(str(text), lang),
        "actor": _actor(lang),
        "when": _when,
        "principal": principal,
        "role_label": pick(lang, *ROLE_LABELS[principal.role]) if principal else "",
        "menu": _menu(principal, lang),
        "css_url": "/static/pages/field.css?v=" + (css.etag.strip('"') if css else ""),
        "js_url": "/static/pages/field.js?v=" + (js.etag.strip('"') if js else ""),
        "other_lang_url": _other_lang(request, lang),
        "path": request.url.path,
        "csrf_token": form_token(request),
    }


def _other_lang(request: Request, lang: Lang) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", "zh" if lang == "en" else "en"))
    return request.url.path + "?" + urlencode(query)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """The page ``template`` rendered for ``principal`` with ``values``."""
    page = environment().get_template(template)
    html = page.render(**context(request, principal), **values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
