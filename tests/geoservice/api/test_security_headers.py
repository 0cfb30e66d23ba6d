"""Security headers, the public address in links and forwarded headers.

The hardening review framed a signed-in problem page (with its form) on another site,
sniffed uploaded photos, got the ``Host`` header echoed into OGC links and had the audit
log record whatever ``X-Forwarded-For`` a client wrote.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from geoservice.api.app import create_app
from geoservice.api.headers import page_csp
from geoservice.base.settings import Settings

from .conftest import Town

PROBLEM = "DC202606-002"  # the village's problem


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="JPEG")
    return out.getvalue()


def _directives(res) -> dict[str, str]:  # type: ignore[no-untyped-def]
    csp = res.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


def _app_with(town: Town, **settings: object) -> TestClient:
    s = Settings(workspace=town.path, evidence_dir=town.settings.evidence_dir, **settings)
    return TestClient(create_app(s))


# --- headers ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("url", ["/signin", f"/app/problems/{PROBLEM}", "/app"])
def test_pages_may_not_be_framed_and_run_only_the_services_scripts(town, url):
    res = town.get(url, "village")
    assert res.status_code == 200
    csp = _directives(res)
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["script-src"] == "script-src 'self'"  # the field pages carry no inline code
    assert csp["form-action"] == "form-action 'self'"
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "same-origin"


def test_json_answers_are_nosniff_and_unframeable(town):
    res = town.get("/problems", "office")
    assert res.status_code == 200
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_error_answers_carry_the_headers_too(town):
    res = town.get("/problems", "anonymous")
    assert res.status_code == 401
    assert res.headers["x-content-type-options"] == "nosniff"


def test_photos_are_served_nosniff_inline_with_a_safe_name(town):
    up = town.client.post(
        f"/problems/{PROBLEM}/evidence",
        files=[("files", ("照片<script>.jpg", _jpeg(), "image/jpeg"))],
        headers=town.headers("village"),
    )
    [stored] = up.json()["stored"]
    res = town.get(f"/problems/{PROBLEM}/evidence/{stored}", "village")
    assert res.status_code == 200
    assert res.headers["x-content-type-options"] == "nosniff"
    disposition = res.headers["content-disposition"]
    assert disposition.startswith("inline; filename=")
    assert re.fullmatch(r'inline; filename="[A-Za-z0-9._-]+"; filename\*=.*', disposition)
    assert "<" not in disposition and '"' not in disposition.split('"')[2]


@pytest.mark.slow
def test_a_map_page_allows_exactly_its_own_inline_scripts(town):
    res = town.get("/maps/villages", "office")
    assert res.status_code == 200
    scripts = re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", res.text, re.DOTALL)
    wanted = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
        if s.strip()
    }
    assert wanted, "the folium map has inline scripts"
    allowed = set(_directives(res)["script-src"].split()[1:])
    assert allowed == {"'self'", *wanted}
    assert "'unsafe-inline'" not in allowed and "http" not in res.headers["content-security-policy"]


def test_page_csp_skips_data_blocks_and_external_scripts():
    html = (
        b'<script type="application/json" id="d">{"a": 1}</script>'
        b'<script src="/static/maps/leaflet.js"></script><script>go()</script>'
    )
    digest = base64.b64encode(hashlib.sha256(b"go()").digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in page_csp(html)
    assert page_csp(b"").startswith("default-src 'self'; script-src 'self';")


def test_the_api_documentation_page_allows_its_inline_start_script(town):
    res = town.client.get("/docs")
    assert "'sha256-" in _directives(res)["script-src"]


# --- the public address -----------------------------------------------------------------


def test_ogc_links_do_not_echo_the_host_header(town):
    res = town.client.get("/ogc", headers={"Host": "evil.example:666"})
    hrefs = [link["href"] for link in res.json()["links"]]
    assert not any("evil.example" in h for h in hrefs)
    assert all(h.startswith("http://testserver/") for h in hrefs), hrefs


def test_ogc_items_links_do_not_echo_the_host_header(town):
    headers = {**town.headers("office"), "Host": "evil.example"}
    res = town.client.get("/ogc/collections", headers=headers)
    assert res.status_code == 200
    assert "evil.example" not in res.text


def test_ogc_links_start_with_the_public_url(town):
    client = _app_with(town, public_url="https://linzhang.example.cn/geo/")
    hrefs = [link["href"] for link in client.get("/ogc").json()["links"]]
    assert "https://linzhang.example.cn/geo/ogc/collections" in hrefs
    assert "https://linzhang.example.cn/geo/openapi.json" in hrefs


# --- forwarded headers ------------------------------------------------------------------


def _last_from(town: Town) -> str:
    detail = town.ws.audit().iloc[-1]["detail"]
    found = re.search(r'"from": "([^"]*)"', detail)
    assert found, detail
    return found.group(1)


@pytest.mark.slow
def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(town):
    headers = {**town.headers("office"), "X-Forwarded-For": "10.9.9.9"}
    assert town.client.get("/problems", headers=headers).status_code == 200
    assert _last_from(town) == "testclient"


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(town):
    client = _app_with(town, trusted_proxies="testclient")
    headers = {**town.headers("office"), "X-Forwarded-For": "10.9.9.9"}
    assert client.get("/problems", headers=headers).status_code == 200
    assert _last_from(town) == "10.9.9.9"


def test_trusted_proxies_read_from_a_comma_separated_environment_value(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOSERVICE_TRUSTED_PROXIES", "10.0.0.5, 10.0.0.6")
    settings = Settings(workspace=tmp_path / "w.gpkg")
    assert settings.trusted_proxies == ["10.0.0.5", "10.0.0.6"]
    assert Settings(workspace=tmp_path / "w.gpkg", trusted_proxies=[]).trusted_proxies == []
