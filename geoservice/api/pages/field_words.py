"""Words of the field capture, map context and patrol pages, Chinese then English.

Kept apart from :data:`~geoservice.api.pages.words.WORDS` (the task pages' words); the
templates of these pages get them through ``w(key, **values)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layers.messages import Lang, pick

__all__ = ["FIELD_WORDS", "field_words"]

FIELD_WORDS: dict[str, tuple[str, str]] = {
    "capture_title": ("现场记录新问题", "Record a new problem on the spot"),
    "capture_link": ("现场记录新问题", "Record a new problem"),
    "capture_help": (
        "在现场获取手机位置（显示精度），可在地图上画出范围并拍照；位置须在本村范围内。",
        "Take the phone's position on the spot (its accuracy is shown); you may draw the "
        "area on the map and take photos. The position must be inside your village.",
    ),
    "observe_title": ("现场核查记录", "On-the-spot observation"),
    "observe_link": ("记录现场核查", "Record an observation on the spot"),
    "observe_help": (
        "到达现场后获取位置，写明看到的情况并拍照；位置须在目标附近 {m} 米内。",
        "Once there, take the position, write what you see and take photos; the position "
        "must be within {m} m of the target.",
    ),
    "noun_target": ("目标", "Target"),
    "noun_patch": ("图斑", "Patch"),
    "observation": ("看到的情况", "What you see"),
    "observation_help": ("如：现场有新翻土约 2 亩，未见人员", "e.g. fresh digging, nobody on site"),
    "position": ("位置", "Position"),
    "locate": ("获取位置", "Take position"),
    "locating": ("正在定位…", "Locating…"),
    "no_position": ("尚未获取位置", "No position yet"),
    "located": ("纬度 {lat}，经度 {lon}，精度 ±{acc} m", "lat {lat}, lon {lon}, accuracy ±{acc} m"),
    "geo_denied": (
        "无法获取位置：请在手机设置中允许本网页使用定位，然后重试。",
        "The position cannot be taken: allow this page to use location in the phone's "
        "settings, then retry.",
    ),
    "draw_area": ("在地图上画出范围（可选）", "Draw the area on the map (optional)"),
    "area_drawn": ("已画范围", "Area drawn"),
    "clear_area": ("清除范围", "Clear the area"),
    "category": ("问题类别", "Category"),
    "description": ("问题描述", "Description"),
    "description_help": (
        "如：山脚新伐树桩 5 个，疑似盗伐",
        "e.g. 5 fresh stumps at the foot of the hill",
    ),
    "deadline": ("整改期限", "Deadline"),
    "photos": ("照片（可多张）", "Photos (several allowed)"),
    "photos_help": (
        "JPEG、PNG 或 WebP，每张不超过 {mb} MB，最多 4 张。",
        "JPEG, PNG or WebP, up to {mb} MB each, 4 at most.",
    ),
    "submit": ("提交", "Submit"),
    "not_saved": ("未保存：", "Not saved:"),
    "where_am_i": ("我的位置", "Where am I"),
    "you_are": ("您距该点约 {m} m", "You are about {m} m from the point"),
    "navigate": ("导航到该点", "Navigate to the point"),
    "survey_xy": ("{crs}：X {x}，Y {y}", "{crs}: X {x}, Y {y}"),
    "wgs84": ("WGS 84：纬度 {lat}，经度 {lon}", "WGS 84: lat {lat}, lon {lon}"),
    "parcels": ("小班界线与编号", "Sub-compartment (小班) boundaries and numbers"),
    "patrol_title": ("巡护", "Patrol"),
    "patrol_link": ("巡护轨迹", "Patrol track"),
    "patrol_help": (
        "开始巡护后保持本页打开，手机每隔几秒记录一次位置；结束时点“结束并保存”。没有网络时"
        "轨迹先存在手机上，联网后自动发送。",
        "Keep this page open after starting: the phone records its position every few "
        "seconds; press 'Stop and save' at the end. Without network the track is kept on "
        "the phone and sent when the network returns.",
    ),
    "patrol_start": ("开始巡护", "Start patrol"),
    "patrol_stop": ("结束并保存", "Stop and save"),
    "patrol_running": (
        "巡护中：{n} 个位置，{km} 公里，{min} 分钟",
        "Patrolling: {n} positions, {km} km, {min} min",
    ),
    "patrol_saved": (
        "巡护轨迹 {id} 已保存：{km} 公里，{min} 分钟。",
        "Patrol {id} saved: {km} km, {min} min.",
    ),
    "patrol_note": ("备注（可选）", "Note (optional)"),
    "recent_patrols": ("最近的巡护", "Recent patrols"),
    "no_patrols": ("还没有巡护记录。", "No patrol yet."),
    "patrol_row": ("{day} · {km} 公里 · {min} 分钟", "{day} · {km} km · {min} min"),
    "visited": ("经过：{ids}", "Passed: {ids}"),
}


def field_words(lang: Lang) -> Callable[..., str]:
    """``w(key, **values)``: the word ``key`` in ``lang`` with ``values`` filled in."""

    def w(key: str, **values: Any) -> str:
        text = pick(lang, *FIELD_WORDS[key])
        return text.format(**values) if values else text

    return w
