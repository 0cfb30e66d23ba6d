"""A snapshot of a workspace GeoPackage copied into a PostGIS schema, in one transaction.

An office whose IT runs PostgreSQL with PostGIS can hand the workspace to it this way:
every table of the workspace (the layers, the workflow registers, the audit log) becomes
a table of one schema (``postgresql://user@host/db?schema=town``), with the same column
names, PostgreSQL types for SQLite's declared ones (:data:`PG_TYPES`; each column's
declared type is kept as its comment), ``geometry(<type>, <EPSG code>)`` columns with a
GiST index, and the primary keys. QGIS and ``ogr2ogr`` read it directly. Each table's
comment records how the GeoPackage held it (:data:`TABLE_NOTE`), so that
:mod:`~geoservice.base.postgis_restore` makes the same workspace from the schema.

The copy is one transaction: a copy that fails (or is killed) leaves the schema as it was.
A schema that already holds tables is only replaced when asked (``replace=True``), and
then dropped and made again in that same transaction.

Geometries are sent as the GeoPackage's own blobs and turned into PostGIS geometries by
one SQL statement per layer (the blob's header is 8 bytes plus the envelope its flags
announce; the rest is standard WKB), so no geometry is parsed in Python. Rows go through
``COPY``.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from geoservice.base.errors import ConflictError, WorkspaceError, message
from geoservice.base.workspace_file import check_workspace_file
from geoservice.base.workspace_gate import gate

__all__ = [
    "COLUMN_NOTE",
    "PG_TYPES",
    "TABLE_NOTE",
    "CopyReport",
    "PostgisTarget",
    "connect",
    "copy_to_postgis",
    "ident",
    "parse_target",
]

DEFAULT_SCHEMA = "geoservice"
# a copied table's comment: this, then JSON of how the GeoPackage held it (its
# gpkg_contents row: data_type, identifier, description; its CREATE TABLE statement)
TABLE_NOTE = "gpkg_table="
COLUMN_NOTE = "gpkg_type="
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SKIPPED_PREFIXES = ("gpkg_", "rtree_", "sqlite_")
_BATCH = 5000

# SQLite's declared column types (GeoPackage 1.3, and what the workspace's own tables
# declare) -> PostgreSQL; anything else is text
PG_TYPES: dict[str, str] = {
    "INTEGER": "bigint",
    "INT": "bigint",
    "MEDIUMINT": "bigint",
    "SMALLINT": "bigint",
    "TINYINT": "bigint",
    "BOOLEAN": "boolean",
    "REAL": "double precision",
    "DOUBLE": "double precision",
    "FLOAT": "double precision",
    "TEXT": "text",
    "DATE": "date",
    "DATETIME": "timestamptz",
    "BLOB": "bytea",
}


@dataclass(frozen=True)
class PostgisTarget:
    """Where a copy goes: a libpq connection URL (without ``schema``) and the schema."""

    url: str
    schema: str


@dataclass(frozen=True)
class CopyReport:
    """What a copy wrote: rows per table, and which tables are layers (with their EPSG)."""

    schema: str
    rows: dict[str, int]
    layers: dict[str, int]


def parse_target(text: str) -> PostgisTarget | None:
    """The PostGIS target a ``postgresql://`` (or ``postgres://``) URL names; None for
    anything else (a GeoPackage path).

    The schema is the URL's ``schema`` parameter (default ``geoservice``): lower-case
    letters, digits and ``_``, at most 63, not starting with a digit.

    Raises
    ------
    WorkspaceError
        The schema name is not such a name.
    """
    parts = urlsplit(text)
    if parts.scheme not in ("postgresql", "postgres"):
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.match(schema):
        raise WorkspaceError(
            message(
                "postgis.schema",
                f"PostGIS 地址中的 schema 为“{schema}”，应为小写字母、数字和下划线"
                "（不以数字开头，至多 63 个字符），如 ?schema=town_2026。",
                f"The PostGIS URL's schema was {schema!r}; expected lower-case letters, "
                "digits and '_' (not starting with a digit, at most 63), e.g. "
                "?schema=town_2026.",
            )
        )
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return PostgisTarget(urlunsplit(parts._replace(query=rest)), schema)


@dataclass(frozen=True)
class _Column:
    name: str
    declared: str
    pg_type: str
    primary: bool


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[_Column]
    geometry: str | None  # the geometry column of a layer
    geometry_type: str | None
    srid: int | None
    about: dict[str, Any]  # the table's comment: how the GeoPackage held it (TABLE_NOTE)


def _zoned(con: sqlite3.Connection, table: str, col: _Column) -> _Column:
    """A ``DATETIME`` column as ``timestamp`` (no zone) when none of its values names a
    zone, as the survey files' dates do, so that they come back without one; else as
    ``timestamptz``."""
    if col.pg_type != "timestamptz":
        return col
    zoned = con.execute(
        f"SELECT 1 FROM {ident(table)} WHERE {ident(col.name)} LIKE '%Z' "
        f"OR {ident(col.name)} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' LIMIT 1"
    ).fetchone()
    return col if zoned else _Column(col.name, col.declared, "timestamp", col.primary)


def _pg_type(declared: str) -> str:
    base = declared.split("(", 1)[0].strip().upper()
    return PG_TYPES.get(base, "text")


def _tables(con: sqlite3.Connection, source: Path) -> list[_Table]:
    """The workspace's own tables (not the GeoPackage's system tables), layers with their
    geometry column, type and EPSG code."""
    names = [
        str(r[0])
        for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not str(r[0]).startswith(_SKIPPED_PREFIXES)
    ]
    geometry = {
        str(t): (str(c), str(g), (str(o) if o is not None else None), c_id)
        for t, c, g, o, c_id in con.execute(
            "SELECT g.table_name, g.column_name, g.geometry_type_name, s.organization, "
            "s.organization_coordsys_id FROM gpkg_geometry_columns g "
            "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id"
        )
    }
    contents = {
        str(t): {"data_type": d, "identifier": i, "description": e}
        for t, d, i, e in con.execute(
            "SELECT table_name, data_type, identifier, description FROM gpkg_contents"
        )
    }
    ddl = {str(n): str(q) for n, q in con.execute("SELECT name, sql FROM sqlite_master")}
    tables, unknown = [], []
    for name in names:
        cols = [
            _Column(str(r[1]), str(r[2] or ""), _pg_type(str(r[2] or "")), bool(r[5]))
            for r in con.execute(f"PRAGMA table_info({ident(name)})")
        ]
        cols = [_zoned(con, name, c) for c in cols]
        about = {**contents.get(name, {"data_type": None}), "sql": ddl[name]}
        geom = geometry.get(name)
        if geom is None:
            tables.append(_Table(name, cols, None, None, None, about))
            continue
        column, kind, org, code = geom
        if (org or "").upper() != "EPSG" or code is None:
            unknown.append(name)
            continue
        tables.append(_Table(name, cols, column, kind.upper(), int(code), about))
    if unknown:
        raise WorkspaceError(
            message(
                "postgis.crs",
                f"{source} 中图层 {'、'.join(unknown)} 的坐标系没有 EPSG 代码，无法写入 "
                "PostGIS；请先把它们重新导入为有 EPSG 代码的坐标系（如 EPSG:4549）。",
                f"Layers {', '.join(unknown)} of {source} have a coordinate system with no "
                "EPSG code, which PostGIS needs; import them again in one that has one "
                "(e.g. EPSG:4549).",
            )
        )
    return tables


def ident(name: str) -> str:
    """``name`` quoted as a PostgreSQL (and SQLite) identifier."""
    return '"' + name.replace('"', '""') + '"'


def _create_sql(schema: str, table: _Table) -> list[str]:
    qualified = f"{ident(schema)}.{ident(table.name)}"
    defs = []
    for col in table.columns:
        pg = "bytea" if col.name == table.geometry else col.pg_type
        defs.append(f"{ident(col.name)} {pg}")
    keys = [c.name for c in table.columns if c.primary]
    if keys:
        defs.append(f"PRIMARY KEY ({', '.join(ident(k) for k in keys)})")
    sql = [f"CREATE TABLE {qualified} ({', '.join(defs)})"]
    note = f"{TABLE_NOTE}{json.dumps(table.about, ensure_ascii=False)}".replace("'", "''")
    sql.append(f"COMMENT ON TABLE {qualified} IS '{note}'")
    for col in table.columns:
        note = f"{COLUMN_NOTE}{col.declared}".replace("'", "''")
        sql.append(f"COMMENT ON COLUMN {qualified}.{ident(col.name)} IS '{note}'")
    return sql


def _geometry_sql(schema: str, table: _Table) -> list[str]:
    """The statements that turn a layer's GeoPackage blobs into PostGIS geometries, and
    index them."""
    qualified = f"{ident(schema)}.{ident(table.name)}"
    column = ident(str(table.geometry))
    kind = "Geometry" if table.geometry_type in (None, "GEOMETRY") else table.geometry_type
    envelope = (
        f"CASE (get_byte({column}, 3) >> 1) & 7 WHEN 1 THEN 32 WHEN 2 THEN 48 "
        "WHEN 3 THEN 48 WHEN 4 THEN 64 ELSE 0 END"
    )
    wkb = f"substring({column} FROM 9 + {envelope})"
    return [
        f"ALTER TABLE {qualified} ALTER COLUMN {column} TYPE geometry({kind}, {table.srid}) "
        f"USING ST_GeomFromWKB({wkb}, {table.srid})",
        f"CREATE INDEX ON {qualified} USING gist ({column})",
    ]


def _rows(con: sqlite3.Connection, table: _Table) -> Iterator[list[tuple[Any, ...]]]:
    cols = ", ".join(ident(c.name) for c in table.columns)
    cur = con.execute(f"SELECT {cols} FROM {ident(table.name)}")
    while batch := cur.fetchmany(_BATCH):
        yield batch


def copy_to_postgis(source: Path, target: PostgisTarget, *, replace: bool = False) -> CopyReport:
    """Copy every table of the workspace GeoPackage ``source`` into ``target``'s schema,
    in one PostgreSQL transaction.

    Parameters
    ----------
    source : Path
        A workspace GeoPackage; read in one SQLite read transaction (one committed state).
    target : PostgisTarget
        The database (with PostGIS) and schema (:func:`parse_target`).
    replace : bool
        Replace a schema that already holds tables (dropped and made again in the same
        transaction). Without it such a schema is refused.

    Returns
    -------
    CopyReport
        Rows per table; the layers with their EPSG codes (coordinates as stored: the
        workspace's CRS and units).

    Raises
    ------
    WorkspaceError
        ``source`` is not a workspace GeoPackage, a layer's CRS has no EPSG code, the
        database cannot be reached or has no PostGIS.
    ConflictError
        The schema holds tables and ``replace`` is False.
    """
    import psycopg

    check_workspace_file(source)
    if not source.is_file():
        raise WorkspaceError(
            message(
                "postgis.no_source",
                f"工作空间 {source} 不存在；请指定已有的 GeoPackage 工作空间。",
                f"Workspace {source} does not exist; give an existing GeoPackage workspace.",
            )
        )
    with (
        connect(target) as pg,
        gate(source).sql(),
        contextlib.closing(sqlite3.connect(source, isolation_level=None)) as lite,
    ):
        lite.execute("BEGIN")  # one committed state of the workspace
        tables = _tables(lite, source)
        _prepare_schema(pg, target.schema, replace)
        rows: dict[str, int] = {}
        for table in tables:
            try:
                rows[table.name] = _copy_table(pg, lite, target.schema, table)
            except psycopg.DataError as exc:  # a value its column's type does not take
                raise WorkspaceError(
                    message(
                        "postgis.value",
                        f"{source} 的表 {table.name} 有 PostgreSQL 不接受的值（{exc}）；"
                        "未写入任何内容，请先更正该值。",
                        f"Table {table.name} of {source} holds a value PostgreSQL does not "
                        f"take ({exc}); nothing was written. Correct the value first.",
                    )
                ) from exc
        lite.execute("ROLLBACK")
    return CopyReport(
        target.schema,
        rows,
        {t.name: int(t.srid) for t in tables if t.geometry is not None and t.srid is not None},
    )


def connect(target: PostgisTarget) -> Any:
    """A psycopg connection to ``target``'s database (one transaction until it is left:
    committed on success, rolled back on an error).

    Raises
    ------
    WorkspaceError
        The database cannot be reached (the URL named without its password).
    """
    import psycopg

    try:
        return psycopg.connect(target.url)
    except psycopg.OperationalError as exc:
        raise WorkspaceError(
            message(
                "postgis.connect",
                f"无法连接 PostgreSQL（{_redacted(target.url)}）：{exc}",
                f"Cannot connect to PostgreSQL ({_redacted(target.url)}): {exc}",
            )
        ) from exc


def _prepare_schema(pg: Any, schema: str, replace: bool) -> None:
    has_postgis = pg.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
    if has_postgis is None:
        raise WorkspaceError(
            message(
                "postgis.extension",
                "该数据库没有 PostGIS 扩展；请由数据库管理员执行 CREATE EXTENSION postgis。",
                "The database has no PostGIS extension; have its administrator run "
                "CREATE EXTENSION postgis.",
            )
        )
    held = pg.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
    ).fetchone()[0]
    if held and not replace:
        raise ConflictError(
            message(
                "postgis.schema_taken",
                f"schema “{schema}” 中已有 {held} 张表；要用这份工作空间替换它们，请加 "
                "--replace，或在地址中换一个 schema（?schema=...）。",
                f"Schema {schema!r} already holds {held} tables; pass --replace to replace "
                "them with this workspace, or name another schema (?schema=...).",
            )
        )
    if held:
        pg.execute(f"DROP SCHEMA {ident(schema)} CASCADE")
    pg.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")


def _copy_table(pg: Any, lite: sqlite3.Connection, schema: str, table: _Table) -> int:
    for sql in _create_sql(schema, table):
        pg.execute(sql)
    qualified = f"{ident(schema)}.{ident(table.name)}"
    cols = ", ".join(ident(c.name) for c in table.columns)
    count = 0
    with pg.cursor().copy(f"COPY {qualified} ({cols}) FROM STDIN") as copy:
        for batch in _rows(lite, table):
            for row in batch:
                copy.write_row(row)
            count += len(batch)
    if table.geometry is not None:
        for sql in _geometry_sql(schema, table):
            pg.execute(sql)
    return count


def _redacted(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
