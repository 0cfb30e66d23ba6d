"""Problem states and the transitions between them (``docs/design.md#workflow-states``).

``assigned`` (交办) → ``in_progress`` (整改中) → ``reported`` (村报已整改) → ``verified``
(销号); the office may send a report back (``reported`` → ``rejected``), after which the
village works on it again (``rejected`` → ``in_progress``).

Two shortcuts beyond the diagram are allowed: ``assigned`` → ``reported`` and ``rejected``
→ ``reported``. Many problems (a missing patrol record, litter to clear) are fixed within
days of being handed over or sent back, and the village's next message is its
rectification report; forcing a separate "started" step would only add a meaningless
history row. Each shortcut is one direct transition, recorded as one history row whose
``from_state`` is the state the problem really left (``rejected`` → ``reported``), so the
history never shows an ``in_progress`` step nobody reported. ``verified`` is final: a
verified problem that recurs is a new problem.
"""

from __future__ import annotations

from geoservice.base.errors import OptionError, message
from layers.codes import PROBLEM_STATE_LABELS, PROBLEM_STATES
from layers.messages import Lang, pick

__all__ = [
    "OPEN_STATES",
    "STATE_LABELS",
    "TRANSITIONS",
    "allowed_next",
    "check_state",
    "check_transition",
    "state_label",
]

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "assigned": ("in_progress", "reported"),
    "in_progress": ("reported",),
    "reported": ("verified", "rejected"),
    "rejected": ("in_progress", "reported"),
    "verified": (),
}
STATE_LABELS = PROBLEM_STATE_LABELS
# Problems the village still has to act on: they can be overdue.
OPEN_STATES: tuple[str, ...] = ("assigned", "in_progress", "rejected")


def state_label(state: str, lang: Lang = "zh") -> str:
    """The state's name in ``lang`` (the code itself when unknown)."""
    return pick(lang, *STATE_LABELS.get(state, (state, state)))


def _listing(states: tuple[str, ...]) -> tuple[str, str]:
    if not states:
        return "无（已是最终状态）", "none (final state)"
    zh = "、".join(f"{s}（{STATE_LABELS[s][0]}）" for s in states)
    return zh, ", ".join(states)


def check_state(state: str) -> str:
    """Return ``state`` if it is a problem state; raise :class:`OptionError` otherwise."""
    if state not in PROBLEM_STATES:
        zh, en = _listing(PROBLEM_STATES)
        raise OptionError(
            message(
                "workflow.bad_state",
                f"--to 为“{state}”，应为问题状态之一：{zh}。",
                f"`to` was {state!r} but is expected to be one of the problem states: {en}.",
            )
        )
    return state


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a problem in ``state`` may move to."""
    return TRANSITIONS.get(state, ())


def check_transition(problem_id: str, current: str, target: str) -> None:
    """Raise :class:`OptionError` unless ``current`` → ``target`` is allowed.

    The message names the problem, its current state and the allowed next states.
    """
    check_state(target)
    nxt = allowed_next(current)
    if target in nxt:
        return
    zh, en = _listing(nxt)
    raise OptionError(
        message(
            "workflow.bad_transition",
            f"问题 {problem_id} 当前状态为 {current}（{state_label(current)}），不能改为 "
            f"{target}（{state_label(target)}）；允许的下一状态：{zh}。",
            f"Problem {problem_id} is {current!r} and cannot move to {target!r}; the allowed "
            f"next states are: {en}.",
        )
    )
