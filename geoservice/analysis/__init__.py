"""Risk of serious damage and joint-enforcement targets (Articles 8 and 10).

Design: ``docs/design.md#scoring-and-targets`` and
``docs/design.md#department-registry-and-routing``.
"""
