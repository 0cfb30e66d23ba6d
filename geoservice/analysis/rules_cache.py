"""The effective analysis rules, parsed once per version of the override file.

The web service needs the rules on many requests (analysis runs, exports, department
names, every complaint intake); parsing and validating the YAML each time would cost more
than the request. :func:`cached_rules` parses the defaults merged with the override once
and again only when the override file changes (modification time or size) or appears.
"""

from __future__ import annotations

import functools
from pathlib import Path

from geoservice.analysis.rules import Rules, load_rules

__all__ = ["cached_rules"]


def cached_rules(path: Path | None) -> Rules:
    """The effective rules: the defaults deep-merged with the override at ``path``.

    Parameters
    ----------
    path : Path or None
        The override file (``Settings.rules_path()``); None for the package defaults.

    Raises
    ------
    OptionError
        As :func:`~geoservice.analysis.rules.load_rules`, for a bad override.
    """
    stamp: tuple[int, int] | None = None
    if path is not None and path.is_file():
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    return _parsed(str(path) if path is not None else None, stamp)


@functools.lru_cache(maxsize=8)
def _parsed(path: str | None, stamp: tuple[int, int] | None) -> Rules:
    return load_rules(Path(path) if path is not None else None)
