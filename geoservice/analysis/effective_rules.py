"""The rules and department names in force for a service configuration.

The web service and the exports read them from the settings on every request;
:func:`~geoservice.analysis.rules_cache.cached_rules` keeps that cheap.
"""

from __future__ import annotations

from geoservice.analysis.present import department_names
from geoservice.analysis.rules import Rules
from geoservice.analysis.rules_cache import cached_rules
from geoservice.base.settings import Settings

__all__ = ["department_labels", "effective_rules"]


def effective_rules(settings: Settings) -> Rules:
    """The effective rules (defaults merged with the override file), parsed once per
    version of that file rather than on every request."""
    return cached_rules(settings.rules_path())


def department_labels(settings: Settings) -> dict[str, tuple[str, str]]:
    """Department code → (Chinese, English) name from the effective rules."""
    return department_names(effective_rules(settings))
