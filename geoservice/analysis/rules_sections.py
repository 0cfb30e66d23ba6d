"""The sections of the rules file: one strict pydantic model per top-level key.

Every model forbids unknown keys (a misspelt key in an override is an error, not a silent
no-op) and checks its values; :class:`RuleValueError` carries the key and a bilingual
reason to the error message built by :func:`geoservice.analysis.rules.load_rules`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layers.codes import CATEGORIES

PUBLIC_WELFARE_CLASSES = ("national_1", "national_2", "local_key", "local_general", "none")


class RuleValueError(ValueError):
    """A rule value that fails a check of this module, with its key and bilingual reason."""

    def __init__(self, key: str, value: object, zh: str, en: str) -> None:
        super().__init__(en)
        self.key, self.value, self.zh, self.en = key, value, zh, en


class StrictModel(BaseModel):
    """A rules section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Weight = Annotated[float, Field(ge=0.0)]


class Policy(StrictModel):
    title_zh: str
    short_zh: str
    title_en: str
    short_en: str


class StatusWeights(StrictModel):
    verified: Weight
    new: Weight
    closed: Weight
    unfounded: Weight


class ComplaintRules(StrictModel):
    buffer_m: float = Field(ge=0.0)
    half_distance_m: float = Field(gt=0.0)
    half_life_days: float = Field(gt=0.0)
    status_weights: StatusWeights
    reclassify_other: bool


class LegalityWeights(StrictModel):
    true: Weight
    suspected: Weight
    unknown: Weight
    false: Weight


class PatchRules(StrictModel):
    points_per_ha: Weight
    legality_weights: LegalityWeights
    established_area_only: bool
    wetland_categories: dict[str, str]

    @model_validator(mode="after")
    def _known(self) -> PatchRules:
        for key, value in self.wetland_categories.items():
            check_category(f"patches.wetland_categories.{key}", key)
            check_category(f"patches.wetland_categories.{key}", value)
        return self


class ProblemRules(StrictModel):
    buffer_m: float = Field(ge=0.0)
    open_statuses: list[str]
    open_points: Weight
    overdue_points: Weight
    match_description: bool

    @model_validator(mode="after")
    def _known(self) -> ProblemRules:
        allowed = ("assigned", "in_progress", "reported", "verified", "rejected")
        for i, status in enumerate(self.open_statuses):
            if status not in allowed:
                raise RuleValueError(
                    f"problems.open_statuses.{i}",
                    status,
                    f"应为整改状态之一：{'、'.join(allowed)}",
                    f"one of the problem states {', '.join(allowed)}",
                )
        return self


class ProtectionRules(StrictModel):
    public_welfare: dict[str, float]
    nature_reserve: float = Field(gt=0.0)
    wetland: float = Field(gt=0.0)
    default: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _known(self) -> ProtectionRules:
        for key, value in self.public_welfare.items():
            if key not in PUBLIC_WELFARE_CLASSES:
                raise RuleValueError(
                    f"protection.public_welfare.{key}",
                    key,
                    f"应为公益林等级之一：{'、'.join(PUBLIC_WELFARE_CLASSES)}",
                    f"one of the public-welfare classes {', '.join(PUBLIC_WELFARE_CLASSES)}",
                )
            if not value > 0:
                raise RuleValueError(
                    f"protection.public_welfare.{key}", value, "应为大于 0 的数", "a number > 0"
                )
        return self


class Citation(StrictModel):
    """Where a threshold comes from: document and article, in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Citations(StrictModel):
    occupation: Citation
    felling: Citation
    unlicensed_felling: Citation
    fire: Citation
    hunting: Citation


class CriminalRules(StrictModel):
    occupation_categories: list[str]
    public_welfare_classes: list[str]
    nature_reserve_is_public_welfare: bool
    public_welfare_area_ha: float = Field(gt=0.0)
    other_area_ha: float = Field(gt=0.0)
    felling_categories: list[str]
    felling_volume_m3: float = Field(gt=0.0)
    felling_saplings: int = Field(gt=0)
    unlicensed_felling_volume_m3: float = Field(gt=0.0)
    unlicensed_felling_saplings: int = Field(gt=0)
    fire_categories: list[str]
    fire_stocked_area_ha: float = Field(gt=0.0)
    stocked_land_classes: list[str]
    hunting_categories: list[str]
    citations: Citations
    article: int = Field(ge=1)

    @model_validator(mode="after")
    def _known(self) -> CriminalRules:
        for name in (
            "occupation_categories",
            "felling_categories",
            "fire_categories",
            "hunting_categories",
        ):
            for i, cat in enumerate(getattr(self, name)):
                check_category(f"criminal.{name}.{i}", cat)
        for i, cls in enumerate(self.public_welfare_classes):
            if cls not in PUBLIC_WELFARE_CLASSES:
                raise RuleValueError(
                    f"criminal.public_welfare_classes.{i}",
                    cls,
                    f"应为公益林等级之一：{'、'.join(PUBLIC_WELFARE_CLASSES)}",
                    f"one of the public-welfare classes {', '.join(PUBLIC_WELFARE_CLASSES)}",
                )
        return self


class FlagRules(StrictModel):
    score: float = Field(gt=0.0)


class PriorityRules(StrictModel):
    p1_score: float = Field(gt=0.0)
    p2_score: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> PriorityRules:
        if self.p1_score < self.p2_score:
            raise RuleValueError(
                "targets.priority.p1_score",
                self.p1_score,
                f"应不小于 targets.priority.p2_score（{self.p2_score:g}）",
                f"a score >= targets.priority.p2_score ({self.p2_score:g})",
            )
        return self


class DeadlineDays(StrictModel):
    """Days from the analysis date to a target's deadline, by priority."""

    P1: int = Field(ge=1, le=3650)
    P2: int = Field(ge=1, le=3650)
    P3: int = Field(ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> DeadlineDays:
        for key, days, later in (("P1", self.P1, "P2"), ("P2", self.P2, "P3")):
            limit = getattr(self, later)
            if days > limit:
                raise RuleValueError(
                    f"targets.deadline_days.{key}",
                    days,
                    f"应不多于 targets.deadline_days.{later}（{limit} 天）：优先级越高期限越短",
                    f"at most targets.deadline_days.{later} ({limit} days): a higher "
                    "priority never gets more days",
                )
        return self

    def of(self, priority: str) -> int:
        """The days of ``priority`` (the longest for an unknown one)."""
        return {"P1": self.P1, "P2": self.P2}.get(priority, self.P3)


class TargetRules(StrictModel):
    group_distance_m: float = Field(ge=0.0)
    member_score: float = Field(gt=0.0)
    category_min_share: float = Field(ge=0.0, le=1.0)
    priority: PriorityRules
    deadline_days: DeadlineDays


class Classification(StrictModel):
    keywords: dict[str, list[str]]

    @model_validator(mode="after")
    def _known(self) -> Classification:
        for cat, words in self.keywords.items():
            check_category(f"classification.keywords.{cat}", cat)
            for i, word in enumerate(words):
                if not word.strip():
                    raise RuleValueError(
                        f"classification.keywords.{cat}.{i}",
                        word,
                        "应为非空的关键词",
                        "a non-empty keyword",
                    )
        return self


class Department(StrictModel):
    zh: str
    en: str
    duty_zh: str
    duty_en: str


class RoutingRule(StrictModel):
    lead: str
    cooperating: list[str]
    article: int = Field(ge=1)


class Escalation(StrictModel):
    department: str
    article: int = Field(ge=1)


class CategoryEscalation(Escalation):
    categories: list[str]


class Escalations(StrictModel):
    criminal: Escalation
    protected_area: Escalation
    environment: CategoryEscalation


def check_category(key: str, value: str) -> None:
    if value not in CATEGORIES:
        raise RuleValueError(
            key,
            value,
            f"应为违法类别代码之一：{'、'.join(CATEGORIES)}",
            f"one of the categories {', '.join(CATEGORIES)}",
        )
