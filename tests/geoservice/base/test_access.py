"""Access by role (Article 6): users and tokens, authentication, what each role sees."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geoservice.base.access import (
    Principal,
    add_user,
    authenticate,
    list_users,
    revoke_user,
    visible_layers,
)
from geoservice.base.errors import (
    AuthenticationError,
    NotFoundError,
    OptionError,
    PermissionDeniedError,
)
from geoservice.base.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A tiny workspace: a GeoPackage holding two villages."""
    path = tmp_path / "tiny.gpkg"
    villages = gpd.GeoDataFrame(
        {"village_code": ["441882101201", "441882101202"], "village_name": ["沙坪村", "龙潭村"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4546",
    )
    villages.to_file(path, layer="villages", driver="GPKG")
    return Workspace(path)


def rows(ws: Workspace, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(ws.path)) as con:
        return con.execute(sql).fetchall()


OFFICE = Principal("u1", "林长办", "office")
POLICE = Principal("u2", "民警", "department", department="police")
VILLAGE = Principal("u3", "村干部", "village", village_code="V1", village_name="沙坪村")
VIEWER = Principal("u4", "访客", "viewer")


# --- add_user ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"role": "admin"}, OptionError, "`role` was 'admin'"),
        ({"role": "department"}, OptionError, "A department user needs --department"),
        (
            {"role": "department", "department": "army"},
            OptionError,
            "A department user needs --department.*got 'army'",
        ),
        ({"role": "village"}, OptionError, "A village user needs --village"),
        (
            {"role": "office", "department": "police"},
            OptionError,
            "Only department users have a department",
        ),
        ({"role": "viewer", "name": "  "}, OptionError, "Give the user a --name"),
        ({"role": "viewer", "expires_days": 0}, OptionError, "`expires_days` was 0"),
        ({"role": "village", "village": "花园村"}, NotFoundError, "Village '花园村' is not in"),
    ],
)
def test_add_user_refuses_bad_options_with_a_message(ws, kw, error, match):
    with pytest.raises(error, match=match):
        add_user(ws, **{"name": "张三", "by": "test", **kw})


def test_add_user_resolves_a_village_by_name(ws):
    user, _ = add_user(ws, role="village", name="李四", by="test", village="龙潭村")
    assert (user.village_code, user.village_name) == ("441882101202", "龙潭村")


def test_the_token_is_returned_once_and_only_its_sha256_is_stored(ws):
    user, token = add_user(ws, role="viewer", name="访客", by="test")
    assert token.startswith("gs_") and len(token) > 40
    stored = rows(ws, "SELECT * FROM service_users")
    assert len(stored) == 1
    assert token not in [str(v) for v in stored[0]]
    (digest,) = rows(ws, f"SELECT token_hash FROM service_users WHERE user_id = '{user.user_id}'")[
        0
    ]
    assert digest == hashlib.sha256(token.encode()).hexdigest()


def test_adding_a_user_is_audited(ws):
    user, _ = add_user(ws, role="office", name="王五", by="admin")
    log = ws.audit()
    assert log.iloc[-1][["actor", "action", "target"]].tolist() == [
        "admin",
        "user.add",
        user.user_id,
    ]


# --- authenticate -----------------------------------------------------------------------


def test_authenticate_returns_the_tokens_principal(ws):
    user, token = add_user(ws, role="department", name="民警", by="test", department="police")
    assert authenticate(ws, token) == user


@pytest.mark.parametrize("token", [None, ""])
def test_authenticate_without_a_token_says_so(ws, token):
    with pytest.raises(AuthenticationError, match="the request carries no token"):
        authenticate(ws, token)


def test_authenticate_an_unknown_token_says_no_user_holds_it(ws):
    add_user(ws, role="viewer", name="访客", by="test")
    with pytest.raises(AuthenticationError, match="Invalid token: no user holds it"):
        authenticate(ws, "gs_not-a-real-token")


def test_authenticate_a_revoked_token_says_when(ws):
    user, token = add_user(ws, role="viewer", name="访客", by="test")
    revoke_user(ws, user.user_id, by="test")
    with pytest.raises(AuthenticationError, match="This token was revoked at 20"):
        authenticate(ws, token)


def test_authenticate_an_expired_token_says_when(ws):
    user, token = add_user(ws, role="viewer", name="访客", by="test", expires_days=30)
    with contextlib.closing(sqlite3.connect(ws.path)) as con, con:
        con.execute(
            "UPDATE service_users SET expires_at = '2020-01-01T00:00:00+00:00' WHERE user_id = ?",
            (user.user_id,),
        )
    with pytest.raises(AuthenticationError, match="This token expired at 2020-01-01"):
        authenticate(ws, token)


def test_a_token_that_has_not_expired_yet_works(ws):
    user, token = add_user(ws, role="viewer", name="访客", by="test", expires_days=30)
    assert authenticate(ws, token).user_id == user.user_id


def test_authenticate_before_any_user_is_added_leaves_the_file_untouched(ws):
    with pytest.raises(AuthenticationError, match="no user holds it"):
        authenticate(ws, "gs_x")
    assert rows(ws, "SELECT name FROM sqlite_master WHERE name = 'service_users'") == []


# --- list and revoke --------------------------------------------------------------------


def test_list_users_never_returns_token_hashes(ws):
    _, token = add_user(ws, role="viewer", name="访客", by="test")
    users = list_users(ws)
    assert "token_hash" not in users.columns
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert not users.astype(str).isin([digest, token]).any().any()


def test_list_users_shows_revocation(ws):
    user, _ = add_user(ws, role="viewer", name="访客", by="test")
    revoke_user(ws, user.user_id, by="test")
    assert list_users(ws).set_index("user_id").loc[user.user_id, "revoked_at"]


def test_revoking_an_unknown_user_names_the_id(ws):
    add_user(ws, role="viewer", name="访客", by="test")
    with pytest.raises(NotFoundError, match="There is no active user 'u-nope'"):
        revoke_user(ws, "u-nope", by="test")


def test_revoking_twice_is_not_found(ws):
    user, _ = add_user(ws, role="viewer", name="访客", by="test")
    revoke_user(ws, user.user_id, by="test")
    with pytest.raises(NotFoundError, match=f"no active user '{user.user_id}'"):
        revoke_user(ws, user.user_id, by="test")


# --- what each role sees ----------------------------------------------------------------


TARGETS = pd.DataFrame(
    {
        "target_id": ["T1", "T2", "T3", "T4"],
        "lead_department": ["police", "agriculture", "agriculture", None],
        "cooperating_departments": [
            "agriculture",
            "police;environment",
            "environment",
            "police,finance",
        ],
    }
)
PROBLEMS = pd.DataFrame(
    {
        "problem_id": ["P1", "P2", "P3"],
        "village_code": ["V1", "V2", "V1"],
        "cc_departments": ["police;agriculture", "agriculture", None],
    }
)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (OFFICE, [True, True, True, True]),
        (POLICE, [True, True, False, True]),
        (VILLAGE, [False, False, False, False]),
        (VIEWER, [False, False, False, False]),
    ],
)
def test_target_mask_per_role(who, expected):
    assert who.target_mask(TARGETS).tolist() == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (OFFICE, [True, True, True]),
        (POLICE, [True, False, False]),
        (VILLAGE, [True, False, True]),
        (VIEWER, [False, False, False]),
    ],
)
def test_problem_mask_per_role(who, expected):
    assert who.problem_mask(PROBLEMS).tolist() == expected


@pytest.mark.parametrize("who", [OFFICE, POLICE, VILLAGE, VIEWER])
def test_masks_of_empty_frames_are_empty(who):
    assert who.target_mask(TARGETS.iloc[:0]).dtype == np.bool_
    assert len(who.target_mask(TARGETS.iloc[:0])) == 0
    assert len(who.problem_mask(PROBLEMS.iloc[:0])) == 0


@pytest.mark.parametrize(
    ("who", "public", "internal", "restricted", "unknown"),
    [
        (OFFICE, True, True, True, True),
        (POLICE, True, True, False, False),
        (VILLAGE, True, False, False, False),
        (VIEWER, True, False, False, False),
    ],
)
def test_can_read_per_role_and_classification(who, public, internal, restricted, unknown):
    got = [who.can_read(c) for c in ("public", "internal", "restricted", "secret")]
    assert got == [public, internal, restricted, unknown]


def test_visible_layers_keeps_what_the_role_may_read():
    class Entry:
        def __init__(self, classification: str) -> None:
            self.classification = classification

    entries = [Entry("public"), Entry("internal"), Entry("restricted")]
    assert [e.classification for e in visible_layers(POLICE, entries)] == ["public", "internal"]


def test_require_names_the_role_and_the_roles_allowed():
    with pytest.raises(PermissionDeniedError, match=r"has role 'viewer'.*only for office"):
        VIEWER.require("office")
    OFFICE.require("office")


@pytest.mark.parametrize(
    ("who", "actor"),
    [
        (OFFICE, "office:林长办"),
        (POLICE, "department:police:民警"),
        (VILLAGE, "village:V1:村干部"),
    ],
)
def test_actor_names_role_scope_and_person(who, actor):
    assert who.actor == actor
