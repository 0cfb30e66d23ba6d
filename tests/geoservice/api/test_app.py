"""The application shell: health, docs offline, error table, body cap, fixture facts."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match

from geoservice.api.app import FIRST_ROUTES, create_app, route_modules
from geoservice.api.errors import STATUS, status_for
from geoservice.base.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    StaleVersionError,
    message,
)
from geoservice.workflow.store import read_problems

from .conftest import DEPARTMENT, OTHER_VILLAGE, VILLAGE


def test_create_app_does_nothing_until_called():
    import geoservice.api.app as module

    assert callable(module.create_app)
    assert not hasattr(module, "app")


@pytest.mark.parametrize("telemetry", [False, True])
def test_a_request_looks_for_a_telemetry_provider_only_with_telemetry_on(
    town, monkeypatch, telemetry
):
    from fastapi.testclient import TestClient
    from opentelemetry import trace

    looked: list[int] = []
    provider = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: looked.append(1) or provider())
    settings = town.settings.model_copy(update={"telemetry": telemetry})
    with TestClient(create_app(settings)) as client:
        looked.clear()
        assert client.get("/health").status_code == 200
    assert bool(looked) is telemetry


def test_health_needs_no_token_and_lists_layers(town):
    res = town.client.get("/health")
    assert res.status_code == 200
    assert {"parcels", "targets", "problems"} <= set(res.json()["layers"])


def test_docs_page_loads_its_assets_from_the_service(town):
    page = town.client.get("/docs").text
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert town.client.get(url).status_code == 200, url


def test_openapi_document_is_served(town):
    doc = town.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/health" in doc["paths"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AuthenticationError, 401),
        (NotFoundError, 404),
        (StaleVersionError, 412),
        (ConflictError, 409),
    ],
)
def test_domain_errors_map_to_one_status_each(error, status):
    assert status_for(error(message("x", "中", "en"))) == status


def test_status_table_lists_subclasses_before_their_bases():
    classes = [cls for cls, _ in STATUS]
    for i, cls in enumerate(classes):
        for later in classes[i + 1 :]:
            assert not issubclass(later, cls), (later, cls)


def test_a_body_over_the_cap_is_refused_with_413(town):
    from fastapi.testclient import TestClient

    settings = town.settings.model_copy(update={"max_body_mb": 1})
    client = TestClient(create_app(settings))
    res = client.post("/health", content=b"x" * (1024 * 1024 + 1))
    assert res.status_code == 413
    assert "1 MB" in res.json()["error"]["en"]


def test_fixture_facts_hold(town):
    problems = read_problems(town.ws)
    assert (problems["village_code"] == VILLAGE).any()
    assert (problems["village_code"] == OTHER_VILLAGE).any()
    targets = town.ws.read("targets")
    assert targets["village_codes"].str.contains(VILLAGE).any()
    assert (targets["lead_department"] == DEPARTMENT).any()


def _routes_by_module() -> list[tuple[str, APIRoute]]:
    import importlib

    found = []
    for name in route_modules():
        router = importlib.import_module(f"geoservice.api.routes.{name}").router
        found += [(name, r) for r in router.routes if isinstance(r, APIRoute)]
    return found


@pytest.mark.parametrize("value", ["1", "x1", "status.json", "a/b"])
def test_no_path_is_answered_by_routes_of_two_modules(value):
    # so that the order the routers are included in never changes which route answers
    routes = _routes_by_module()
    clashes = []
    for name, route in routes:
        path = re.sub(r"\{[^}]+\}", value, route.path)
        for method in route.methods:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            others = [
                (n, r.path) for n, r in routes if n != name and r.matches(scope)[0] != Match.NONE
            ]
            clashes += [(name, route.path, method, other) for other in others]
    assert not clashes
    assert len(routes) > 50


def test_the_field_clients_routes_are_included_first():
    names = route_modules()
    assert names[: len(FIRST_ROUTES)] == list(FIRST_ROUTES)
    assert sorted(names[len(FIRST_ROUTES) :]) == names[len(FIRST_ROUTES) :]
    assert {"problems", "maps", "tiles", "ogc", "health"} <= set(names)
