"""Re-scored parcels of the live intake written into ``parcel_risk`` in place.

The intake scores the complaint part of the parcels around a new complaint exactly as
``analyze`` does; :func:`store_risk` combines it with the stored patch and problem parts of
each parcel's row and updates (or inserts) the rows in the intake's write transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoservice.analysis.rules import Rules
from geoservice.intake.store import (
    NOW_SQL,
    geometry_column,
    gpkg_blob,
    has_table,
    plain,
    table_columns,
)

__all__ = ["store_risk"]

# the stored columns of a parcel_risk row the new score is combined with
_OLD: tuple[str, ...] = ("fid", "parcel_id", "kind", "score", "patch_score", "problem_score")
_OLD += ("flagged",)
_OLD += ("criminal_threshold_met", "patch_count", "open_problem_count", "categories")
_OLD += ("dominant_category",)


def store_risk(
    con: sqlite3.Connection, fresh: gpd.GeoDataFrame, rules: Rules
) -> list[dict[str, Any]]:
    """Update, or insert, the ``parcel_risk`` rows of the freshly scored parcels.

    score = (fresh complaint score + stored patch and problem scores) x multiplier. The
    categories are exact for parcels whose only evidence is complaints; for the others the
    complaint categories are added to the stored list (the next ``analyze`` reorders it).
    Without a ``parcel_risk`` layer (no analysis yet) the scores are only reported.
    """
    stored = has_table(con, "parcel_risk")
    old = pd.DataFrame({c: pd.Series(dtype=object) for c in _OLD})
    if stored:
        old = pd.read_sql_query(
            f"SELECT {', '.join(_OLD)} FROM parcel_risk WHERE parcel_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY fid",
            con,
            params=(json.dumps([str(p) for p in fresh["parcel_id"]]),),
        ).drop_duplicates(["parcel_id", "kind"])
    m = pd.DataFrame(fresh.drop(columns=fresh.geometry.name)).merge(
        old, on=["parcel_id", "kind"], how="left", suffixes=("", "_old")
    )
    has_row = m["fid"].notna().to_numpy()
    other = m[["patch_score_old", "problem_score_old"]].astype(float).fillna(0.0).sum(axis=1)
    score = ((m["complaint_score"] + other) * m["protection_multiplier"]).to_numpy(float)
    was = m["flagged_old"].fillna(0).astype(bool).to_numpy()
    criminal = m["criminal_threshold_met_old"].fillna(0).astype(bool).to_numpy()
    flagged = (score >= rules.flag.score) | criminal
    evidence = m[["patch_count_old", "open_problem_count_old"]].astype(float).fillna(0)
    exact = ~has_row | (evidence.sum(axis=1) == 0).to_numpy()
    old_cats = m["categories_old"].fillna("").astype(str)
    # the stored categories followed by the new ones not yet listed
    merged = [
        ";".join(c for c in dict.fromkeys([*o.split(";"), *n.split(";")]) if c)
        for o, n in zip(old_cats, m["categories"].astype(str), strict=True)
    ]
    old_dominant = m["dominant_category_old"].fillna("").astype(str)
    update = {
        "complaint_score": m["complaint_score"],
        "score": score,
        "protection_multiplier": m["protection_multiplier"],
        "complaint_count": m["complaint_count"],
        "complaint_ids": m["complaint_ids"],
        "flagged": flagged,
        "categories": np.where(exact, m["categories"], merged),
        "dominant_category": np.where(
            exact | (old_dominant == ""), m["dominant_category"], old_dominant
        ),
        "complaint_facts": np.where(flagged, m["complaint_facts"], ""),
    }
    present = set(table_columns(con, "parcel_risk")) if stored else set()
    table = pd.DataFrame(
        {k: np.asarray(v, dtype=object) for k, v in update.items() if k in present}
    )
    if stored and has_row.any():
        sets = ", ".join(f'"{c}" = ?' for c in table.columns)
        rows = table[has_row].map(plain).assign(fid=m["fid"][has_row].astype(int).to_numpy())
        con.executemany(
            f"UPDATE parcel_risk SET {sets} WHERE fid = ?", rows.itertuples(index=False)
        )
    if stored and (~has_row).any():
        _insert_risk(con, fresh[~has_row], table[~has_row], present)
    if stored:
        con.execute(
            f"UPDATE gpkg_contents SET last_change = {NOW_SQL} WHERE table_name = 'parcel_risk'"
        )
    out = pd.DataFrame(
        {
            "parcel_id": m["parcel_id"].astype(str),
            "kind": m["kind"],
            "village_name": m["village_name"],
            "old_score": m["score_old"].astype(float),
            "new_score": score,
            "complaint_score": m["complaint_score"].astype(float),
            "was_flagged": was,
            "flagged": flagged,
            "crossed": flagged & ~was,
            "row": np.where(has_row, "updated", "inserted" if stored else "not_stored"),
        }
    ).sort_values("new_score", ascending=False, kind="stable")
    return [{k: plain(v) for k, v in r.items()} for r in out.to_dict("records")]


def _insert_risk(
    con: sqlite3.Connection, fresh: gpd.GeoDataFrame, table: pd.DataFrame, present: set[str]
) -> None:
    """Insert ``parcel_risk`` rows for parcels that had none: their only evidence is
    complaints, so the freshly scored rows are what ``analyze`` would write."""
    geom, srs = geometry_column(con, "parcel_risk")
    frame = pd.DataFrame(fresh.drop(columns=fresh.geometry.name)).reset_index(drop=True)
    frame[list(table.columns)] = table.to_numpy()
    cols = [c for c in frame.columns if c in present]
    rows = frame[cols].astype(object).map(plain)
    rows[geom] = [gpkg_blob(g, srs) for g in fresh.geometry.array]
    names = ", ".join(f'"{c}"' for c in rows.columns)
    sql = f"INSERT INTO parcel_risk ({names}) VALUES ({', '.join('?' * len(rows.columns))})"
    con.executemany(sql, rows.itertuples(index=False))
