"""Forest sub-compartments (小班) and 三调 wetland parcels of the sample data.

Geometry is planar metres in EPSG:4546. Forest land is every forest cell minus the river
corridor; the corridor's banks are cut into wetland parcels about 200 m long and the channel
into one river-surface parcel per village, so no two parcels overlap and none crosses a
village boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geoservice.sample.terrain import (
    Cells,
    Field,
    FloatArray,
    IntArray,
    Villages,
    nearest,
    north_west_rank,
    river_segments,
)
from geoservice.sample.text import (
    BANK_SHARE,
    REMARK_BURNT,
    REMARK_DISPUTE,
    REMARK_NATIONAL,
    REMARK_REPLANT,
    REMARK_RESERVE,
    WETLAND_CLASSES,
)

#: Half-widths (m) of the river channel and of the river corridor (channel plus banks).
CHANNEL_M, CORRIDOR_M = 18.0, 80.0
#: Smallest piece kept (m²) when cells are cut by the corridor.
MIN_PIECE_M2 = 300.0
#: Length (m) of river bank cut into one wetland parcel.
BANK_PIECE_M = 200.0

Objects = NDArray[np.object_]


@dataclass
class Pieces:
    """Polygons cut from cells, with the cell (or village) each came from."""

    geoms: Objects
    cell: IntArray
    village: IntArray


def reserve_mask(rng: np.random.Generator, cells: Cells, count: int, radius: float) -> IntArray:
    """Reserve number (0..count-1) of every cell, -1 outside; reserves sit on high ground."""
    cx, cy = cells.x.mean(), cells.y.mean()
    spread = np.hypot(cells.x - cx, cells.y - cy)
    ok = (cells.river_d > 2.2 * radius) & (spread < np.quantile(spread, 0.6))
    # The highest cell of each block 8 radii wide, then the highest of those blocks.
    cand = np.flatnonzero(ok)
    block = np.floor(cells.x[cand] / (8 * radius)) * 1e6 + np.floor(cells.y[cand] / (8 * radius))
    order = np.lexsort((-cells.elev[cand], block))
    first = order[np.r_[0, np.flatnonzero(np.diff(block[order])) + 1]]
    tops = cand[first]
    centres = tops[np.argsort(-cells.elev[tops], kind="stable")][:count]
    wobble = Field(rng, (radius, 4 * radius), 5)
    out = np.full(len(cells.x), -1, dtype=np.int64)
    bump = 0.25 * radius * wobble(cells.x, cells.y)
    for k, c in enumerate(centres):  # one pass per reserve
        d = np.hypot(cells.x - cells.x[c], cells.y - cells.y[c]) + bump
        out[d < radius] = k
    return out


def forest_mask(
    rng: np.random.Generator, cells: Cells, villages: Villages, settle_m: float
) -> NDArray[np.bool_]:
    """Cells that are forest land: not valley-floor farmland, not village settlement."""
    v = villages.of_cell
    to_settle = np.hypot(cells.x - villages.settle_x[v], cells.y - villages.settle_y[v])
    farmland = cells.elev < 0.13
    orchards = rng.random(len(cells.x)) < 0.03
    return ~(farmland | orchards | (to_settle < settle_m))


def _explode(geoms: Objects, cell: IntArray, village: IntArray) -> Pieces:
    parts, idx = shapely.get_parts(geoms, return_index=True)
    big = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PIECE_M2)
    return Pieces(parts[big], cell[idx[big]], village[idx[big]])


def _bank_pieces(banks: Objects, village: IntArray, rivers: list[shapely.LineString]) -> Pieces:
    """Cut each village's river banks into pieces about :data:`BANK_PIECE_M` long.

    The cutters are Voronoi slabs of points placed along the river line, so each slab
    crosses the river and yields one piece per bank.
    """
    pts = [
        shapely.line_interpolate_point(r, np.arange(0.0, r.length, BANK_PIECE_M)) for r in rivers
    ]
    seeds = shapely.multipoints(shapely.get_coordinates(np.concatenate(pts)))
    slabs = shapely.get_parts(shapely.voronoi_polygons(seeds))
    b_idx, s_idx = shapely.STRtree(slabs).query(banks, predicate="intersects")
    cut = shapely.intersection(banks[b_idx], slabs[s_idx])
    return _explode(cut, np.full(len(b_idx), -1, dtype=np.int64), village[b_idx])


def village_corridors(
    villages: Villages, rivers: list[shapely.LineString]
) -> tuple[IntArray, Objects, Objects]:
    """The river corridor and channel inside each village the rivers cross.

    Each village buffers only the river segments near it, so no operation ever meets the
    whole (long) corridor polygon.

    Returns
    -------
    village : ndarray of int
        The villages the corridor touches.
    corridor, channel : ndarray of polygons
        Corridor (channel plus banks, :data:`CORRIDOR_M` either side) and channel
        (:data:`CHANNEL_M` either side) clipped to each of those villages.
    """
    segs = river_segments(rivers)
    near = shapely.buffer(villages.geoms, CORRIDOR_M + 1.0, quad_segs=2)
    v_idx, s_idx = shapely.STRtree(segs).query(near, predicate="intersects")
    order = np.argsort(v_idx, kind="stable")
    v_idx, s_idx = v_idx[order], s_idx[order]
    hit_v, group = np.unique(v_idx, return_inverse=True)
    lines = shapely.multilinestrings(segs[s_idx], indices=group)
    polys = villages.geoms[hit_v]
    corr = shapely.intersection(shapely.buffer(lines, CORRIDOR_M), polys)
    chan = shapely.intersection(shapely.buffer(lines, CHANNEL_M), polys)
    keep = ~shapely.is_empty(corr)
    return hit_v[keep], corr[keep], chan[keep]


def cut_land(
    cells: Cells, villages: Villages, forest: NDArray[np.bool_], rivers: list[shapely.LineString]
) -> tuple[Pieces, Pieces, Pieces]:
    """Forest pieces, bank pieces and channel pieces.

    Returns
    -------
    forest, banks, channel : Pieces
        Forest land outside the corridor (whole cells or their remnants), the corridor's
        banks cut into pieces along the river, and the channel cut by villages. None of
        them overlap.
    """
    hit_v, corr, chan = village_corridors(villages, rivers)
    vil = villages.of_cell
    slot = np.full(len(villages.geoms), -1, dtype=np.int64)
    slot[hit_v] = np.arange(len(hit_v))
    c_idx, cell = shapely.STRtree(cells.geoms).query(corr, predicate="intersects")
    same = vil[cell] == hit_v[c_idx]
    hit = np.unique(cell[same])
    whole = forest.copy()
    whole[hit] = False
    all_idx = np.arange(len(cells.x))
    f_hit = hit[forest[hit]]
    remnant = shapely.difference(cells.geoms[f_hit], corr[slot[vil[f_hit]]])
    f_pieces = _explode(remnant, f_hit, vil[f_hit])
    forest_p = Pieces(
        np.r_[cells.geoms[whole], f_pieces.geoms],
        np.r_[all_idx[whole], f_pieces.cell],
        np.r_[vil[whole], f_pieces.village],
    )
    bank_p = _bank_pieces(shapely.difference(corr, chan), hit_v, rivers)
    chan_p = _explode(chan, np.full(len(hit_v), -1, dtype=np.int64), hit_v)
    return forest_p, bank_p, chan_p


def choice(rng: np.random.Generator, n: int, table: dict[str, float]) -> NDArray[np.str_]:
    """``n`` keys of ``table`` drawn with the table's values as (relative) probabilities."""
    keys = np.array(list(table))
    p = np.array(list(table.values()))
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def lookup(keys: NDArray[np.str_], table: dict[str, str]) -> NDArray[np.str_]:
    """Map every key through ``table`` (vectorised)."""
    return pd.Series(keys).map(table).to_numpy(dtype=str)


# Stand types "地类/优势树种" -> share, for natural public-welfare and for commercial forest.
NATURAL_STANDS = {
    "1112/410": 0.45,
    "1113/410": 0.13,
    "1113/220": 0.12,
    "1111/220": 0.17,
    "113/660": 0.05,
    "131/": 0.08,
}
PLANTED_STANDS = {
    "1111/310": 0.42,
    "1111/220": 0.15,
    "1113/310": 0.08,
    "1112/410": 0.07,
    "1111/350": 0.02,
    "113/660": 0.10,
    "141/310": 0.06,
    "161/": 0.04,
    "171/": 0.02,
    "132/": 0.03,
    "162/": 0.01,
}
STAND_LAND = {k: k.split("/")[0] for k in {**NATURAL_STANDS, **PLANTED_STANDS}}
STAND_SPECIES = {k: k.split("/")[1] for k in {**NATURAL_STANDS, **PLANTED_STANDS}}

WELFARE_CODES = {
    # class: (SEN_LIN_LB, SHI_QUAN_D, GJGYL_BHDJ, BH_DJ)
    "national_1": ("11", "10", "1", 1),
    "national_2": ("11", "10", "2", 2),
    "local_key": ("11", "20", "", 2),
    "local_general": ("12", "20", "", 3),
    "commercial_key": ("21", "", "", 3),
    "commercial": ("22", "", "", 4),
}


def welfare_class(
    rng: np.random.Generator, x: FloatArray, y: FloatArray, elev: FloatArray, reserve: IntArray
) -> NDArray[np.str_]:
    """Public-welfare class of every parcel: contiguous on ridges, national level 1 highest."""
    score = elev + 0.35 * Field(rng, (2500.0, 8000.0), 6)(x, y) / 2
    q = np.empty(len(x))
    q[np.argsort(score, kind="stable")] = np.arange(len(x)) / max(len(x), 1)
    out = np.full(len(x), "commercial", dtype="<U14")
    out[rng.random(len(x)) < 0.35] = "commercial_key"
    out[q >= 0.52] = "local_general"
    out[q >= 0.62] = "local_key"
    out[q >= 0.74] = "national_2"
    out[q >= 0.88] = "national_1"
    out[reserve >= 0] = "national_1"
    return out


def forest_table(
    rng: np.random.Generator,
    pieces: Pieces,
    cells: Cells,
    villages: Villages,
    reserve: IntArray,
) -> pd.DataFrame:
    """The 小班 attribute table (pinyin field codes, real code values), one row per piece.

    Rows are ordered by LIN_BAN then XIAO_BAN. Includes the helper columns ``_x``, ``_y``
    (a point in the parcel, m), ``_village`` (index), ``_welfare``, ``_reserve`` and
    ``_area_ha`` (exact planar area), which the writer drops.
    """
    n = len(pieces.geoms)
    pt = shapely.point_on_surface(pieces.geoms)
    x, y = shapely.get_x(pt), shapely.get_y(pt)
    cell = pieces.cell
    elev, river_d = cells.elev[cell], cells.river_d[cell]
    res = reserve[cell]
    vil = pieces.village
    lin_ban, xiao_ban, batch = number_compartments(rng, x, y, vil, villages)
    welfare = welfare_class(rng, x, y, elev, res)
    codes = {
        k: np.array([v[i] for v in WELFARE_CODES.values()])
        for k, i in (("sen", 0), ("shq", 1), ("gj", 2), ("bh", 3))
    }
    wi = pd.Index(list(WELFARE_CODES)).get_indexer(welfare)
    public = np.isin(welfare, ["national_1", "national_2", "local_key", "local_general"])
    stand = np.where(public, choice(rng, n, NATURAL_STANDS), choice(rng, n, PLANTED_STANDS))
    di_lei, species = lookup(stand, STAND_LAND), lookup(stand, STAND_SPECIES)
    lin_zhong = choice(rng, n, {"231": 0.5, "232": 0.2, "233": 0.2, "240": 0.1})
    water = np.where(elev >= 0.7, "111", np.where(rng.random(n) < 0.1, "117", "112"))
    lin_zhong = np.where(public, water, lin_zhong)
    lin_zhong = np.where(public & (river_d < 400), "115", lin_zhong)
    lin_zhong = np.where(res >= 0, "127", lin_zhong)
    natural = choice(rng, n, {"11": 0.6, "13": 0.25, "12": 0.15})
    planted = choice(rng, n, {"21": 0.75, "23": 0.1, "24": 0.1, "22": 0.05})
    planted = np.where((planted == "23") & (species != "220"), "21", planted)
    qi_yuan = np.where(public, natural, planted)
    arbor = np.char.startswith(di_lei, "111")
    qi_yuan = np.where(np.isin(di_lei, ["161", "171", "162"]), "", qi_yuan)
    vol = np.where(public, 60 + 110 * rng.beta(2, 2, n), 30 + 120 * rng.beta(2, 3, n))
    vol = np.where(arbor, np.round(vol, 1), 0.0)
    bh_dj = codes["bh"][wi].astype(np.int64) + (rng.random(n) < 0.08)
    bh_dj = np.clip(np.where(res >= 0, 1, bh_dj), 1, 4)
    area = shapely.area(pieces.geoms) / 1e4
    mian_ji = np.maximum(np.round(area * (1 + rng.normal(0, 0.012, n)), 2), 0.01)
    remark = np.full(n, "", dtype=object)
    remark[(welfare == "national_1") & (rng.random(n) < 0.3)] = REMARK_NATIONAL
    remark[di_lei == "162"] = REMARK_BURNT
    remark[di_lei == "141"] = REMARK_REPLANT
    remark[rng.random(n) < 0.01] = REMARK_DISPUTE
    remark[res >= 0] = REMARK_RESERVE
    # Parcels updated in a later annual change (batch) carry 4-digit zero-padded 地类 codes.
    di_out = np.where(batch & arbor, "0111", di_lei)
    di_out = np.where(batch & (np.char.str_len(di_out) == 3), np.char.add("0", di_out), di_out)
    county = villages.county[vil]
    table = pd.DataFrame(
        {
            "SHENG": county.astype("<U2"),
            "SHI": county.astype("<U4"),
            "XIAN": county,
            "XIANG": villages.town[vil],
            "CUN": villages.village[vil],
            "LIN_BAN": lin_ban,
            "XIAO_BAN": xiao_ban,
            "DI_LEI": di_out,
            "SEN_LIN_LB": codes["sen"][wi],
            "SHI_QUAN_D": codes["shq"][wi],
            "GJGYL_BHDJ": codes["gj"][wi],
            "BH_DJ": bh_dj.astype(str),
            "LIN_ZHONG": lin_zhong,
            "QI_YUAN": qi_yuan,
            "YOU_SHI_SZ": species,
            "HUO_LMGQXJ": vol,
            "MIAN_JI": mian_ji,
            "CUN_MC": villages.name[vil],
            "BEI_ZHU": remark,
            "_x": x,
            "_y": y,
            "_village": vil,
            "_welfare": welfare,
            "_reserve": res,
            "_river_d": river_d,
            "_area_ha": area,
            "geometry": pieces.geoms,
        }
    )
    return table.sort_values(["LIN_BAN", "XIAO_BAN"], kind="stable").reset_index(drop=True)


def number_compartments(
    rng: np.random.Generator, x: FloatArray, y: FloatArray, vil: IntArray, villages: Villages
) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.bool_]]:
    """林班 and 小班 numbers, and which 林班 came from a later update batch.

    A 林班 is the set of a village's parcels nearest to one point of a jittered lattice
    (about 25 parcels). 林班 are numbered across the whole file, village by village, so
    LIN_BAN + XIAO_BAN is unique; 小班 are numbered north to south within their 林班.
    """
    step = np.sqrt(60 * 2.5e4)
    gx = np.arange(x.min() - step, x.max() + step, step)
    gy = np.arange(y.min() - step, y.max() + step, step)
    sx, sy = (a.ravel() for a in np.meshgrid(gx, gy))
    sx = sx + rng.uniform(-0.35, 0.35, sx.size) * step
    sy = sy + rng.uniform(-0.35, 0.35, sy.size) * step
    warp = Field(rng, (step, 3 * step), 5)
    seed = nearest(sx, sy, x + 0.3 * step * warp(x, y), y + 0.3 * step * warp(y, x))
    key = vil * sx.size + seed
    uniq, group = np.unique(key, return_inverse=True)
    counts = np.bincount(group)
    gx_m = np.bincount(group, x) / counts
    gy_m = np.bincount(group, y) / counts
    g_rank = north_west_rank(uniq // sx.size, gx_m, gy_m)
    g_order = np.lexsort((g_rank, uniq // sx.size))
    number = np.empty(len(uniq), dtype=np.int64)
    number[g_order] = np.arange(1, len(uniq) + 1)
    width = max(4, len(str(len(uniq))))
    lin_ban = np.char.zfill(number[group].astype(str), width)
    xiao = north_west_rank(group, x, y) + 1
    xiao_ban = np.char.zfill(xiao.astype(str), 3)
    batch = (rng.random(len(uniq)) < 0.3)[group]
    return lin_ban, xiao_ban, batch


def wetland_table(
    rng: np.random.Generator, banks: Pieces, channel: Pieces, villages: Villages
) -> pd.DataFrame:
    """The 三调 wetland table (BSM TBBH DLBM DLMC ZLDWDM ZLDWMC TBMJ SDLX), one row per parcel.

    Bank pieces get a class from a smooth field (so classes run along the river); pieces
    of class "" (paddy and other non-wetland land) are dropped. Channel pieces are 1101.
    """
    pt = shapely.point_on_surface(banks.geoms)
    bx, by = shapely.get_x(pt), shapely.get_y(pt)
    f = Field(rng, (600.0, 2500.0), 6)(bx, by) + rng.normal(0, 0.6, len(bx))
    q = np.empty(len(bx))
    q[np.argsort(f, kind="stable")] = np.arange(len(bx)) / max(len(bx), 1)
    edges = np.cumsum(np.array(list(BANK_SHARE.values())))
    cls = np.array(list(BANK_SHARE))[np.minimum(np.searchsorted(edges, q, side="right"), 5)]
    keep = cls != ""
    geoms = np.r_[banks.geoms[keep], channel.geoms]
    dlbm = np.r_[cls[keep], np.full(len(channel.geoms), "1101")]
    vil = np.r_[banks.village[keep], channel.village]
    pt = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pt), shapely.get_y(pt)
    order = np.lexsort((np.round(x, -1), -np.round(y, -1), vil))
    geoms, dlbm, vil, x, y = geoms[order], dlbm[order], vil[order], x[order], y[order]
    n = len(geoms)
    tbbh = (north_west_rank(vil, x, y) + 1).astype(str)
    county = villages.county[vil]
    bsm = np.char.add(
        np.char.add(county, "1100"), np.char.zfill(np.arange(1, n + 1).astype(str), 8)
    )
    area = shapely.area(geoms)
    tbmj = np.round(area * (1 + rng.normal(0, 0.002, n)), 2)
    return pd.DataFrame(
        {
            "BSM": bsm,
            "TBBH": tbbh,
            "DLBM": dlbm,
            "DLMC": lookup(dlbm, {k: v[0] for k, v in WETLAND_CLASSES.items()}),
            "ZLDWDM": np.char.add(villages.code[vil], "0000000"),
            "ZLDWMC": villages.name[vil],
            "TBMJ": tbmj,
            "SDLX": lookup(dlbm, {k: v[1] for k, v in WETLAND_CLASSES.items()}),
            "_x": x,
            "_y": y,
            "_village": vil,
            "geometry": geoms,
        }
    )
