"""A new workspace GeoPackage made from a PostGIS schema that
:mod:`~geoservice.base.postgis_copy` wrote.

Each table's comment says how the GeoPackage held it. Layers are written with GDAL (from
arrow columns typed by each column's declared GeoPackage type, so GDAL declares the same
types; the geometries as WKB from ``ST_AsBinary``; the EPSG code of the column), which
makes their GeoPackage registration and spatial index. The other tables are made with
their own ``CREATE TABLE`` statement and filled by SQLite; attribute tables get their
``gpkg_contents`` row back. The file is written beside the destination and renamed into
place when complete, so a failed copy leaves nothing (the unfinished file of a copy
killed half-way is removed by the next copy to that destination). An existing file is
not replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyogrio

from geoservice.base.errors import ConflictError, WorkspaceError, message
from geoservice.base.gpkg_sql import connect_file
from geoservice.base.postgis_copy import (
    COLUMN_NOTE,
    TABLE_NOTE,
    CopyReport,
    PostgisTarget,
    connect,
    ident,
)
from geoservice.base.workspace_write import has_table, install_new, remove_copy

__all__ = ["copy_from_postgis"]

# a column's declared GeoPackage type -> the arrow type GDAL declares it from again
_ARROW_TYPES: dict[str, pa.DataType] = {
    "INTEGER": pa.int64(),
    "INT": pa.int64(),
    "MEDIUMINT": pa.int32(),
    "SMALLINT": pa.int16(),
    "TINYINT": pa.int16(),
    "BOOLEAN": pa.bool_(),
    "REAL": pa.float64(),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "DATE": pa.date32(),
    "DATETIME": pa.timestamp("ms", tz="UTC"),
    "BLOB": pa.binary(),
}
_CREATE_TABLE = re.compile(r"\s*CREATE\s+TABLE\s", re.IGNORECASE)
_GEOMETRY_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}


@dataclass(frozen=True)
class _Source:
    name: str
    columns: list[tuple[str, str, str]]  # name, declared GeoPackage type, PostgreSQL type
    about: dict[str, Any]
    geometry: str | None
    geometry_type: str | None
    srid: int | None


def _sources(pg: Any, schema: str) -> list[_Source]:
    """The tables of ``schema`` that carry a copy's note, in name order."""
    rows = pg.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
        (schema,),
    ).fetchall()
    geometry = {
        str(t): (str(c), str(k), int(s))
        for t, c, k, s in pg.execute(
            "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
            "WHERE f_table_schema = %s",
            (schema,),
        )
    }
    found, strangers = [], []
    for name, note in rows:
        if not (note or "").startswith(TABLE_NOTE):
            strangers.append(str(name))
            continue
        columns = [
            (str(c), str(d or "")[len(COLUMN_NOTE) :], str(t))
            for c, d, t in pg.execute(
                "SELECT attname, col_description(attrelid, attnum), "
                "format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum",
                (f"{ident(schema)}.{ident(str(name))}",),
            )
        ]
        geom = geometry.get(str(name))
        about = json.loads(str(note)[len(TABLE_NOTE) :])
        column, kind, srid = geom if geom else (None, None, None)
        found.append(_Source(str(name), columns, about, column, kind, srid))
    if strangers:
        raise WorkspaceError(
            message(
                "postgis.not_a_copy",
                f"schema “{schema}” 中的表 {'、'.join(strangers)} 不是 geoservice workspace "
                "copy 写入的，无法还原为工作空间；请指定只含这种副本的 schema。",
                f"Tables {', '.join(strangers)} of schema {schema!r} were not written by "
                "'geoservice workspace copy' and cannot be made into a workspace; name a "
                "schema that holds such a copy only.",
            )
        )
    return found


def copy_from_postgis(target: PostgisTarget, dest: Path) -> CopyReport:
    """Make the workspace GeoPackage ``dest`` from the copy in ``target``'s schema.

    Parameters
    ----------
    target : PostgisTarget
        A database and schema :func:`~geoservice.base.postgis_copy.copy_to_postgis` wrote.
    dest : Path
        A GeoPackage path that does not exist yet.

    Returns
    -------
    CopyReport
        Rows per table; the layers with their EPSG codes.

    Raises
    ------
    ConflictError
        ``dest`` exists.
    WorkspaceError
        The database cannot be reached, the schema is empty, or holds tables that no
        copy wrote.
    """
    if dest.exists():
        raise ConflictError(
            message(
                "postgis.dest_exists",
                f"{dest} 已存在；请指定一个新文件名，或先移走该文件。",
                f"{dest} already exists; give a new file name, or move that file first.",
            )
        )
    _remove_stale(dest)
    work = dest.with_name(f".{dest.name}.{os.getpid()}.tmp.gpkg")
    remove_copy(work)
    with connect(target) as pg:
        sources = _sources(pg, target.schema)
        if not sources:
            raise WorkspaceError(
                message(
                    "postgis.empty",
                    f"schema “{target.schema}” 中没有工作空间副本；请先用 geoservice "
                    "workspace copy 写入。",
                    f"Schema {target.schema!r} holds no workspace copy; write one with "
                    "'geoservice workspace copy' first.",
                )
            )
        try:
            rows = _write(pg, target.schema, sources, work)
        except BaseException:
            remove_copy(work)
            raise
    install_new(work, dest)
    layers = {s.name: int(s.srid) for s in sources if s.srid is not None}
    return CopyReport(target.schema, rows, layers)


def _remove_stale(dest: Path) -> None:
    """Remove the unfinished files of earlier copies to ``dest`` whose process is gone
    (killed half-way); those of a copy still running are left to it."""
    for stale in dest.parent.glob(f".{dest.name}.*.tmp.gpkg"):
        pid = stale.name[len(dest.name) + 2 : -len(".tmp.gpkg")]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            remove_copy(stale)
        except PermissionError:  # another user's process: still running
            continue


def _write(pg: Any, schema: str, sources: list[_Source], work: Path) -> dict[str, int]:
    layers = [s for s in sources if s.geometry is not None]
    others = [s for s in sources if s.geometry is None]
    rows: dict[str, int] = {}
    if not layers:  # GDAL makes the GeoPackage's own tables with the first layer
        pyogrio.write_arrow(pa.table({"x": pa.array([], pa.int64())}), work, layer="_made")
    for source in layers:
        rows[source.name] = _write_layer(pg, schema, source, work)
    with contextlib.closing(connect_file(work, isolation_level=None)) as lite:
        lite.execute("BEGIN")
        if not layers:
            lite.execute('DROP TABLE "_made"')
            for register in ("gpkg_contents", "gpkg_ogr_contents"):
                if has_table(lite, register):
                    lite.execute(f"DELETE FROM {register} WHERE table_name = '_made'")
        for source in others:
            rows[source.name] = _write_table(pg, schema, source, lite)
        lite.execute("COMMIT")
    return rows


def _select(schema: str, source: _Source) -> str:
    cols = [
        f"ST_AsBinary({ident(c)})" if c == source.geometry else ident(c)
        for c, _, _ in source.columns
    ]
    keys = ", ".join(str(i + 1) for i in range(len(cols)))
    return f"SELECT {', '.join(cols)} FROM {ident(schema)}.{ident(source.name)} ORDER BY {keys}"


def _write_layer(pg: Any, schema: str, source: _Source, work: Path) -> int:
    values = pg.execute(_select(schema, source)).fetchall()
    columns = list(zip(*values, strict=True)) if values else [()] * len(source.columns)
    arrays = {}
    for (name, declared, pg_type), data in zip(source.columns, columns, strict=True):
        if name == source.geometry:
            arrays[name] = pa.array(list(data), pa.binary())  # psycopg gives bytes
            continue
        kind = _ARROW_TYPES.get(declared.split("(", 1)[0].strip().upper(), pa.string())
        if pg_type == "timestamp without time zone":  # values without a zone (postgis_copy)
            kind = pa.timestamp("ms")
        arrays[name] = pa.array(list(data), kind)
    fid = next((n for n, _, _ in source.columns if n == "fid"), None)
    pyogrio.write_arrow(
        pa.table(arrays),
        work,
        layer=source.name,
        driver="GPKG",
        geometry_name=source.geometry,
        geometry_type=_GEOMETRY_TYPES.get(str(source.geometry_type).upper(), "Unknown"),
        crs=f"EPSG:{source.srid}",
        layer_options={"FID": fid} if fid else None,
    )
    return len(values)


def _as_stored(value: Any, declared: str) -> Any:
    """A value PostgreSQL gave, as the GeoPackage stores its declared type: dates as
    ``YYYY-MM-DD``, date-times as UTC ``YYYY-MM-DDTHH:MM:SS.sssZ``."""
    if value is None:
        return None
    if declared == "DATE":
        return value.isoformat()
    if declared == "DATETIME":
        zone = "Z" if value.tzinfo is not None else ""  # a timestamp without zone: none
        at = value.astimezone(UTC) if zone else value
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}{zone}"
    return value


def _write_table(pg: Any, schema: str, source: _Source, lite: sqlite3.Connection) -> int:
    statement = str(source.about.get("sql") or "")
    if not _CREATE_TABLE.match(statement):  # the note is the database's, not ours: checked
        raise WorkspaceError(
            message(
                "postgis.bad_note",
                f"schema “{schema}” 中表 {source.name} 的注释不是副本写下的建表语句；"
                "请重新用 geoservice workspace copy 写入该 schema。",
                f"The comment of table {source.name} in schema {schema!r} does not hold the "
                "CREATE TABLE statement a copy writes; write the schema again with "
                "'geoservice workspace copy'.",
            )
        )
    lite.execute(statement)
    values = pg.execute(_select(schema, source)).fetchall()
    kinds = [d.split("(", 1)[0].strip().upper() for _, d, _ in source.columns]
    timed = [i for i, k in enumerate(kinds) if k in ("DATE", "DATETIME")]
    if timed:  # a few tables only; the others go as PostgreSQL gave them
        values = [
            tuple(_as_stored(v, kinds[i]) if i in timed else v for i, v in enumerate(row))
            for row in values
        ]
    cols = ", ".join(ident(c) for c, _, _ in source.columns)
    marks = ", ".join("?" * len(source.columns))
    lite.executemany(f"INSERT INTO {ident(source.name)} ({cols}) VALUES ({marks})", values)
    if source.about.get("data_type") == "attributes":
        lite.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES (?, 'attributes', ?, ?)",
            (source.name, source.about.get("identifier"), source.about.get("description") or ""),
        )
    return len(values)
