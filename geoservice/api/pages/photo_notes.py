"""Captions of the evidence photos on the problem and target pages: where and when each
was taken, measured from the problem or target (:mod:`geoservice.workflow.photo_places`)."""

from __future__ import annotations

from fastapi import Request

from geoservice.api.deps import get_settings
from geoservice.api.pages.render import page_lang
from geoservice.base.workspace import Workspace
from geoservice.tasks.records import ProblemDetail, TargetDetail
from geoservice.workflow.photo_places import PhotoNote, photo_notes
from geoservice.workflow.target_actions import photo_folder

__all__ = ["problem_notes", "target_notes"]


def problem_notes(request: Request, detail: ProblemDetail) -> dict[str, PhotoNote]:
    """The captions of a problem's photos (those of its history), by photo name."""
    settings = get_settings(request)
    names = [n for entry in detail.history for n in entry.evidence]
    return photo_notes(
        Workspace(settings.workspace),
        settings.evidence_path(),
        "problem",
        detail.task.problem_id,
        names,
        page_lang(request),
    )


def target_notes(request: Request, detail: TargetDetail) -> dict[str, PhotoNote]:
    """The captions of the photos of a target's action records, by photo name."""
    settings = get_settings(request)
    actions = detail.outcome.get("actions") or []
    names = [str(n) for action in actions for n in action.get("photos") or []]
    return photo_notes(
        Workspace(settings.workspace),
        photo_folder(settings.evidence_path()),
        "target",
        detail.task.target_id,
        names,
        page_lang(request),
    )
