"""The Article 9 department report over the web: HTML shown, XLSX downloaded, for the
office and the departments."""

from __future__ import annotations

import io
from urllib.parse import unquote

import openpyxl
import pytest

URL = "/reports/departments?from=2026-09-01&to=2026-11-28"


@pytest.mark.parametrize("who", ["office", "department"])
def test_the_report_is_an_html_page_in_chinese(town, who):
    res = town.get(URL, who)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/html")
    assert "林长制协作部门履职情况汇报" in res.text
    assert res.headers["content-disposition"].startswith("inline;")


def test_the_report_can_be_read_in_english(town):
    res = town.get(URL + "&lang=en", "office")
    assert '<html lang="en">' in res.text
    assert "report to the forest-chief meeting" in res.text


def test_the_xlsx_report_downloads_with_a_chinese_name(town):
    res = town.get(URL + "&format=xlsx", "office")
    assert res.status_code == 200
    disposition = res.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert name == "部门履职情况汇报_2026-09-01_2026-11-28.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(res.content), read_only=True)
    assert len(book.sheetnames) >= 1
    book.close()


@pytest.mark.parametrize(("who", "status"), [("village", 403), ("viewer", 403), ("anonymous", 401)])
def test_the_report_is_refused_to_other_roles(town, who, status):
    assert town.get(URL, who).status_code == status


@pytest.mark.parametrize(
    ("url", "code", "named"),
    [
        ("/reports/departments?to=2026-11-28", "report.missing_date", "`from`"),
        ("/reports/departments?from=2026-13-01&to=2026-11-28", "report.bad_date", "`from`"),
        (URL + "&as_of=soon", "report.bad_date", "`as_of`"),
        (URL + "&format=pdf", "report.bad_format", "'pdf'"),
        ("/reports/departments?from=2026-11-28&to=2026-09-01", "report.period_reversed", "from"),
    ],
)
def test_bad_parameters_are_422_naming_them(town, url, code, named):
    res = town.get(url, "office")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == code
    assert named in res.json()["error"]["en"]


@pytest.mark.slow
def test_a_report_request_is_audited(town):
    town.get(URL, "department")
    row = town.ws.audit().iloc[-1]
    assert row["action"] == "report.departments"
    assert row["actor"].startswith("department:police")
    assert '"period_start": "2026-09-01"' in row["detail"]
