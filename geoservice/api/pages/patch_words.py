"""The words of the change-patch pages, in Chinese and English (merged into
:data:`geoservice.api.pages.words.WORDS`): page text, the patch states
(``patch_state.<state>``), legalities (``legality.<code>``) and the verifier's moves
(``patch_move.<state>``)."""

from __future__ import annotations

from geoservice.workflow.patch_states import LEGALITY_LABELS, PATCH_STATE_LABELS

__all__ = ["PATCH_WORDS"]

PATCH_WORDS: dict[str, tuple[str, str]] = {
    "patch": ("变化图斑", "Change patch"),
    "patches_due": ("待办的变化图斑", "Change patches to handle"),
    "patches_village": ("本村的变化图斑", "Our village's change patches"),
    "patches_read_only": (
        "图斑的现地核实由林业部门办理，这里只供查看。",
        "The forestry department verifies the patches; they are shown here to read.",
    ),
    "patches_counts": (
        "未销号 {open} 个，其中逾期 {overdue} 个；已销号 {closed} 个。",
        "{open} open, {overdue} of them overdue; {closed} closed.",
    ),
    "patches_more": (
        "只列出最紧急的 {n} 个。",
        "Only the {n} most urgent are listed.",
    ),
    "no_patches": ("没有待办的变化图斑。", "No change patches to handle."),
    "patch_id": ("图斑号", "Patch no."),
    "lin_ban": ("林班", "Compartment"),
    "change_cause": ("变化原因", "Change cause"),
    "legality": ("核实结论", "Legality"),
    "not_verified": ("未核实", "not verified"),
    "verifier": ("核实人", "Verified by"),
    "verified_on": ("核实日期", "Verified on"),
    "stage_due": ("本环节期限", "Stage due"),
    "stage_done": ("已销号，无期限", "Closed, no deadline"),
    "linked_problem": ("整改问题", "Problem"),
    "linked_target": ("执法目标", "Target"),
    "patch_facts": ("图斑情况", "The patch"),
    "patch_history": ("办理记录", "History"),
    "patch_act": ("核实与办理", "Verify and move on"),
    "next_stage": ("下一环节", "Next stage"),
    "legality_help": (
        "改为“已核实”时必填：合法的图斑核实后直接销号。",
        "Needed for 'verified': a legal patch closes at verification.",
    ),
    "patch_note_help": (
        "写明现场情况、核实依据（审批文号等）或办理情况。",
        "Say what was found on site, the basis (permit number, ...) or what was done.",
    ),
    "patch_saved": ("已提交。当前环节：{state}。", "Saved. The patch is now: {state}."),
    "patch_stale": (
        "提交失败：此图斑已被他人更新，你的内容没有保存。",
        "Not saved: this patch has been updated by someone else.",
    ),
    "patch_stale_help": (
        "下面是你打开页面之后的变化。你填写的内容已保留，请核对后重新提交；照片需要重新选择。",
        "These are the changes since you opened the page. What you typed is kept: check "
        "it and submit again; choose the photos again.",
    ),
    "patch_photos_added": ("添加照片 {n} 张", "{n} photo(s) added"),
    "patch_note_added": ("补充说明", "note added"),
    "event.import": ("导入", "imported"),
    "event.link": ("关联整改问题或执法目标", "problem or target linked"),
    "event.escalation": ("发出督办文书", "escalation document issued"),
    "event.observation": ("现场观察记录", "field observation"),
    **{f"patch_state.{k}": v for k, v in PATCH_STATE_LABELS.items()},
    **{f"legality.{k}": v for k, v in LEGALITY_LABELS.items()},
    "patch_move.dispatched": ("下发核实（已下发）", "Dispatch for field check"),
    "patch_move.verified": ("现地核实完成（已核实）", "Field check done (verified)"),
    "patch_move.investigating": ("立案查处（查处中）", "Open the investigation"),
    "patch_move.rectifying": ("查处完毕，开始整改（整改中）", "Investigated: rectify"),
    "patch_move.awaiting_acceptance": (
        "整改完成，申请验收（待验收）",
        "Rectified: ask for acceptance",
    ),
    "patch_move.closed": (
        "验收通过 / 无需处理，销号（已销号）",
        "Accepted or nothing to do: close",
    ),
}
