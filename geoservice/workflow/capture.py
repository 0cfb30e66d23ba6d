"""Field capture: a village cadre records a new problem in their village, a department
officer an observation at a target, each with the phone's position, an optional area
drawn on the map and photos.

The position is held to the person's scope (:mod:`geoservice.workflow.field_scope`): a
village cadre's point must lie in their village; an observation must be taken within
``observation_distance_m`` of the target. What the phone measured (degrees, accuracy, the
area drawn) is kept in the ``field_captures`` table beside the record it belongs to: the
problem (added with :func:`~geoservice.workflow.records.insert_problem`, its point in the
workspace CRS) or the target's action record
(:func:`~geoservice.workflow.target_store.insert_action`).

A form sent from the phone's offline queue may arrive twice (the first reply was lost):
its ``submission_id`` is unique in ``field_captures``, so the second is answered with the
record the first created and nothing is added. The record, its capture row and their
audit rows are written in one workspace transaction, so a capture is stored whole or not
at all whatever fails; its photos are written before it under a stage folder named after
the submission and moved into the record's folder after the commit
(:mod:`geoservice.workflow.capture_photos`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from geoservice.analysis.target_register import SNAPSHOT_COLUMNS, ensure_register
from geoservice.base.access import Principal
from geoservice.base.errors import OptionError, PermissionDeniedError, message
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table
from geoservice.workflow.capture_photos import (
    Staged,
    discard,
    place,
    recover_photos,
    stage_photos,
)
from geoservice.workflow.field_scope import (
    Position,
    check_in_village,
    check_near_object,
    field_limits,
    parse_area,
    position,
    village_at,
)
from geoservice.workflow.patch_store import patch_row, record_patch_event
from geoservice.workflow.patch_store import transaction as patch_transaction
from geoservice.workflow.records import insert_problem, problem_fields
from geoservice.workflow.store import ensure_workflow
from geoservice.workflow.target_actions import find_target, photo_folder
from geoservice.workflow.target_store import insert_action

__all__ = [
    "CAPTURE_COLUMNS",
    "capture_problem",
    "captured",
    "check_patch_observer",
    "observe_patch",
    "observe_target",
    "submitted",
]

CAPTURE_COLUMNS = [
    "submission_id",
    "kind",
    "object_id",
    "lon",
    "lat",
    "accuracy_m",
    "x",
    "y",
    "area_m2",
    "photos",
    "at",
    "by",
]
_SQL = """
CREATE TABLE IF NOT EXISTS field_captures (
  id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id TEXT UNIQUE, kind TEXT NOT NULL,
  object_id TEXT NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL, accuracy_m REAL,
  x REAL NOT NULL, y REAL NOT NULL, area BLOB, area_m2 REAL, photos TEXT NOT NULL,
  at TEXT NOT NULL, by TEXT NOT NULL)
"""


def _ensure(con: sqlite3.Connection, _actor: str) -> None:
    con.execute(_SQL)


def submitted(ws: Workspace, submission_id: str | None) -> tuple[str, str] | None:
    """The (kind, object id) a form with ``submission_id`` already created, else None."""
    if not submission_id:
        return None
    with ws.read_connection() as con:
        if not has_table(con, "field_captures"):
            return None
        row = con.execute(
            "SELECT kind, object_id FROM field_captures WHERE submission_id = ?",
            (submission_id,),
        ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def captured(ws: Workspace, kind: str, object_id: str) -> list[dict[str, Any]]:
    """What the phones measured for one problem or target (oldest first):
    :data:`CAPTURE_COLUMNS`, ``photos`` a list, ``area`` GeoJSON-free WKB left out."""
    with ws.read_connection() as con:
        if not has_table(con, "field_captures"):
            return []
        cols = ", ".join(CAPTURE_COLUMNS)
        rows = con.execute(
            f"SELECT {cols} FROM field_captures WHERE kind = ? AND object_id = ? ORDER BY id",
            (kind, object_id),
        ).fetchall()
    out = [dict(zip(CAPTURE_COLUMNS, r, strict=True)) for r in rows]
    return [{**r, "photos": json.loads(r["photos"])} for r in out]


def _capture_row(
    principal: Principal,
    submission_id: str | None,
    kind: str,
    object_id: str,
    where: Position,
    area: shapely.Geometry | None,
    photos: Sequence[str],
) -> dict[str, Any]:
    return {
        "submission_id": submission_id or None,
        "kind": kind,
        "object_id": object_id,
        "lon": where.lon,
        "lat": where.lat,
        "accuracy_m": where.accuracy_m,
        "x": float(where.point.x),
        "y": float(where.point.y),
        "area_m2": round(float(area.area), 1) if area is not None else None,
        "photos": json.dumps(list(photos), ensure_ascii=False),
        "at": now_iso(),
        "by": principal.actor,
    }


def _insert(
    con: sqlite3.Connection,
    row: Mapping[str, Any],
    area: shapely.Geometry | None,
    context: Mapping[str, Any] | None,
) -> None:
    """The capture row and its audit row, inside the caller's transaction."""
    blob = shapely.to_wkb(area) if area is not None else None
    con.execute(
        f"INSERT INTO field_captures ({', '.join(row)}, area) "
        f"VALUES ({', '.join('?' * (len(row) + 1))})",
        (*row.values(), blob),
    )
    detail = {**(context or {}), **row}
    audit(
        con, str(row["at"]), str(row["by"]), f"capture.{row['kind']}", str(row["object_id"]), detail
    )


def _claimed(con: sqlite3.Connection, submission_id: str | None) -> str | None:
    """The object a submission already created, read inside the write transaction (a
    replay that arrived while the first was being stored)."""
    if not submission_id:
        return None
    row = con.execute(
        "SELECT object_id FROM field_captures WHERE submission_id = ?", (submission_id,)
    ).fetchone()
    return str(row[0]) if row else None


def _once(
    begin: Callable[[], AbstractContextManager[sqlite3.Connection]],
    submission_id: str | None,
    staged: Staged,
    write: Callable[[sqlite3.Connection], str],
) -> tuple[str, bool]:
    """Run ``write`` (the record and its capture row; returns the object id) in the one
    workspace transaction ``begin()`` opens, unless ``submission_id`` is already stored;
    the object id and whether it was created now. The staged photos are removed when
    nothing was stored."""
    try:
        with begin() as con:
            _ensure(con, "")
            prior = _claimed(con, submission_id)
            object_id = write(con) if prior is None else prior
    except BaseException:
        discard(staged)
        raise
    if prior is not None:
        discard(staged)
        return prior, False
    return object_id, True


def _replayed(ws: Workspace, folder: Path, submission_id: str | None) -> tuple[str, str] | None:
    """What ``submission_id`` already created, with its photos moved into place if the
    process stopped between the commit and the move; None for a new submission."""
    done = submitted(ws, submission_id)
    if done is not None:
        rows = [r for r in captured(ws, *done) if r["submission_id"] == submission_id]
        names = rows[0]["photos"] if rows else []
        recover_photos(folder, submission_id, Path(folder) / done[1], names)
    return done


def _note_required() -> OptionError:
    return OptionError(
        message(
            "capture.note_required",
            "现场核查记录需要写明看到的情况，如“现场有新翻土约 2 亩，未见人员”。",
            "An observation needs what was seen, e.g. 'fresh digging over about 0.13 ha, "
            "nobody on site'.",
        )
    )


def _check_area(ws: Workspace, principal: Principal, area: shapely.Geometry | None) -> None:
    if area is not None and principal.role == "village":
        check_in_village(
            ws,
            str(principal.village_code),
            area,
            ("地图上画的范围", "The area drawn on the map"),
            whole=True,
        )


def _capture_village(ws: Workspace, principal: Principal, where: Position) -> str:
    """The village code a new problem at ``where`` belongs to: the cadre's own (checked),
    or for the office the village at the position."""
    if principal.role == "village":
        code = str(principal.village_code)
        check_in_village(ws, code, where.point, where)
        return code
    found = village_at(ws, where.point)
    if found is None:
        raise OptionError(
            message(
                "capture.no_village",
                f"{where.text('zh')}不在任何村的范围内；请确认位置。",
                f"{where.text('en')} lies in no village of the villages layer; check the position.",
            )
        )
    return found[0]


def capture_problem(
    ws: Workspace,
    principal: Principal,
    *,
    category: str,
    description: str,
    lon: Any,
    lat: Any,
    accuracy_m: Any = None,
    area: str | None = None,
    deadline: date | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    evidence_folder: Path,
    max_photo_bytes: int,
    submission_id: str | None = None,
    today: date | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[str, bool]:
    """Record a problem found in the field; its id and whether it was created now (False
    when ``submission_id`` had already created it).

    A village cadre records in their own village; the office anywhere in the villages
    layer (the village is the one at the position). The deadline defaults to
    ``deadline_days`` after ``today``. ``area`` is GeoJSON drawn on the map (degrees).

    Raises
    ------
    PermissionDeniedError
        A department or viewer; a position (or area) outside the cadre's village, naming
        the village and the distance.
    OptionError
        A bad position, area, category, deadline or photo.
    """
    done = _replayed(ws, evidence_folder, submission_id)
    if done is not None:
        return done[1], False
    if principal.role not in ("village", "office"):
        raise PermissionDeniedError(
            message(
                "capture.problem_role",
                f"用户“{principal.name}”不能在现场新增问题：新问题由村干部在本村记录，或由镇林长办"
                "录入；部门请在目标页面记录现场核查。",
                f"User {principal.name!r} cannot record a new problem: village cadres record "
                "them in their village and the forest-chief office enters them; departments "
                "record observations on a target's page.",
            )
        )
    where = position(ws, lon, lat, accuracy_m)
    shape = parse_area(ws, area)
    code = _capture_village(ws, principal, where)
    _check_area(ws, principal, shape)
    day = today or date.today()
    fields = problem_fields(
        ws,
        village=code,
        category=category,
        deadline=deadline or day + timedelta(days=field_limits().deadline_days),
        found_on=day,
    )
    staged = stage_photos(evidence_folder, submission_id, photos, max_photo_bytes)

    def write(con: sqlite3.Connection) -> str:
        row = insert_problem(
            con,
            ws,
            **fields,
            description=description,
            by=principal.actor,
            lon=where.lon,
            lat=where.lat,
            context={**(context or {}), "accuracy_m": where.accuracy_m, "field": True},
        )
        pid = str(row["problem_id"])
        capture = _capture_row(principal, submission_id, "problem", pid, where, shape, staged.names)
        _insert(con, capture, shape, context)
        return pid

    def begin() -> AbstractContextManager[sqlite3.Connection]:
        return ws.sql_transaction(principal.actor, schema=ensure_workflow)

    pid, created = _once(begin, submission_id, staged, write)
    if created:
        place(staged, Path(evidence_folder) / pid)
    return pid, created


def observe_target(
    ws: Workspace,
    principal: Principal,
    target_id: str,
    *,
    note: str,
    lon: Any,
    lat: Any,
    accuracy_m: Any = None,
    area: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    evidence_folder: Path,
    max_photo_bytes: int,
    submission_id: str | None = None,
    today: date | None = None,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Record an on-the-spot observation (现场核查) at a target in the caller's scope, as
    an action record of the caller's department with the position and photos; whether it
    was created now (False for a replayed ``submission_id``).

    Raises
    ------
    NotFoundError
        The target is not in the caller's scope.
    PermissionDeniedError
        The position is farther than ``observation_distance_m`` from the target.
    OptionError
        An empty note, a bad position, area or photo.
    """
    folder = photo_folder(evidence_folder)
    if _replayed(ws, folder, submission_id) is not None:
        return False
    row = find_target(ws, principal, target_id)
    if not note.strip():
        raise _note_required()
    where = position(ws, lon, lat, accuracy_m)
    shape = parse_area(ws, area)
    label = (f"目标 {target_id}", f"target {target_id}")
    distance = check_near_object(ws, where, ("targets", "target_id", target_id), label)
    place_text = f"{where.text('zh')}" + (
        f"，距目标 {distance:.0f} m" if distance == distance else ""
    )
    who = str(principal.department if principal.role == "department" else row["lead_department"])
    snapshot = {c: (None if pd.isna(row.get(c)) else row.get(c)) for c in SNAPSHOT_COLUMNS}
    staged = stage_photos(folder, submission_id, photos, max_photo_bytes)

    def write(con: sqlite3.Connection) -> str:
        insert_action(
            con,
            target_id,
            principal.actor,
            department=who,
            acted_on=today or date.today(),
            action=f"现场核查：{note.strip()}",
            note=place_text,
            photos=staged.names,
            snapshot=snapshot,
            context=context,
        )
        capture = _capture_row(
            principal, submission_id, "target", target_id, where, shape, staged.names
        )
        _insert(con, capture, shape, context)
        return target_id

    def begin() -> AbstractContextManager[sqlite3.Connection]:
        return ws.sql_transaction(principal.actor, schema=ensure_register)

    _, created = _once(begin, submission_id, staged, write)
    if created:
        place(staged, folder / target_id)
    return created


def check_patch_observer(ws: Workspace, principal: Principal, patch_id: str) -> None:
    """Refuse a village or viewer (PermissionDeniedError) and a patch the workspace does
    not hold (NotFoundError): the office and department officers observe patches."""
    if principal.role not in ("office", "department"):
        raise PermissionDeniedError(
            message(
                "capture.patch_role",
                f"用户“{principal.name}”不能记录图斑的现场核查：由镇林长办或部门人员记录。",
                f"User {principal.name!r} cannot record an observation at a patch: the "
                "forest-chief office and department officers do.",
            )
        )
    patch_row(ws, patch_id)


def observe_patch(
    ws: Workspace,
    principal: Principal,
    patch_id: str,
    *,
    note: str,
    lon: Any,
    lat: Any,
    accuracy_m: Any = None,
    area: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    evidence_folder: Path,
    max_photo_bytes: int,
    submission_id: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Record an on-the-spot observation at a change patch (the office or a department
    officer) as an ``observation`` row of the patch's history, with the position and
    photos; whether it was created now (False for a replayed ``submission_id``).

    Raises
    ------
    NotFoundError
        No such patch.
    PermissionDeniedError
        A village or viewer; a position farther than ``observation_distance_m``.
    OptionError
        An empty note, a bad position, area or photo.
    """
    folder = Path(evidence_folder) / "patches"
    if _replayed(ws, folder, submission_id) is not None:
        return False
    check_patch_observer(ws, principal, patch_id)
    if not note.strip():
        raise _note_required()
    where = position(ws, lon, lat, accuracy_m)
    shape = parse_area(ws, area)
    label = (f"图斑 {patch_id}", f"patch {patch_id}")
    distance = check_near_object(ws, where, ("patches", "patch_id", patch_id), label)
    text = f"现场核查：{note.strip()}（{where.text('zh')}，距图斑 {distance:.0f} m）"
    staged = stage_photos(folder, submission_id, photos, max_photo_bytes)

    def write(con: sqlite3.Connection) -> str:
        record_patch_event(con, patch_id, "observation", text, principal.actor)
        capture = _capture_row(
            principal, submission_id, "patch", patch_id, where, shape, staged.names
        )
        _insert(con, capture, shape, context)
        return patch_id

    _, created = _once(lambda: patch_transaction(ws, principal.actor), submission_id, staged, write)
    if created:
        place(staged, folder / patch_id)
    return created
