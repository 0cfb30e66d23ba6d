"""The joint-enforcement work order (联合执法任务书) of a target, as HTML or PDF on A4.

One to three A4 pages: the target in brief (priority, score, place, area, categories,
lead and cooperating departments, deadline, the target page's address), a map drawn
offline (:func:`maps.figure.target_map_png`), the reasons, the evidence (complaints with
text, date and status, the reporter's phone for the office only; change patches with
their legality; open inspection problems), the legal basis (the town's articles and the
criminal threshold that applies, with its citation), the departments with their duties
and a sign-off block per department.

The HTML comes from the Jinja2 template ``templates/dossier.html`` (print CSS for A4,
the map inline as a PNG data URI, no external resource); WeasyPrint lays it out as PDF
with the system's CJK fonts (fonts-noto-cjk), offline.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import pandas as pd

from geoservice.analysis.labels import (
    category_name,
    citation,
    priority_word,
    protection_word,
)
from geoservice.analysis.rules import Rules
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, message, no_analysis
from geoservice.base.missing import village_word
from geoservice.base.workspace import Workspace
from geoservice.reports.dossier_basis import (
    JOINT_ENFORCEMENT_ARTICLE,
    REPORTING_ARTICLE,
    deadline,
    department_duties,
)
from geoservice.reports.dossier_data import DossierFacts, dossier_facts, ids_of
from geoservice.reports.dossier_tables import (
    complaint_rows,
    patch_legality,
    patch_rows,
    problem_rows,
    trimmed,
)
from geoservice.reports.dossier_threshold import applicable_threshold
from geoservice.reports.dossier_words import WORDS, article_text
from layers.messages import Lang, pick
from maps.figure import TargetMapLayers, target_map_png

__all__ = [
    "FIT_LEVELS",
    "FORMATS",
    "MAX_PAGES",
    "Dossier",
    "RenderedDossier",
    "build_dossier",
    "dossier_file_name",
    "page_address",
    "render_dossier",
    "write_all_dossiers",
    "write_dossier",
]

FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}
MAX_PAGES = 3


def load_weasyprint() -> Any:
    """WeasyPrint, imported without leaving Pillow's truncated-image tolerance switched on.

    Importing WeasyPrint sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` for the whole process,
    which would let a damaged rectification photo pass the upload check
    (``geoservice/workflow/photos.py``). A work order embeds only the map this service draws,
    so the setting is put back as it was.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


@dataclass(frozen=True)
class FitLevel:
    """How compact a version of the document is (see :func:`_fit`)."""

    compact: bool
    rows: int | None = None
    text_chars: int = 0
    reasons: bool = True


# From the full document to the most compact: a target with very many complaints or very
# long texts still prints on three pages, the rest stays on the target page.
FIT_LEVELS = (
    FitLevel(compact=False),
    FitLevel(compact=True),
    FitLevel(compact=True, rows=12, text_chars=80),
    FitLevel(compact=True, rows=6, text_chars=40, reasons=False),
)
TARGET_PAGE = "/app/targets/{target_id}"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Dossier:
    """One target's work order.

    Attributes
    ----------
    target_id : str
    versions : tuple of str
        The whole document, self-contained (map inline), from the fullest version to the
        most compact (:data:`FIT_LEVELS`): the first that fits on three A4 pages is printed.
    lang : {"zh", "en"}
    """

    target_id: str
    versions: tuple[str, ...]
    lang: Lang

    @property
    def html(self) -> str:
        """The document in full (the first version)."""
        return self.versions[0]

    def fitted(self) -> tuple[str, Any]:
        """The first version that lays out on at most :data:`MAX_PAGES` A4 pages (the most
        compact one otherwise) and its WeasyPrint document."""
        weasyprint = load_weasyprint()
        for html in self.versions:
            laid_out = weasyprint.HTML(string=html).render()
            if len(laid_out.pages) <= MAX_PAGES:
                break
        return html, laid_out

    def pdf(self) -> bytes:
        """The document as PDF (A4), laid out by WeasyPrint on at most three pages."""
        return bytes(self.fitted()[1].write_pdf())

    def body(self, fmt: str) -> bytes:
        """The document as ``fmt`` (``pdf`` or ``html``), the version that fits the pages."""
        if fmt == "pdf":
            return self.pdf()
        return self.fitted()[0].encode("utf-8")


def page_address(target_id: str, base: str | None) -> str:
    """The target's phone page: ``{base}/app/targets/{id}``, or the path alone without a
    base address."""
    path = TARGET_PAGE.format(target_id=target_id)
    return f"{base.rstrip('/')}{path}" if base else path


def dossier_file_name(target_id: str, fmt: str, lang: Lang) -> str:
    """``联合执法任务书_T-….pdf`` / ``work-order_T-….pdf``."""
    return f"{pick(lang, '联合执法任务书', 'work-order')}_{target_id}.{fmt}"


def check_format(fmt: str | None, option: str, given: str | None = None) -> str:
    """``pdf`` or ``html`` (case-insensitive, a leading dot allowed); OptionError naming
    ``option`` and what was ``given`` (``fmt`` itself by default) otherwise."""
    value = (fmt or "").strip().lower().lstrip(".")
    if value in FORMATS:
        return value
    shown = fmt if given is None else given
    raise OptionError(
        message(
            "dossier.bad_format",
            f"{option} 为“{shown}”，任务书只能生成 pdf 或 html；请改为 .pdf 或 .html。",
            f"`{option}` was {shown!r} but a work order is written as pdf or html; use .pdf "
            "or .html.",
        )
    )


# --- map --------------------------------------------------------------------------------


def _map_layers(facts: DossierFacts, rules: Rules) -> TargetMapLayers:
    parcels = facts.parcels
    if not len(parcels):
        parcels = gpd.GeoDataFrame(
            {"parcel_id": ids_of(facts.target["parcel_ids"])[:1]},
            geometry=[facts.target.geometry],
            crs=facts.context.crs,
        )
    patches = facts.patches.assign(
        legality=patch_legality(facts.patches, rules) if len(facts.patches) else []
    )
    keep = ~facts.context["parcel_id"].astype(str).isin(set(parcels["parcel_id"].astype(str)))
    return TargetMapLayers(
        parcels=parcels,
        patches=patches,
        complaints=facts.complaints,
        villages=facts.villages,
        context=facts.context.loc[keep],
        centre=facts.target.geometry.representative_point(),
    )


# --- the document -----------------------------------------------------------------------


def _summary(facts: DossierFacts, rules: Rules, lang: Lang) -> dict[str, str]:
    t = facts.target
    villages = [
        village_word(c, n, lang)
        for c, n in zip(ids_of(t["village_codes"]), ids_of(t["village_names"]), strict=False)
    ]
    protection = sorted(
        {protection_word(str(v), lang) for v in facts.risk.get("public_welfare", []) if v}
        - {protection_word("none", lang)}
    )
    if facts.risk.get("nature_reserve", pd.Series(dtype=bool)).fillna(False).astype(bool).any():
        protection.append(pick(lang, "自然保护区", "nature reserve"))
    if (facts.risk.get("kind", pd.Series(dtype=object)).astype(str) == "wetland").any():
        protection.append(pick(lang, "湿地", "wetland"))
    return {
        "priority": f"{t['priority']}（{priority_word(str(t['priority']), lang)}）"
        if lang == "zh"
        else f"{t['priority']} ({priority_word(str(t['priority']), lang)})",
        "score": f"{float(t['score']):.1f}",
        "villages": pick(lang, "、", ", ").join(villages),
        "parcels": pick(lang, "、", ", ").join(ids_of(t["parcel_ids"])),
        "area": f"{float(t['area_ha']):.2f}",
        "protection": pick(lang, "、", ", ").join(protection),
        "categories": pick(lang, "、", ", ").join(
            category_name(c, lang) for c in ids_of(t["categories"])
        ),
        "criminal": pick(lang, "是", "yes")
        if bool(t["criminal_threshold_met"])
        else pick(lang, "否", "no"),
    }


def _articles(rules: Rules, lang: Lang, duty_articles: list[int]) -> list[dict[str, str]]:
    numbers = sorted({JOINT_ENFORCEMENT_ARTICLE, REPORTING_ARTICLE, *duty_articles})
    return [
        {"citation": citation(rules, n, lang), "text": article_text(n, lang)}
        for n in numbers
        if article_text(n, lang)
    ]


def build_dossier(
    ws: Workspace,
    principal: Principal | None,
    target_id: str,
    rules: Rules,
    *,
    lang: Lang = "zh",
    issued: date | None = None,
    base_url: str | None = None,
) -> Dossier:
    """The work order of one target in the caller's scope.

    Parameters
    ----------
    ws : Workspace
    principal : Principal or None
        The caller (the reporter's phone is shown to the office only); None is the command
        line on the workspace file, which sees every target as the office does.
    target_id : str
    rules : Rules
        The rules in force (department registry, routing, thresholds and citations).
    lang : {"zh", "en"}
    issued : date, optional
        The date of issue (today when None). The deadline is the one the analysis set
        (the ``deadline`` column of the ``targets`` layer), whatever the date of issue.
    base_url : str, optional
        The service's public address (``GEOSERVICE_PUBLIC_URL``) for the target page's
        link; the path alone when None.

    Raises
    ------
    NotFoundError
        Naming ``target_id`` when there is no such target in the caller's scope.
    """
    facts = dossier_facts(ws, principal, target_id, lang)
    day = issued or date.today()
    figure = target_map_png(_map_layers(facts, rules), lang=lang)
    duties = department_duties(facts, rules, lang)
    articles = _articles(
        rules,
        lang,
        [rules.routing[c].article for c in ids_of(facts.target["categories"]) if c in rules.routing]
        or [rules.criminal.article],
    )
    context = {
        "lang": lang,
        "w": {key: pick(lang, *pair) for key, pair in WORDS.items()},
        "colon": pick(lang, "：", ": "),
        "lp": pick(lang, "（", " ("),
        "rp": pick(lang, "）", ")"),
        "target_id": facts.target_id,
        "issued": day.isoformat(),
        "as_of": facts.as_of or "",
        "deadline": deadline(facts.target, lang),
        "policy_title": pick(lang, rules.policy.title_zh, rules.policy.title_en),
        "joint_article": citation(rules, JOINT_ENFORCEMENT_ARTICLE, lang),
        "summary": _summary(facts, rules, lang),
        "lead": duties[0] if duties else None,
        "cooperating": duties[1:],
        "departments": duties,
        "map_png": base64.b64encode(figure.png).decode("ascii"),
        "centre": figure.centre_text(lang),
        "reasons": facts.reasons,
        "complaints": complaint_rows(facts, lang),
        "show_phone": facts.show_phone,
        "patches": patch_rows(facts, rules, lang),
        "problems": problem_rows(facts, lang),
        "threshold": applicable_threshold(facts, rules, lang),
        "articles": articles,
        "page_url": page_address(facts.target_id, base_url),
        "has_base_url": bool(base_url),
    }
    template = _template()
    versions = tuple(template.render(**_fit(context, level)) for level in FIT_LEVELS)
    return Dossier(facts.target_id, versions, lang)


def _fit(context: dict[str, Any], level: FitLevel) -> dict[str, Any]:
    """``context`` at a fit level: smaller type and map from ``compact``, at most
    ``rows`` rows per evidence table (texts cut to ``text_chars``) and, last, the reasons
    left to the target page; ``more`` counts the rows left out."""
    out = {**context, "compact": level.compact, "with_reasons": level.reasons, "more": {}}
    if level.rows is None:
        return out
    for key in ("complaints", "patches", "problems"):
        rows = context[key]
        out[key] = trimmed(rows, level.rows, level.text_chars)
        out["more"][key] = max(len(rows) - level.rows, 0)
    return out


def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("dossier.html")


@dataclass(frozen=True)
class RenderedDossier:
    """A work order ready to send: its bytes, format, media type and file names (Chinese
    or English, and an ASCII fallback)."""

    body: bytes
    fmt: str
    media_type: str
    name: str
    fallback: str


def render_dossier(
    ws: Workspace,
    principal: Principal | None,
    target_id: str,
    rules: Rules,
    fmt: str | None = "pdf",
    **options: Any,
) -> RenderedDossier:
    """The work order of ``target_id`` as ``fmt`` (``pdf`` or ``html``, default pdf);
    ``options`` as for :func:`build_dossier`.

    Raises
    ------
    OptionError
        ``fmt`` is not ``pdf`` or ``html``.
    NotFoundError
        Naming ``target_id`` when there is no such target in the caller's scope.
    """
    kind = check_format(fmt or "pdf", "format")
    dossier = build_dossier(ws, principal, target_id, rules, **options)
    return RenderedDossier(
        body=dossier.body(kind),
        fmt=kind,
        media_type=FORMATS[kind],
        name=dossier_file_name(target_id, kind, dossier.lang),
        fallback=dossier_file_name(target_id, kind, "en"),
    )


# --- files ------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise OptionError(
            message(
                "dossier.cannot_write",
                f"无法写入 {path}：{exc}；请换一个有写权限的位置。",
                f"Cannot write {path}: {exc}; choose a place you can write to.",
            )
        ) from exc
    return path


def write_dossier(
    ws: Workspace,
    principal: Principal | None,
    target_id: str,
    out: Path,
    rules: Rules,
    **options: Any,
) -> Path:
    """Write the work order of ``target_id`` to ``out`` (``.pdf`` or ``.html``, from the
    suffix); ``options`` as for :func:`build_dossier`.

    Raises
    ------
    OptionError
        ``out`` does not end in ``.pdf`` or ``.html``, or cannot be written.
    NotFoundError
        Naming ``target_id`` when there is no such target in the caller's scope.
    """
    fmt = check_format(out.suffix or None, "--out", str(out))
    dossier = build_dossier(ws, principal, target_id, rules, **options)
    return _write(out, dossier.body(fmt))


def write_all_dossiers(
    ws: Workspace,
    principal: Principal | None,
    folder: Path,
    rules: Rules,
    *,
    fmt: str = "pdf",
    **options: Any,
) -> list[Path]:
    """One work order per target in the caller's scope into ``folder``, named by
    :func:`dossier_file_name`; an empty list when the caller has no target.

    Raises
    ------
    NoAnalysisError
        Before the first analysis run.
    OptionError
        ``fmt`` is not ``pdf`` or ``html``, or a file cannot be written.
    """
    from geoservice.analysis.target_queries import read_targets

    kind = check_format(fmt, "--format")
    targets, _ = read_targets(ws)
    if targets is None:
        raise no_analysis(ws.path)
    if principal is not None:
        targets = targets.loc[principal.target_mask(targets)]
    lang: Lang = options.get("lang", "zh")
    written = []
    for target_id in targets["target_id"].astype(str):
        dossier = build_dossier(ws, principal, target_id, rules, **options)
        written.append(
            _write(folder / dossier_file_name(target_id, kind, lang), dossier.body(kind))
        )
    return written
