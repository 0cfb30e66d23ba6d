"""The evidence tables of a work order: complaints (newest first), change patches and open
problems as rows of display text in the requested language (dates as YYYY-MM-DD, areas in
hectares)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geoservice.analysis.labels import (
    category_name,
    legality_word,
    problem_status_word,
    status_word,
)
from geoservice.analysis.reasons import CAUSE_WORDS
from geoservice.analysis.rules import Rules
from geoservice.reports.dossier_data import PHONE, DossierFacts
from layers.messages import Lang, pick

__all__ = ["complaint_rows", "patch_legality", "patch_rows", "problem_rows", "trimmed"]


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")


def patch_legality(patches: pd.DataFrame, rules: Rules) -> pd.Series:
    """Each patch's legality as scored: ``true``, ``suspected`` (illegal without an
    established illegal area), ``unknown`` or ``false``; aligned to ``patches``."""
    raw = patches["illegal"].astype("string").str.lower().fillna("unknown")
    area = pd.to_numeric(patches.get("illegal_area_ha"), errors="coerce")
    vague = (raw == "true") & ~(area > 0) & rules.patches.established_area_only
    return raw.mask(vague, "suspected").astype(str)


def complaint_rows(facts: DossierFacts, lang: Lang) -> list[dict[str, str]]:
    c = facts.complaints
    if not len(c):
        return []
    phone = c[PHONE] if facts.show_phone and PHONE in c.columns else pd.Series("", index=c.index)
    frame = pd.DataFrame(
        {
            "id": c["complaint_id"].astype(str),
            "date": _day(c["received_at"]),
            "status": c["status"].astype(str).map(lambda s: status_word(s, lang)),
            "category": c["category"].astype(str).map(lambda s: category_name(s, lang)),
            "text": c["description"].map(_text),
            "phone": phone.map(_text),
        }
    )
    frame = frame.sort_values(["date", "id"], ascending=False, kind="stable")
    return list(frame.to_dict("records"))


def trimmed(rows: list[dict[str, str]], limit: int, text_chars: int) -> list[dict[str, str]]:
    """The first ``limit`` rows with their ``text`` cut to ``text_chars`` characters (an
    ellipsis marks a cut)."""
    out = []
    for row in rows[:limit]:
        text = row.get("text", "")
        cut = text if len(text) <= text_chars else text[: text_chars - 1] + "…"
        out.append({**row, "text": cut} if "text" in row else dict(row))
    return out


def _cause(code: str, category: str, lang: Lang) -> str:
    words = CAUSE_WORDS.get(code)
    return pick(lang, *words) if words else category_name(category, lang)


def patch_rows(facts: DossierFacts, rules: Rules, lang: Lang) -> list[dict[str, str]]:
    p = facts.patches
    if not len(p):
        return []
    legality = patch_legality(p, rules)
    frame = pd.DataFrame(
        {
            "id": p["patch_id"].astype(str),
            "cause": [
                _cause(_text(c), _text(k), lang)
                for c, k in zip(p["change_cause"], p["category"], strict=True)
            ],
            "legality": legality.map(lambda s: legality_word(s, lang)),
            "area": pd.to_numeric(p["area_ha"], errors="coerce").map(lambda v: f"{v:.2f}"),
            "illegal_area": pd.to_numeric(p["illegal_area_ha"], errors="coerce").map(
                lambda v: f"{v:.2f}" if v > 0 else "—"
            ),
            "permit": p.get("permit_no", pd.Series("", index=p.index)).map(_text),
        }
    )
    return list(frame.to_dict("records"))


def problem_rows(facts: DossierFacts, lang: Lang) -> list[dict[str, str]]:
    q = facts.problems
    if not len(q):
        return []
    frame = pd.DataFrame(
        {
            "id": q["problem_id"].astype(str),
            "category": q["category"].astype(str).map(lambda s: category_name(s, lang)),
            "text": q["description"].map(_text),
            "deadline": _day(q["deadline"]),
            "status": q["status"].astype(str).map(lambda s: problem_status_word(s, lang)),
        }
    )
    return list(frame.to_dict("records"))
