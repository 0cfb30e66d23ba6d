"""Reporting periods of the department ledgers: ``2026``, ``2026-Q4``, ``2026-11`` or
``2026-09-01_2026-11-30`` read as a first and last day (both included), and back.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from geoservice.base.errors import OptionError, message

__all__ = ["parse_period", "period_key"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:_|\.\.)(\d{4}-\d{2}-\d{2})$")


def _bad_period(text: str) -> OptionError:
    return OptionError(
        message(
            "departments.bad_period",
            f"期间为“{text}”，应为 2026（全年）、2026-Q4（季度）、2026-11（月）或 "
            "2026-09-01_2026-11-30（起止日期，均含）。",
            f"`period` was {text!r} but is expected to be 2026 (a year), 2026-Q4 (a quarter), "
            "2026-11 (a month) or 2026-09-01_2026-11-30 (first and last day, both included).",
        )
    )


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def parse_period(text: str) -> tuple[date, date]:
    """The first and last day of a reporting period written as ``2026``, ``2026-Q4``,
    ``2026-11`` or ``2026-09-01_2026-11-30`` (also ``..`` between the days).

    Raises
    ------
    OptionError
        Any other text, an impossible date or a last day before the first.
    """
    value = text.strip()
    try:
        if m := _YEAR.match(value):
            return date(int(m[1]), 1, 1), date(int(m[1]), 12, 31)
        if m := _QUARTER.match(value):
            year, q = int(m[1]), int(m[2])
            return date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
        if m := _MONTH.match(value):
            year, month = int(m[1]), int(m[2])
            return date(year, month, 1), _month_end(year, month)
        if m := _RANGE.match(value):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last >= first:
                return first, last
    except ValueError:
        pass
    raise _bad_period(text)


def period_key(first: date, last: date) -> str:
    """The canonical text of a period: ``2026-09-01_2026-11-30``."""
    return f"{first.isoformat()}_{last.isoformat()}"
