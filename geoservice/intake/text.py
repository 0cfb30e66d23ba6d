"""What the live intake answers: where a complaint landed and what it changed.

Notes (placed on a village's point, no analysis yet, another village than the one named)
and the answer of :meth:`geoservice.intake.complaints.ComplaintIntake.submit` with its summary, in
Chinese and in English.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyproj

from geoservice.analysis.rules import Rules
from layers.codes import CATEGORIES

__all__ = ["answer", "converted_note", "note"]


def note(kind: str, name: str, other: str = "") -> dict[str, str]:
    return {
        "village_point": {
            "zh": f"举报只给出了村（{name}），已按该村的代表点定位；核实时请补充准确位置。",
            "en": f"Only a village ({name}) was given: the complaint is placed on the "
            "village's representative point; add the exact place when it is verified.",
        },
        "no_risk_layer": {
            "zh": "工作空间还没有研判结果（parcel_risk），分数未写入；请运行一次 geoservice analyze。",
            "en": "The workspace has no analysis results (parcel_risk) yet, so no score was "
            "stored; run 'geoservice analyze' once.",
        },
        "other_village": {
            "zh": f"给出的村为{name}，但坐标位于{other}；已按坐标所在村登记。",
            "en": f"The village given was {name} but the point lies in {other}; the "
            "complaint is filed under the village of the point.",
        },
    }[kind]


def converted_note(converted: dict[str, Any], lonlat: tuple[float, float]) -> dict[str, str]:
    """The note of a point given in GCJ-02 or BD-09 and converted to CGCS2000."""
    crs, shift = converted["crs"], f"{converted['shift_m']:g}"
    src_zh, src_en = (
        ("百度地图", "Baidu maps")
        if crs == "BD-09"
        else ("高德、腾讯、微信地图", "AutoNavi, Tencent or WeChat maps")
    )
    was = f"{converted['lon']}, {converted['lat']}"
    now = f"{lonlat[0]:.7f}, {lonlat[1]:.7f}"
    return {
        "zh": f"坐标按 {crs}（{src_zh}）给出，已转换为 CGCS2000：{was} → {now}，偏移 {shift} 米。",
        "en": f"The point was given in {crs} ({src_en}) and converted to CGCS2000: "
        f"{was} -> {now}, a shift of {shift} m.",
    }


def answer(
    cid: str,
    received: date,
    day: date,
    cat: tuple[str, str],
    where: dict[str, Any],
    affected: list[dict[str, Any]],
    rules: Rules,
    crs: pyproj.CRS | None,
    notes: list[dict[str, str]],
) -> dict[str, Any]:
    zh, en = CATEGORIES.get(cat[0], (cat[0], cat[0]))
    epsg = crs.to_epsg() if crs is not None else None
    keys = ("source", "parcel_id", "matched", "buffer_m", "nearest_parcel_id", "distance_m")
    location = {
        "lon": where["lonlat"][0],
        "lat": where["lonlat"][1],
        "x": round(where["x"], 2),
        "y": round(where["y"], 2),
        "crs": f"EPSG:{epsg}" if epsg else (crs.name if crs is not None else None),
        "converted_from": where.get("converted_from"),
        **{k: where[k] for k in keys},
    }
    village = where["village"]
    return {
        "complaint_id": cid,
        "received_at": received.isoformat(),
        "status": "new",
        "as_of": day.isoformat(),
        "category": {"code": cat[0], "zh": zh, "en": en, "source": cat[1]},
        "location": location,
        "village": {"code": village[0], "name": village[1]} if village else None,
        "affected": affected,
        "flag_score": rules.flag.score,
        "crossed_threshold": any(a["crossed"] for a in affected),
        "notes": notes,
        "summary": _summary(cid, (zh, en), location, village, affected, rules.flag.score),
    }


def _summary(
    cid: str,
    names: tuple[str, str],
    loc: dict[str, Any],
    village: tuple[str, str] | None,
    affected: list[dict[str, Any]],
    threshold: float,
) -> dict[str, str]:
    """Where the complaint landed and what changed, in Chinese and in English."""
    vz, ve = (f"（{village[1]}）", f" ({village[1]})") if village else ("", "")
    buf, n = f"{loc['buffer_m']:g}", len(affected)
    if loc["parcel_id"]:
        zh, en = f"位于小班 {loc['parcel_id']}{vz}", f"lies in parcel {loc['parcel_id']}{ve}"
    elif loc["matched"]:
        zh, en = (
            f"不在小班内{vz}，{buf} 米内有 {n} 个小班",
            f"lies in no parcel{ve}; {n} within {buf} m",
        )
    else:
        near, d = loc["nearest_parcel_id"], f"{loc['distance_m']:g}"
        zh = f"{vz}{buf} 米内没有小班（最近的小班 {near}，距 {d} 米），列为未匹配举报，不计入风险分"
        en = f"has no parcel within {buf} m{ve} (nearest: {near}, {d} m away): unmatched, it counts for no score"
    text_zh, text_en = (
        f"举报 {cid}（{names[0]}）已受理，{zh}。",
        f"Complaint {cid} ({names[1]}) {en}.",
    )
    crossed = [a for a in affected if a["crossed"]]
    if crossed:
        ids = [f"{a['parcel_id']} ({a['new_score']:.2f})" for a in crossed]
        text_zh += (
            f"小班 {'、'.join(ids)} 的风险分达到预警阈值 {threshold:g}，列为有严重破坏风险；"
            "下次运行研判（geoservice analyze）时将重新划定联合执法目标。"
        )
        text_en += (
            f" Parcel(s) {', '.join(ids)} now reach the flag threshold {threshold:g} and are "
            "at risk of serious damage; the next 'geoservice analyze' run regroups the targets."
        )
    elif affected:
        top, score = affected[0]["parcel_id"], f"{affected[0]['new_score']:.2f}"
        text_zh += (
            f"已更新 {n} 个小班的风险分（最高为小班 {top}：{score}，预警阈值 {threshold:g}），"
            "没有小班新达到预警阈值；下次运行研判时目标随之更新。"
        )
        text_en += (
            f" The scores of {n} parcel(s) were updated (highest: {top} at {score}, flag "
            f"threshold {threshold:g}); none newly reaches it, and the next analysis run "
            "updates the targets."
        )
    return {"zh": text_zh, "en": text_en}
