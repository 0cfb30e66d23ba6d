"""Department ledgers over the web: entries, photos and statements, each department for
itself, the office for all; and the Art. 9 report showing a department's own entries."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from .conftest import Town

COPIED = "DC202606-002"  # a problem of the sample town copied to the police
ENTRY = {"kind": "co_verification", "acted_on": "2026-11-20", "people": 3}


def _post(town: Town, url: str, who: str, body: dict):  # type: ignore[no-untyped-def,type-arg]
    return town.client.post(url, json=body, headers=town.headers(who))


def _put(town: Town, url: str, who: str, text: str, if_match: str | None = None):  # type: ignore[no-untyped-def]
    headers = {**town.headers(who), **({"If-Match": if_match} if if_match else {})}
    return town.client.put(url, json={"text": text}, headers=headers)


def test_the_departments_are_the_14_of_the_registry(town: Town) -> None:
    res = town.get("/departments", "department")
    assert res.status_code == 200, res.text
    rows = res.json()
    assert len(rows) == 14 and rows[4]["name"] == "镇司法所"
    own = {r["code"]: r["may_record"] for r in rows}
    assert own["police"] and not own["agriculture"]


def test_a_department_records_on_a_problem_copied_to_it_and_lists_it(town: Town) -> None:
    body = {**ENTRY, "object_kind": "problem", "object_id": COPIED, "note": "联合核查"}
    res = _post(town, "/departments/police/entries", "department", body)
    assert res.status_code == 201, res.text
    listed = town.get("/departments/police/entries", "department")
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    page = listed.json()
    assert page["numberMatched"] == 1 and page["entries"][0]["object_id"] == COPIED
    assert (
        town.get(
            "/departments/police/entries",
            "department",
            headers={"If-None-Match": listed.headers["ETag"]},
        ).status_code
        == 304
    )


def test_the_ledger_pages_with_a_next_link(town: Town) -> None:
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        _post(town, "/departments/police/entries", "office", {**ENTRY, "acted_on": day})
    res = town.get("/departments/police/entries?limit=2", "office")
    page = res.json()
    assert (page["numberMatched"], page["numberReturned"]) == (3, 2)
    assert page["links"][0]["rel"] == "next" and "offset=2" in page["links"][0]["href"]
    assert [e["acted_on"] for e in page["entries"]] == ["2026-11-03", "2026-11-02"]


@pytest.mark.parametrize(
    ("who", "url", "status"),
    [
        ("department", "/departments/agriculture/entries", 403),
        ("village", "/departments/police/entries", 403),
        ("viewer", "/departments/police/entries", 403),
        ("office", "/departments/forestry_bureau/entries", 404),
    ],
)
def test_only_the_department_itself_or_the_office_records(
    town: Town, who: str, url: str, status: int
) -> None:
    res = _post(town, url, who, ENTRY)
    assert res.status_code == status, res.text


def test_a_problem_not_copied_to_the_department_is_not_found(town: Town) -> None:
    body = {**ENTRY, "object_kind": "problem", "object_id": COPIED}
    res = _post(town, "/departments/education/entries", "other_department", body)
    assert res.status_code == 404 and COPIED in res.text


def test_an_entry_with_an_uploaded_photo(town: Town) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buf, "JPEG")
    files = [("files", ("现场.jpg", buf.getvalue(), "image/jpeg"))]
    up = town.client.post(
        "/departments/police/photos", files=files, headers=town.headers("department")
    )
    assert up.status_code == 201, up.text
    stored = up.json()["stored"]
    res = _post(town, "/departments/police/entries", "department", {**ENTRY, "photos": stored})
    assert res.status_code == 201 and res.json()["photos"] == stored
    bad = _post(town, "/departments/police/entries", "department", {**ENTRY, "photos": ["x.jpg"]})
    assert bad.status_code == 422 and "x.jpg" in bad.text


def test_a_statement_is_written_then_changed_with_its_version(town: Town) -> None:
    url = "/departments/police/statements/2026-Q4"
    assert town.get(url, "department").json()["text"] is None
    first = _put(town, url, "department", "联合巡查3次")
    assert first.status_code == 200 and first.headers["ETag"] == '"1"'
    assert _put(town, url, "department", "联合巡查4次").status_code == 428
    second = _put(town, url, "department", "联合巡查4次", '"1"')
    assert second.status_code == 200 and second.json()["version"] == 2
    stale = _put(town, url, "office", "林长办改", '"1"')
    assert stale.status_code == 412
    shown = town.get(url, "office")
    assert shown.json()["text"] == "联合巡查4次" and shown.headers["ETag"] == '"2"'


def test_a_department_cannot_write_another_departments_statement(town: Town) -> None:
    res = _put(town, "/departments/agriculture/statements/2026-Q4", "department", "代写")
    assert res.status_code == 403


def test_a_bad_period_is_refused_naming_the_forms(town: Town) -> None:
    res = town.get("/departments/police/statements/last-quarter", "department")
    assert res.status_code == 422 and "2026-Q4" in res.text


def test_the_report_shows_the_departments_own_entries_and_statement(town: Town) -> None:
    _post(town, "/departments/police/entries", "department", {**ENTRY, "kind": "publicity"})
    _put(town, "/departments/police/statements/2026-Q4", "department", "进村宣传森林防火1次")
    res = town.get("/reports/departments?from=2026-10-01&to=2026-12-31&as_of=2026-11-28", "office")
    assert res.status_code == 200
    assert "进村宣传森林防火1次" in res.text
    assert res.text.count('<li data-department="') == 14
