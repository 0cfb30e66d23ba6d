"""The dates a county's change-patch list carries: image, dispatch and field check.

A 森林督查 patch is interpreted on a later image (后期影像时间, sheet 图斑检测验证 of the
national templates), handed down to the town (下发日期, the county's dispatch list: common
usage, not a template field) a few weeks later and checked on site (检查日期, 变化图斑现地核实表)
within weeks of the dispatch. The patches of a change year are imaged and dispatched in that
year; nothing is dated on or after the sample's date (:data:`~geoservice.sample.events.AS_OF`).
Patches not yet checked (no 变化原因 and no 违法违规 found on site) have no check date, and
those of the latest image batch (imaged from :data:`UNDISPATCHED_FROM`) are interpreted but
not handed down yet: no dispatch date either.

The three columns are written as the people filling them do: the image date as the
8 digits of the imagery metadata (``20250603``), the dispatch date as typed in Excel
(``2025/6/3``) and the check date in ISO form (``2025-06-03``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geoservice.sample.events import AS_OF

__all__ = ["DATE_FIELDS", "patch_dates"]

#: DBF field names (GBK, at most 10 bytes: 后期影像时间 is cut as ArcGIS cuts it).
DATE_FIELDS = ("后期影像时", "下发日期", "检查日期")

#: Unchecked patches imaged from this day on are not dispatched yet.
UNDISPATCHED_FROM = np.datetime64("2026-10-01")
# Imaging window of each change year (first day, days long).
_IMAGED = {2025: (np.datetime64("2025-04-01"), 180), 2026: (np.datetime64("2026-04-01"), 200)}


def _days(rng: np.random.Generator, n: int, low: int, high: int) -> NDArray[np.timedelta64]:
    return rng.integers(low, high + 1, n).astype("timedelta64[D]")


def patch_dates(
    rng: np.random.Generator, year: NDArray[np.str_], checked: NDArray[np.bool_]
) -> pd.DataFrame:
    """Image, dispatch and check dates of patches of change ``year`` (text, as written).

    Parameters
    ----------
    rng : numpy.random.Generator
        A generator of its own, so the town's other draws do not move.
    year : array of str
        The change year (BHND) of each patch.
    checked : array of bool
        The patches checked on site.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DATE_FIELDS`, aligned to ``year``; the check date is empty for the
        patches not checked.
    """
    n = len(year)
    y = np.asarray(year, dtype=int)
    start = np.array([_IMAGED.get(v, _IMAGED[2026])[0] for v in y], dtype="datetime64[D]")
    span = np.array([_IMAGED.get(v, _IMAGED[2026])[1] for v in y])
    imaged = start + (rng.random(n) * span).astype("timedelta64[D]")
    last = AS_OF - np.timedelta64(1, "D")
    dispatched = np.minimum(imaged + _days(rng, n, 20, 45), last)
    on_site = np.minimum(dispatched + _days(rng, n, 5, 40), last)
    iso = pd.Series(on_site).dt.strftime("%Y-%m-%d")
    handed = np.asarray(checked, dtype=bool) | (imaged < UNDISPATCHED_FROM)
    typed = pd.Series(dispatched).where(handed)
    return pd.DataFrame(
        {
            DATE_FIELDS[0]: pd.Series(imaged).dt.strftime("%Y%m%d"),
            DATE_FIELDS[1]: (
                typed.dt.year.astype("Int64").astype(str)
                + "/"
                + typed.dt.month.astype("Int64").astype(str)
                + "/"
                + typed.dt.day.astype("Int64").astype(str)
            ).where(handed, ""),
            DATE_FIELDS[2]: iso.where(np.asarray(checked, dtype=bool), ""),
        }
    )
