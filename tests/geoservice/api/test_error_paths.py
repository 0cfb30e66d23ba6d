"""Error messages never show server paths: an unreadable upload is named by its own file
name, not by the temporary folder it was spooled to; the workspace's folder is not shown."""

from __future__ import annotations

import io
import tempfile
import zipfile

import pytest

from geoservice.api.paths import private_folders, scrub
from geoservice.base.errors import WorkspaceError
from layers.messages import Message


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def upload(town, name: str, data: bytes):
    files = {"file": (name, data)}
    return town.client.post("/layers/villages/import", files=files, headers=town.headers("office"))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("村界.geojson", b"{not json"),  # GDAL quotes the path it was given
        ("bad.gpkg", b"not a geopackage"),
        ("村界.zip", zipped({"资料/村界.geojson": b"{not json"})),  # unpacked elsewhere
    ],
)
def test_an_unreadable_upload_is_named_by_its_own_name_not_its_temporary_path(town, name, data):
    res = upload(town, name, data)
    assert res.status_code == 422
    err = res.json()["error"]
    for text in (err["zh"], err["en"], err["message"]):
        assert tempfile.gettempdir() not in text and "geoservice-upload-" not in text
    assert "村界.geojson" in err["en"] or name in err["en"]


def test_the_audit_of_a_refused_upload_names_the_file_only(town):
    upload(town, "村界.geojson", b"{not json")
    log = town.ws.audit()
    refused = log[log["action"] == "layers.import_refused"]
    assert len(refused) == 1
    assert '"file": "村界.geojson"' in refused["detail"].iloc[0]
    assert tempfile.gettempdir() + "/" not in refused["detail"].iloc[0]


def test_a_path_under_a_private_folder_is_shown_by_its_last_part():
    text = "'/srv/gis/tmp/geoservice-upload-ab12/资料/村界.geojson' not recognized"
    assert scrub(text, ["/srv/gis/tmp"]) == "'村界.geojson' not recognized"


def test_text_without_a_private_path_is_unchanged():
    text = "“村界.geojson”无法读取：not recognized"
    assert scrub(text, ["/srv/gis/tmp"]) == text


def test_the_workspace_folder_is_private(town):
    folders = private_folders(town.settings)
    assert str(town.path.resolve().parent) in folders
    assert tempfile.gettempdir() in folders


def test_a_workspace_error_over_http_names_the_workspace_file_only(town, monkeypatch):
    where = town.path.resolve()

    def refuse(*args, **kwargs):
        raise WorkspaceError(
            Message(
                "workspace.locked", f"工作空间 {where} 正在写入。", f"Workspace {where} is busy."
            )
        )

    monkeypatch.setattr("geoservice.base.workspace.Workspace.require", refuse)
    res = town.get("/problems", "office")
    assert res.status_code == 503
    err = res.json()["error"]
    assert err["en"] == f"Workspace {where.name} is busy."
    assert str(where.parent) not in err["zh"]
