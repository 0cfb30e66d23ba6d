"""Each department's ledger (Art. 9): what it did, and its own account of a period.

Two tables in the workspace, listed in ``gpkg_contents`` so QGIS shows them:

- ``department_entries``: one row per action a department records: ``department`` (a code
  of :data:`layers.codes.DEPARTMENTS`), ``kind`` (:data:`ENTRY_KINDS`: 联合核查, 巡查检查,
  执法行动, 宣传, 其他), the object it concerns (``object_kind`` problem, patch, target or
  none, and ``object_id``), ``acted_on`` (date), ``people`` deployed, ``note``, ``photos``
  (stored photo names, JSON list), ``created_by``, ``created_at``. Entries are only
  appended.
- ``department_statements``: the department's own 履职 text for a reporting period
  (``period_start``, ``period_end``, both days included), one per department and period,
  with a ``version`` that every change raises; a change names the version it was based on
  and is refused when another came first (:class:`~geoservice.base.errors.StaleVersionError`).

Enforcement targets' action records (``target_actions``,
:mod:`geoservice.workflow.target_store`) are a department's actions too; they are read
here (:func:`read_target_actions`) and counted beside the entries, never copied into them.

Every write is one transaction on the workspace file with its audit row
(:meth:`~geoservice.base.workspace.Workspace.sql_transaction`). Who may record what is
decided in :mod:`geoservice.workflow.ledger_access`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from geoservice.base.errors import (
    NotFoundError,
    OptionError,
    PreconditionRequiredError,
    StaleVersionError,
    message,
)
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import create_listed, ensure_tables, has_table
from geoservice.workflow.ledger_periods import parse_period, period_key
from layers.codes import DEPARTMENTS, department_codes

__all__ = [
    "ENTRY_COLUMNS",
    "ENTRY_KINDS",
    "OBJECT_KINDS",
    "STATEMENT_COLUMNS",
    "TARGET_ACTION_COLUMNS",
    "add_entry",
    "check_department",
    "ensure_ledger",
    "ledger_version",
    "parse_period",
    "period_key",
    "put_statement",
    "read_entries",
    "read_statement",
    "read_statements",
    "read_target_actions",
]

ENTRY_KINDS: dict[str, tuple[str, str]] = {
    "co_verification": ("联合核查", "joint verification"),
    "inspection": ("巡查检查", "inspection"),
    "enforcement": ("执法行动", "enforcement action"),
    "publicity": ("宣传", "publicity"),
    "other": ("其他", "other"),
}
OBJECT_KINDS: dict[str, tuple[str, str]] = {
    "problem": ("督查问题", "problem"),
    "patch": ("变化图斑", "change patch"),
    "target": ("执法目标", "target"),
    "none": ("无", "none"),
}
ENTRY_COLUMNS = [
    "entry_id",
    "department",
    "kind",
    "object_kind",
    "object_id",
    "acted_on",
    "people",
    "note",
    "photos",
    "created_by",
    "created_at",
]
STATEMENT_COLUMNS = [
    "department",
    "period_start",
    "period_end",
    "text",
    "version",
    "updated_by",
    "updated_at",
    "created_by",
    "created_at",
]
TARGET_ACTION_COLUMNS = ["id", "target_id", "department", "acted_on", "action", "people"]
TARGET_ACTION_COLUMNS += ["note", "photos", "at", "by"]
_TABLES = (
    (
        "department_entries",
        "CREATE TABLE IF NOT EXISTS department_entries (entry_id INTEGER PRIMARY KEY "
        "AUTOINCREMENT, department TEXT NOT NULL, kind TEXT NOT NULL, object_kind TEXT NOT "
        "NULL, object_id TEXT, acted_on TEXT NOT NULL, people INTEGER, note TEXT, photos TEXT "
        "NOT NULL DEFAULT '[]', created_by TEXT NOT NULL, created_at TEXT NOT NULL)",
        "部门履职台账 department ledger",
    ),
    (
        "department_statements",
        "CREATE TABLE IF NOT EXISTS department_statements (department TEXT NOT NULL, "
        "period_start TEXT NOT NULL, period_end TEXT NOT NULL, text TEXT NOT NULL, version "
        "INTEGER NOT NULL, updated_by TEXT NOT NULL, updated_at TEXT NOT NULL, created_by "
        "TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (department, period_start, "
        "period_end))",
        "部门履职情况自述 department statements",
    ),
)
_INDEX = (
    "CREATE INDEX IF NOT EXISTS department_entries_day ON department_entries (department, acted_on)"
)


def ensure_ledger(con: sqlite3.Connection, _actor: str = "system") -> None:
    """Create the ledger tables (a ``schema`` step of ``Workspace.sql_transaction``)."""
    ensure_tables(con)
    create_listed(con, _TABLES)
    con.execute(_INDEX)


# --- values -----------------------------------------------------------------------------


def check_department(text: str) -> str:
    """The department code of ``text`` (a code or a name); NotFoundError listing the codes."""
    value = text.strip()
    if value in DEPARTMENTS:
        return value
    codes, unknown = department_codes(pd.Series([value], dtype="string"))
    code = codes.iloc[0]
    if unknown or pd.isna(code) or "," in str(code):
        raise NotFoundError(
            message(
                "departments.unknown",
                f"没有部门“{text}”；应为部门代码或名称之一：{'、'.join(DEPARTMENTS)}。",
                f"There is no department {text!r}; use one of the department codes or names: "
                f"{', '.join(DEPARTMENTS)}.",
            )
        )
    return str(code)


# --- entries ----------------------------------------------------------------------------


def ledger_version(ws: Workspace) -> tuple[Any, ...]:
    """What changes whenever a ledger page can (entries and target action records are only
    appended): their counts and largest ids, for a list's ETag."""
    out: list[Any] = []
    with ws.read_connection() as con:
        for table, key in (("department_entries", "entry_id"), ("target_actions", "id")):
            if has_table(con, table):
                out.append(
                    tuple(con.execute(f"SELECT count(*), max({key}) FROM {table}").fetchone())
                )
            else:
                out.append(("absent",))
    return tuple(out)


def _frame(
    ws: Workspace, table: str, sql: str, params: Sequence[Any], cols: list[str]
) -> pd.DataFrame:
    with ws.read_connection() as con:
        if not has_table(con, table):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        frame = pd.read_sql_query(sql, con, params=list(params))
    return frame


def _where(
    department: str | None, first: date | None, last: date | None, day: str
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if department is not None:
        clauses.append("department = ?")
        params.append(department)
    if first is not None:
        clauses.append(f"substr({day}, 1, 10) >= ?")
        params.append(first.isoformat())
    if last is not None:
        clauses.append(f"substr({day}, 1, 10) <= ?")
        params.append(last.isoformat())
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _with_photos(
    ws: Workspace, table: str, columns: list[str], where: tuple[str, list[Any]], order: str
) -> pd.DataFrame:
    """The ``columns`` of ``table``'s rows that ``where`` selects, ordered by ``order``,
    with ``photos`` read from its JSON text into a list."""
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM {table}{where[0]} ORDER BY {order}"
    frame = _frame(ws, table, sql, where[1], columns)
    frame["photos"] = frame["photos"].map(lambda s: json.loads(s) if s else [])
    return frame


def read_entries(
    ws: Workspace,
    department: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """Ledger entries (:data:`ENTRY_COLUMNS`) of one department or all, acted on within
    ``[first, last]`` (either bound optional), in entry order; ``photos`` a list."""
    where = _where(department, first, last, "acted_on")
    return _with_photos(ws, "department_entries", ENTRY_COLUMNS, where, "entry_id")


def read_target_actions(
    ws: Workspace,
    department: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """Enforcement targets' action records (:data:`TARGET_ACTION_COLUMNS`) of one
    department or all, acted on within ``[first, last]``, in record order; ``photos`` a
    list."""
    where = _where(department, first, last, "acted_on")
    return _with_photos(ws, "target_actions", TARGET_ACTION_COLUMNS, where, "id")


def add_entry(
    ws: Workspace,
    by: str,
    *,
    department: str,
    kind: str,
    object_kind: str,
    object_id: str | None,
    acted_on: date,
    people: int | None = None,
    note: str | None = None,
    photos: Sequence[str] = (),
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one ledger entry with its audit row, in one transaction.

    The values are stored as given: ``department``, ``kind``, ``object_kind`` and the
    object are checked by the caller (:func:`geoservice.workflow.ledger_access.record_entry`).

    Returns
    -------
    dict
        The stored entry (:data:`ENTRY_COLUMNS`, ``photos`` a list).
    """
    record: dict[str, Any] = {
        "department": department,
        "kind": kind,
        "object_kind": object_kind,
        "object_id": object_id,
        "acted_on": acted_on.isoformat(),
        "people": people,
        "note": note,
        "photos": list(photos),
        "created_by": by,
    }
    with ws.sql_transaction(by, schema=ensure_ledger) as con:
        record["created_at"] = now_iso()
        stored = {**record, "photos": json.dumps(record["photos"], ensure_ascii=False)}
        cur = con.execute(
            f"INSERT INTO department_entries ({', '.join(stored)}) "
            f"VALUES ({', '.join('?' * len(stored))})",
            tuple(stored.values()),
        )
        record = {"entry_id": int(cur.lastrowid or 0), **record}
        audit(
            con,
            record["created_at"],
            by,
            "department.entry",
            department,
            {**(context or {}), **record},
        )
    return {c: record[c] for c in ENTRY_COLUMNS}


# --- statements -------------------------------------------------------------------------


def read_statements(
    ws: Workspace,
    department: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> pd.DataFrame:
    """Statements (:data:`STATEMENT_COLUMNS`) of one department or all whose period
    overlaps ``[first, last]`` (either bound optional), by department then period."""
    clauses, params = [], []
    if department is not None:
        clauses.append("department = ?")
        params.append(department)
    if last is not None:
        clauses.append("period_start <= ?")
        params.append(last.isoformat())
    if first is not None:
        clauses.append("period_end >= ?")
        params.append(first.isoformat())
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    cols = ", ".join(f'"{c}"' for c in STATEMENT_COLUMNS)
    sql = f"SELECT {cols} FROM department_statements{where} ORDER BY department, period_start, period_end"
    return _frame(ws, "department_statements", sql, params, STATEMENT_COLUMNS)


def _statement_row(con: sqlite3.Connection, key: tuple[str, str, str]) -> dict[str, Any] | None:
    cols = ", ".join(f'"{c}"' for c in STATEMENT_COLUMNS)
    row = con.execute(
        f"SELECT {cols} FROM department_statements WHERE department = ? AND period_start = ? "
        "AND period_end = ?",
        key,
    ).fetchone()
    return None if row is None else dict(zip(STATEMENT_COLUMNS, row, strict=True))


def read_statement(
    ws: Workspace, department: str, first: date, last: date
) -> dict[str, Any] | None:
    """The department's statement of exactly the period ``[first, last]``; None if none."""
    with ws.read_connection() as con:
        if not has_table(con, "department_statements"):
            return None
        return _statement_row(con, (department, first.isoformat(), last.isoformat()))


def _no_statement_text(department: str, first: date, last: date) -> OptionError:
    return OptionError(
        message(
            "departments.no_text",
            f"{department} 在 {first} 至 {last} 的履职情况为空；请写明本期做了什么、成效、"
            "存在问题和建议。",
            f"The statement of {department} for {first} to {last} is empty; write what the "
            "department did in the period, the results, the problems and suggestions.",
        )
    )


def _stale(
    department: str, period: str, expected: int, row: Mapping[str, Any] | None
) -> StaleVersionError:
    if row is None:
        return StaleVersionError(
            message(
                "departments.statement_stale",
                f"{department} 在 {period} 还没有履职情况，你基于第 {expected} 版；未做任何修改。"
                "新建时请不要给出版本号。",
                f"{department} has no statement for {period} yet, but you expected version "
                f"{expected}; nothing was changed. Create it without a version.",
            )
        )
    return StaleVersionError(
        message(
            "departments.statement_stale",
            f"{department} 在 {period} 的履职情况已被修改：你基于第 {expected} 版，当前为第 "
            f"{row['version']} 版（最后由 {row['updated_by']} 于 {row['updated_at']} 修改）；"
            "未做任何修改。请重新读取后基于最新版本重试。",
            f"The statement of {department} for {period} has changed: you expected version "
            f"{expected} but it is at version {row['version']} (last changed by "
            f"{row['updated_by']} at {row['updated_at']}); nothing was changed. Read it again "
            "and retry from the current version.",
        )
    )


def _version_needed(
    department: str, period: str, row: Mapping[str, Any]
) -> PreconditionRequiredError:
    return PreconditionRequiredError(
        message(
            "departments.statement_version",
            f"{department} 在 {period} 已有履职情况（第 {row['version']} 版）；修改时请给出所基于的"
            "版本号，以免覆盖别人的修改。",
            f"{department} already has a statement for {period} (version {row['version']}); "
            "give the version your change is based on, so no one else's change is overwritten.",
        )
    )


def put_statement(
    ws: Workspace,
    department: str,
    first: date,
    last: date,
    text: str,
    by: str,
    *,
    expected_version: int | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the department's statement of the period ``[first, last]``.

    A new statement is version 1 (``expected_version`` None or 0); changing one needs the
    version it was based on and raises the version by one.

    Raises
    ------
    OptionError
        Empty text.
    PreconditionRequiredError
        A statement exists and no ``expected_version`` was given.
    StaleVersionError
        ``expected_version`` is not the current one (or names one that does not exist).
    """
    body = text.strip()
    if not body:
        raise _no_statement_text(department, first, last)
    key = (department, first.isoformat(), last.isoformat())
    period = period_key(first, last)
    with ws.sql_transaction(by, schema=ensure_ledger) as con:
        at = now_iso()
        row = _statement_row(con, key)
        if row is None and expected_version:
            raise _stale(department, period, expected_version, None)
        if row is not None and expected_version is None:
            raise _version_needed(department, period, row)
        if row is None:
            con.execute(
                f"INSERT INTO department_statements ({', '.join(STATEMENT_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(STATEMENT_COLUMNS))})",
                (*key, body, 1, by, at, by, at),
            )
        else:
            cur = con.execute(
                "UPDATE department_statements SET text = ?, version = version + 1, "
                "updated_by = ?, updated_at = ? WHERE department = ? AND period_start = ? "
                "AND period_end = ? AND version = ?",
                (body, by, at, *key, expected_version),
            )
            if cur.rowcount != 1:
                raise _stale(department, period, int(expected_version or 0), row)
        stored = _statement_row(con, key)
        assert stored is not None
        audit(con, at, by, "department.statement", department, {**(context or {}), **stored})
    return stored
