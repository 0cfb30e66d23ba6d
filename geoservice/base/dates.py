"""Calendar dates given as text (``YYYY-MM-DD``) by web and workflow callers.

One parser for every date a caller types (``as_of``, ``reported_at``, report periods), so
each refusal names the field, the value received and the expected form the same way. The
error code stays the caller's own (``maps.bad_as_of``, ``report.bad_date`` ...), as
clients may match on it.
"""

from __future__ import annotations

from datetime import date, datetime

from geoservice.base.errors import OptionError, message

__all__ = ["parse_date", "parse_day"]

EXAMPLE = "2026-11-28"


def parse_date(
    text: str | None,
    name: str,
    code: str,
    *,
    empty_means_today: bool = False,
    with_time: bool = False,
) -> date | None:
    """A ``YYYY-MM-DD`` date, or None when ``text`` is missing or blank.

    Parameters
    ----------
    text : str or None
        What the caller sent; surrounding white space is ignored.
    name : str
        The field, as the caller knows it (``as_of``, ``from``).
    code : str
        The error code of the refusal.
    empty_means_today : bool
        Say in the refusal that leaving the field out means today.
    with_time : bool
        Also accept an ISO 8601 date and time (``2026-11-28T09:30:00+08:00``): its date.

    Raises
    ------
    OptionError
        ``text`` is not such a date; the message names ``name`` and the value.
    """
    if text is None or not text.strip():
        return None
    clean = text.strip()
    try:
        return date.fromisoformat(clean)
    except ValueError:
        pass
    if with_time:
        try:
            return datetime.fromisoformat(clean).date()
        except ValueError:
            pass
    hint_zh, hint_en = ("", "")
    if empty_means_today:
        hint_zh, hint_en = "；省略则为今天", "; leave it out for today"
    raise OptionError(
        message(
            code,
            f"{name} 为“{text}”，应为 YYYY-MM-DD 格式的日期，如 {EXAMPLE}{hint_zh}。",
            f"`{name}` was {text!r} but is expected to be a date YYYY-MM-DD, e.g. "
            f"{EXAMPLE}{hint_en}.",
        )
    )


def parse_day(text: str | None, name: str, code: str) -> date:
    """:func:`parse_date` where a missing or blank value means today."""
    return parse_date(text, name, code, empty_means_today=True) or date.today()
