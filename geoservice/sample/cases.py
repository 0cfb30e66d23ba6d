"""Planted cases of the sample data: true risks a town official would recognise, and
look-alikes that must not be flagged.

Each case sits in its own village and leaves evidence in several files (complaints, a change
patch, an inspection problem). Coordinates are planar metres in EPSG:4546.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
import shapely.ops
from numpy.typing import NDArray

from geoservice.sample.case_text import CASE_COMPLAINTS, CASE_PATCH_REMARKS, CASE_PROBLEMS
from geoservice.sample.events import blobs, complaint_frame, patch_frame, problem_frame
from geoservice.sample.parcels import CORRIDOR_M
from geoservice.sample.terrain import Villages
from geoservice.sample.text import CAMPAIGNS, PERMIT_LAND, PLACE_NAMES, RIVER_PLACES

#: Case keys in planting order: five true risks, then three look-alikes.
CASE_KEYS: tuple[str, ...] = (
    "felling",
    "wetland_fill",
    "quarry",
    "poaching",
    "burning",
    "old_closed",
    "approved_road",
    "unfounded_felling",
)

ROCK_PLACES = ("狮子岩", "白石窝", "黄泥岗")
CAMPAIGN_NO = {name: i for i, (name, _) in enumerate(CAMPAIGNS)}


@dataclass
class Site:
    """Where a case is planted, and the evidence tables it produced (internal columns)."""

    key: str
    village: int
    x: float
    y: float
    place: str
    complaints: list[pd.DataFrame] = field(default_factory=list)
    patches: list[pd.DataFrame] = field(default_factory=list)
    problems: list[pd.DataFrame] = field(default_factory=list)


class Planter:
    """Chooses a site per case (one village each) and writes its evidence.

    Parameters
    ----------
    rng : numpy.random.Generator
    forest : pandas.DataFrame
        The 小班 table from :func:`geoservice.sample.parcels.forest_table`.
    wetlands : pandas.DataFrame
        The wetland table from :func:`geoservice.sample.parcels.wetland_table`.
    villages : Villages
    rivers : list of shapely.LineString
    """

    def __init__(
        self,
        rng: np.random.Generator,
        forest: pd.DataFrame,
        wetlands: pd.DataFrame,
        villages: Villages,
        rivers: list[shapely.LineString],
    ) -> None:
        self.rng = rng
        self.forest = forest
        self.wetlands = wetlands
        self.villages = villages
        self.rivers = shapely.MultiLineString(rivers)
        self.used: list[int] = []
        self.sites: list[Site] = []
        di_lei = forest["DI_LEI"]
        self._arbor = (di_lei.str.startswith("111") | (di_lei == "0111")).to_numpy()
        self._area = forest["_area_ha"].to_numpy()

    # ------------------------------------------------------------------ helpers

    def _free(self, vil: NDArray[np.int64]) -> NDArray[np.bool_]:
        return ~np.isin(vil, self.used)

    def _pick(self, mask: NDArray[np.bool_]) -> int:
        cand = np.flatnonzero(mask & self._free(self.forest["_village"].to_numpy()))
        if len(cand) == 0:
            cand = np.flatnonzero(mask)
        return int(self.rng.choice(cand))

    def _site(self, key: str, row: int, places: tuple[str, ...] = PLACE_NAMES) -> Site:
        r = self.forest.iloc[row]
        vil = int(r["_village"])
        self.used.append(vil)
        place = str(places[self.rng.integers(len(places))])
        site = Site(key, vil, float(r["_x"]), float(r["_y"]), place)
        self.sites.append(site)
        return site

    def _near(self, x: float, y: float, n: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
        ang = self.rng.uniform(0, 2 * np.pi, n)
        rad = radius * np.sqrt(self.rng.uniform(0.05, 1.0, n))
        return x + rad * np.cos(ang), y + rad * np.sin(ang)

    def complaints(
        self,
        site: Site,
        key: str,
        at: tuple[float, float] | None = None,
        radius: float = 80.0,
        river: str = "",
    ) -> None:
        """Add the complaints ``CASE_COMPLAINTS[key]`` within ``radius`` m of the site (or ``at``).

        An empty category leaves the 类别 column blank; the category kept internally (for
        the manifest) is then the case's first given one.
        """
        rows = [r.replace("{river}", river).split("|") for r in CASE_COMPLAINTS[key]]
        n = len(rows)
        x, y = at if at is not None else (site.x, site.y)
        cx, cy = self._near(x, y, n, radius)
        minutes = self.rng.integers(8 * 60, 20 * 60, n).astype("timedelta64[m]")
        when = np.array([r[0] for r in rows], dtype="datetime64[m]") + minutes
        given = np.array([r[2] for r in rows])
        main = given[given != ""][0]
        prefix = str(self.villages.name[site.village]) + site.place
        site.complaints.append(
            complaint_frame(
                when,
                np.where(given == "", main, given),
                np.array([prefix + r[4] for r in rows]),
                np.array([r[1] for r in rows]),
                np.array([r[3] for r in rows]),
                cx,
                cy,
                np.full(n, site.village),
                given == "",
                site.key,
            )
        )

    def patch(
        self, site: Site, geom: shapely.Geometry, year: str, cause: str, wf: str, **ids: str
    ) -> float:
        """Add the case's change patch; ``ids`` may give ``permit`` (SH_WH) or ``cfzh``.

        Returns the patch area in hectares.
        """
        area = float(shapely.area(geom)) / 1e4
        wf_mj = round(area, 2) if wf == "1" else (0.0 if wf == "0" else np.nan)
        one = np.array
        site.patches.append(
            patch_frame(
                one([geom], dtype=object),
                one([year]),
                one([cause]),
                one([cause]),
                one([wf]),
                one([wf_mj]),
                one([ids.get("permit", "")]),
                one([ids.get("cfzh", "")]),
                one([CASE_PATCH_REMARKS[site.key]]),
                site.key,
            )
        )
        return area

    def problem(self, site: Site, row: int | None = None, area_ha: float = 0.0) -> None:
        """Add the case's inspection problem (``CASE_PROBLEMS``) located at the site."""
        campaign, found, deadline, category, status, text = CASE_PROBLEMS[site.key].split("|")
        where = self._where(row) if row is not None else ""
        text = text.replace("{where}", where).replace("{mu}", f"{area_ha * 15:.1f}")
        site.problems.append(
            problem_frame(
                np.array([CAMPAIGN_NO[campaign]]),
                np.array([found], dtype="datetime64[D]"),
                np.array([site.village]),
                np.array([category]),
                np.array([str(self.villages.name[site.village]) + site.place + text]),
                np.array([deadline], dtype="datetime64[D]"),
                np.array([status]),
                np.array([site.x]),
                np.array([site.y]),
                site.key,
            )
        )

    def _where(self, row: int) -> str:
        r = self.forest.iloc[row]
        return f"（林班{r['LIN_BAN']}小班{r['XIAO_BAN']}）"

    def _blob_in(self, row: int, area_m2: float, clip: shapely.Geometry | None) -> shapely.Geometry:
        r = self.forest.iloc[row]
        g = blobs(self.rng, np.array([r["_x"]]), np.array([r["_y"]]), np.array([area_m2]))[0]
        return g if clip is None else shapely.intersection(g, clip)

    # ------------------------------------------------------------------ cases

    def plant_all(self) -> list[Site]:
        """Plant every case of :data:`CASE_KEYS`; returns the sites in that order."""
        self.poaching()
        self.felling()
        self.wetland_fill()
        self.quarry()
        self.burning()
        self.old_closed()
        self.approved_road()
        self.unfounded_felling()
        return sorted(self.sites, key=lambda s: CASE_KEYS.index(s.key))

    def poaching(self) -> None:
        """(4) Poaching in the nature reserve: verified 下套/捕鸟 complaints, an open problem."""
        res = self.forest["_reserve"].to_numpy() == 0
        vil = self.forest["_village"].to_numpy()
        top = np.bincount(vil[res], minlength=len(self.villages.code)).argmax()
        row = self._pick(res & (vil == top))
        s = self._site("poaching", row, ("鸡公山", "猪婆岭", "风门坳", "企岭"))
        self.complaints(s, "poaching", radius=400.0)
        self.problem(s)

    def felling(self) -> None:
        """(1) Illegal felling in national level-1 public-welfare forest (BHYY 22)."""
        f = self.forest
        mask = (
            (f["_welfare"] == "national_1").to_numpy()
            & (f["_reserve"] < 0).to_numpy()
            & (f["YOU_SHI_SZ"] == "410").to_numpy()
            & self._arbor
            & (self._area > 2.0)
            & self._far_from_sites(1500.0)
        )
        row = self._pick(mask)
        f.loc[row, "HUO_LMGQXJ"] = max(float(f.loc[row, "HUO_LMGQXJ"]), 96.5)
        s = self._site("felling", row)
        geom = self._blob_in(row, 6200.0, f.geometry.iloc[row])
        area = self.patch(s, geom, "2026", "22", "1")
        self.complaints(s, "felling")
        self.problem(s, row, area)

    def wetland_fill(self) -> None:
        """(2) Wetland filling along the river: patch 421 on wetland parcels, overdue problem."""
        w = self.wetlands
        vil = w["_village"].to_numpy()
        wx, wy = w["_x"].to_numpy(), w["_y"].to_numpy()
        ok = w["DLBM"].isin(["1106", "1108"]).to_numpy() & self._free(vil)
        ok &= self._far_from_sites(1500.0, wx, wy)
        d = np.hypot(wx - self.villages.settle_x[vil], wy - self.villages.settle_y[vil])
        row = int(np.flatnonzero(ok)[np.argmin(d[ok])])
        self.used.append(int(vil[row]))
        s = Site("wetland_fill", int(vil[row]), float(wx[row]), float(wy[row]), "")
        s.place = str(self.rng.choice(RIVER_PLACES))
        self.sites.append(s)
        disc = shapely.Point(s.x, s.y).buffer(250.0)
        near = shapely.STRtree(w.geometry.to_numpy()).query(disc, predicate="intersects")
        wet = near[w["DLBM"].to_numpy()[near] != "1101"]
        blob = blobs(self.rng, np.array([s.x]), np.array([s.y]), np.array([14000.0]))[0]
        geom = shapely.intersection(blob, shapely.union_all(w.geometry.to_numpy()[wet]))
        area = self.patch(s, geom, "2026", "421", "1")
        self.complaints(s, "wetland_fill", radius=60.0)
        self.problem(s, None, area)

    def quarry(self) -> None:
        """(3) Quarrying on a hillside (patch 421) and sand digging in the river below it."""
        f = self.forest
        rd = f["_river_d"].to_numpy()
        mask = (
            (rd > 2 * CORRIDOR_M)
            & (rd < 450)
            & f["_welfare"].isin(["commercial", "commercial_key", "local_general"]).to_numpy()
            & (self._area > 1.5)
            & self._far_from_sites(1500.0)
        )
        row = self._pick(mask)
        s = self._site("quarry", row, ROCK_PLACES)
        area = self.patch(s, self._blob_in(row, 16000.0, None), "2026", "421", "1")
        river_pt = shapely.ops.nearest_points(self.rivers, shapely.Point(s.x, s.y))[0]
        sand_place = str(self.rng.choice(RIVER_PLACES))
        self.complaints(s, "quarry")
        self.complaints(s, "sand", (river_pt.x, river_pt.y), radius=15.0, river=sand_place)
        self.problem(s, row, area)

    def burning(self) -> None:
        """(5) Illegal burning that became a forest fire: 烧山 complaints and patch BHYY 71."""
        f = self.forest
        mask = (
            (f["_river_d"].to_numpy() > 800)
            & f["_welfare"].isin(["commercial", "commercial_key", "local_key"]).to_numpy()
            & self._arbor
            & (self._area > 1.5)
            & self._far_from_sites(1500.0)
        )
        row = self._pick(mask)
        s = self._site("burning", row)
        area = self.patch(s, self._blob_in(row, 26000.0, None), "2026", "71", "")
        self.complaints(s, "burning", radius=120.0)
        self.problem(s, row, area)

    def old_closed(self) -> None:
        """Look-alike: felling complaints two years old, all closed, problem 已销号."""
        row = self._pick(self._far_from_sites(1500.0) & self._arbor)
        s = self._site("old_closed", row)
        self.complaints(s, "old_closed", radius=120.0)
        self.problem(s, row)

    def approved_road(self) -> None:
        """Look-alike: a large approved land use (patch 411, SHIFOU_WF 0, with 审核文号)."""
        row = self._pick(self._far_from_sites(2000.0) & (self._area > 1.5))
        s = self._site("approved_road", row)
        ang = float(self.rng.uniform(0, np.pi))
        dx, dy = 650 * np.cos(ang), 650 * np.sin(ang)
        line = shapely.LineString([(s.x - dx, s.y - dy), (s.x, s.y + 40), (s.x + dx, s.y + dy)])
        road = shapely.buffer(line, 32.0, cap_style="flat")
        geom = shapely.intersection(road, self.villages.geoms[s.village])
        self.patch(s, geom, "2025", "411", "0", permit=PERMIT_LAND.format(year=2025, no=37))
        self.complaints(s, "approved_road", radius=200.0)

    def unfounded_felling(self) -> None:
        """Look-alike: felling complaints found unfounded; the felling had a permit (BHYY 21)."""
        f = self.forest
        mask = (
            (f["YOU_SHI_SZ"] == "310").to_numpy()
            & self._arbor
            & f["_welfare"].isin(["commercial", "commercial_key"]).to_numpy()
            & (self._area > 2.0)
            & self._far_from_sites(1500.0)
        )
        row = self._pick(mask)
        s = self._site("unfounded_felling", row)
        geom = self._blob_in(row, 18000.0, f.geometry.iloc[row])
        cfzh = f"{self.villages.county[s.village]}2026000{int(self.rng.integers(100, 999))}"
        self.patch(s, geom, "2026", "21", "0", cfzh=cfzh)
        self.complaints(s, "unfounded_felling")

    def _far_from_sites(
        self, dist: float, x: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> NDArray[np.bool_]:
        x = self.forest["_x"].to_numpy() if x is None else x
        y = self.forest["_y"].to_numpy() if y is None else y
        ok = np.ones(len(x), dtype=bool)
        for s in self.sites:
            ok &= np.hypot(x - s.x, y - s.y) > dist
        return ok
