"""Background events of the sample data: complaints, change patches and inspection problems.

Events are built as tables with internal columns (leading underscore) in planar metres
(EPSG:4546); :mod:`geoservice.sample.town` merges them with the planted cases, numbers them and
turns them into the delivered file columns. Nothing here loops per feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geoservice.sample.parcels import choice
from geoservice.sample.terrain import FloatArray, IntArray, Villages
from geoservice.sample.text import (
    CAMPAIGNS,
    CATEGORY_SHARE,
    CHANNEL_SHARE,
    CHANNELS,
    COMPLAINT_TEXT,
    PERMIT_LAND,
    PLACE_NAMES,
    PROBLEM_TEXT,
    RIVER_PLACES,
    STATUS_CLOSED,
    STATUS_FALSE,
    STATUS_NEW,
    STATUS_TRUE,
)

#: The day the sample describes ("today" for the office): statuses and overdue are as of it.
AS_OF = np.datetime64("2026-11-28")
#: Complaints span two years up to this day.
FIRST_DAY, LAST_DAY = np.datetime64("2024-11-16"), np.datetime64("2026-11-15")

#: Where complaints of each category happen: forest, river or settlement.
SETTING: dict[str, str] = {
    "illegal_logging": "forest",
    "land_occupation": "forest",
    "land_reclamation": "forest",
    "illegal_mining": "river",
    "wildlife_crime": "forest",
    "wetland_damage": "river",
    "pollution": "settlement",
    "illegal_construction": "settlement",
    "fire_hazard": "forest",
    "pest_disease": "forest",
    "timber_transport": "settlement",
    "roadside_trees": "settlement",
    "other": "forest",
}


@dataclass
class Hosts:
    """Places events can happen: points (m, EPSG:4546) with their village and weight."""

    x: FloatArray
    y: FloatArray
    village: IntArray
    weight: FloatArray

    def pick(self, rng: np.random.Generator, n: int, away: FloatArray, away_m: float) -> IntArray:
        """``n`` host indices drawn by weight, avoiding hosts within ``away_m`` of ``away``."""
        ok = np.ones(len(self.x), dtype=bool)
        if len(away):
            tree = shapely.STRtree(shapely.points(away))
            near = tree.query(shapely.points(self.x, self.y), predicate="dwithin", distance=away_m)
            ok[np.unique(near[0])] = False
        w = np.where(ok, self.weight, 0.0)
        return rng.choice(len(self.x), size=n, p=w / w.sum())


def blobs(
    rng: np.random.Generator, x: FloatArray, y: FloatArray, area_m2: FloatArray
) -> NDArray[np.object_]:
    """Irregular star-shaped polygons of about ``area_m2`` around each point (m)."""
    k = 14
    n = len(x)
    theta = (np.arange(k) + rng.uniform(-0.3, 0.3, (n, k))) * 2 * np.pi / k
    wob = 1 + 0.22 * rng.standard_normal((n, k))
    wob = np.clip((wob + np.roll(wob, 1, axis=1) + np.roll(wob, -1, axis=1)) / 3, 0.55, 1.6)
    r = np.sqrt(area_m2 / np.pi)[:, None] * wob / np.sqrt((wob**2).mean(axis=1, keepdims=True))
    ring = np.stack([x[:, None] + r * np.cos(theta), y[:, None] + r * np.sin(theta)], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return shapely.polygons(ring)


def random_times(
    rng: np.random.Generator, n: int, first: np.datetime64, last: np.datetime64
) -> NDArray[np.datetime64]:
    """``n`` office-hours-ish times (minute precision) between two days, uniformly by day."""
    days = rng.integers(0, int((last - first).astype(int)) + 1, n)
    minutes = rng.integers(8 * 60, 21 * 60, n)
    return (first + days.astype("timedelta64[D]")).astype("datetime64[m]") + minutes.astype(
        "timedelta64[m]"
    )


def complaint_status(rng: np.random.Generator, when: NDArray[np.datetime64]) -> NDArray[np.str_]:
    """核实结果 by age: recent complaints are mostly unverified, old ones closed."""
    age = (AS_OF - when.astype("datetime64[D]")).astype(int)
    n = len(when)
    old = choice(
        rng, n, {STATUS_CLOSED: 0.5, STATUS_TRUE: 0.15, STATUS_FALSE: 0.3, STATUS_NEW: 0.05}
    )
    mid = choice(
        rng, n, {STATUS_CLOSED: 0.3, STATUS_TRUE: 0.25, STATUS_FALSE: 0.25, STATUS_NEW: 0.2}
    )
    new = choice(
        rng, n, {STATUS_CLOSED: 0.05, STATUS_TRUE: 0.2, STATUS_FALSE: 0.15, STATUS_NEW: 0.6}
    )
    return np.where(age > 150, old, np.where(age > 60, mid, new))


def place_names(rng: np.random.Generator, river: NDArray[np.bool_]) -> NDArray[np.str_]:
    """A local place name (小地名) per row: river-side names where ``river`` is true."""
    n = len(river)
    hills = np.array(PLACE_NAMES)[rng.integers(0, len(PLACE_NAMES), n)]
    banks = np.array(RIVER_PLACES)[rng.integers(0, len(RIVER_PLACES), n)]
    return np.where(river, banks, hills)


def complaint_text(
    rng: np.random.Generator,
    category: NDArray[np.str_],
    village_name: NDArray[np.str_],
    river: NDArray[np.bool_],
) -> NDArray[np.str_]:
    """Chinese complaint text: village, a local place name, then a body of the category."""
    n = len(category)
    body = np.empty(n, dtype=object)
    for cat, texts in COMPLAINT_TEXT.items():  # one pass per category, not per complaint
        m = category == cat
        body[m] = np.array(texts, dtype=object)[rng.integers(0, len(texts), m.sum())]
    place = place_names(rng, river)
    return np.char.add(np.char.add(village_name.astype(str), place), body.astype(str))


@dataclass
class Scattered:
    """Complaints placed at host points of their category's setting, and 70 m around.

    ``x``/``y`` are the host points, ``moved_x``/``moved_y`` the points spread up to 70 m
    (uniform over the disc) around them.
    """

    category: NDArray[np.str_]
    setting: NDArray[np.str_]
    village: IntArray
    x: FloatArray
    y: FloatArray
    moved_x: FloatArray
    moved_y: FloatArray


def scatter(
    rng: np.random.Generator,
    n: int,
    hosts: dict[str, Hosts],
    away: FloatArray,
    away_m: float,
) -> Scattered:
    """``n`` complaints of mixed category at host points at least ``away_m`` from ``away``."""
    cat = choice(rng, n, CATEGORY_SHARE)
    setting = pd.Series(cat).map(SETTING).to_numpy(dtype=str)
    x, y, vil = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    for kind, h in hosts.items():  # one pass per setting
        m = setting == kind
        idx = h.pick(rng, int(m.sum()), away, away_m)
        x[m], y[m], vil[m] = h.x[idx], h.y[idx], h.village[idx]
    ang = rng.uniform(0, 2 * np.pi, n)
    rad = 70 * np.sqrt(rng.random(n))
    return Scattered(cat, setting, vil, x, y, x + rad * np.cos(ang), y + rad * np.sin(ang))


def background_complaints(
    rng: np.random.Generator,
    n: int,
    hosts: dict[str, Hosts],
    villages: Villages,
    away: FloatArray,
    away_m: float,
) -> pd.DataFrame:
    """``n`` scattered complaints of mixed category and status, away from planted sites."""
    placed = scatter(rng, n, hosts, away, away_m)
    cat, setting, vil = placed.category, placed.setting, placed.village
    x, y = placed.moved_x, placed.moved_y
    when = random_times(rng, n, FIRST_DAY, LAST_DAY)
    status = complaint_status(rng, when)
    text = complaint_text(rng, cat, villages.name[vil], setting == "river")
    blank_cat = rng.random(n) < 0.3
    no_xy = rng.random(n) < 0.03
    x[no_xy], y[no_xy] = np.nan, np.nan
    vil_out = np.where(rng.random(n) < 0.05, -1, vil)
    return complaint_frame(
        when, cat, text, choice_channels(rng, n), status, x, y, vil_out, blank_cat
    )


def choice_channels(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    return choice(rng, n, dict(zip(CHANNELS, CHANNEL_SHARE, strict=True)))


def complaint_frame(
    when: NDArray[np.datetime64],
    category: NDArray[np.str_],
    text: NDArray[np.str_],
    channel: NDArray[np.str_],
    status: NDArray[np.str_],
    x: FloatArray,
    y: FloatArray,
    village: IntArray,
    blank_category: NDArray[np.bool_],
    case: str = "",
) -> pd.DataFrame:
    """Internal complaint table (one row per complaint; ``village`` -1 = not given)."""
    return pd.DataFrame(
        {
            "_when": when.astype("datetime64[m]"),
            "_category": category,
            "_text": text,
            "_channel": channel,
            "_status": status,
            "_x": x,
            "_y": y,
            "_village": village,
            "_blank_category": blank_category,
            "_case": case,
        }
    )


# --------------------------------------------------------------------------- patches

#: Background change causes: code -> (share, SHIFOU_WF, typical area ha, remark).
PATCH_CAUSES: dict[str, tuple[float, str, float, str]] = {
    "11": (0.14, "0", 1.5, "荒山造林"),
    "12": (0.06, "0", 1.2, "采伐迹地人工更新"),
    "21": (0.26, "0", 1.8, "凭证采伐杉木人工林"),
    "60": (0.06, "0", 2.0, "森林抚育"),
    "411": (0.07, "0", 0.8, "经审批修建林区道路"),
    "412": (0.05, "0", 0.4, "经审批临时施工用地"),
    "413": (0.05, "0", 0.2, "林业管护用房"),
    "73": (0.02, "0", 0.6, "风灾倒伏"),
    "82": (0.02, "0", 0.8, "自然更新"),
    "99": (0.05, "0", 1.0, "地类未变化"),
    "": (0.14, "", 0.6, "待现地核实"),
    "51": (0.03, "1", 0.08, "毁林种植砂糖橘"),
    "423": (0.02, "1", 0.06, "未批先建看护房"),
}


def background_patches(
    rng: np.random.Generator,
    n: int,
    hosts: Hosts,
    county: NDArray[np.str_],
    away: FloatArray,
    away_m: float,
) -> pd.DataFrame:
    """``n`` ordinary change patches: mostly legal, some unverified, a few small illegal ones.

    ``hosts`` are commercial-forest points (illegal patches stay small and off public-welfare
    forest so that only the planted cases reach a criminal threshold).
    """
    table = {k: v[0] for k, v in PATCH_CAUSES.items()}
    cause = choice(rng, n, table)
    wf = pd.Series(cause).map({k: v[1] for k, v in PATCH_CAUSES.items()}).to_numpy(dtype=str)
    typical = pd.Series(cause).map({k: v[2] for k, v in PATCH_CAUSES.items()}).to_numpy(float)
    remark = pd.Series(cause).map({k: v[3] for k, v in PATCH_CAUSES.items()}).to_numpy(dtype=str)
    area_ha = typical * rng.lognormal(0.0, 0.35, n)
    idx = hosts.pick(rng, n, away, away_m)
    geoms = blobs(rng, hosts.x[idx], hosts.y[idx], area_ha * 1e4)
    year = np.where(rng.random(n) < 0.45, "2025", "2026")
    guess = choice(rng, n, {"22": 0.3, "421": 0.2, "51": 0.2, "21": 0.2, "11": 0.1})
    pan = np.where(cause == "", guess, cause)
    pan = np.where((cause == "21") & (rng.random(n) < 0.15), "22", pan)
    real_area = shapely.area(geoms) / 1e4
    wf_mj = np.where(wf == "1", np.round(real_area * rng.uniform(0.7, 1.0, n), 2), 0.0)
    wf_mj = np.where(wf == "", np.nan, wf_mj)
    permit_no = rng.integers(1, 120, n).astype(str)
    permit_year = (year.astype(int) - (rng.random(n) < 0.4)).astype(str)
    sh_wh = np.where(
        np.char.startswith(cause, "41"),
        np.char.replace(
            np.char.replace(np.full(n, PERMIT_LAND), "{year}", permit_year), "{no}", permit_no
        ),
        "",
    )
    serial = np.char.zfill(rng.integers(1, 2000, n).astype(str), 6)
    cfzh = np.where(cause == "21", np.char.add(np.char.add(county[idx], year), serial), "")
    return patch_frame(geoms, year, pan, cause, wf, wf_mj, sh_wh, cfzh, remark)


def patch_frame(
    geoms: NDArray[np.object_],
    year: NDArray[np.str_],
    pan: NDArray[np.str_],
    cause: NDArray[np.str_],
    wf: NDArray[np.str_],
    wf_mj: FloatArray,
    sh_wh: NDArray[np.str_],
    cfzh: NDArray[np.str_],
    remark: NDArray[np.str_],
    case: str = "",
) -> pd.DataFrame:
    """Internal patch table (geometry in EPSG:4546)."""
    return pd.DataFrame(
        {
            "BHND": year,
            "PAN_BHYY": pan,
            "BHYY": cause,
            "SHIFOU_WF": wf,
            "WF_MJ": wf_mj,
            "SH_WH": sh_wh,
            "CFZH": cfzh,
            "BEIZHU": remark,
            "_case": case,
            "geometry": geoms,
        }
    )


# --------------------------------------------------------------------------- problems


def problem_status(rng: np.random.Generator, deadline: NDArray[np.datetime64]) -> NDArray[np.str_]:
    """整改状态: problems due long ago are mostly closed (已销号), recent ones still open."""
    n = len(deadline)
    old = choice(rng, n, {"已销号": 0.82, "已整改": 0.1, "整改中": 0.04, "退回": 0.04})
    new = choice(
        rng, n, {"未整改": 0.25, "整改中": 0.35, "已整改": 0.22, "已销号": 0.12, "退回": 0.06}
    )
    return np.where(deadline < np.datetime64("2026-06-01"), old, new)


def background_problems(
    rng: np.random.Generator,
    n: int,
    forest: pd.DataFrame,
    hosts: Hosts,
    away: FloatArray,
    away_m: float,
) -> pd.DataFrame:
    """``n`` inspection problems from the campaigns, most of them closed.

    ``hosts`` index rows of ``forest`` (the 小班 table), whose 林班/小班 the text cites.
    """
    camp = rng.integers(0, len(CAMPAIGNS), n)
    found = np.array([np.datetime64(c[1]) for c in CAMPAIGNS])[camp]
    found = found + rng.integers(0, 12, n).astype("timedelta64[D]")
    deadline = found + (30 * rng.integers(1, 5, n)).astype("timedelta64[D]")
    on_land = {k: v for k, v in CATEGORY_SHARE.items() if SETTING[k] != "river"}
    cat = choice(rng, n, on_land)
    idx = hosts.pick(rng, n, away, away_m)
    rows = forest.iloc[idx]
    text = problem_text(rng, cat, rows)
    no_xy = rng.random(n) < 0.25
    x = np.where(no_xy, np.nan, rows["_x"].to_numpy())
    y = np.where(no_xy, np.nan, rows["_y"].to_numpy())
    return problem_frame(
        camp,
        found,
        rows["_village"].to_numpy(),
        cat,
        text,
        deadline,
        problem_status(rng, deadline),
        x,
        y,
    )


def problem_text(
    rng: np.random.Generator, category: NDArray[np.str_], rows: pd.DataFrame
) -> NDArray[np.str_]:
    """Problem description: village, place, (林班…小班…), then what was found and asked."""
    place = place_names(rng, np.zeros(len(category), dtype=bool))
    where = (
        rows["CUN_MC"].to_numpy(dtype=str)
        + place
        + "（林班"
        + rows["LIN_BAN"].to_numpy(dtype=str)
        + "小班"
        + rows["XIAO_BAN"].to_numpy(dtype=str)
        + "）"
    )
    body = pd.Series(category).map(PROBLEM_TEXT).to_numpy(dtype=str)
    return np.char.add(where.astype(str), body)


def problem_frame(
    campaign: IntArray,
    found: NDArray[np.datetime64],
    village: IntArray,
    category: NDArray[np.str_],
    text: NDArray[np.str_],
    deadline: NDArray[np.datetime64],
    status: NDArray[np.str_],
    x: FloatArray,
    y: FloatArray,
    case: str = "",
) -> pd.DataFrame:
    """Internal problem table (``_x``/``_y`` in m, EPSG:4546, NaN = no location)."""
    return pd.DataFrame(
        {
            "_campaign": campaign,
            "_found": found.astype("datetime64[D]"),
            "_village": village,
            "_category": category,
            "_text": text,
            "_deadline": deadline.astype("datetime64[D]"),
            "_status": status,
            "_x": x,
            "_y": y,
            "_case": case,
        }
    )
