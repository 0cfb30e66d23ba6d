"""Real-world forms of the sample files: what real deliveries do to the same facts.

- Village boundaries exported from CAD hold **one row per part**: :func:`village_rows`
  cuts some villages into two or three adjacent pieces, each written as its own row with
  the village's code and name.
- Problem lists name the village in a free-form 所属村 column, with or without the 村
  suffix or as the village committee (村委会), and sometimes not at all:
  :func:`village_name_forms`.
- Complaints received through a WeChat mini-program carry GCJ-02 web-map coordinates:
  :func:`wechat_complaints` and :func:`finish_wechat`.

Planar coordinates are metres in EPSG:4546, as everywhere in the generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from geoservice.sample.events import (
    Hosts,
    complaint_frame,
    complaint_status,
    complaint_text,
    random_times,
    scatter,
)
from geoservice.sample.terrain import Cells, FloatArray, IntArray, Villages
from geoservice.sample.text import CATEGORY_ZH
from layers.chinacoords import wgs84_to_gcj02

#: Every ``SPLIT_EVERY``-th village (from index ``SPLIT_FROM``) is written in pieces.
SPLIT_EVERY, SPLIT_FROM = 8, 5
#: Directions (degrees from a village's long axis) tried in turn until every piece is one
#: polygon.
SPLIT_TURNS = (0.0, 90.0, 30.0, 60.0, 120.0, 150.0)

#: Shares of the forms a village name takes in 所属村: 沙坪村, 沙坪, 沙坪村委会.
NAME_FORMS: tuple[tuple[str, float], ...] = (("bare", 0.2), ("committee", 0.1))
#: One row in ``BLANK_EVERY`` of the rows with coordinates leaves 所属村 empty.
BLANK_EVERY = 5

#: The WeChat mini-program went live on this day; its complaints run from here.
WECHAT_FIRST = np.datetime64("2026-05-06")
WECHAT_LAST = np.datetime64("2026-11-15")
WECHAT_CHANNEL = "微信小程序"
WECHAT_COLUMNS = [
    "工单编号",
    "举报时间",
    "来源",
    "问题类型",
    "举报内容",
    "经度",
    "纬度",
    "处理状态",
]


# --------------------------------------------------------------------------- villages


def _cut(
    cells: NDArray[np.object_], x: FloatArray, y: FloatArray, pieces: int, angle: float
) -> list[shapely.Geometry]:
    """A village's ``cells`` grouped into ``pieces`` strips across direction ``angle``.

    Cells are ranked by the position of their generator point (``x``, ``y``) along the
    direction and cut into groups of equal count; each group is one coverage union.
    Returns the pieces when each is one polygon, else an empty list.
    """
    t = x * np.cos(angle) + y * np.sin(angle)
    rank = np.empty(len(t), dtype=np.int64)
    rank[np.argsort(t, kind="stable")] = np.arange(len(t))
    group = rank * pieces // len(t)
    parts = [shapely.coverage_union_all(cells[group == g]) for g in range(pieces)]
    if any(p.geom_type != "Polygon" for p in parts):
        return []
    return parts


def split_village(
    polygon: shapely.Geometry, cells: Cells, members: IntArray, pieces: int
) -> list[shapely.Geometry]:
    """A village (the coverage union of its ``members`` cells) as adjacent polygons.

    The cut runs across the long axis of the village (then turned by each of
    :data:`SPLIT_TURNS` until every piece is one polygon) along cell edges, so the pieces
    keep every vertex the village and its neighbours share. Returns ``[polygon]`` when no
    direction gives ``pieces`` single polygons.
    """
    if polygon.geom_type != "Polygon" or len(members) < 2 * pieces:
        return [polygon]
    ring = shapely.get_coordinates(shapely.oriented_envelope(polygon))[:4]
    edges = np.diff(np.r_[ring, ring[:1]], axis=0)
    long_edge = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    axis = float(np.arctan2(long_edge[1], long_edge[0]))
    for turn in SPLIT_TURNS:
        parts = _cut(
            cells.geoms[members],
            cells.x[members],
            cells.y[members],
            pieces,
            axis + np.radians(turn),
        )
        if parts:
            return parts
    return [polygon]


def village_rows(villages: Villages, cells: Cells) -> tuple[NDArray[np.object_], IntArray]:
    """The rows of ``villages.shp``: geometries and the village index of each row.

    Every :data:`SPLIT_EVERY`-th village is cut into two or three pieces (alternately)
    along the edges of its land cells, written as consecutive rows with the village's code
    and name, as CAD exports store a boundary one row per part. The pieces tile the village
    exactly and share every vertex with each other and with the neighbouring villages.
    """
    n = len(villages.code)
    chosen = np.arange(SPLIT_FROM, n, SPLIT_EVERY)
    pieces = {int(i): 2 + j % 2 for j, i in enumerate(chosen)}
    order = np.argsort(villages.of_cell, kind="stable")
    bounds = np.searchsorted(villages.of_cell[order], np.arange(n + 1))
    geoms: list[shapely.Geometry] = []
    index: list[int] = []
    for i in range(n):  # one call per village (a few thousand at most in a province)
        parts = [villages.geoms[i]]
        if i in pieces:
            members = order[bounds[i] : bounds[i + 1]]
            parts = split_village(villages.geoms[i], cells, members, pieces[i])
        geoms.extend(parts)
        index.extend([i] * len(parts))
    return np.array(geoms, dtype=object), np.array(index, dtype=np.int64)


# --------------------------------------------------------------------------- names


def village_name_forms(
    rng: np.random.Generator, names: NDArray[np.str_], has_xy: NDArray[np.bool_]
) -> NDArray[np.object_]:
    """所属村 as problem lists write it: 沙坪村 mostly, some 沙坪, some 沙坪村委会, some empty.

    Exact shares (:data:`NAME_FORMS`) of randomly chosen rows take the bare or committee
    form; every :data:`BLANK_EVERY`-th row that has coordinates (in row order, starting
    with the third) is left empty, so its village has to come from the location.
    """
    n = len(names)
    out = names.astype(object).copy()
    order = rng.permutation(n)
    start = 0
    bare = pd.Series(names).str.replace("村$", "", regex=True).to_numpy(dtype=object)
    forms = {"bare": bare, "committee": np.char.add(names.astype(str), "委会").astype(object)}
    for form, share in NAME_FORMS:
        take = order[start : start + round(share * n)]
        out[take] = forms[form][take]
        start += len(take)
    rank = np.cumsum(has_xy)
    out[has_xy & (rank % BLANK_EVERY == 3)] = ""
    return out


# --------------------------------------------------------------------------- WeChat


def wechat_complaints(
    rng: np.random.Generator,
    n: int,
    hosts: dict[str, Hosts],
    villages: Villages,
    away: FloatArray,
    away_m: float,
) -> pd.DataFrame:
    """``n`` complaints sent through the WeChat mini-program, away from the planted cases.

    Placed like the background complaints (by category setting, within 70 m of a host
    point, but never outside the villages: a point the 70 m would take out stays on its
    host), at least ``away_m`` from every point of ``away``; sent between
    :data:`WECHAT_FIRST` and :data:`WECHAT_LAST`, with the status their age gives. Every
    complaint has a category (the mini-program's form requires one) and a location.
    """
    placed = scatter(rng, n, hosts, away, away_m)
    cat, vil, x, y = placed.category, placed.village, placed.x.copy(), placed.y.copy()
    moved_x, moved_y = placed.moved_x, placed.moved_y
    inside = shapely.STRtree(villages.geoms).query(
        shapely.points(moved_x, moved_y), predicate="within"
    )[0]
    x[inside], y[inside] = moved_x[inside], moved_y[inside]
    when = random_times(rng, n, WECHAT_FIRST, WECHAT_LAST)
    text = complaint_text(rng, cat, villages.name[vil], placed.setting == "river")
    return complaint_frame(
        when,
        cat,
        text,
        np.full(n, WECHAT_CHANNEL),
        complaint_status(rng, when),
        x,
        y,
        vil,
        np.zeros(n, dtype=bool),
    )


def gcj02_text(x: FloatArray, y: FloatArray) -> tuple[NDArray[np.str_], NDArray[np.str_]]:
    """EPSG:4546 metres -> GCJ-02 longitude and latitude as 6-decimal text.

    The true position (CGCS2000 degrees, taken as WGS 84) goes through the published
    forward transform, as a phone's map picker reports it.
    """
    lon, lat = Transformer.from_crs(4546, 4490, always_xy=True).transform(x, y)
    g_lon, g_lat = wgs84_to_gcj02(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.char.mod("%.6f", g_lon), np.char.mod("%.6f", g_lat)


def finish_wechat(table: pd.DataFrame) -> pd.DataFrame:
    """Sort by time, number (工单编号 WX<year><5 digits>) and add the delivered columns."""
    t = table.sort_values("_when", kind="stable").reset_index(drop=True)
    year = t["_when"].dt.year.astype(str)
    serial = year.groupby(year, sort=False).cumcount() + 1
    t["工单编号"] = "WX" + year + serial.astype(str).str.zfill(5)
    t["举报时间"] = t["_when"].dt.strftime("%Y-%m-%d %H:%M")
    t["来源"] = t["_channel"]
    t["问题类型"] = t["_category"].map(CATEGORY_ZH)
    t["举报内容"] = t["_text"]
    t["经度"], t["纬度"] = gcj02_text(t["_x"].to_numpy(), t["_y"].to_numpy())
    t["处理状态"] = t["_status"]
    return t
