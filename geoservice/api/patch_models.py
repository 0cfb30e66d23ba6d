"""The change-patch figures of a village's status row, as API fields.

Each field's description is the one word of the figure
(:data:`geoservice.workflow.patch_progress.PATCH_FIGURE_WORDS`); null for a viewer (the
patches layer is not shared with viewers).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from geoservice.workflow.patch_progress import PATCH_FIGURE_WORDS

__all__ = ["PatchProgressFields"]


def _word(column: str) -> str:
    zh, en = PATCH_FIGURE_WORDS[column]
    return f"{zh} / {en} (null for viewers)"


class PatchProgressFields(BaseModel):
    """Change-patch progress of a village (counts of patches)."""

    patches: int | None = Field(default=None, description=_word("patches"))
    patches_interpreted: int | None = Field(default=None, description=_word("patches_interpreted"))
    patches_dispatched: int | None = Field(default=None, description=_word("patches_dispatched"))
    patches_verified: int | None = Field(default=None, description=_word("patches_verified"))
    patches_investigating: int | None = Field(
        default=None, description=_word("patches_investigating")
    )
    patches_rectifying: int | None = Field(default=None, description=_word("patches_rectifying"))
    patches_awaiting_acceptance: int | None = Field(
        default=None, description=_word("patches_awaiting_acceptance")
    )
    patches_closed: int | None = Field(default=None, description=_word("patches_closed"))
    patches_field_verified: int | None = Field(
        default=None, description=_word("patches_field_verified")
    )
    patches_illegal: int | None = Field(default=None, description=_word("patches_illegal"))
    patches_overdue: int | None = Field(default=None, description=_word("patches_overdue"))
