"""Who must act: the lead and cooperating departments of a target (Article 10).

Design: ``docs/design.md#department-registry-and-routing``.

The routing table of the rules gives the lead and cooperating departments of the target's
dominant category; the escalations then apply in order:

1. a criminal threshold is met: ``escalations.criminal.department`` (the police station)
   leads and the previous lead cooperates;
2. the target lies in a nature reserve or on wetland: ``escalations.protected_area``
   (agriculture, which runs nature-reserve protection) takes part;
3. the target's categories include one of ``escalations.environment.categories``
   (pollution, mining): ``escalations.environment`` takes part.

Every department carries why it is there and the article that says so, for the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from geoservice.analysis.rules import Rules

__all__ = ["Assignment", "Routing", "route"]

Why = Literal["category", "criminal", "previous_lead", "protected_area", "environment"]


@dataclass(frozen=True)
class Assignment:
    """One department on a target and why.

    Attributes
    ----------
    department : str
        Department code (registry of the rules).
    why : {"category", "criminal", "previous_lead", "protected_area", "environment"}
        ``category``: the routing rule of the dominant category names it; ``criminal``:
        it leads because a criminal threshold is met; ``previous_lead``: it led before the
        criminal escalation; ``protected_area``: nature reserve or wetland;
        ``environment``: pollution or mining among the categories.
    article : int
        Article of the Collaboration Rules the assignment rests on.
    category : str
        The category that brought it in (dominant category, or the escalating one).
    """

    department: str
    why: Why
    article: int
    category: str


@dataclass(frozen=True)
class Routing:
    """The departments of one target: ``lead`` first, then ``cooperating`` in order."""

    lead: Assignment
    cooperating: tuple[Assignment, ...]

    @property
    def lead_department(self) -> str:
        return self.lead.department

    @property
    def cooperating_departments(self) -> tuple[str, ...]:
        return tuple(a.department for a in self.cooperating)


def route(
    categories: Sequence[str],
    criminal: bool,
    protected_area: bool,
    rules: Rules,
) -> Routing:
    """Lead and cooperating departments for a target.

    Parameters
    ----------
    categories : sequence of str
        The target's categories, dominant first (``other`` when empty).
    criminal : bool
        A criminal threshold is met.
    protected_area : bool
        Any of the target's parcels is in a nature reserve or is wetland.
    rules : Rules

    Returns
    -------
    Routing
    """
    dominant = categories[0] if categories else "other"
    rule = rules.routing.get(dominant, rules.routing["other"])
    lead = Assignment(rule.lead, "category", rule.article, dominant)
    coop = [Assignment(dep, "category", rule.article, dominant) for dep in rule.cooperating]

    esc = rules.escalations
    if criminal and lead.department != esc.criminal.department:
        previous = Assignment(lead.department, "previous_lead", lead.article, dominant)
        coop = [previous] + [a for a in coop if a.department != esc.criminal.department]
        lead = Assignment(esc.criminal.department, "criminal", esc.criminal.article, dominant)

    def add(department: str, why: Why, article: int, category: str) -> None:
        present = {lead.department} | {a.department for a in coop}
        if department not in present:
            coop.append(Assignment(department, why, article, category))

    if protected_area:
        add(esc.protected_area.department, "protected_area", esc.protected_area.article, dominant)
    hit = [c for c in categories if c in esc.environment.categories]
    if hit:
        add(esc.environment.department, "environment", esc.environment.article, hit[0])
    return Routing(lead=lead, cooperating=tuple(coop))
