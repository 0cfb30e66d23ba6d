"""What every request checks stays current from one request to the next: the caller's
token (revocation takes effect at once) and the workspace file (a file put in its place
is refused), although both are looked up faster than by opening the file afresh."""

from __future__ import annotations

import shutil

import geoservice.base.workspace_file as workspace_file
from geoservice.base.access import add_user, reissue_token, revoke_user


def test_a_token_revoked_between_two_requests_is_refused_on_the_second(town):
    user, token = add_user(
        town.ws, role="village", name="村干部", by="test", village="441882101212"
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert town.client.get("/problems", headers=headers).status_code == 200
    revoke_user(town.ws, user.user_id, by="test")
    refused = town.client.get("/problems", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "access.revoked"


def test_a_token_reissued_between_two_requests_stops_working_on_the_second(town):
    headers = town.headers("department")
    assert town.client.get("/problems", headers=headers).status_code == 200
    _, new = reissue_token(town.ws, "测试department", by="test")
    assert town.client.get("/problems", headers=headers).status_code == 401
    assert (
        town.client.get("/problems", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    )


def test_a_workspace_replaced_by_a_csv_between_two_requests_is_refused(town, monkeypatch):
    monkeypatch.setattr(workspace_file, "_SETTLE_NS", 0)  # the verdict is remembered at once
    assert town.get("/problems", "office").status_code == 200
    assert town.get("/problems", "office").status_code == 200
    csv = town.path.with_name("export.csv")
    csv.write_bytes("问题编号,状态\nP1,reported\n".encode("gb18030"))
    shutil.move(csv, town.path)
    refused = town.get("/problems", "office")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "workspace.not_geopackage"
