"""Forest-supervision (森林督查) change-patch states and the transitions between them
(``docs/design.md#workflow-states``).

``interpreted`` (已判读) → ``dispatched`` (已下发) → ``verified`` (已核实, with a legality:
``legal``, ``illegal`` or ``other``) → ``investigating`` (查处中) → ``rectifying`` (整改中) →
``awaiting_acceptance`` (待验收) → ``closed`` (已销号).

- A patch verified ``legal`` closes at verification: the change that records the
  verification stores ``closed`` directly (there is nothing to investigate or rectify).
- A patch verified ``other`` (a change that is neither approved use nor a violation, e.g.
  storm damage or a mapping error) may close from ``verified`` with a note saying why, or
  go on to investigation when it needs one.
- An acceptance that fails sends the patch back: ``awaiting_acceptance`` → ``rectifying``.
- ``closed`` is final: a change found again later is a new patch of a later round.
"""

from __future__ import annotations

from geoservice.base.errors import OptionError, message
from layers.messages import Lang, pick

__all__ = [
    "LEGALITIES",
    "LEGALITY_LABELS",
    "OPEN_PATCH_STATES",
    "PATCH_STATES",
    "PATCH_STATE_LABELS",
    "TRANSITIONS",
    "allowed_next",
    "check_legality",
    "check_patch_state",
    "check_patch_transition",
    "legality_label",
    "patch_state_label",
    "stored_state",
]

PATCH_STATES: tuple[str, ...] = (
    "interpreted",
    "dispatched",
    "verified",
    "investigating",
    "rectifying",
    "awaiting_acceptance",
    "closed",
)
PATCH_STATE_LABELS: dict[str, tuple[str, str]] = {
    "interpreted": ("已判读", "interpreted"),
    "dispatched": ("已下发", "dispatched"),
    "verified": ("已核实", "verified"),
    "investigating": ("查处中", "under investigation"),
    "rectifying": ("整改中", "being rectified"),
    "awaiting_acceptance": ("待验收", "awaiting acceptance"),
    "closed": ("已销号", "closed"),
}
LEGALITIES: tuple[str, ...] = ("legal", "illegal", "other")
LEGALITY_LABELS: dict[str, tuple[str, str]] = {
    "legal": ("合法", "legal"),
    "illegal": ("违法违规", "illegal"),
    "other": ("其他", "other"),
}
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "interpreted": ("dispatched",),
    "dispatched": ("verified",),
    "verified": ("investigating", "closed"),
    "investigating": ("rectifying",),
    "rectifying": ("awaiting_acceptance",),
    "awaiting_acceptance": ("closed", "rectifying"),
    "closed": (),
}
# Patches that still have a stage to finish: they have a stage deadline and can be overdue.
OPEN_PATCH_STATES: tuple[str, ...] = PATCH_STATES[:-1]


def patch_state_label(state: str, lang: Lang = "zh") -> str:
    """The state's name in ``lang`` (the code itself when unknown)."""
    return pick(lang, *PATCH_STATE_LABELS.get(state, (state, state)))


def legality_label(legality: str | None, lang: Lang = "zh") -> str:
    """The legality's name in ``lang`` ('' when not verified yet)."""
    if not legality:
        return ""
    return pick(lang, *LEGALITY_LABELS.get(legality, (legality, legality)))


def _listing(states: tuple[str, ...]) -> tuple[str, str]:
    if not states:
        return "无（已是最终状态）", "none (final state)"
    zh = "、".join(f"{s}（{PATCH_STATE_LABELS[s][0]}）" for s in states)
    return zh, ", ".join(states)


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a patch in ``state`` may move to."""
    return TRANSITIONS.get(state, ())


def check_patch_state(state: str) -> str:
    """Return ``state`` if it is a patch state; raise :class:`OptionError` otherwise."""
    if state not in PATCH_STATES:
        zh, en = _listing(PATCH_STATES)
        raise OptionError(
            message(
                "patches.bad_state",
                f"图斑状态为“{state}”，应为以下之一：{zh}。",
                f"The patch state was {state!r} but is expected to be one of: {en}.",
            )
        )
    return state


def check_legality(legality: str) -> str:
    """Return ``legality`` if it is one of :data:`LEGALITIES`; raise otherwise."""
    if legality not in LEGALITIES:
        raise OptionError(
            message(
                "patches.bad_legality",
                f"核实结论（legality）为“{legality}”，应为 legal（合法）、illegal（违法违规）"
                "或 other（其他）之一。",
                f"The legality was {legality!r} but is expected to be one of: legal, illegal, "
                "other.",
            )
        )
    return legality


def stored_state(to: str, legality: str | None) -> str:
    """The state a change to ``to`` stores: a patch verified legal closes at once."""
    return "closed" if to == "verified" and legality == "legal" else to


def check_patch_transition(
    patch_id: str,
    current: str,
    to: str,
    *,
    legality: str | None = None,
    verifier: str | None = None,
    note: str | None = None,
) -> None:
    """Raise :class:`OptionError` unless ``current`` → ``to`` is allowed with what it needs.

    ``legality`` is the patch's legality after the change (the one given, or the stored
    one). Moving to ``verified`` needs a legality and the verifier (核实人); closing a
    patch verified ``other`` from ``verified`` needs the reason in ``note``; a patch
    verified ``illegal`` cannot close before its rectification is accepted. The message
    names the patch, its state and the allowed next states.
    """
    check_patch_state(to)
    nxt = allowed_next(current)
    if to not in nxt:
        zh, en = _listing(nxt)
        raise OptionError(
            message(
                "patches.bad_transition",
                f"图斑 {patch_id} 当前状态为 {current}（{patch_state_label(current)}），"
                f"不能改为 {to}（{patch_state_label(to)}）；允许的下一状态：{zh}。",
                f"Patch {patch_id} is {current!r} and cannot move to {to!r}; the allowed "
                f"next states are: {en}.",
            )
        )
    if to == "verified":
        _check_verification(patch_id, legality, verifier)
    if current == "verified" and to == "closed":
        _check_close_at_verification(patch_id, legality, note)


def _check_verification(patch_id: str, legality: str | None, verifier: str | None) -> None:
    if not legality:
        raise OptionError(
            message(
                "patches.legality_required",
                f"图斑 {patch_id} 改为已核实（verified）需要核实结论；请填写 legality"
                "（命令行 --legality）：legal、illegal 或 other。",
                f"Moving patch {patch_id} to verified needs the legality found; give "
                "legality (--legality on the command line): legal, illegal or other.",
            )
        )
    check_legality(legality)
    if not (verifier or "").strip():
        raise OptionError(
            message(
                "patches.verifier_required",
                f"图斑 {patch_id} 改为已核实（verified）需要核实人；请填写 verifier"
                "（命令行 --verifier），如“林业站 张三”。",
                f"Moving patch {patch_id} to verified needs the verifier; give verifier "
                "(--verifier on the command line).",
            )
        )


def _check_close_at_verification(patch_id: str, legality: str | None, note: str | None) -> None:
    if legality == "illegal":
        raise OptionError(
            message(
                "patches.illegal_not_closable",
                f"图斑 {patch_id} 已核实为违法违规，须经查处（investigating）、整改"
                "（rectifying）并验收（awaiting_acceptance）后才能销号（closed）。",
                f"Patch {patch_id} was verified illegal: it closes only after investigation "
                "(investigating), rectification (rectifying) and acceptance "
                "(awaiting_acceptance).",
            )
        )
    if not (note or "").strip():
        raise OptionError(
            message(
                "patches.reason_required",
                f"图斑 {patch_id} 核实结论为其他（other），核实后直接销号需要说明理由；请填写"
                " note（命令行 --note）。",
                f"Closing patch {patch_id} (verified 'other') at verification needs the "
                "reason; give note (--note on the command line).",
            )
        )
