"""Routing: the table of the rules, then the escalations, each with why and the article."""

import pytest

from geoservice.analysis.routing import route
from geoservice.analysis.rules import load_rules

RULES = load_rules()


def departments(routing):
    return routing.lead_department, list(routing.cooperating_departments)


@pytest.mark.parametrize(
    ("category", "lead", "cooperating"),
    [
        ("illegal_logging", "agriculture", ["police", "natural_resources"]),
        ("wetland_damage", "agriculture", ["environment", "natural_resources"]),
        ("illegal_mining", "natural_resources", ["environment", "police"]),
        ("wildlife_crime", "police", ["finance", "agriculture"]),
        ("fire_hazard", "emergency", ["police", "agriculture", "public_service"]),
        ("timber_transport", "construction", ["police", "finance"]),
        ("other", "agriculture", []),
    ],
)
def test_the_dominant_category_picks_lead_and_cooperating(category, lead, cooperating):
    assert departments(route([category], False, False, RULES)) == (lead, cooperating)


def test_no_category_routes_as_other():
    assert departments(route([], False, False, RULES)) == ("agriculture", [])


def test_criminal_hands_the_lead_to_police_and_the_previous_lead_cooperates():
    routing = route(["illegal_logging"], True, False, RULES)
    assert departments(routing) == ("police", ["agriculture", "natural_resources"])
    assert routing.lead.why == "criminal"
    assert routing.cooperating[0].why == "previous_lead"
    assert routing.lead.article == 10


def test_criminal_changes_nothing_when_police_already_leads():
    assert departments(route(["wildlife_crime"], True, False, RULES)) == (
        "police",
        ["finance", "agriculture"],
    )


def test_a_nature_reserve_or_wetland_brings_in_agriculture():
    routing = route(["illegal_mining"], False, True, RULES)
    assert departments(routing) == ("natural_resources", ["environment", "police", "agriculture"])
    assert routing.cooperating[-1].why == "protected_area"


def test_agriculture_is_not_added_twice_on_protected_land():
    assert departments(route(["wetland_damage"], False, True, RULES)) == (
        "agriculture",
        ["environment", "natural_resources"],
    )


def test_pollution_among_the_categories_brings_in_environment():
    routing = route(["illegal_logging", "pollution"], False, False, RULES)
    assert departments(routing) == ("agriculture", ["police", "natural_resources", "environment"])
    assert (routing.cooperating[-1].why, routing.cooperating[-1].category) == (
        "environment",
        "pollution",
    )


def test_all_escalations_together_keep_each_department_once():
    routing = route(["fire_hazard", "illegal_mining"], True, True, RULES)
    lead, cooperating = departments(routing)
    assert lead == "police"
    assert cooperating == ["emergency", "agriculture", "public_service", "environment"]
    assert len(set(cooperating)) == len(cooperating)


def test_escalation_departments_come_from_the_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("escalations:\n  protected_area: {department: environment, article: 10}\n")
    routing = route(["pest_disease"], False, True, load_rules(path))
    assert departments(routing) == ("agriculture", ["public_service", "environment"])
