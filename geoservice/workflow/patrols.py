"""Patrol tracks (巡护轨迹): positions recorded while a patrol page is open, saved as a line.

A patrol is sent once, when it is stopped (or later, replayed from the phone's offline
queue): its positions (degrees, with the phone's time and accuracy) become one line in the
workspace CRS (metres), with its date (China Standard Time), duration and length, and the
problems and targets in the person's scope that the line passes within
``visit_distance_m`` of (``field`` section of ``workflow.yaml``). A village cadre's track
must touch their village.

Storage: the ``patrols`` table of the workspace (the track as WKB in the workspace CRS,
named in ``srs``), written through :meth:`~geoservice.base.workspace.Workspace.sql_transaction`
with an audit row. The phone's ``submission_id`` is unique: a patrol sent twice (a replay
after a lost reply) is stored once and the stored patrol is returned.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError, message
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table
from geoservice.workflow.field_scope import (
    check_in_village,
    field_limits,
    metric_crs,
    to_metric,
    village_at,
)

__all__ = [
    "PATROL_COLUMNS",
    "list_patrols",
    "monthly_patrols",
    "parse_month",
    "parse_points",
    "patrols_between",
    "patrols_in_month",
    "record_patrol",
]

CST = timezone(timedelta(hours=8))
PATROL_COLUMNS = [
    "patrol_id",
    "submission_id",
    "patrol_on",
    "started_at",
    "ended_at",
    "duration_s",
    "length_m",
    "points",
    "village_code",
    "village_name",
    "department",
    "role",
    "by",
    "note",
    "visited_problems",
    "visited_targets",
    "srs",
    "created_at",
]
_SQL = f"""
CREATE TABLE IF NOT EXISTS patrols (
  {", ".join(f'"{c}" TEXT' for c in PATROL_COLUMNS)}, track BLOB NOT NULL,
  PRIMARY KEY (patrol_id), UNIQUE (submission_id))
"""


def _ensure(con: sqlite3.Connection, _actor: str) -> None:
    con.execute(_SQL)


def _empty() -> OptionError:
    return OptionError(
        message(
            "patrols.empty",
            "巡护轨迹少于两个不同的位置，无法保存为线；请开始巡护后走动一段再停止，并确认手机"
            "已允许定位。",
            "The patrol has fewer than two distinct positions, so it cannot be saved as a "
            "line; start the patrol, walk a stretch before stopping, and check that the phone "
            "allows location.",
        )
    )


def _time(value: Any) -> float:
    """Seconds since the epoch of a phone time: milliseconds (a number) or ISO 8601."""
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value) / 1000.0
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise OptionError(
            message(
                "patrols.bad_time",
                f"轨迹点的时间为“{value}”，应为毫秒数或 ISO 8601 时间，如 2026-12-06T08:30:00Z。",
                f"A track point's time was {value!r} but is expected to be milliseconds since "
                "1970 or ISO 8601, e.g. 2026-12-06T08:30:00Z.",
            )
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def parse_points(points: Sequence[Any]) -> pd.DataFrame:
    """Track points ``[lon, lat, time, accuracy]`` (or objects with those keys) as a frame
    sorted by time: ``lon``, ``lat`` (degrees), ``t`` (epoch seconds), ``accuracy``
    (metres, NaN when not given). Points less precise than ``max_accuracy_m`` are dropped.

    Raises
    ------
    OptionError
        A point with a bad coordinate or time.
    """
    rows = [_row(p) for p in points]
    frame = pd.DataFrame(rows, columns=["lon", "lat", "t", "accuracy"], dtype="float64")
    bad = ~(frame["lon"].between(-180, 180) & frame["lat"].between(-90, 90))
    if bad.any():
        first = frame[bad].iloc[0]
        raise OptionError(
            message(
                "patrols.bad_point",
                f"轨迹点的经纬度为 ({first['lon']}, {first['lat']})，应为经度 -180~180、纬度 -90~90。",
                f"A track point was ({first['lon']}, {first['lat']}) but is expected to be "
                "lon -180..180, lat -90..90 degrees.",
            )
        )
    precise = ~(frame["accuracy"] > field_limits().max_accuracy_m)
    return frame[precise].sort_values("t", kind="stable").reset_index(drop=True)


def _row(point: Any) -> tuple[float, float, float, float]:
    if isinstance(point, Mapping):
        point = [point.get("lon"), point.get("lat"), point.get("t"), point.get("accuracy")]
    if not isinstance(point, Sequence) or isinstance(point, str) or len(point) < 3:
        raise OptionError(
            message(
                "patrols.bad_point_shape",
                f"轨迹点为 {point!r}，应为 [经度, 纬度, 时间, 精度]。",
                f"A track point was {point!r} but is expected to be [lon, lat, time, accuracy].",
            )
        )
    acc = point[3] if len(point) > 3 and point[3] is not None else math.nan
    try:
        return float(point[0]), float(point[1]), _time(point[2]), float(acc)
    except (TypeError, ValueError):
        raise OptionError(
            message(
                "patrols.bad_point_shape",
                f"轨迹点为 {point!r}，经度、纬度和精度应为数字。",
                f"A track point was {point!r}; lon, lat and accuracy are expected to be numbers.",
            )
        ) from None


def _line(ws: Workspace, frame: pd.DataFrame) -> shapely.LineString:
    coords = frame[["lon", "lat"]].to_numpy()
    keep = np.ones(len(coords), dtype=bool)
    keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)  # drop repeated positions
    if keep.sum() < 2:
        raise _empty()
    line = to_metric(ws, shapely.LineString(coords[keep]))
    if line.length <= 0:
        raise _empty()
    return line


def _visited(
    ws: Workspace, principal: Principal, line: shapely.Geometry
) -> tuple[list[str], list[str]]:
    """Ids of the problems and targets in the principal's scope within the visit distance."""
    reach = field_limits().visit_distance_m
    names = ws.layer_names()
    out: list[list[str]] = []
    for layer, key, cols, mask in (
        ("problems", "problem_id", ["village_code", "cc_departments"], principal.problem_mask),
        (
            "targets",
            "target_id",
            ["lead_department", "cooperating_departments"],
            principal.target_mask,
        ),
    ):
        if layer not in names:
            out.append([])
            continue
        frame = ws.read(layer, columns=[key, *cols])
        near = shapely.dwithin(frame.geometry.to_numpy(), line, reach)
        chosen = frame[near & mask(frame)]
        out.append(sorted(chosen[key].astype(str)))
    return out[0], out[1]


def _stored(con: sqlite3.Connection, where: str, value: str) -> dict[str, Any] | None:
    cols = ", ".join(f'"{c}"' for c in PATROL_COLUMNS)
    row = con.execute(f"SELECT {cols} FROM patrols WHERE {where} = ?", (value,)).fetchone()
    return _record(dict(zip(PATROL_COLUMNS, row, strict=True))) if row else None


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("visited_problems", "visited_targets"):
        out[key] = [x for x in str(out[key] or "").split(";") if x]
    out["duration_s"] = float(out["duration_s"])
    out["length_m"] = float(out["length_m"])
    out["points"] = int(out["points"])
    return out


def _next_id(con: sqlite3.Connection, day: date) -> str:
    prefix = f"XH{day:%Y%m%d}-"
    rows = con.execute("SELECT patrol_id FROM patrols WHERE patrol_id LIKE ?", (prefix + "%",))
    numbers = [int(r[0][len(prefix) :]) for r in rows if r[0][len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _refuse_viewer(principal: Principal) -> None:
    if principal.role not in ("office", "department", "village"):
        raise PermissionDeniedError(
            message(
                "patrols.role",
                f"用户“{principal.name}”为只读访客，不能记录或查看巡护轨迹。",
                f"User {principal.name!r} is a viewer and may neither record nor read patrols.",
            )
        )


def record_patrol(
    ws: Workspace,
    principal: Principal,
    points: Sequence[Any],
    *,
    submission_id: str | None = None,
    note: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Save a patrol track; the stored patrol (``replayed`` True when ``submission_id``
    was already stored, which is then returned unchanged).

    Parameters
    ----------
    points : sequence
        ``[lon, lat, time, accuracy]``: degrees (WGS 84 / CGCS2000), milliseconds since
        1970 or ISO 8601, metres.

    Returns
    -------
    dict
        :data:`PATROL_COLUMNS` with ``length_m`` (metres, measured in the workspace CRS),
        ``duration_s`` (seconds from first to last position), ``visited_problems`` and
        ``visited_targets`` (lists of ids) and ``track`` (GeoJSON, degrees).

    Raises
    ------
    OptionError
        Fewer than two distinct positions (an empty patrol), a bad point.
    PermissionDeniedError
        A viewer; a village cadre whose track does not touch their village (naming the
        village and the distance).
    """
    _refuse_viewer(principal)
    if submission_id:
        with ws.read_connection() as con:
            found = (
                _stored(con, "submission_id", submission_id) if has_table(con, "patrols") else None
            )
        if found is not None:
            return {**found, "track": track_geojson(ws, submission_id), "replayed": True}
    frame = parse_points(points)
    line = _line(ws, frame)
    if principal.role == "village":
        code = str(principal.village_code)
        name = check_in_village(ws, code, line, ("巡护轨迹", "The patrol track"))
        village: tuple[str, str] | None = (code, name)
    else:
        village = village_at(ws, line)
    problems, targets = _visited(ws, principal, line)
    start = datetime.fromtimestamp(float(frame["t"].iloc[0]), UTC)
    end = datetime.fromtimestamp(float(frame["t"].iloc[-1]), UTC)
    crs = metric_crs(ws)
    with ws.sql_transaction(principal.actor, schema=_ensure) as con:
        if submission_id and (found := _stored(con, "submission_id", submission_id)):
            return {**found, "track": track_geojson(ws, submission_id), "replayed": True}
        row: dict[str, Any] = {
            "patrol_id": _next_id(con, start.astimezone(CST).date()),
            "submission_id": submission_id or None,
            "patrol_on": start.astimezone(CST).date().isoformat(),
            "started_at": start.isoformat(timespec="seconds"),
            "ended_at": end.isoformat(timespec="seconds"),
            "duration_s": round((end - start).total_seconds(), 1),
            "length_m": round(float(line.length), 1),
            "points": len(frame),
            "village_code": village[0] if village else None,
            "village_name": village[1] if village else None,
            "department": principal.department,
            "role": principal.role,
            "by": principal.actor,
            "note": (note or "").strip() or None,
            "visited_problems": ";".join(problems),
            "visited_targets": ";".join(targets),
            "srs": crs.to_string(),
            "created_at": now_iso(),
        }
        cols = ", ".join(f'"{c}"' for c in [*PATROL_COLUMNS, "track"])
        con.execute(
            f"INSERT INTO patrols ({cols}) VALUES ({', '.join('?' * (len(PATROL_COLUMNS) + 1))})",
            (*(row[c] for c in PATROL_COLUMNS), shapely.to_wkb(line)),
        )
        audit(
            con,
            row["created_at"],
            principal.actor,
            "patrol.add",
            row["patrol_id"],
            {
                **(context or {}),
                **row,
            },
        )
    return {**_record(row), "track": _geojson(line, crs), "replayed": False}


def _geojson(line: shapely.Geometry, crs: pyproj.CRS) -> dict[str, Any]:
    back = pyproj.Transformer.from_crs(crs, 4490, always_xy=True)
    coords = np.asarray(line.coords)
    lon, lat = back.transform(coords[:, 0], coords[:, 1])
    return {"type": "LineString", "coordinates": np.round(np.column_stack([lon, lat]), 7).tolist()}


def track_geojson(ws: Workspace, submission_id: str) -> dict[str, Any] | None:
    """The stored track of a patrol (by its submission id) as GeoJSON in degrees."""
    with ws.read_connection() as con:
        row = con.execute(
            "SELECT track, srs FROM patrols WHERE submission_id = ?", (submission_id,)
        ).fetchone()
    if row is None:
        return None
    return _geojson(shapely.from_wkb(row[0]), pyproj.CRS.from_user_input(row[1]))


def _read(ws: Workspace, with_track: bool = False) -> pd.DataFrame:
    with ws.read_connection() as con:
        if not has_table(con, "patrols"):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in PATROL_COLUMNS})
        cols = ", ".join(f'"{c}"' for c in [*PATROL_COLUMNS, *(["track"] if with_track else [])])
        frame = pd.read_sql_query(f"SELECT {cols} FROM patrols ORDER BY started_at, patrol_id", con)
    return frame.astype({"duration_s": "float64", "length_m": "float64", "points": "int64"})


def parse_month(text: str | None) -> str | None:
    """``YYYY-MM`` checked (None for empty text); OptionError otherwise."""
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise OptionError(
            message(
                "patrols.bad_month",
                f"月份为“{text}”，应为 YYYY-MM，如 2026-12。",
                f"`month` was {text!r} but is expected to be YYYY-MM, e.g. 2026-12.",
            )
        ) from None


def list_patrols(
    ws: Workspace,
    principal: Principal,
    *,
    village: str | None = None,
    month: str | None = None,
) -> list[dict[str, Any]]:
    """The patrols the principal may see, oldest first: the office all, a department its
    own officers', a village its own; ``village`` (code) and ``month`` (``YYYY-MM``)
    filter them. Each record carries ``track`` (GeoJSON, degrees).

    Raises
    ------
    PermissionDeniedError
        A viewer.
    OptionError
        A malformed ``month``.
    """
    _refuse_viewer(principal)
    wanted = parse_month(month)
    frame = _read(ws, with_track=True)
    keep = np.ones(len(frame), dtype=bool)
    if principal.role == "village":
        keep &= (frame["village_code"] == principal.village_code).to_numpy(dtype=bool)
    elif principal.role == "department":
        keep &= (frame["department"] == principal.department).to_numpy(dtype=bool)
    if village:
        keep &= (frame["village_code"] == village).to_numpy(dtype=bool)
    if wanted:
        keep &= (frame["patrol_on"].astype(str).str.slice(0, 7) == wanted).to_numpy(dtype=bool)
    chosen = frame[keep]
    records = []
    for row in chosen.to_dict("records"):
        line = shapely.from_wkb(row.pop("track"))
        records.append(
            {**_record(row), "track": _geojson(line, pyproj.CRS.from_user_input(row["srs"]))}
        )
    return records


def monthly_patrols(ws: Workspace) -> pd.DataFrame:
    """Patrols per village and month: ``village_code``, ``village_name``, ``month``
    (``YYYY-MM``), ``patrols``, ``length_km``, ``hours`` (patrols with no village have
    missing codes)."""
    frame = _read(ws).assign(month=lambda f: f["patrol_on"].astype(str).str.slice(0, 7))
    grouped = frame.groupby(["village_code", "village_name", "month"], dropna=False, sort=True)
    out = grouped.agg(
        patrols=("patrol_id", "size"), length_m=("length_m", "sum"), s=("duration_s", "sum")
    ).reset_index()
    return out.assign(
        length_km=(out["length_m"] / 1000).round(2), hours=(out["s"] / 3600).round(2)
    )[["village_code", "village_name", "month", "patrols", "length_km", "hours"]]


def patrols_in_month(ws: Workspace, as_of: date) -> pd.Series:
    """Patrols per village code in the calendar month of ``as_of`` up to that day."""
    frame = _read(ws)
    day = pd.to_datetime(frame["patrol_on"], errors="coerce")
    start = pd.Timestamp(as_of.replace(day=1))
    chosen = frame[(day >= start) & (day <= pd.Timestamp(as_of))]
    return chosen.groupby("village_code").size().astype("int64")


def patrols_between(ws: Workspace, start: date, end: date) -> pd.DataFrame:
    """Patrols dated (China Standard Time) from ``start`` to ``end``, both included:
    ``patrol_id``, ``patrol_on``, ``department`` (None for villages and the office),
    ``village_code``, ``village_name``, ``length_m``, ``duration_s``."""
    frame = _read(ws)
    day = frame["patrol_on"].astype(str)
    chosen = frame[(day >= start.isoformat()) & (day <= end.isoformat())]
    cols = ["patrol_id", "patrol_on", "department", "village_code", "village_name"]
    return chosen[[*cols, "length_m", "duration_s"]].reset_index(drop=True)
