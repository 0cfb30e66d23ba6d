"""Enforcement target states and the transitions between them
(``docs/design.md#workflow-states``).

``new`` (待派发) → ``dispatched`` (已派发) → ``in_action`` (处置中) → ``case_opened``
(已立案, with a case number) → ``penalised`` (已行政处罚) or ``transferred`` (已移送司法) →
``closed`` (已结案). ``dismissed`` (不予立案, with a reason) ends a target that is
``dispatched`` or ``in_action``. ``resolved_by_analysis`` is set by the analysis only, when
a target's evidence is gone (:mod:`geoservice.analysis.target_register`); ``closed`` and
``dismissed`` are final.
"""

from __future__ import annotations

from geoservice.analysis.target_register import TARGET_STATE_LABELS, TARGET_STATES
from geoservice.base.errors import OptionError, message
from layers.messages import Lang, pick

__all__ = [
    "SETTABLE",
    "TRANSITIONS",
    "allowed_next",
    "check_target_state",
    "check_target_transition",
    "target_state_label",
]

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("dispatched",),
    "dispatched": ("in_action", "dismissed"),
    "in_action": ("case_opened", "dismissed"),
    "case_opened": ("penalised", "transferred"),
    "penalised": ("closed",),
    "transferred": ("closed",),
    "closed": (),
    "dismissed": (),
    "resolved_by_analysis": (),
}
# States set by people (the analysis sets resolved_by_analysis).
SETTABLE = tuple(s for s in TARGET_STATES if s not in ("new", "resolved_by_analysis"))


def target_state_label(state: str, lang: Lang = "zh") -> str:
    """The state's name in ``lang`` (the code itself when unknown)."""
    return pick(lang, *TARGET_STATE_LABELS.get(state, (state, state)))


def _listing(states: tuple[str, ...]) -> tuple[str, str]:
    if not states:
        return "无（已是最终状态）", "none (final state)"
    zh = "、".join(f"{s}（{TARGET_STATE_LABELS[s][0]}）" for s in states)
    return zh, ", ".join(states)


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a target in ``state`` may move to."""
    return TRANSITIONS.get(state, ())


def check_target_state(state: str) -> str:
    """Return ``state`` if people may set it; raise :class:`OptionError` otherwise."""
    if state not in SETTABLE:
        zh, en = _listing(SETTABLE)
        raise OptionError(
            message(
                "targets.bad_state",
                f"目标状态为“{state}”，应为以下之一：{zh}。",
                f"The target state was {state!r} but is expected to be one of: {en}.",
            )
        )
    return state


def check_target_transition(
    target_id: str,
    current: str,
    to: str,
    *,
    case_number: str | None = None,
    note: str | None = None,
) -> None:
    """Raise :class:`OptionError` unless ``current`` → ``to`` is allowed with what it needs.

    ``case_opened`` needs a case number (立案编号); ``dismissed`` needs the reason in
    ``note``. The message names the target, its state and the allowed next states.
    """
    check_target_state(to)
    nxt = allowed_next(current)
    if to not in nxt:
        zh, en = _listing(nxt)
        raise OptionError(
            message(
                "targets.bad_transition",
                f"目标 {target_id} 当前状态为 {current}（{target_state_label(current)}），"
                f"不能改为 {to}（{target_state_label(to)}）；允许的下一状态：{zh}。",
                f"Target {target_id} is {current!r} and cannot move to {to!r}; the allowed "
                f"next states are: {en}.",
            )
        )
    if to == "case_opened" and not (case_number or "").strip():
        raise OptionError(
            message(
                "targets.case_number_required",
                f"目标 {target_id} 改为已立案（case_opened）需要立案编号；请填写 case_number"
                "（命令行 --case-number），如“博林罚立〔2026〕12号”。",
                f"Moving target {target_id} to case_opened needs the case number; give "
                "case_number (--case-number on the command line).",
            )
        )
    if to == "dismissed" and not (note or "").strip():
        raise OptionError(
            message(
                "targets.reason_required",
                f"目标 {target_id} 改为不予立案（dismissed）需要说明理由；请填写 note"
                "（命令行 --note）。",
                f"Moving target {target_id} to dismissed needs the reason; give note (--note "
                "on the command line).",
            )
        )
