"""Re-scored parcels of the live intake written into ``parcel_risk`` in place.

The intake scores the complaint part of the parcels around a new complaint exactly as
``analyze`` does; :func:`store_risk` combines it with the stored patch and problem parts of
each parcel's row and updates (or inserts) the rows in the intake's write transaction.
The rows are found by ``fid`` from the intake's in-memory row index
(:class:`~geoservice.intake.warm.RiskRows`); a request handles a few parcels, so the
values are combined as plain Python numbers (IEEE doubles, as numpy computes them).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import geopandas as gpd

from geoservice.analysis.rules import Rules
from geoservice.intake.store import NOW_SQL, gpkg_blob, plain
from geoservice.intake.warm import RiskRows

__all__ = ["store_risk"]

# the stored columns of a parcel_risk row the new score is combined with
_OLD: tuple[str, ...] = ("fid", "score", "patch_score", "problem_score", "flagged")
_OLD += ("criminal_threshold_met", "patch_count", "open_problem_count", "categories")
_OLD += ("dominant_category",)
# the columns an update writes, in this order
_UPDATED: tuple[str, ...] = ("complaint_score", "score", "protection_multiplier")
_UPDATED += ("complaint_count", "complaint_ids", "flagged", "categories", "dominant_category")
_UPDATED += ("complaint_facts",)
_KEY = ("parcel_id", "kind")


def _number(value: Any) -> float:
    """A stored number as float, missing as 0."""
    value = plain(value)
    return 0.0 if value is None else float(value)


def _text(value: Any) -> str:
    """A stored text as str, missing as ''."""
    value = plain(value)
    return "" if value is None else str(value)


def _old_rows(
    con: sqlite3.Connection, keys: list[tuple[Any, Any]], table: RiskRows
) -> list[dict[str, Any] | None]:
    """The stored row of each (parcel_id, kind), read by fid; None without one."""
    fids = [table.fids.get(k) for k in keys]
    found: dict[int, dict[str, Any]] = {}
    wanted = [f for f in fids if f is not None]
    if wanted:
        cur = con.execute(
            f"SELECT {', '.join(_OLD)} FROM parcel_risk WHERE fid IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(wanted),),
        )
        found = {int(r[0]): dict(zip(_OLD, r, strict=True)) for r in cur.fetchall()}
    return [None if f is None else found.get(f) for f in fids]


def _combined(new: dict[str, Any], old: dict[str, Any] | None, rules: Rules) -> dict[str, Any]:
    """The updated values of one parcel: its fresh complaint part with the stored rest.

    score = (fresh complaint score + stored patch and problem scores) x multiplier. The
    categories are exact for parcels whose only evidence is complaints; for the others the
    complaint categories are added to the stored list (the next ``analyze`` reorders it).
    """
    o = old or {}
    other = _number(o.get("patch_score")) + _number(o.get("problem_score"))
    score = (float(new["complaint_score"]) + other) * float(new["protection_multiplier"])
    flagged = score >= rules.flag.score or bool(_number(o.get("criminal_threshold_met")))
    evidence = _number(o.get("patch_count")) + _number(o.get("open_problem_count"))
    exact = old is None or evidence == 0
    cats, old_cats = str(new["categories"]), _text(o.get("categories"))
    # the stored categories followed by the new ones not yet listed
    merged = ";".join(c for c in dict.fromkeys([*old_cats.split(";"), *cats.split(";")]) if c)
    old_dominant = _text(o.get("dominant_category"))
    return {
        "complaint_score": plain(new["complaint_score"]),
        "score": score,
        "protection_multiplier": plain(new["protection_multiplier"]),
        "complaint_count": plain(new["complaint_count"]),
        "complaint_ids": plain(new["complaint_ids"]),
        "flagged": flagged,
        "categories": plain(new["categories"]) if exact else merged,
        "dominant_category": (
            plain(new["dominant_category"]) if exact or old_dominant == "" else old_dominant
        ),
        "complaint_facts": plain(new["complaint_facts"]) if flagged else "",
    }


def store_risk(
    con: sqlite3.Connection, fresh: gpd.GeoDataFrame, rules: Rules, table: RiskRows | None
) -> list[dict[str, Any]]:
    """Update, or insert, the ``parcel_risk`` rows of the freshly scored parcels.

    Parameters
    ----------
    con : sqlite3.Connection
        The intake's write transaction.
    fresh : geopandas.GeoDataFrame
        The parcels' ``parcel_risk`` rows as :func:`~geoservice.analysis.scoring.score_parcels`
        gives them (workspace CRS).
    rules : Rules
    table : RiskRows or None
        The stored table; None without a ``parcel_risk`` layer (no analysis yet): the
        scores are only reported.

    Returns
    -------
    list of dict
        Per parcel, highest new score first (ties in ``fresh`` order): ``parcel_id``,
        ``kind``, ``village_name``, ``old_score`` (None without a row), ``new_score``,
        ``complaint_score``, ``was_flagged``, ``flagged``, ``crossed``, ``row``
        (updated/inserted/not_stored).
    """
    names = [c for c in fresh.columns if c != fresh.geometry.name]
    records = [
        dict(zip(names, r, strict=True)) for r in zip(*(fresh[c] for c in names), strict=True)
    ]
    keys = [(plain(r["parcel_id"]), plain(r["kind"])) for r in records]  # as _KEY
    olds = _old_rows(con, keys, table) if table is not None else [None] * len(records)
    values = [_combined(r, o, rules) for r, o in zip(records, olds, strict=True)]
    if table is not None:
        present = set(table.columns)
        sets = [c for c in _UPDATED if c in present]
        updates = [
            (*(v[c] for c in sets), o["fid"])
            for v, o in zip(values, olds, strict=True)
            if o is not None
        ]
        if updates:
            assignments = ", ".join(f'"{c}" = ?' for c in sets)
            con.executemany(f"UPDATE parcel_risk SET {assignments} WHERE fid = ?", updates)
        new = [i for i, o in enumerate(olds) if o is None]
        _insert_risk(con, fresh, records, values, new, table)
        con.execute(
            f"UPDATE gpkg_contents SET last_change = {NOW_SQL} WHERE table_name = 'parcel_risk'"
        )
    row_kind = "not_stored" if table is None else "inserted"
    out = []
    for r, o, v in zip(records, olds, values, strict=True):
        was = bool(_number(o.get("flagged"))) if o else False
        old_score = plain(o.get("score")) if o else None
        out.append(
            {
                "parcel_id": str(r["parcel_id"]),
                "kind": plain(r["kind"]),
                "village_name": plain(r["village_name"]),
                "old_score": None if old_score is None else float(old_score),
                "new_score": v["score"],
                "complaint_score": float(r["complaint_score"]),
                "was_flagged": was,
                "flagged": v["flagged"],
                "crossed": v["flagged"] and not was,
                "row": "updated" if o is not None else row_kind,
            }
        )
    return sorted(out, key=lambda a: -a["new_score"])  # stable: ties keep their order


def _insert_risk(
    con: sqlite3.Connection,
    fresh: gpd.GeoDataFrame,
    records: list[dict[str, Any]],
    values: list[dict[str, Any]],
    new: list[int],
    table: RiskRows,
) -> None:
    """Insert ``parcel_risk`` rows for parcels that had none: their only evidence is
    complaints, so the freshly scored rows are what ``analyze`` would write."""
    if not new:
        return
    geom, srs = table.geometry
    present = set(table.columns)
    cols = [c for c in records[0] if c in present]
    names = ", ".join(f'"{c}"' for c in [*cols, geom])
    sql = f"INSERT INTO parcel_risk ({names}) VALUES ({', '.join('?' * (len(cols) + 1))})"
    shapes = fresh.geometry.array
    for i in new:
        row = {**records[i], **values[i]}
        blob = gpkg_blob(shapes[i], srs)
        cur = con.execute(sql, (*(plain(row[c]) for c in cols), blob))
        table.inserted.append((int(cur.lastrowid or 0), *(plain(records[i][k]) for k in _KEY)))
