"""GET /targets/{id}/dossier: the work order as PDF or HTML, scoped like the target itself,
the reporter's phone for the office only, audited as a target read."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from geoservice.analysis.rules import load_rules

from .conftest import DEPARTMENT, make_town

PHONE = "139****4321"
RULES = load_rules()


def involved(targets, department: str = DEPARTMENT):  # type: ignore[no-untyped-def]
    coop = targets["cooperating_departments"].fillna("").str.split(";")
    return (targets["lead_department"] == department) | coop.map(lambda xs: department in xs)


def own_target(town) -> str:  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets", read_geometry=False)
    return str(targets.loc[involved(targets), "target_id"].iloc[0])


def foreign_target(town) -> str:  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets", read_geometry=False)
    return str(targets.loc[~involved(targets), "target_id"].iloc[0])


def with_phone(town, target_id: str) -> None:  # type: ignore[no-untyped-def]
    """The first complaint behind ``target_id`` carries a reporter's phone, as a complaint
    taken over the web does."""
    feature = town.get(f"/targets/{target_id}", "office").json()
    complaint = feature["properties"]["evidence"]["complaint_ids"][0]
    with town.ws.sql_transaction("test") as con:
        con.execute("ALTER TABLE complaints ADD COLUMN reporter_phone_masked TEXT")
        con.execute(
            "UPDATE complaints SET reporter_phone_masked = ? WHERE complaint_id = ?",
            (PHONE, complaint),
        )


@pytest.mark.slow
def test_office_gets_the_work_order_as_pdf_naming_target_lead_and_citation(town, pdf_libraries):
    target_id = own_target(town)
    res = town.get(f"/targets/{target_id}/dossier", "office")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    assert res.headers["content-disposition"].startswith("inline;")
    assert f"{target_id}.pdf" in res.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(res.content))
    assert 1 <= len(reader.pages) <= 3
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    lead = town.ws.read("targets", read_geometry=False).set_index("target_id")
    assert target_id in text
    assert RULES.department_name(str(lead.loc[target_id, "lead_department"])) in text
    assert "《部门协作制度》第八条" in text


@pytest.mark.slow
def test_html_work_order_holds_the_map_and_the_phone_for_the_office(town, pdf_libraries):
    target_id = own_target(town)
    with_phone(town, target_id)
    res = town.get(f"/targets/{target_id}/dossier?format=html", "office")
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/html")
    assert '<img src="data:image/png;base64,' in res.text
    assert PHONE in res.text


@pytest.mark.slow
def test_department_gets_its_target_without_the_reporter_phone(town, pdf_libraries):
    target_id = own_target(town)
    with_phone(town, target_id)
    res = town.get(f"/targets/{target_id}/dossier?format=html", "department")
    assert res.status_code == 200, res.text
    assert PHONE not in res.text
    assert "举报人电话" not in res.text


@pytest.mark.slow
def test_work_order_in_english_with_lang_en(town, pdf_libraries):
    res = town.get(f"/targets/{own_target(town)}/dossier?format=html&lang=en", "office")
    assert res.status_code == 200, res.text
    assert "Joint Enforcement Work Order" in res.text
    assert "联合执法任务书" not in res.text


@pytest.mark.slow
def test_target_page_address_comes_from_the_public_url(town_template, tmp_path, pdf_libraries):
    town = make_town(town_template, tmp_path)
    town.settings.public_url = "https://lzz.example.cn"
    target_id = own_target(town)
    res = town.get(f"/targets/{target_id}/dossier?format=html", "office")
    assert f"https://lzz.example.cn/app/targets/{target_id}" in res.text


def test_department_gets_404_for_a_target_it_is_not_on(town):
    target_id = foreign_target(town)
    res = town.get(f"/targets/{target_id}/dossier", "department")
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "targets.not_found"
    assert target_id in res.json()["error"]["message"]


def test_unknown_target_is_404_naming_the_id(town):
    res = town.get("/targets/T-0000000000/dossier", "office")
    assert res.status_code == 404
    assert "T-0000000000" in res.json()["error"]["message"]


@pytest.mark.parametrize("who", ["village", "viewer"])
def test_villages_and_viewers_get_no_work_order(town, who):
    res = town.get(f"/targets/{own_target(town)}/dossier", who)
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "access.role"


def test_unknown_format_is_refused_naming_it(town):
    res = town.get(f"/targets/{own_target(town)}/dossier?format=docx", "office")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "dossier.bad_format"
    assert "docx" in res.json()["error"]["message"]


@pytest.mark.slow
def test_work_order_is_audited_as_a_target_read(town, pdf_libraries):
    target_id = own_target(town)
    assert town.get(f"/targets/{target_id}/dossier?format=html", "department").status_code == 200
    log = town.ws.audit()
    rows = log.loc[(log["action"] == "targets.read") & (log["target"] == target_id)]
    assert len(rows) == 1
    detail = json.loads(rows["detail"].iloc[0])
    assert detail["document"] == "dossier" and detail["format"] == "html"
