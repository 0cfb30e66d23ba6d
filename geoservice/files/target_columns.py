"""What a clerk needs beside each target: its centre in lon/lat, its state, its deadline,
and words beside the codes.

- **Centre**: a point inside the target (``representative_point``, taken in the layer's
  projected CRS), written as lon/lat in EPSG:4326 with 6 decimals (about 0.1 m). A
  centroid is not used: for a U-shaped clearing or a ring of parcels it falls outside.
- **State**: the layer's ``state`` column, or else the state the target register
  (``target_state`` table) holds for it (``new`` when the register does not hold it yet),
  in words (待派发, 已立案, ...); no state column while the workspace has no register.
- **Deadline**: the layer's ``deadline`` column, set by the analysis
  (:mod:`geoservice.analysis.deadlines`: the analysis date plus the rules' days for the
  priority, kept across re-analyses), the same date the work order and the reasons give.
  A layer written before the analysis set deadlines has no such column: its targets read
  未定期限 / no deadline set until the analysis is run again.

:func:`clerk_table` gives the CSV/XLSX table (headers in the chosen language);
:func:`labelled_targets` the GeoJSON/KML features, each code followed by its label.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from geoservice.analysis.deadlines import DEADLINE_COLUMN
from geoservice.analysis.present import HEADERS, department_names, present_targets
from geoservice.analysis.target_register import TARGET_STATE_LABELS
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import has_table
from layers.codes import CATEGORIES, PRIORITY_WORDS
from layers.messages import Lang, pick

__all__ = [
    "CLERK_HEADERS",
    "NO_TARGET_DEADLINE",
    "centres",
    "clerk_table",
    "labelled_targets",
    "target_deadlines",
    "with_register_states",
]

Names = Mapping[str, tuple[str, str]]
NO_TARGET_DEADLINE = ("未定期限", "no deadline set")
CLERK_HEADERS: dict[str, tuple[str, str]] = {
    "state": ("状态", "state"),
    "deadline": ("期限", "deadline"),
    "lon": ("中心经度", "centre longitude"),
    "lat": ("中心纬度", "centre latitude"),
}


def centres(geometry: gpd.GeoSeries) -> pd.DataFrame:
    """Lon/lat (EPSG:4326, degrees, 6 decimals) of a point inside each geometry.

    The point is ``representative_point`` in the series' own CRS (metres for the
    workspace's projected CRS), so it lies inside the target even where the centroid does
    not. Empty or missing geometries give NaN. Returns ``lon`` and ``lat`` columns aligned
    to ``geometry``'s index.
    """
    points = geometry.representative_point()
    if geometry.crs is not None:
        points = points.to_crs(4326)
    return pd.DataFrame({"lon": points.x.round(6), "lat": points.y.round(6)}, index=geometry.index)


def _day_text(values: pd.Series) -> pd.Series:
    days = pd.to_datetime(values, errors="coerce")
    return days.dt.strftime("%Y-%m-%d").astype("string")


def target_deadlines(targets: pd.DataFrame) -> pd.Series:
    """Each target's deadline as ``YYYY-MM-DD`` text (missing when it has none).

    Parameters
    ----------
    targets : DataFrame
        The ``targets`` layer; its ``deadline`` column (written by the analysis) is read.

    Returns
    -------
    Series of string, aligned to ``targets``' index: the layer's deadline; all missing
    when the layer has no ``deadline`` column.
    """
    if DEADLINE_COLUMN not in targets.columns:
        return pd.Series(pd.NA, index=targets.index, dtype="string")
    return _day_text(targets[DEADLINE_COLUMN])


def with_register_states(ws: Workspace, targets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``targets`` with a ``state`` column from the ``target_state`` register when the
    layer has none and the workspace has the register; otherwise ``targets`` unchanged.
    Targets the register does not hold yet are ``new``. Aligned to ``targets``' index."""
    if "state" in targets.columns:
        return targets
    with ws.read_connection() as con:
        if not has_table(con, "target_state"):
            return targets
        register = pd.read_sql_query("SELECT target_id, state FROM target_state", con)
    states = register.drop_duplicates("target_id").set_index("target_id")["state"]
    found = targets["target_id"].astype(str).map(states).fillna("new").astype(str)
    return targets.assign(state=found)


def _state_words(states: pd.Series, lang: Lang) -> pd.Series:
    codes = states.astype("string")
    words = {code: pick(lang, *pair) for code, pair in TARGET_STATE_LABELS.items()}
    return codes.map(words).fillna(codes).astype(object)


def _position(table: pd.DataFrame, header: str, default: int) -> int:
    """The column number of ``header`` in ``table`` (``default`` when it is not there)."""
    return int(table.columns.get_loc(header)) if header in table.columns else default


def clerk_table(
    targets: gpd.GeoDataFrame,
    lang: Lang = "zh",
    departments: Names | None = None,
) -> pd.DataFrame:
    """The CSV/XLSX table of ``targets``: :func:`present_targets` with the state (when the
    layer has one) and deadline after the priority, and the centre's lon/lat (EPSG:4326,
    degrees) before the reasons. Headers and words in ``lang``; index reset like
    :func:`present_targets`.
    """
    table = present_targets(
        targets, lang, department_names(None) if departments is None else departments
    )
    idx = 1 if lang == "en" else 0
    after_priority = _position(table, HEADERS["priority"][idx], 0) + 1
    extra: dict[str, pd.Series] = {}
    if "state" in targets.columns:
        extra["state"] = _state_words(targets["state"], lang)
    deadlines = target_deadlines(targets)
    extra["deadline"] = deadlines.fillna(pick(lang, *NO_TARGET_DEADLINE)).astype(object)
    for pos, (col, values) in enumerate(extra.items()):
        table.insert(after_priority + pos, CLERK_HEADERS[col][idx], values.to_numpy())
    lonlat = centres(targets.geometry)
    at = _position(table, HEADERS["reasons"][idx], len(table.columns))
    table.insert(at, CLERK_HEADERS["lon"][idx], lonlat["lon"].to_numpy())
    table.insert(at + 1, CLERK_HEADERS["lat"][idx], lonlat["lat"].to_numpy())
    return table


def _labels(codes: pd.Series, table: Mapping[str, tuple[str, str]], lang: Lang) -> pd.Series:
    """``;``-separated codes → ``;``-separated labels in ``lang`` (unknown codes kept)."""
    words = {code: pick(lang, *pair) for code, pair in table.items()}
    parts = codes.astype("string").fillna("").str.split(";").explode()
    named = parts.map(words).fillna(parts).fillna("")
    return named.groupby(level=0).agg(";".join).reindex(codes.index, fill_value="")


def labelled_targets(
    targets: gpd.GeoDataFrame,
    lang: Lang = "zh",
    departments: Names | None = None,
) -> gpd.GeoDataFrame:
    """``targets`` for GeoJSON and KML: each code column followed by its label in ``lang``
    (``priority_label``, ``category_names``, ``lead_department_name``,
    ``cooperating_department_names``, ``state_label``; ``village_names`` already sits beside
    ``village_codes``), and the ``deadline`` and centre ``lon``/``lat`` (EPSG:4326, degrees).
    Aligned to ``targets``' index, in its CRS.
    """
    names = department_names(None) if departments is None else departments
    frame = targets.reset_index(drop=True)
    labels: dict[str, tuple[str, pd.Series]] = {
        "priority": ("priority_label", _labels(frame["priority"], PRIORITY_WORDS, lang)),
        "categories": ("category_names", _labels(frame["categories"], CATEGORIES, lang)),
        "lead_department": ("lead_department_name", _labels(frame["lead_department"], names, lang)),
        "cooperating_departments": (
            "cooperating_department_names",
            _labels(frame["cooperating_departments"], names, lang),
        ),
    }
    if "state" in frame.columns:
        labels["state"] = ("state_label", _state_words(frame["state"], lang))
    columns: dict[str, object] = {}
    for col in frame.columns:
        columns[col] = frame[col]
        if col in labels:
            label, values = labels[col]
            columns[label] = values
    lonlat = centres(frame.geometry)
    columns |= {
        "deadline": target_deadlines(frame),
        "lon": lonlat["lon"],
        "lat": lonlat["lat"],
    }
    geometry = columns.pop("geometry")
    out = gpd.GeoDataFrame(pd.DataFrame(columns), geometry=geometry, crs=targets.crs)
    out.index = targets.index
    return out
