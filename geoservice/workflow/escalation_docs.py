"""Escalation documents: which are due at a date, their numbers, and the record of issue.

Design: ``docs/design.md#workflow-states`` (Article 7). An open problem overdue by the days
of :mod:`geoservice.workflow.escalation` reaches a level; the three top levels each call
for a document to the problem's village:

- ``letter``: 提醒函 (reminder letter);
- ``supervision``: 督办函 (supervision letter);
- ``listed``: 挂牌督办通知书 (listed-supervision notice).

Change patches (森林督查图斑) whose stage is overdue reach the same levels
(:func:`geoservice.workflow.patch_store.read_patch_states`, column ``level``) and are
covered by the same documents.

:func:`issue_documents` issues, at an as-of date, one document per addressee village and
level covering every item (problem or patch) of that village due at that level. An item
already covered by an issued document of the same or a higher level is not covered again,
so a second run at the same date issues nothing; an item that has reached a higher level
since is covered by a document of that level. Each document is numbered by the town's
pattern (:mod:`geoservice.workflow.document_numbers`) and recorded in one write
transaction with its number allocation, its items, a history row of each problem (and an
event of each patch) and an audit row.

Tables (plain tables of the workspace, listed in ``gpkg_contents``):

- ``escalation_documents``: number, level, year, seq, village_code, village_name,
  issued_by, issued_at (UTC, ISO 8601), as_of (the document's date), reply_by,
  cc_departments (comma-joined codes);
- ``escalation_items``: number, kind (``problem`` or ``patch``), item_id, level,
  days_overdue, deadline, category, description, status (the item's state when issued),
  area_ha (patches);
- ``escalation_sequences``: the last sequence number used per year and sequence scope.
"""

from __future__ import annotations

import contextlib
import difflib
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pandas as pd

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, message
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import create_listed, has_table
from geoservice.workflow.document_numbers import (
    DOCUMENT_LEVELS,
    DocumentRules,
    NumberAllocator,
    load_document_rules,
)
from geoservice.workflow.escalation import LEVELS, Thresholds, escalate
from geoservice.workflow.escalation_patches import (
    ITEM_COLUMNS,
    patch_items,
    record_patch_events,
)
from geoservice.workflow.store import append_history, ensure_workflow
from layers.codes import DEPARTMENTS
from layers.messages import Lang, pick

__all__ = [
    "DOCUMENT_TITLES",
    "ITEM_COLUMNS",
    "document_title",
    "documents_version",
    "due_items",
    "issue_documents",
    "list_documents",
    "read_document",
]

DOCUMENT_TITLES: dict[str, tuple[str, str]] = {
    "letter": ("提醒函", "Reminder letter"),
    "supervision": ("督办函", "Supervision letter"),
    "listed": ("挂牌督办通知书", "Listed-supervision notice"),
}
_DOC_FIELDS = (
    "number, level, year, seq, village_code, village_name, issued_by, issued_at, as_of, "
    "reply_by, cc_departments"
)
_ITEM_FIELDS = (
    "number, kind, item_id, level, days_overdue, deadline, category, description, status, area_ha"
)
_TABLES = (
    (
        "escalation_documents",
        """CREATE TABLE IF NOT EXISTS escalation_documents (
  number TEXT PRIMARY KEY, level TEXT NOT NULL, year INTEGER NOT NULL, seq INTEGER NOT NULL,
  village_code TEXT NOT NULL, village_name TEXT NOT NULL, issued_by TEXT NOT NULL,
  issued_at TEXT NOT NULL, as_of TEXT NOT NULL, reply_by TEXT NOT NULL,
  cc_departments TEXT NOT NULL)""",
        "督办文书 escalation documents",
    ),
    (
        "escalation_items",
        """CREATE TABLE IF NOT EXISTS escalation_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  number TEXT NOT NULL REFERENCES escalation_documents (number),
  kind TEXT NOT NULL CHECK (kind IN ('problem', 'patch')), item_id TEXT NOT NULL,
  level TEXT NOT NULL, days_overdue INTEGER NOT NULL, deadline TEXT, category TEXT,
  description TEXT, status TEXT, area_ha REAL, UNIQUE (number, kind, item_id))""",
        "督办文书事项 escalation document items",
    ),
    (
        "escalation_sequences",
        """CREATE TABLE IF NOT EXISTS escalation_sequences (
  year INTEGER NOT NULL, scope TEXT NOT NULL, last_seq INTEGER NOT NULL,
  PRIMARY KEY (year, scope))""",
        "督办文书编号 escalation document numbers",
    ),
)
_ITEM_INDEX = "CREATE INDEX IF NOT EXISTS escalation_items_item ON escalation_items (kind, item_id)"


def document_title(level: str, lang: Lang = "zh") -> str:
    """提醒函 / 督办函 / 挂牌督办通知书 (or the English title)."""
    return pick(lang, *DOCUMENT_TITLES.get(level, (level, level)))


def _ensure(con: sqlite3.Connection, actor: str) -> None:
    """The workflow tables (problem history) and the document tables."""
    ensure_workflow(con, actor)
    create_listed(con, _TABLES)
    con.execute(_ITEM_INDEX)


# --- what is due ------------------------------------------------------------------------


def _codes(text: Any) -> list[str]:
    if text is None or pd.isna(text):
        return []
    return [c.strip() for c in str(text).replace(";", ",").split(",") if c.strip()]


def _problems_due(con: sqlite3.Connection, as_of: date, th: Thresholds | None) -> pd.DataFrame:
    """Open problems at a document level at ``as_of``, read on ``con`` (no GDAL)."""
    if not has_table(con, "problems"):
        return pd.DataFrame(columns=ITEM_COLUMNS)
    frame = pd.read_sql_query(
        "SELECT problem_id, village_code, village_name, category, description, deadline, "
        "status, cc_departments FROM problems",
        con,
    )
    frame["deadline"] = pd.to_datetime(frame["deadline"], errors="coerce").dt.normalize()
    esc = escalate(frame, as_of, th)
    due = esc["escalation"].isin(DOCUMENT_LEVELS)
    rows, esc = frame.loc[due], esc.loc[due]
    return pd.DataFrame(
        {
            "kind": "problem",
            "item_id": rows["problem_id"].astype(str),
            "village_code": rows["village_code"],
            "village_name": rows["village_name"],
            "level": esc["escalation"],
            "days_overdue": esc["days_overdue"].astype("int64"),
            "deadline": rows["deadline"].dt.strftime("%Y-%m-%d"),
            "category": rows["category"],
            "description": rows["description"],
            "status": rows["status"],
            "area_ha": float("nan"),
            "cc_departments": rows["cc_departments"].map(_codes),
        },
        columns=ITEM_COLUMNS,
    )


def _covered(con: sqlite3.Connection) -> pd.Series:
    """The highest level each (kind, item_id) was issued at, as a LEVELS index."""
    if not has_table(con, "escalation_items"):
        return pd.Series(dtype="int64")
    rows = pd.read_sql_query("SELECT kind, item_id, level FROM escalation_items", con)
    rank = rows["level"].map(LEVELS.index).astype("int64")
    return rank.groupby([rows["kind"], rows["item_id"]]).max()


def _uncovered(con: sqlite3.Connection, due: pd.DataFrame) -> pd.DataFrame:
    """The due items not covered by a document of their level or a higher one."""
    if due.empty:
        return due
    covered = _covered(con)
    key = pd.MultiIndex.from_arrays([due["kind"], due["item_id"]])
    before = covered.reindex(key).fillna(-1).to_numpy()
    now = due["level"].map(LEVELS.index).to_numpy()
    return due.loc[now > before]


def _due(
    con: sqlite3.Connection, as_of: date, th: Thresholds | None, patches: pd.DataFrame
) -> pd.DataFrame:
    parts = [f for f in (_problems_due(con, as_of, th), patches) if len(f)]
    if not parts:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    due = pd.concat(parts, ignore_index=True)
    for col in ("village_code", "village_name"):
        due[col] = due[col].astype("string").fillna("").str.strip()
    return _uncovered(con, due).reset_index(drop=True)


def due_items(ws: Workspace, as_of: date, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """The problems and patches due for a document at ``as_of`` and not yet covered.

    Returns
    -------
    pandas.DataFrame
        :data:`ITEM_COLUMNS`, one row per item: ``level`` is the document level it calls
        for (``letter``, ``supervision``, ``listed``), ``cc_departments`` a list of codes.
    """
    patches = patch_items(ws, as_of)
    with _read(ws) as con:
        return _due(con, as_of, thresholds, patches)


@contextlib.contextmanager
def _read(ws: Workspace) -> Iterator[sqlite3.Connection]:
    with ws.read_connection() as con:
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("ROLLBACK")


# --- documents --------------------------------------------------------------------------


def _cc(lists: pd.Series) -> list[str]:
    codes = {c for items in lists for c in items}
    order = list(DEPARTMENTS)
    return sorted(codes, key=lambda c: (order.index(c) if c in order else len(order), c))


def _documents(
    due: pd.DataFrame, as_of: date, actor: str, numbers: NumberAllocator, at: str
) -> list[dict[str, Any]]:
    """One document per (level, village) of ``due``: lowest level first, then by village."""
    rules = numbers.rules
    due = due.assign(
        _rank=due["level"].map(LEVELS.index),
        _kind=due["kind"].map({"problem": 0, "patch": 1}),
    ).sort_values(
        ["_rank", "village_code", "village_name", "_kind", "days_overdue", "item_id"],
        ascending=[True, True, True, True, False, True],
    )
    docs = []
    for (level, code, name), rows in due.groupby(
        ["level", "village_code", "village_name"], sort=False
    ):
        number, seq = numbers.next(str(level), as_of.year)
        items = rows[ITEM_COLUMNS[:-1]].drop(columns=["village_code", "village_name"])
        docs.append(
            {
                "number": number,
                "level": str(level),
                "year": as_of.year,
                "seq": seq,
                "village_code": str(code),
                "village_name": str(name),
                "issued_by": actor,
                "issued_at": at,
                "as_of": as_of.isoformat(),
                "reply_by": (as_of + timedelta(days=rules.reply_days[str(level)])).isoformat(),
                "cc_departments": _cc(rows["cc_departments"]),
                "items": _item_records(items.assign(number=number)),
            }
        )
    return docs


def _item_records(items: pd.DataFrame) -> list[dict[str, Any]]:
    clean = items.astype(object).where(items.notna(), None)
    records = clean.to_dict("records")
    for r in records:
        r["days_overdue"] = int(r["days_overdue"])
        r["area_ha"] = None if r["area_ha"] is None else float(r["area_ha"])
    return records


def _record(con: sqlite3.Connection, doc: dict[str, Any], actor: str) -> None:
    """Store one document, its items, the problems' history rows, the patches' events and
    the audit row (inside the caller's transaction)."""
    row = {**doc, "cc_departments": ",".join(doc["cc_departments"])}
    con.execute(
        f"INSERT INTO escalation_documents ({_DOC_FIELDS}) VALUES ({','.join('?' * 11)})",
        tuple(row[k.strip()] for k in _DOC_FIELDS.split(",")),
    )
    fields = [k.strip() for k in _ITEM_FIELDS.split(",")]
    con.executemany(
        f"INSERT INTO escalation_items ({_ITEM_FIELDS}) VALUES ({','.join('?' * len(fields))})",
        [tuple(item[k] for k in fields) for item in doc["items"]],
    )
    title = document_title(doc["level"])
    problems = [i for i in doc["items"] if i["kind"] == "problem"]
    for item in problems:
        status, version = con.execute(
            "SELECT status, version FROM problems WHERE problem_id = ?", (item["item_id"],)
        ).fetchone()
        note = f"已发{title} {doc['number']}（逾期 {item['days_overdue']} 天）"
        append_history(
            con, item["item_id"], doc["issued_at"], actor, None, status, note, [], version
        )
    record_patch_events(con, doc, title, actor)
    detail = {
        "level": doc["level"],
        "village_code": doc["village_code"],
        "as_of": doc["as_of"],
        "items": [f"{i['kind']}:{i['item_id']}" for i in doc["items"]],
    }
    audit(con, doc["issued_at"], actor, "escalation.issue", doc["number"], detail)


def _check_day(as_of: date, rules: DocumentRules) -> None:
    """OptionError when a reply date counted from ``as_of`` would pass the calendar's end."""
    last = date.max - timedelta(days=max(rules.reply_days.values()))
    if as_of > last:
        raise OptionError(
            message(
                "escalations.bad_as_of",
                f"as_of 为 {as_of}，晚于可签发文书的最后日期 {last}（回复期限须在日历范围内）；"
                "请给出实际的评估日期。",
                f"`as_of` was {as_of} but is expected to be on or before {last} (the reply "
                "date must fall within the calendar); give the real evaluation date.",
            )
        )


def issue_documents(
    ws: Workspace,
    as_of: date,
    actor: str,
    *,
    dry_run: bool = False,
    thresholds: Thresholds | None = None,
    rules: DocumentRules | None = None,
) -> list[dict[str, Any]]:
    """Issue the documents due at ``as_of`` (see the module docstring).

    Parameters
    ----------
    ws : Workspace
    as_of : datetime.date
        The evaluation date; also the documents' date and the year of their numbers.
    actor : str
        Who issues them (stored on each document, in the history and the audit log).
    dry_run : bool
        Only say what would be issued, with the numbers it would take; nothing is written.
    thresholds, rules : optional
        Escalation thresholds and numbering rules (the packaged ``workflow.yaml``).

    Returns
    -------
    list of dict
        The documents issued (or that would be), in number order: the columns of
        ``escalation_documents`` (``cc_departments`` a list) and ``items``, a list of
        their ``escalation_items`` rows. Empty when nothing new is due.
    """
    rules = rules or load_document_rules()
    _check_day(as_of, rules)
    patches = patch_items(ws, as_of)
    if dry_run:
        with _read(ws) as con:
            due = _due(con, as_of, thresholds, patches)
            return _documents(due, as_of, actor, NumberAllocator(con, rules, False), now_iso())
    with ws.sql_transaction(actor, schema=_ensure) as con:
        due = _due(con, as_of, thresholds, patches)
        docs = _documents(due, as_of, actor, NumberAllocator(con, rules, True), now_iso())
        for doc in docs:
            _record(con, doc, actor)
    return docs


# --- reading ----------------------------------------------------------------------------


def _in_scope(frame: pd.DataFrame, principal: Principal | None) -> pd.DataFrame:
    """The documents ``principal`` may read: the office (and the command line, None) all;
    a village those addressed to it; a department those it is copied on; nobody else any."""
    if principal is None or principal.role == "office":
        return frame
    if principal.role == "village" and principal.village_code:
        return frame[frame["village_code"] == principal.village_code]
    if principal.role == "department":
        dept = principal.department or ""
        return frame[frame["cc_departments"].map(lambda codes: dept in codes)]
    return frame.iloc[0:0]


def _documents_frame(con: sqlite3.Connection) -> pd.DataFrame:
    if not has_table(con, "escalation_documents"):
        frame = pd.DataFrame(columns=[k.strip() for k in _DOC_FIELDS.split(",")])
    else:
        frame = pd.read_sql_query(
            f"SELECT {_DOC_FIELDS}, (SELECT count(*) FROM escalation_items i "
            "WHERE i.number = d.number) AS items FROM escalation_documents d "
            "ORDER BY as_of DESC, issued_at DESC, year DESC, level, seq DESC",
            con,
        )
    frame["cc_departments"] = frame["cc_departments"].map(_codes)
    return frame


def list_documents(
    ws: Workspace, principal: Principal | None = None, *, village: str | None = None
) -> pd.DataFrame:
    """The issued documents ``principal`` may read, newest first (``items``: how many).

    ``village`` keeps those addressed to one village (code or name).
    """
    with _read(ws) as con:
        frame = _in_scope(_documents_frame(con), principal)
    if village:
        frame = frame[(frame["village_code"] == village) | (frame["village_name"] == village)]
    return frame.reset_index(drop=True)


def read_document(ws: Workspace, number: str, principal: Principal | None = None) -> dict[str, Any]:
    """One issued document with its items.

    Raises
    ------
    NotFoundError
        Naming ``number`` when there is no such document in the caller's scope.
    """
    with _read(ws) as con:
        frame = _in_scope(_documents_frame(con), principal)
        found = frame[frame["number"] == number]
        if found.empty:
            raise _not_found(number, frame["number"].astype(str).tolist())
        items = pd.read_sql_query(
            f"SELECT {_ITEM_FIELDS} FROM escalation_items WHERE number = ? ORDER BY id",
            con,
            params=(number,),
        )
    doc = found.drop(columns=["items"]).iloc[0].to_dict()
    doc["year"], doc["seq"] = int(doc["year"]), int(doc["seq"])
    doc["items"] = _item_records(items)
    return doc


def documents_version(ws: Workspace) -> tuple[Any, ...]:
    """What changes whenever a document is issued (documents are never changed in place):
    their count and the latest issue time; for a list's ETag."""
    with _read(ws) as con:
        if not has_table(con, "escalation_documents"):
            return (0, None)
        row = con.execute("SELECT count(*), max(issued_at) FROM escalation_documents").fetchone()
    return tuple(row)


def _not_found(number: str, known: list[str]) -> NotFoundError:
    close = difflib.get_close_matches(number, known, n=3, cutoff=0.6)
    hint_zh = (
        f"相近的编号：{'、'.join(close)}。" if close else "请用 geoservice escalations list 查看。"
    )
    hint_en = (
        f" Close numbers: {', '.join(close)}." if close else " See 'geoservice escalations list'."
    )
    return NotFoundError(
        message(
            "escalations.no_document",
            f"没有编号为“{number}”的督办文书；{hint_zh}",
            f"There is no escalation document numbered {number!r}.{hint_en}",
        )
    )
