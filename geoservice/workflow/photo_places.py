"""Where evidence photos were taken, measured from the problem or target they document.

Each stored photo's metadata (:func:`~geoservice.workflow.photos.photo_meta`) holds the EXIF
GPS position (degrees, EPSG:4326) and capture time. Distances are computed in a metric CRS:
the layer's own (the workspace CRS, e.g. EPSG:4546, metres), or the UTM zone of the photos
when the layer is geographic; a photo inside a target's outline is 0 m from it. The
captions read "拍摄于 2026-11-20 10:31，距问题位置 12 米" / "taken 12 m from the problem, on
2026-11-20 10:31". Times with a UTC offset are shown in China Standard Time (UTC+8), as the
history is; times without one as the camera recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoservice.base.workspace import Workspace
from geoservice.workflow.photos import photo_meta
from layers.messages import Lang, pick

__all__ = ["FAR_METRES", "LAYERS", "PhotoNote", "photo_notes"]

# A photo taken farther than this from what it documents is flagged on the page: the
# rectification was perhaps not checked on the spot (a phone's GPS is within ~10 m outdoors).
FAR_METRES = 500.0
# kind -> (layer, id column, how the object is named in Chinese and English)
LAYERS: dict[str, tuple[str, str, str, str]] = {
    "problem": ("problems", "problem_id", "问题位置", "the problem"),
    "target": ("targets", "target_id", "目标", "the target"),
}
CST = timezone(timedelta(hours=8))
_FAR = {
    "zh": "（距离较远，请核实是否现场拍摄）",
    "en": " (far away: check it was taken on the spot)",
}


@dataclass(frozen=True)
class PhotoNote:
    """What a photo's metadata says, ready for a page.

    Attributes
    ----------
    name : str
    taken : str or None
        ``YYYY-MM-DD HH:MM``.
    distance_m : float or None
        Metres from the problem point or the target outline; None without a GPS position
        in the photo or a location of the object.
    far : bool
        Farther than :data:`FAR_METRES`.
    text : str
        The caption in the page's language.
    """

    name: str
    taken: str | None
    distance_m: float | None
    far: bool
    text: str


def _shown_time(text: Any) -> str | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(CST)
    return when.strftime("%Y-%m-%d %H:%M")


def _object_shape(ws: Workspace, kind: str, object_id: str) -> gpd.GeoSeries:
    """The geometry of the problem or target (empty when it has none)."""
    layer, column, _zh, _en = LAYERS[kind]
    if layer not in ws.layer_names():
        return gpd.GeoSeries([], crs=None)
    quoted = object_id.replace("'", "''")
    frame = ws.read(layer, use_arrow=False, columns=[column], where=f"{column} = '{quoted}'")
    shapes = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    return gpd.GeoSeries(shapes.to_numpy(), crs=frame.crs)


def _distances(lons: np.ndarray, lats: np.ndarray, shape: gpd.GeoSeries) -> np.ndarray:
    """Metres from each lon/lat point to ``shape`` (NaN where a coordinate is missing)."""
    out = np.full(len(lons), np.nan)
    known = ~(np.isnan(lons) | np.isnan(lats))
    if not known.any() or shape.empty or shape.crs is None:
        return out
    points = gpd.GeoSeries(gpd.points_from_xy(lons[known], lats[known]), crs="EPSG:4326")
    metric = shape.crs if shape.crs.is_projected else points.estimate_utm_crs()
    target = shape.to_crs(metric).union_all()
    out[known] = points.to_crs(metric).distance(target).to_numpy()
    return out


def _length(metres: float, lang: Lang) -> str:
    if metres >= 1000:
        return pick(lang, f"{metres / 1000:.1f} 公里", f"{metres / 1000:.1f} km")
    return pick(lang, f"{round(metres):d} 米", f"{round(metres):d} m")


def _caption(
    kind: str, taken: str | None, metres: float | None, meta: dict[str, Any], lang: Lang
) -> str:
    _layer, _col, zh_noun, en_noun = LAYERS[kind]
    has_fix = meta.get("gps") == "fix"
    if metres is not None:
        inside = kind == "target" and metres < 0.5
        zh_where = "在目标范围内" if inside else f"距{zh_noun} {_length(metres, 'zh')}"
        en_where = "inside the target" if inside else f"{_length(metres, 'en')} from {en_noun}"
        if taken:
            return pick(lang, f"拍摄于 {taken}，{zh_where}", f"taken {en_where}, on {taken}")
        return pick(
            lang,
            f"{zh_where}拍摄，照片没有拍摄时间",
            f"taken {en_where}; the photo has no capture time",
        )
    if has_fix:
        zh_why, en_why = f"{zh_noun[:2]}没有位置，无法计算距离", f"{en_noun} has no location"
    elif meta.get("gps") == "zero":
        zh_why, en_why = "照片定位未成功（坐标 0,0）", "the photo's GPS had no fix (0, 0)"
    else:
        zh_why, en_why = "照片没有位置信息", "the photo has no position"
    if taken:
        return pick(lang, f"拍摄于 {taken}，{zh_why}", f"taken on {taken}; {en_why}")
    if meta.get("gps") == "none":
        return pick(lang, "照片没有拍摄时间和位置信息", "the photo has no capture time or position")
    return pick(lang, f"照片没有拍摄时间；{zh_why}", f"no capture time; {en_why}")


def photo_notes(
    ws: Workspace,
    folder: Path,
    kind: str,
    object_id: str,
    names: Sequence[str],
    lang: Lang = "zh",
) -> dict[str, PhotoNote]:
    """Where and when each named photo of a problem or target was taken, with captions.

    Parameters
    ----------
    ws : Workspace
    folder : Path
        The photos' folder: the evidence folder for problems, its ``targets`` folder for
        targets.
    kind : {"problem", "target"}
    object_id : str
    names : sequence of str
        Stored photo names; those without metadata (stored before it was kept) are left
        out.
    lang : {"zh", "en"}

    Returns
    -------
    dict of str to PhotoNote
        By photo name, in the order of ``names``.
    """
    metas = {n: m for n in dict.fromkeys(names) if (m := photo_meta(folder, object_id, n))}
    if not metas:
        return {}
    frame = pd.DataFrame(
        {
            "lon": pd.to_numeric([m.get("lon") for m in metas.values()], errors="coerce"),
            "lat": pd.to_numeric([m.get("lat") for m in metas.values()], errors="coerce"),
        },
        index=list(metas),
    )
    shape = _object_shape(ws, kind, object_id)
    metres = _distances(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), shape)
    notes: dict[str, PhotoNote] = {}
    for (name, meta), dist in zip(metas.items(), metres, strict=True):
        taken = _shown_time(meta.get("taken_at"))
        value = None if np.isnan(dist) else float(dist)
        notes[name] = PhotoNote(
            name=name,
            taken=taken,
            distance_m=None if value is None else round(value, 1),
            far=value is not None and value > FAR_METRES,
            text=_caption(kind, taken, value, meta, lang)
            + (_FAR[lang] if value and value > FAR_METRES else ""),
        )
    return notes
