"""The ``patch_workflow`` section of the rules file: stage deadlines of change patches.

How many days each stage of a forest-supervision change patch may take
(:mod:`geoservice.workflow.patch_states`), counted from the day the patch entered the
stage, and how long the village gets to rectify a patch verified illegal (the deadline of
the problem it opens). Kept with the analysis rules so a workspace's rules file overrides
them like any other key.
"""

from __future__ import annotations

from pydantic import Field

from geoservice.analysis.rules_sections import StrictModel

__all__ = ["PatchStageDays", "PatchWorkflowRules"]

Days = int


class PatchStageDays(StrictModel):
    """Days allowed in each open patch state (whole days, at least 1)."""

    interpreted: Days = Field(ge=1, le=3650)
    dispatched: Days = Field(ge=1, le=3650)
    verified: Days = Field(ge=1, le=3650)
    investigating: Days = Field(ge=1, le=3650)
    rectifying: Days = Field(ge=1, le=3650)
    awaiting_acceptance: Days = Field(ge=1, le=3650)


class PatchWorkflowRules(StrictModel):
    """Stage deadlines of change patches and the rectification deadline of their problems."""

    stage_days: PatchStageDays
    problem_days: Days = Field(ge=1, le=3650)
