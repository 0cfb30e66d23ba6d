"""No sequence of calls makes the service answer 500: schemathesis' stateful run, which
follows the OpenAPI links of the app's document (a new problem read, changed and given
photos, a photo downloaded, a complaint read back, a listed target opened) as the office.

The same schema as the stateless run (real sample-town values mixed in); only the
``not_a_server_error`` check, so 4xx refusals of generated input pass. Derandomised.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.stateful import collect_transitions

from .conftest import Town
from .test_schemathesis import api_schema

# Links the document declares, by (source, target) operation: each must reach the machine.
DECLARED_LINKS = {
    ("POST /problems", "GET /problems/{problem_id}"),
    ("POST /problems", "PATCH /problems/{problem_id}"),
    ("POST /problems", "POST /problems/{problem_id}/evidence"),
    ("POST /problems/{problem_id}/evidence", "GET /problems/{problem_id}/evidence/{name}"),
    ("POST /complaints", "GET /complaints/{complaint_id}"),
    ("GET /targets", "GET /targets/{target_id}"),
}


def links_of(town: Town) -> set[tuple[str, str]]:
    schema = api_schema(town)
    operations = [result.ok() for result in schema.get_all_operations()]
    transitions = collect_transitions(operations)
    return {
        (source, link.target.label)
        for source, entry in transitions.operations.items()
        for link in entry.outgoing
    }


@pytest.mark.slow
def test_the_document_declares_links_from_created_resources_to_their_reads(town: Town) -> None:
    assert links_of(town) >= DECLARED_LINKS


def test_the_document_passes_the_new_problems_etag_as_if_match(town: Town) -> None:
    doc = town.client.get("/openapi.json").json()
    links = doc["paths"]["/problems"]["post"]["responses"]["201"]["links"]
    assert links["ChangeProblem"]["parameters"]["header.if-match"] == "$response.header.ETag"
    assert set(links) == {"GetProblem", "ChangeProblem", "UploadEvidence"}


# A scenario of up to 15 linked calls, 15 scenarios: about 15 s.
@pytest.mark.slow
def test_no_sequence_of_linked_calls_makes_a_server_error_for_the_office(town: Town) -> None:
    office = town.headers("office")

    class OfficeWorkflow(api_schema(town).as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": office}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=[not_a_server_error])

    OfficeWorkflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
