"""Size limits of the service: text fields (422), request bodies (413, also chunked) and the
caller resolved before an upload's body is read (401/403 with nothing read)."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from geoservice.api.app import create_app

from .conftest import VILLAGE

REJECTED = "DC202606-002"  # VILLAGE, rejected: the village may move it to in_progress
BOUNDARY = "limitsboundary"
MB = 1024 * 1024


def client_with(town, **limits: int) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(town.settings.model_copy(update=limits)))


def patch_note(client, town, note: str):  # type: ignore[no-untyped-def]
    headers = {**town.headers("village"), "If-Match": '"1"'}
    body = {"status": "in_progress", "note": note}
    return client.patch(f"/problems/{REJECTED}", json=body, headers=headers)


class Streamed:
    """An ASGI call whose body arrives in chunks, recording how many bytes the app read.

    The body is a multipart form with one photo part of ``chunks * chunk_size`` bytes that
    never ends (as a large upload looks while it streams).
    """

    def __init__(self, chunks: int, chunk_size: int, finish: bool = False) -> None:
        self.left, self.chunk_size, self.consumed = chunks, chunk_size, 0
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode() if finish else b""
        self.status: int | None = None
        self.body = b""
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            'filename="site.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()

    async def receive(self) -> dict[str, Any]:
        if self.left == 0:
            return {"type": "http.disconnect"}
        self.left -= 1
        chunk, self.head = self.head + b"x" * self.chunk_size, b""
        chunk += self.tail if self.left == 0 else b""
        self.consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.left > 0}

    async def send(self, event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            self.status = self.status or event["status"]
        elif event["type"] == "http.response.body":
            self.body += event.get("body", b"")


def stream(app, path: str, headers: dict[str, str], streamed: Streamed, method="POST"):  # type: ignore[no-untyped-def]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        await app(scope, streamed.receive, streamed.send)

    anyio.run(run)
    return streamed


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


# --- text fields ----------------------------------------------------------------------------


def test_a_note_one_character_over_the_limit_is_422_naming_field_length_and_limit(town):
    res = patch_note(client_with(town, max_note_chars=40), town, "说" * 41)
    assert res.status_code == 422
    [error] = res.json()["detail"]
    assert error["loc"] == ["body", "note"]
    assert "`note` is 41 characters long, over the limit of 40" in error["msg"]
    assert "GEOSERVICE_MAX_NOTE_CHARS" in error["msg"]
    assert error["ctx"]["max_length"] == 40 and error["ctx"]["length"] == 41


def test_a_note_at_the_limit_is_accepted(town):
    res = patch_note(client_with(town, max_note_chars=40), town, "说" * 40)
    assert res.status_code == 200
    assert res.json()["note"] == "说" * 40


def test_the_default_note_limit_is_2000_characters(town):
    res = patch_note(town.client, town, "x" * 2001)
    assert res.status_code == 422
    assert "over the limit of 2000" in res.json()["detail"][0]["msg"]


def test_a_refused_note_changes_nothing(town):
    before = town.get(f"/problems/{REJECTED}", "office").json()["version"]
    patch_note(client_with(town, max_note_chars=5), town, "太长的整改说明")
    assert town.get(f"/problems/{REJECTED}", "office").json()["version"] == before


def test_a_problem_description_over_the_text_limit_is_422(town):
    body = {
        "village": VILLAGE,
        "category": "other",
        "description": "伐" * 31,
        "deadline": "2027-01-01",
    }
    client = client_with(town, max_text_chars=30)
    res = client.post("/problems", json=body, headers=town.headers("office"))
    assert res.status_code == 422
    assert res.json()["detail"][0]["loc"] == ["body", "description"]
    assert "over the limit of 30 (GEOSERVICE_MAX_TEXT_CHARS)" in res.json()["detail"][0]["msg"]


def test_a_complaint_text_over_the_text_limit_is_422(town):
    body = {"text": "有人夜间砍树" * 10, "village": VILLAGE}
    client = client_with(town, max_text_chars=59)
    res = client.post("/complaints", json=body, headers=town.headers("office"))
    assert res.status_code == 422
    assert "`text` is 60 characters long" in res.json()["detail"][0]["msg"]


def test_a_short_field_over_the_field_limit_is_422(town):
    body = {"text": "有人砍树", "village": "村" * 11}
    client = client_with(town, max_field_chars=10)
    res = client.post("/complaints", json=body, headers=town.headers("office"))
    assert res.status_code == 422
    assert res.json()["detail"][0]["loc"] == ["body", "village"]


def test_the_openapi_schema_states_the_configured_limits(town):
    schema = client_with(town, max_note_chars=123, max_text_chars=456).get("/openapi.json")
    models = schema.json()["components"]["schemas"]
    note = models["StatusChange"]["properties"]["note"]["anyOf"][0]
    assert note["maxLength"] == 123
    assert models["ComplaintIn"]["properties"]["text"]["maxLength"] == 456


@pytest.mark.slow
def test_the_report_form_states_the_note_limit(town):
    page = client_with(town, max_note_chars=300).get(
        f"/app/problems/{REJECTED}", headers=town.headers("village")
    )
    assert page.status_code == 200
    assert re.search(r'<textarea id="note"[^>]*maxlength="300"', page.text)
    assert "最多 300 字" in page.text


def test_a_report_form_note_over_the_limit_shows_the_page_again_with_the_message(town):
    client = client_with(town, max_note_chars=10)
    typed = "已清理现场并补种了树苗"  # 11 characters
    form = {"to": "in_progress", "note": typed, "version": "1"}
    files = {"photos": ("", b"", "application/octet-stream")}
    res = client.post(
        f"/app/problems/{REJECTED}", data=form, files=files, headers=town.headers("village")
    )
    assert res.status_code == 422
    assert "字段 note 长 11 字，超过上限 10 字" in res.text
    assert typed in res.text  # what was typed is kept


# --- bodies and uploads ---------------------------------------------------------------------


def test_an_anonymous_upload_is_401_before_its_body_is_read(town):
    app = create_app(town.settings)
    sent = stream(app, f"/problems/{REJECTED}/evidence", MULTIPART, Streamed(50, MB))
    assert sent.status == 401
    assert sent.consumed == 0
    assert json.loads(sent.body)["error"]["code"].startswith("access.")


def test_an_anonymous_layer_import_is_401_before_its_body_is_read(town):
    app = create_app(town.settings)
    sent = stream(app, "/layers/parcels/import", MULTIPART, Streamed(50, MB))
    assert (sent.status, sent.consumed) == (401, 0)


def test_a_bad_token_upload_is_401_before_its_body_is_read(town):
    app = create_app(town.settings)
    headers = {**MULTIPART, "authorization": "Bearer not-a-token"}
    sent = stream(app, f"/problems/{REJECTED}/evidence", headers, Streamed(50, MB))
    assert (sent.status, sent.consumed) == (401, 0)


def test_a_viewer_upload_is_403_before_its_body_is_read(town):
    app = create_app(town.settings)
    headers = {**MULTIPART, **{k.lower(): v for k, v in town.headers("viewer").items()}}
    sent = stream(app, "/layers/parcels/import", headers, Streamed(50, MB))
    assert (sent.status, sent.consumed) == (403, 0)


def test_a_throttled_address_is_429_before_its_upload_is_read(town):
    app = create_app(town.settings)
    path = f"/problems/{REJECTED}/evidence"
    bad = {**MULTIPART, "authorization": "Bearer not-a-token"}
    statuses = [stream(app, path, bad, Streamed(2, 1024)).status for _ in range(50)]
    assert 429 in statuses  # the address guessed too often
    good = {**MULTIPART, **{k.lower(): v for k, v in town.headers("village").items()}}
    sent = stream(app, path, good, Streamed(50, MB))
    assert (sent.status, sent.consumed) == (429, 0)


def test_a_chunked_upload_over_the_body_limit_is_413_and_reading_stops(town):
    app = create_app(town.settings.model_copy(update={"max_body_mb": 1}))
    headers = {**MULTIPART, **{k.lower(): v for k, v in town.headers("village").items()}}
    sent = stream(app, f"/problems/{REJECTED}/evidence", headers, Streamed(40, 256 * 1024))
    assert sent.status == 413
    assert sent.consumed <= MB + 256 * 1024 + 200
    assert "over the 1 MB limit" in json.loads(sent.body)["error"]["en"]


def test_a_chunked_json_body_over_the_body_limit_is_413_not_400(town):
    app = create_app(town.settings.model_copy(update={"max_body_mb": 1}))
    headers = {"content-type": "application/json", "if-match": '"1"'}
    headers |= {k.lower(): v for k, v in town.headers("village").items()}
    sent = stream(app, f"/problems/{REJECTED}", headers, Streamed(8, 256 * 1024), "PATCH")
    assert sent.status == 413


def test_a_declared_length_over_the_body_limit_is_413_before_reading(town):
    app = create_app(town.settings.model_copy(update={"max_body_mb": 1}))
    headers = {**MULTIPART, "content-length": str(2 * MB)}
    headers |= {k.lower(): v for k, v in town.headers("village").items()}
    sent = stream(app, f"/problems/{REJECTED}/evidence", headers, Streamed(8, 256 * 1024))
    assert (sent.status, sent.consumed) == (413, 0)


def test_a_signed_in_upload_within_the_limit_is_read_whole(town):
    app = create_app(town.settings)
    headers = {**MULTIPART, **{k.lower(): v for k, v in town.headers("village").items()}}
    sent = stream(app, f"/problems/{REJECTED}/evidence", headers, Streamed(4, 1024, finish=True))
    assert sent.left == 0  # every chunk was read
    assert sent.status == 422  # then the photo was looked at: x bytes are no image


# --- imports --------------------------------------------------------------------------------


def test_a_csv_import_over_the_row_limit_is_422_with_rows_limit_and_fix(town):
    text = "举报编号,受理时间,举报内容,经度,纬度\n" + "JB001,2025-03-04,河边采石,112.42,24.82\n" * 4
    client = client_with(town, max_import_rows=4)
    res = client.post(
        "/layers/complaints/import",
        files={"file": ("举报.csv", text.encode(), "text/csv")},
        data={"mode": "append"},
        headers=town.headers("office"),
    )
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "table.too_many_rows"
    assert "has 5 rows, over the import limit of 4 (GEOSERVICE_MAX_IMPORT_ROWS)" in error["en"]
    assert "split the file" in error["en"]
