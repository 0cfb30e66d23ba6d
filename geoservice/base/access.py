"""Access by role (Article 6): service users, bearer tokens and what each sees.

Design: ``docs/design.md#access-rules``.

Principals:

- ``office`` (镇林长办): everything;
- ``department`` (a department code of :data:`layers.codes.DEPARTMENTS`): the targets it
  leads or cooperates on, the problems copied to it, shared layers up to ``internal``;
- ``village`` (a village code of the ``villages`` layer): its own village's problems, which
  it may report as rectified; public layers;
- ``viewer``: public summaries and public layers only.

Users live in the ``service_users`` table of the workspace. A token is shown once, when the
user is added; only its SHA-256 is stored. Nothing here knows about HTTP: the API turns
:class:`~geoservice.base.errors.AuthenticationError` into 401 and
:class:`~geoservice.base.errors.PermissionDeniedError` into 403.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from geoservice.base.errors import (
    AuthenticationError,
    NotFoundError,
    OptionError,
    PermissionDeniedError,
    message,
)
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import CLASSIFICATIONS, Workspace, now_iso
from layers.codes import DEPARTMENTS

__all__ = [
    "ROLES",
    "Principal",
    "add_user",
    "authenticate",
    "list_users",
    "reissue_token",
    "revoke_user",
]

Role = Literal["office", "department", "village", "viewer"]
ROLES: tuple[str, ...] = ("office", "department", "village", "viewer")
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "office": ("镇林长办", "forest-chief office"),
    "department": ("部门", "department"),
    "village": ("村", "village"),
    "viewer": ("只读访客", "viewer"),
}
TOKEN_PREFIX = "gs_"
# Highest classification each role may read.
_CLEARANCE: dict[str, int] = {"office": 2, "department": 1, "village": 0, "viewer": 0}

_USERS_SQL = """
CREATE TABLE IF NOT EXISTS service_users (
  user_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, department TEXT,
  village_code TEXT, village_name TEXT, token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL, created_by TEXT NOT NULL, expires_at TEXT, revoked_at TEXT)
"""
_FIELDS = (
    "user_id, name, role, department, village_code, village_name, created_at, created_by, "
    "expires_at, revoked_at"
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a service user resolved from a token.

    Attributes
    ----------
    user_id, name : str
    role : {"office", "department", "village", "viewer"}
    department : str or None
        The department code of a ``department`` user.
    village_code, village_name : str or None
        The village of a ``village`` user.
    """

    user_id: str
    name: str
    role: str
    department: str | None = None
    village_code: str | None = None
    village_name: str | None = None

    @property
    def actor(self) -> str:
        """How the principal is written in history and audit rows, e.g. ``village:V03:张三``."""
        scope = self.department or self.village_code
        return f"{self.role}:{scope}:{self.name}" if scope else f"{self.role}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def can_read(self, classification: str) -> bool:
        """Whether a layer of this classification is visible (unknown counts as restricted)."""
        level = CLASSIFICATIONS.index(classification) if classification in CLASSIFICATIONS else 2
        return level <= _CLEARANCE.get(self.role, -1)

    def require(self, *roles: str) -> None:
        """PermissionDeniedError unless the principal has one of ``roles``."""
        if self.role in roles:
            return
        allowed = "、".join(ROLE_LABELS[r][0] for r in roles)
        raise PermissionDeniedError(
            message(
                "access.role",
                f"用户“{self.name}”的角色为{ROLE_LABELS[self.role][0]}，此操作仅限{allowed}；"
                "如确需此权限，请联系镇林长办。",
                f"User {self.name!r} has role {self.role!r}, but this action is only for "
                f"{', '.join(roles)}; ask the forest-chief office if you need it.",
            )
        )

    def target_mask(self, targets: pd.DataFrame) -> np.ndarray:
        """Which targets the principal may see: all for the office, lead or cooperating for
        a department, none for villages and viewers."""
        n = len(targets)
        if self.role == "office":
            return np.ones(n, dtype=bool)
        if self.role != "department" or n == 0:
            return np.zeros(n, dtype=bool)
        lead = targets["lead_department"].astype("string").fillna("") == self.department
        coop = _lists(targets["cooperating_departments"]).map(lambda xs: self.department in xs)
        return np.asarray(lead | coop.astype(bool), dtype=bool)

    def problem_mask(self, problems: pd.DataFrame) -> np.ndarray:
        """Which problems the principal may see: all for the office, those copied to a
        department, a village's own, none for viewers."""
        n = len(problems)
        if self.role == "office":
            return np.ones(n, dtype=bool)
        if self.role == "department" and n:
            copied = _lists(problems["cc_departments"]).map(lambda xs: self.department in xs)
            return np.asarray(copied.astype(bool), dtype=bool)
        if self.role == "village" and n:
            codes = problems["village_code"].astype("string").fillna("")
            return np.asarray(codes == (self.village_code or ""), dtype=bool)
        return np.zeros(n, dtype=bool)


def _lists(values: pd.Series) -> pd.Series:
    """Department lists stored as ``a;b`` or ``a,b`` text, as Python sets."""
    text = values.astype("string").fillna("")
    return text.str.replace(",", ";").str.split(";").map(lambda xs: {x.strip() for x in xs} - {""})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _users(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A read connection with a ``service_users`` table."""
    with ws.read_connection() as con:
        if _missing(con):
            # No user added yet: read from an empty table, leave the file untouched.
            con.execute(_USERS_SQL.replace("EXISTS service_users", "EXISTS temp.service_users"))
        yield con


def _ensure_users(con: sqlite3.Connection, _actor: str) -> None:
    """The schema step of a user change: the ``service_users`` table."""
    con.execute(_USERS_SQL)


def _missing(con: sqlite3.Connection) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'service_users'"
    ).fetchone()
    return row is None


def _check_role(role: str, department: str | None, village: str | None) -> None:
    if role not in ROLES:
        raise OptionError(
            message(
                "access.bad_role",
                f"角色为“{role}”，应为 {'、'.join(ROLES)} 之一；请检查 --role。",
                f"`role` was {role!r} but is expected to be one of {', '.join(ROLES)}; "
                "check --role.",
            )
        )
    if role == "department" and department not in DEPARTMENTS:
        known = ", ".join(DEPARTMENTS)
        raise OptionError(
            message(
                "access.bad_department",
                f"部门用户的部门代码为“{department or ''}”，应为以下之一：{known}；请用 --department 指定。",
                f"A department user needs --department, one of {known}; got {department!r}.",
            )
        )
    if role == "village" and not village:
        raise OptionError(
            message(
                "access.no_village",
                "村用户需要用 --village 指定村代码或村名。",
                "A village user needs --village with a village code or name.",
            )
        )
    if role not in ("department",) and department:
        raise OptionError(
            message(
                "access.stray_department",
                f"只有部门用户才有部门；角色为“{role}”时请去掉 --department。",
                f"Only department users have a department; drop --department for role {role!r}.",
            )
        )


def add_user(
    ws: Workspace,
    *,
    role: str,
    name: str,
    by: str,
    department: str | None = None,
    village: str | None = None,
    expires_days: int | None = None,
) -> tuple[Principal, str]:
    """Add a service user and return it with its bearer token (shown only this once).

    ``village`` is a village code or name of the workspace's ``villages`` layer;
    ``expires_days`` (optional) makes the token stop working after that many days.
    """
    from geoservice.base.villages import read_villages, resolve_village

    _check_role(role, department, village)
    if not name.strip():
        raise OptionError(
            message("access.no_name", "请用 --name 写明用户姓名。", "Give the user a --name.")
        )
    vcode = vname = None
    if role == "village":
        vcode, vname = resolve_village(str(village), read_villages(ws))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = Principal(
        user_id="u" + secrets.token_hex(4),
        name=name.strip(),
        role=role,
        department=department if role == "department" else None,
        village_code=vcode,
        village_name=vname,
    )
    expires = None
    if expires_days is not None:
        if expires_days <= 0:
            raise OptionError(
                message(
                    "access.bad_expiry",
                    f"有效天数为 {expires_days}，应为正整数。",
                    f"`expires_days` was {expires_days} but is expected to be a positive integer.",
                )
            )
        expires = (datetime.now(UTC) + timedelta(days=expires_days)).replace(microsecond=0)
    with ws.sql_transaction(by, schema=_ensure_users) as con:
        con.execute(
            "INSERT INTO service_users (user_id, name, role, department, village_code, "
            "village_name, token_hash, created_at, created_by, expires_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                user.user_id,
                user.name,
                user.role,
                user.department,
                user.village_code,
                user.village_name,
                hash_token(token),
                now_iso(),
                by,
                expires.isoformat() if expires else None,
            ),
        )
        _audit(con, by, "user.add", user.user_id, user.to_dict())
    return user, token


def _audit(con: sqlite3.Connection, by: str, action: str, target: str, detail: Any) -> None:
    audit(con, now_iso(), by, action, target, detail)


def _unauthenticated(zh: str, en: str, code: str = "access.bad_token") -> AuthenticationError:
    return AuthenticationError(message(code, zh, en))


def authenticate(ws: Workspace, token: str | None) -> Principal:
    """The principal holding ``token``; AuthenticationError when it is missing, unknown,
    revoked or expired (the message says which, without revealing whose it was)."""
    if not token:
        raise _unauthenticated(
            "未登录：请求没有携带令牌；请在请求头加 Authorization: Bearer <令牌>，或先登录。",
            "Not signed in: the request carries no token; send 'Authorization: Bearer "
            "<token>' or sign in first.",
            "access.no_token",
        )
    row = _token_holder(ws, hash_token(token))
    if row is None:
        raise _unauthenticated(
            "令牌无效：没有与之对应的用户；请向镇林长办索取新令牌。",
            "Invalid token: no user holds it; ask the forest-chief office for a new one.",
        )
    rec = dict(zip([f.strip() for f in _FIELDS.split(",")], row, strict=True))
    if rec["revoked_at"]:
        raise _unauthenticated(
            f"令牌已于 {rec['revoked_at']} 被注销；请向镇林长办索取新令牌。",
            f"This token was revoked at {rec['revoked_at']}; ask the forest-chief office for "
            "a new one.",
            "access.revoked",
        )
    if rec["expires_at"] and rec["expires_at"] <= now_iso():
        raise _unauthenticated(
            f"令牌已于 {rec['expires_at']} 过期；请向镇林长办索取新令牌。",
            f"This token expired at {rec['expires_at']}; ask the forest-chief office for a "
            "new one.",
            "access.expired",
        )
    return Principal(
        user_id=rec["user_id"],
        name=rec["name"],
        role=rec["role"],
        department=rec["department"],
        village_code=rec["village_code"],
        village_name=rec["village_name"],
    )


def _token_holder(ws: Workspace, token_hash: str) -> tuple[Any, ...] | None:
    """The ``service_users`` row holding ``token_hash``; None when none does, or before the
    first user is added (the file is left untouched). One lookup by the unique index, on a
    connection of its own: every request sees the table as it is now."""
    sql = f"SELECT {_FIELDS} FROM service_users WHERE token_hash = ?"
    with ws.read_connection() as con:
        try:
            rows = con.execute(sql, (token_hash,)).fetchall()
        except sqlite3.OperationalError:
            if _missing(con):  # no user added yet
                return None
            raise
    return tuple(rows[0]) if rows else None


def list_users(ws: Workspace) -> pd.DataFrame:
    """The service users (never their token hashes), oldest first."""
    with _users(ws) as con:
        return pd.read_sql_query(
            f"SELECT {_FIELDS} FROM service_users ORDER BY created_at, user_id", con
        )


def revoke_user(ws: Workspace, user_id: str, by: str) -> None:
    """Revoke a user's token at once; NotFoundError naming the id when there is none."""
    with ws.sql_transaction(by, schema=_ensure_users) as con:
        cur = con.execute(
            "UPDATE service_users SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            (now_iso(), user_id),
        )
        if cur.rowcount != 1:
            known = [r[0] for r in con.execute("SELECT user_id FROM service_users")]
            raise NotFoundError(
                message(
                    "access.no_user",
                    f"没有编号为“{user_id}”的有效用户；现有用户：{'、'.join(known) or '无'}。",
                    f"There is no active user {user_id!r}; users: {', '.join(known) or 'none'}.",
                )
            )
        _audit(con, by, "user.revoke", user_id, {"user_id": user_id})


def reissue_token(ws: Workspace, who: str, by: str) -> tuple[Principal, str]:
    """A new bearer token for the active user ``who`` (user id, or a name only one active
    user has); the old token stops working at once. Only hashes are stored, so a lost
    token can never be shown again: it is replaced.

    Raises
    ------
    NotFoundError
        No active user has that id or name (the message lists the active users).
    OptionError
        Several active users have that name (the message lists their ids).
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.sql_transaction(by, schema=_ensure_users) as con:
        active = con.execute(
            f"SELECT {_FIELDS} FROM service_users WHERE revoked_at IS NULL "
            "AND (user_id = ? OR name = ?) ORDER BY user_id = ? DESC",
            (who, who.strip(), who),
        ).fetchall()
        rec = _one_user(con, who, active)
        con.execute(
            "UPDATE service_users SET token_hash = ? WHERE user_id = ?",
            (hash_token(token), rec["user_id"]),
        )
        _audit(con, by, "user.reissue", rec["user_id"], {"user_id": rec["user_id"]})
    fields = ("user_id", "name", "role", "department", "village_code", "village_name")
    return Principal(**{k: rec[k] for k in fields}), token


def _one_user(con: sqlite3.Connection, who: str, rows: list[Any]) -> dict[str, Any]:
    names = [f.strip() for f in _FIELDS.split(",")]
    found = [dict(zip(names, row, strict=True)) for row in rows]
    if found and (found[0]["user_id"] == who or len(found) == 1):
        return found[0]
    if found:
        ids = ", ".join(r["user_id"] for r in found)
        raise OptionError(
            message(
                "access.ambiguous_user",
                f"有 {len(found)} 个有效用户名为“{who}”（{ids}）；请改用用户编号。",
                f"{len(found)} active users are named {who!r} ({ids}); give the user id.",
            )
        )
    known = [
        f"{r[0]} {r[1]}"
        for r in con.execute(
            "SELECT user_id, name FROM service_users WHERE revoked_at IS NULL ORDER BY user_id"
        )
    ]
    raise NotFoundError(
        message(
            "access.no_user",
            f"没有编号或姓名为“{who}”的有效用户；现有用户：{'、'.join(known) or '无'}。",
            f"There is no active user with id or name {who!r}; users: "
            f"{', '.join(known) or 'none'}.",
        )
    )


def visible_layers(principal: Principal, entries: Iterable[Any]) -> list[Any]:
    """Catalog entries (with a ``classification``) the principal may read."""
    return [e for e in entries if principal.can_read(e.classification)]
