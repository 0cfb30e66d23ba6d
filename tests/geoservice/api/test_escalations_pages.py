"""A village's phone page lists the escalation documents addressed to it, with links to
their PDF and HTML that open for that village."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from .conftest import AS_OF, Town

OWN = "镇林长办提〔2026〕3号"  # to VILLAGE (白石村)
OWN_LISTED = "镇林长办挂〔2026〕7号"  # to VILLAGE (白石村): an overdue change patch
FOREIGN = "镇林长办挂〔2026〕2号"  # to OTHER_VILLAGE (沙坪村)


def issue(town: Town) -> None:
    res = town.client.post(
        "/escalations/issue", json={"as_of": AS_OF}, headers=town.headers("office")
    )
    assert res.status_code == 200, res.text


def links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/escalations/[^"]+)"', html)]


def test_the_village_page_lists_its_documents_with_pdf_and_html_links(town: Town):
    issue(town)
    page = town.get("/app", "village")
    assert page.status_code == 200
    assert OWN in page.text and "提醒函" in page.text and "回复期限 2026-12-08" in page.text
    assert FOREIGN not in page.text
    own, listed = (f"/escalations/{quote(n, safe='')}" for n in (OWN, OWN_LISTED))
    assert sorted(links(page.text)) == sorted(
        f"{path}?format={fmt}" for path in (own, listed) for fmt in ("pdf", "html")
    )


@pytest.mark.slow
def test_the_links_open_the_document_for_the_village(town: Town, pdf_libraries):
    issue(town)
    pdf, html = links(town.get("/app", "village").text)[:2]
    assert town.get(html, "village").status_code == 200
    res = town.get(pdf, "village")
    assert res.status_code == 200 and res.headers["content-type"] == "application/pdf"


def test_another_village_sees_only_its_own_documents(town: Town):
    issue(town)
    page = town.get("/app", "other_village").text
    assert FOREIGN in page and OWN not in page


def test_the_english_page_links_the_english_documents(town: Town):
    issue(town)
    page = town.get("/app?lang=en", "village").text
    assert "Escalation documents" in page and "Reminder letter" in page
    assert all(link.endswith("&lang=en") for link in links(page))


def test_without_documents_the_page_has_no_documents_section(town: Town):
    page = town.get("/app", "village").text
    assert 'id="escalations"' not in page
