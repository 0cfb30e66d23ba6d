"""The SQL statements of the SQLite connections a test makes the code open."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest


def traced_connects(
    monkeypatch: pytest.MonkeyPatch, owner: Any = sqlite3, name: str = "connect"
) -> list[str]:
    """Make ``owner.name`` (``sqlite3.connect`` by default, or a module's own connect
    function) trace every connection it opens from now on; the list the statements are
    appended to, in the order SQLite runs them (triggers' statements included)."""
    seen: list[str] = []
    real = getattr(owner, name)

    def traced(*args: Any, **kwargs: Any) -> Any:
        con = real(*args, **kwargs)
        con.set_trace_callback(seen.append)
        return con

    monkeypatch.setattr(owner, name, traced)
    return seen
