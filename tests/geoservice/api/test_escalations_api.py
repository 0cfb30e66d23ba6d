"""Escalation documents over HTTP on the sample town: the office issues them (once per
date), each caller lists those in its scope, a document is read as JSON, HTML or PDF at its
percent-encoded number (〔〕 and 号), and one outside the caller's scope is a 404 naming it."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote, urlsplit

import pytest
from pypdf import PdfReader

from .conftest import AS_OF, DEPARTMENT, OTHER_VILLAGE, VILLAGE, Town

# What the sample town's documents are at AS_OF (one per village and level): overdue
# problems and change patches whose stage is overdue (most handed down in 2025 and still
# 待现地核实).
ISSUED = {
    "镇林长办提〔2026〕1号": ("沙坪村", "letter"),
    "镇林长办提〔2026〕2号": ("田心村", "letter"),
    "镇林长办提〔2026〕3号": ("白石村", "letter"),
    "镇林长办挂〔2026〕1号": ("丰阳村", "listed"),
    "镇林长办挂〔2026〕2号": ("沙坪村", "listed"),
    "镇林长办挂〔2026〕3号": ("田心村", "listed"),
    "镇林长办挂〔2026〕4号": ("下洞村", "listed"),
    "镇林长办挂〔2026〕5号": ("松柏村", "listed"),
    "镇林长办挂〔2026〕6号": ("黄岗村", "listed"),
    "镇林长办挂〔2026〕7号": ("白石村", "listed"),
    "镇林长办挂〔2026〕8号": ("高岭村", "listed"),
    "镇林长办挂〔2026〕9号": ("东陂村", "listed"),
}
OWN = "镇林长办提〔2026〕3号"  # to VILLAGE (白石村), copied to police
OWN_LISTED = "镇林长办挂〔2026〕7号"  # to VILLAGE (白石村): a patch only
FOREIGN = "镇林长办挂〔2026〕2号"  # to OTHER_VILLAGE (沙坪村), not copied to police


def issue(town: Town, **body: object) -> dict:
    res = town.client.post(
        "/escalations/issue", json={"as_of": AS_OF, **body}, headers=town.headers("office")
    )
    assert res.status_code == 200, res.text
    return dict(res.json())


def url(number: str, fmt: str | None = None) -> str:
    return f"/escalations/{quote(number, safe='')}" + (f"?format={fmt}" if fmt else "")


def numbers(town: Town, who: str) -> set[str]:
    res = town.get("/escalations", who)
    assert res.status_code == 200, res.text
    return {d["number"] for d in res.json()["documents"]}


def test_the_office_issues_the_documents_due_and_a_second_call_issues_none(town: Town):
    first = issue(town)
    docs = {d["number"]: (d["village_name"], d["level"]) for d in first["documents"]}
    assert docs == ISSUED
    assert all(d["issued_by"].startswith("office:") for d in first["documents"])
    assert issue(town)["documents"] == []


def test_issuing_is_audited_with_the_caller_and_the_numbers(town: Town):
    issue(town)
    log = town.ws.audit()
    row = log[(log["action"] == "escalations.issue") & (log["target"] == AS_OF)].iloc[-1]
    detail = json.loads(row["detail"])
    assert sorted(detail["numbers"]) == sorted(ISSUED)
    assert detail["from"] and detail["method"] == "POST"
    assert (log["action"] == "escalation.issue").sum() == len(ISSUED)  # one per document


def test_a_dry_run_lists_the_documents_and_issues_nothing(town: Town):
    preview = issue(town, dry_run=True)
    assert {d["number"] for d in preview["documents"]} == set(ISSUED)
    assert numbers(town, "office") == set()


@pytest.mark.parametrize("who", ["village", "department", "viewer"])
def test_only_the_office_may_issue(town: Town, who: str):
    res = town.client.post("/escalations/issue", json={"as_of": AS_OF}, headers=town.headers(who))
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "access.role"


def test_each_caller_lists_the_documents_in_its_scope(town: Town):
    issue(town)
    assert numbers(town, "office") == set(ISSUED)
    assert numbers(town, "village") == {OWN, OWN_LISTED}
    assert numbers(town, "other_village") == {"镇林长办提〔2026〕1号", FOREIGN}
    assert OWN in numbers(town, "department") and FOREIGN not in numbers(town, "department")
    assert numbers(town, "other_department") == set()
    assert town.get("/escalations", "viewer").status_code == 403
    assert town.get("/escalations", "anonymous").status_code == 401


def test_the_list_pages_with_a_total_and_a_next_link(town: Town):
    issue(town)
    res = town.get("/escalations?limit=8", "office")
    page = res.json()
    assert (page["total"], len(page["documents"])) == (12, 8)
    assert res.headers["X-Total-Count"] == "12"
    link = urlsplit(page["next"])
    rest = town.get(f"{link.path}?{link.query}", "office")
    assert len(rest.json()["documents"]) == 4 and rest.json()["next"] is None
    etag = res.headers["ETag"]
    again = town.get("/escalations?limit=8", "office", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_a_village_filter_keeps_one_villages_documents(town: Town):
    issue(town)
    res = town.get(f"/escalations?village={OTHER_VILLAGE}", "office")
    assert {d["village_code"] for d in res.json()["documents"]} == {OTHER_VILLAGE}


def test_a_document_reads_as_json_with_its_items_and_links(town: Town):
    issue(town)
    res = town.get(url(OWN), "village")
    assert res.status_code == 200, res.text
    doc = res.json()
    assert (doc["title"], doc["addressee"], doc["village_code"]) == ("提醒函", "白石村", VILLAGE)
    assert [i["item_id"] for i in doc["items"]] == ["DC202606-002", "44188220260027"]
    assert doc["items"][0]["days_overdue"] == 8
    assert DEPARTMENT in doc["cc_departments"]
    assert doc["links"]["pdf"] == url(OWN, "pdf")


@pytest.mark.slow
def test_the_pdf_at_the_encoded_number_reads_back(town: Town, pdf_libraries):
    issue(town)
    res = town.get(url(OWN, "pdf"), "village")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    assert (
        "filename*=UTF-8''" + quote(f"提醒函_{OWN}.pdf", safe="")
        in res.headers["content-disposition"]
    )
    text = re.sub(
        r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(res.content)).pages)
    )
    assert OWN in text and "白石村" in text and "DC202606-002" in text


def test_the_list_links_open_the_document(town: Town):
    issue(town)
    listed = town.get("/escalations", "office").json()["documents"]
    html = town.get(listed[0]["links"]["html"], "office")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert listed[0]["number"] in html.text


def test_an_unencoded_number_in_the_path_also_works(town: Town):
    issue(town)
    res = town.get(f"/escalations/{OWN}", "office")  # the client percent-encodes it
    assert res.status_code == 200 and res.json()["number"] == OWN


def test_an_english_document_has_english_words(town: Town):
    issue(town)
    res = town.get(url(OWN, "html") + "&lang=en", "office")
    assert "Reminder letter" in res.text and "Copied to" in res.text


def test_an_unknown_number_is_404_naming_it(town: Town):
    issue(town)
    res = town.get(url("镇林长办提〔2026〕99号"), "office")
    assert res.status_code == 404
    assert "镇林长办提〔2026〕99号" in res.json()["error"]["en"]


@pytest.mark.parametrize("who", ["other_village", "other_department"])
def test_a_document_outside_the_callers_scope_is_404(town: Town, who: str):
    issue(town)
    res = town.get(url(OWN, "pdf"), who)
    assert res.status_code == 404
    assert OWN in res.json()["error"]["en"]


def test_a_bad_format_names_it_and_the_choices(town: Town):
    issue(town)
    res = town.get(url(OWN, "docx"), "office")
    assert res.status_code == 422
    assert "docx" in res.json()["error"]["en"] and "json, pdf, html" in res.json()["error"]["en"]


def test_before_any_document_the_list_is_empty(town: Town):
    res = town.get("/escalations", "office")
    assert res.status_code == 200
    assert res.json()["total"] == 0 and res.json()["documents"] == []


def test_the_problem_history_over_http_shows_the_document(town: Town):
    issue(town)
    res = town.get("/problems/DC202606-002", "village")
    assert res.status_code == 200, res.text
    last = res.json()["history"][-1]
    assert last["note"] == f"已发提醒函 {OWN}（逾期 8 天）"
    assert last["to_state"] == "rejected" and last["from_state"] is None
    assert res.headers["ETag"] == f'"{last["version"]}"'  # the problem itself is unchanged
