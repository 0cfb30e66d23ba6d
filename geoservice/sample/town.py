"""Sample survey data: a realistic town (or county, or province) as real files arrive.

:func:`generate` writes village boundaries, forest sub-compartments (小班), 三调 wetland
parcels, forest-supervision change patches (森林督查图斑), a complaints CSV, a second
complaints CSV received through a WeChat mini-program and an inspection-problem workbook,
with planted cases for the risk analysis to find (:func:`planted_cases`). Same seed, same bytes. See ``sample_gis/README.md`` for every file,
field and case.

Planar coordinates are CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546, metres) except
the patches, which are written zone-prefixed (EPSG:4525); complaints and problems carry
CGCS2000 longitude/latitude (EPSG:4490, degrees), the WeChat complaints GCJ-02 web-map
longitude/latitude (degrees).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import shapely

from geoservice.sample.cases import CASE_KEYS, Planter, Site
from geoservice.sample.events import (
    Hosts,
    background_complaints,
    background_patches,
    background_problems,
)
from geoservice.sample.forms import finish_wechat, village_rows, wechat_complaints
from geoservice.sample.parcels import (
    cut_land,
    forest_mask,
    forest_table,
    reserve_mask,
    wetland_table,
)
from geoservice.sample.terrain import (
    KEEP,
    LATTICE_M,
    Villages,
    make_cells,
    make_rivers,
    make_villages,
    outline,
)
from geoservice.sample.write import finish_complaints, finish_patches, finish_problems, write_all
from layers.errors import MessageError
from layers.messages import Message

Scale = Literal["town", "county", "province"]
DEFAULT_SEED = 20261128

#: File name of every kind ``generate`` writes.
FILE_NAMES: dict[str, str] = {
    "villages": "villages.shp",
    "parcels": "xiaoban.shp",
    "wetlands": "wetlands.shp",
    "patches": "patches.shp",
    "complaints": "complaints.csv",
    "complaints_wechat": "complaints_wechat.csv",
    "problems": "problems.xlsx",
}


@dataclass(frozen=True)
class ScaleSpec:
    """Sizes of one scale. ``cells`` land cells give about 0.82 × cells forest parcels.

    ``wechat`` complaints (about 4 % of ``complaints``) come in the second complaint file.
    """

    villages: int
    counties: int
    cells: int
    complaints: int
    patches: int
    problems: int
    rivers: int
    reserves: int
    wechat: int


SCALES: dict[str, ScaleSpec] = {
    "town": ScaleSpec(16, 1, 5_600, 300, 75, 40, 1, 1, 12),
    "county": ScaleSpec(300, 1, 245_000, 100_000, 20_000, 750, 4, 6, 4_000),
    # the province the risk analysis is measured at: 2,000,000 parcels and 1,000,000
    # complaints after the import (about 3 % of the generated rows have no coordinates)
    "province": ScaleSpec(6_000, 40, 2_350_000, 1_031_000, 120_000, 15_000, 24, 120, 41_000),
}
#: Radius (m) of a reserve, of a village settlement, and of the quiet zone around each case.
RESERVE_M, SETTLE_M, AWAY_M = 1_100.0, 280.0, 600.0


class SampleError(MessageError):
    """The sample generator was called with an unusable argument."""


@dataclass(frozen=True)
class PlantedCase:
    """One planted case and the ids of its evidence in the generated files.

    Attributes
    ----------
    key : str
        ``felling``, ``wetland_fill``, ``quarry``, ``poaching``, ``burning`` (true risks) or
        ``old_closed``, ``approved_road``, ``unfounded_felling`` (look-alikes).
    village_code, village_name : str
    parcel_ids : tuple of str
        Ids of the 小班 the evidence touches, as the importer builds them: ``LIN_BAN-XIAO_BAN``.
    wetland_ids : tuple of str
        BSM of the wetland parcels the evidence touches.
    complaint_ids, patch_ids, problem_ids : tuple of str
        举报编号, PAN_NO_TB and 问题编号.
    lon, lat : float
        The case site, CGCS2000 degrees (EPSG:4490).
    """

    key: str
    village_code: str
    village_name: str
    parcel_ids: tuple[str, ...]
    wetland_ids: tuple[str, ...]
    complaint_ids: tuple[str, ...]
    patch_ids: tuple[str, ...]
    problem_ids: tuple[str, ...]
    lon: float
    lat: float


@dataclass
class SampleData:
    """Everything :func:`generate` writes, as tables (geometry in EPSG:4546).

    ``village_rows`` holds the rows of ``villages.shp`` (some villages in several pieces)
    and the village index of each; ``wechat`` the complaints of the WeChat mini-program.
    """

    villages: Villages
    forest: pd.DataFrame
    wetlands: pd.DataFrame
    complaints: pd.DataFrame
    patches: pd.DataFrame
    problems: pd.DataFrame
    cases: list[PlantedCase]
    village_rows: tuple[np.ndarray, np.ndarray]
    wechat: pd.DataFrame


def _check(scale: str, seed: int) -> ScaleSpec:
    if scale not in SCALES:
        allowed = ", ".join(SCALES)
        raise SampleError(
            Message(
                "sample.bad_scale",
                f"规模（scale）为“{scale}”，应为以下之一：{allowed}；请改用 --scale town。",
                f"`scale` was {scale!r} but is expected to be one of: {allowed}; "
                "pass --scale town.",
            )
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SampleError(
            Message(
                "sample.bad_seed",
                f"随机种子（seed）为“{seed!r}”，应为非负整数，例如 {DEFAULT_SEED}。",
                f"`seed` was {seed!r} but is expected to be a non-negative integer such as "
                f"{DEFAULT_SEED}; pass --seed {DEFAULT_SEED}.",
            )
        )
    return SCALES[scale]


def build(scale: Scale = "town", seed: int = DEFAULT_SEED) -> SampleData:
    """Build the sample in memory (no files). Deterministic for a given scale and seed.

    The real-world forms (names in the problem list, the WeChat complaints) draw from a
    second generator of the same seed, so they leave everything else as it was.
    """
    spec = _check(scale, seed)
    rng = np.random.default_rng(seed)
    forms_rng = np.random.default_rng([seed, 1])
    area = spec.cells * LATTICE_M**2 / KEEP
    shape = outline(rng, area)
    rivers = make_rivers(rng, float(np.sqrt(area / np.pi)), spec.rivers)
    cells = make_cells(rng, shape, spec.cells, rivers)
    villages = make_villages(rng, cells, spec.villages, per_town=16, counties=spec.counties)
    reserve = reserve_mask(rng, cells, spec.reserves, RESERVE_M)
    forest_cells = forest_mask(rng, cells, villages, SETTLE_M)
    f_pieces, banks, channel = cut_land(cells, villages, forest_cells, rivers)
    forest = forest_table(rng, f_pieces, cells, villages, reserve)
    wetlands = wetland_table(rng, banks, channel, villages)
    planter = Planter(rng, forest, wetlands, villages, rivers)
    sites = planter.plant_all()
    complaints, patches, problems = _events(rng, spec, sites, forest, wetlands, villages)
    complaints = finish_complaints(complaints, villages)
    patches = finish_patches(patches, forest, villages, np.random.default_rng([seed, 2]))
    problems = finish_problems(problems, villages, forms_rng)
    cases = _manifest(sites, villages, forest, wetlands, complaints, patches, problems)
    away = _evidence_points(sites, complaints, patches, _case_parcels(cases, forest, wetlands))
    hosts = _complaint_hosts(forest, wetlands, villages)
    wechat = wechat_complaints(forms_rng, spec.wechat, hosts, villages, away, AWAY_M)
    wechat = finish_wechat(wechat)
    rows = village_rows(villages, cells)
    return SampleData(
        villages, forest, wetlands, complaints, patches, problems, cases, rows, wechat
    )


def _complaint_hosts(
    forest: pd.DataFrame, wetlands: pd.DataFrame, villages: Villages
) -> dict[str, Hosts]:
    """Where complaints happen, by setting: any 小班 (weighted by area), river and bank
    parcels, and 小班 within 900 m of a village settlement."""
    fx, fy = forest["_x"].to_numpy(), forest["_y"].to_numpy()
    fvil = forest["_village"].to_numpy()
    to_settle = np.hypot(fx - villages.settle_x[fvil], fy - villages.settle_y[fvil])
    near = to_settle < 900
    wx, wy = wetlands["_x"].to_numpy(), wetlands["_y"].to_numpy()
    return {
        "forest": Hosts(fx, fy, fvil, forest["_area_ha"].to_numpy()),
        "river": Hosts(wx, wy, wetlands["_village"].to_numpy(), np.ones(len(wx))),
        "settlement": Hosts(fx[near], fy[near], fvil[near], np.ones(int(near.sum()))),
    }


def _case_parcels(
    cases: list[PlantedCase], forest: pd.DataFrame, wetlands: pd.DataFrame
) -> np.ndarray:
    """Geometries of every 小班 and wetland parcel the planted cases' evidence touches."""
    f_ids = forest["LIN_BAN"] + "-" + forest["XIAO_BAN"]
    f_hit = f_ids.isin([p for c in cases for p in c.parcel_ids]).to_numpy()
    w_hit = wetlands["BSM"].isin([w for c in cases for w in c.wetland_ids]).to_numpy()
    return np.r_[forest.geometry.to_numpy()[f_hit], wetlands.geometry.to_numpy()[w_hit]]


def _evidence_points(
    sites: list[Site], complaints: pd.DataFrame, patches: pd.DataFrame, parcels: np.ndarray
) -> np.ndarray:
    """Points (m) of every planted case: sites, complaints, and the vertices of the patches
    and of the parcels the evidence touches (a river channel parcel runs for kilometres)."""
    c = complaints[complaints["_case"] != ""]
    p = patches.loc[patches["_case"] != "", "geometry"].to_numpy()
    return np.r_[
        [(s.x, s.y) for s in sites],
        c[["_x", "_y"]].to_numpy(),
        shapely.get_coordinates(p),
        shapely.get_coordinates(parcels),
    ]


def _events(
    rng: np.random.Generator,
    spec: ScaleSpec,
    sites: list[Site],
    forest: pd.DataFrame,
    wetlands: pd.DataFrame,
    villages: Villages,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Planted evidence plus background events up to the scale's counts."""
    c_cases = [t for s in sites for t in s.complaints]
    p_cases = [t for s in sites for t in s.patches]
    q_cases = [t for s in sites for t in s.problems]
    planted = pd.concat(c_cases)
    away = np.r_[[(s.x, s.y) for s in sites], planted[["_x", "_y"]].to_numpy()]
    fx, fy = forest["_x"].to_numpy(), forest["_y"].to_numpy()
    fvil = forest["_village"].to_numpy()
    hosts = _complaint_hosts(forest, wetlands, villages)
    f_hosts = hosts["forest"]
    commercial = forest["_welfare"].str.startswith("commercial").to_numpy()
    c_hosts = Hosts(fx[commercial], fy[commercial], fvil[commercial], f_hosts.weight[commercial])
    all_rows = Hosts(fx, fy, fvil, np.ones(len(fx)))
    n_c = spec.complaints - sum(len(t) for t in c_cases)
    n_p = spec.patches - sum(len(t) for t in p_cases)
    n_q = spec.problems - sum(len(t) for t in q_cases)
    bg_c = background_complaints(rng, n_c, hosts, villages, away, AWAY_M)
    county = forest["XIAN"].to_numpy()[commercial]
    bg_p = background_patches(rng, n_p, c_hosts, county, away, AWAY_M)
    bg_q = background_problems(rng, n_q, forest, all_rows, away, AWAY_M)
    return (
        pd.concat([*c_cases, bg_c], ignore_index=True),
        pd.concat([*p_cases, bg_p], ignore_index=True),
        pd.concat([*q_cases, bg_q], ignore_index=True),
    )


def _manifest(
    sites: list[Site],
    villages: Villages,
    forest: pd.DataFrame,
    wetlands: pd.DataFrame,
    complaints: pd.DataFrame,
    patches: pd.DataFrame,
    problems: pd.DataFrame,
) -> list[PlantedCase]:
    """The ids each case's evidence ended up with, and the parcels it touches."""
    from pyproj import Transformer

    to_ll = Transformer.from_crs(4546, 4490, always_xy=True)
    f_tree = shapely.STRtree(forest.geometry.to_numpy())
    w_tree = shapely.STRtree(wetlands.geometry.to_numpy())
    f_ids = (forest["LIN_BAN"] + "-" + forest["XIAO_BAN"]).to_numpy()
    out = []
    for s in sites:  # one pass per case (eight in all)
        c = complaints[complaints["_case"] == s.key]
        p = patches[patches["_case"] == s.key]
        q = problems[problems["_case"] == s.key]
        pts = shapely.points(c["_x"].to_numpy(), c["_y"].to_numpy())
        geoms = np.r_[p.geometry.to_numpy(), pts, [shapely.Point(s.x, s.y)] if len(q) else []]
        f_hit = _touched(f_tree, geoms)
        w_hit = _touched(w_tree, geoms)
        lon, lat = to_ll.transform(s.x, s.y)
        out.append(
            PlantedCase(
                s.key,
                str(villages.code[s.village]),
                str(villages.name[s.village]),
                tuple(sorted(f_ids[f_hit])),
                tuple(sorted(wetlands["BSM"].to_numpy()[w_hit])),
                tuple(c["举报编号"]),
                tuple(p["PAN_NO_TB"]),
                tuple(q["问题编号"]),
                round(float(lon), 6),
                round(float(lat), 6),
            )
        )
    return sorted(out, key=lambda k: CASE_KEYS.index(k.key))


def _touched(tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
    """Indices of tree geometries that contain a point of, or share over 10 m² with, geoms."""
    src, dst = tree.query(geoms, predicate="intersects")
    parts = shapely.intersection(geoms[src], tree.geometries[dst])
    keep = (shapely.get_type_id(geoms[src]) == 0) | (shapely.area(parts) > 10.0)
    return np.unique(dst[keep])


def planted_cases(scale: Scale = "town", seed: int = DEFAULT_SEED) -> list[PlantedCase]:
    """The planted cases of ``generate(…, scale, seed)``, with the ids of their evidence.

    Builds the data in memory; nothing is written.
    """
    return build(scale, seed).cases


def generate(out_dir: Path, scale: Scale = "town", seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write the sample files into ``out_dir`` (created if missing).

    Parameters
    ----------
    out_dir : Path
        Target folder; files of the same names are replaced, other files are left alone.
    scale : {"town", "county", "province"}
        ``town``: 16 villages, about 4,600 小班, 300 complaints and 12 through WeChat
        (under 10 MB).
        ``county``: 300 villages, about 200,000 小班, 100,000 complaints and 4,000 through
        WeChat.
        ``province``: 6,000 villages, about 2,000,000 小班, 1,031,000 complaints and 41,000
        through WeChat.
    seed : int
        Random seed; the same seed gives byte-identical files.

    Returns
    -------
    dict
        Kind -> path: ``villages``, ``parcels``, ``wetlands``, ``patches`` (the ``.shp`` of
        each shapefile), ``complaints`` and ``complaints_wechat`` (.csv) and ``problems``
        (.xlsx).
    """
    _check(scale, seed)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SampleError(
            Message(
                "sample.out_not_dir",
                f"输出目录（--out）“{out}”是一个文件，应为文件夹；请指定一个文件夹路径。",
                f"`out_dir` {str(out)!r} is a file but is expected to be a folder; "
                "pass a folder path to --out.",
            )
        )
    out.mkdir(parents=True, exist_ok=True)
    data = build(scale, seed)
    return write_all(out, data, FILE_NAMES)


__all__ = [
    "DEFAULT_SEED",
    "FILE_NAMES",
    "SCALES",
    "PlantedCase",
    "SampleData",
    "SampleError",
    "Scale",
    "build",
    "generate",
    "planted_cases",
]
