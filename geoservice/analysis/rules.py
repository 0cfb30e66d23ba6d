"""The risk and routing rules: one YAML file of weights, thresholds, keywords and routing.

The package ships its defaults in ``geoservice/analysis/rules.yaml``; a workspace may override
any key with its own YAML file, deep-merged into the defaults (mappings merge key by key,
lists and plain values replace). :func:`load_rules` validates the result into a
:class:`Rules` model; every bad value becomes an :class:`~geoservice.base.errors.OptionError`
naming the key, the value received and what is expected, in Chinese and English.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError, model_validator

from geoservice.analysis.labels import (
    article_label,
    category_name,
    citation,
    display_sections,
    escalation_rows,
)
from geoservice.analysis.patch_rules import PatchWorkflowRules
from geoservice.analysis.rules_sections import (
    PUBLIC_WELFARE_CLASSES,
    Classification,
    ComplaintRules,
    CriminalRules,
    Department,
    Escalations,
    FlagRules,
    PatchRules,
    Policy,
    ProblemRules,
    ProtectionRules,
    RoutingRule,
    RuleValueError,
    StrictModel,
    TargetRules,
    check_category,
)
from geoservice.base.errors import OptionError, message
from layers.codes import CATEGORIES
from layers.messages import Lang

__all__ = [
    "PUBLIC_WELFARE_CLASSES",
    "Rules",
    "article_label",
    "classify_text",
    "load_rules",
    "rules_hash",
    "rules_table",
]

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class Rules(StrictModel):
    """Every weight, half-life, buffer, threshold, keyword and routing rule of the analysis.

    Units: distances in metres (workspace CRS), areas in hectares, volumes in cubic metres,
    ages in days; scores are dimensionless evidence points. See ``geoservice/analysis/rules.yaml``
    for the meaning of each key.
    """

    policy: Policy
    complaints: ComplaintRules
    patches: PatchRules
    problems: ProblemRules
    severity: dict[str, float]
    protection: ProtectionRules
    criminal: CriminalRules
    flag: FlagRules
    targets: TargetRules
    classification: Classification
    departments: dict[str, Department]
    routing: dict[str, RoutingRule]
    escalations: Escalations
    patch_workflow: PatchWorkflowRules

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        for cat in CATEGORIES:
            if cat not in self.severity:
                raise RuleValueError(
                    f"severity.{cat}", None, "缺少该类别的严重程度", "a severity for every category"
                )
            if cat not in self.routing:
                raise RuleValueError(
                    f"routing.{cat}",
                    None,
                    "缺少该类别的分工规则",
                    "a routing rule for every category",
                )
        for cat, value in self.severity.items():
            check_category(f"severity.{cat}", cat)
            if value < 0:
                raise RuleValueError(f"severity.{cat}", value, "应为不小于 0 的数", "a number >= 0")
        for code in self.departments:
            if not _CODE.match(code):
                raise RuleValueError(
                    f"departments.{code}",
                    code,
                    "部门代码应为小写英文字母、数字和下划线",
                    "a department code of lowercase letters, digits and underscores",
                )
        for cat, rule in self.routing.items():
            check_category(f"routing.{cat}", cat)
            self._check_department(f"routing.{cat}.lead", rule.lead)
            for i, dep in enumerate(rule.cooperating):
                self._check_department(f"routing.{cat}.cooperating.{i}", dep)
                if dep == rule.lead:
                    raise RuleValueError(
                        f"routing.{cat}.cooperating.{i}",
                        dep,
                        "配合部门不应与牵头部门相同",
                        "a department other than the lead",
                    )
        for name in ("criminal", "protected_area", "environment"):
            esc = getattr(self.escalations, name)
            self._check_department(f"escalations.{name}.department", esc.department)
        for i, cat in enumerate(self.escalations.environment.categories):
            check_category(f"escalations.environment.categories.{i}", cat)
        return self

    def _check_department(self, key: str, code: str) -> None:
        if code not in self.departments:
            known = ", ".join(self.departments)
            raise RuleValueError(
                key,
                code,
                f"应为 departments 中登记的部门代码之一：{known}",
                f"a department code registered under `departments`: {known}",
            )

    def department_name(self, code: str, lang: Lang = "zh") -> str:
        """The department's name in ``lang`` (the code itself if it is not registered)."""
        dep = self.departments.get(code)
        if dep is None:
            return code
        return dep.en if lang == "en" else dep.zh

    def policy_short(self, lang: Lang = "zh") -> str:
        return self.policy.short_en if lang == "en" else self.policy.short_zh


# --- loading ----------------------------------------------------------------------------


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        raise OptionError(
            message(
                "rules.bad_yaml",
                f"规则文件 {source} 第 {where} 处不是有效的 YAML（{exc}）；请修正该行的缩进或引号。",
                f"The rules file {source} is not valid YAML at line:column {where} ({exc}); "
                "fix the indentation or quoting there.",
            )
        ) from exc
    if data is None:
        return {}
    data = _text_keys(data)
    if not isinstance(data, dict):
        raise OptionError(
            message(
                "rules.not_mapping",
                f"规则文件 {source} 的内容为 {type(data).__name__}，应为键值映射（如 complaints: ...）。",
                f"The rules file {source} holds a {type(data).__name__} but is expected to be a "
                "mapping of keys to values (e.g. `complaints: ...`).",
            )
        )
    return data


def _text_keys(value: Any) -> Any:
    """Mapping keys as text: YAML reads ``true:`` as a boolean and ``421:`` as a number."""
    if isinstance(value, dict):
        return {_key_text(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    return value


def _key_text(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def default_rules_text() -> str:
    """The text of the packaged ``rules.yaml``."""
    return (resources.files("geoservice.analysis") / "rules.yaml").read_text(encoding="utf-8")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``: mappings merge recursively, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_rules(override: Path | None = None) -> Rules:
    """The effective rules: the package defaults deep-merged with ``override``.

    Parameters
    ----------
    override : Path, optional
        A YAML file holding only the keys to change.

    Raises
    ------
    OptionError
        The override is missing or not YAML, or a value is invalid: the message names the
        key (dotted path), the value received and what is expected.
    """
    data = _read_yaml(default_rules_text(), "geoservice/analysis/rules.yaml")
    source = "geoservice/analysis/rules.yaml"
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise OptionError(
                message(
                    "rules.missing_file",
                    f"规则文件 {path} 不存在；请检查路径，或不指定规则文件以使用默认规则。",
                    f"The rules file {path} does not exist; check the path, or give no rules "
                    "file to use the defaults.",
                )
            )
        data = deep_merge(data, _read_yaml(path.read_text(encoding="utf-8-sig"), str(path)))
        source = str(path)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        raise _option_error(exc, source) from exc


def _expected(err: Any) -> tuple[str, str]:
    kind, ctx = err["type"], err.get("ctx") or {}
    table: dict[str, tuple[str, str]] = {
        "missing": ("必填项，不能缺少", "present (the key is required)"),
        "extra_forbidden": (
            "不是可识别的键（请检查拼写）",
            "not there: it is not a known key (check the spelling)",
        ),
        "float_parsing": ("数字", "a number"),
        "float_type": ("数字", "a number"),
        "int_parsing": ("整数", "an integer"),
        "int_type": ("整数", "an integer"),
        "int_from_float": ("整数", "an integer"),
        "bool_parsing": ("true 或 false", "true or false"),
        "bool_type": ("true 或 false", "true or false"),
        "string_type": ("文字", "text"),
        "list_type": ("列表（如 [a, b]）", "a list (e.g. [a, b])"),
        "dict_type": ("键值映射", "a mapping of keys to values"),
        "model_type": ("键值映射", "a mapping of keys to values"),
    }
    if kind in table:
        return table[kind]
    for bound, zh_op, en_op in (
        ("ge", "不小于", ">="),
        ("gt", "大于", ">"),
        ("le", "不大于", "<="),
        ("lt", "小于", "<"),
    ):
        if bound in ctx:
            limit = f"{ctx[bound]:g}" if isinstance(ctx[bound], int | float) else ctx[bound]
            return f"{zh_op} {limit} 的数", f"a number {en_op} {limit}"
    return err["msg"], err["msg"]


def _option_error(exc: ValidationError, source: str) -> OptionError:
    zh_parts: list[str] = []
    en_parts: list[str] = []
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, RuleValueError):
            key, value, zh, en = cause.key, cause.value, cause.zh, cause.en
        else:
            key = ".".join(str(p) for p in err["loc"])
            value = err.get("input")
            zh, en = _expected(err)
        shown = "（无）" if value is None else repr(value)
        zh_parts.append(f"`{key}` 的值为 {shown}，应为{zh}")
        en_parts.append(
            f"`{key}` was {'missing' if value is None else repr(value)} but is expected to be {en}"
        )
    return OptionError(
        message(
            "rules.invalid",
            "规则无效：" + "；".join(zh_parts) + f"。请修改 {source} 中的这些键。",
            "Invalid rules: " + "; ".join(en_parts) + f". Fix these keys in {source}.",
        )
    )


# --- hashing and display ----------------------------------------------------------------


def canonical_dict(rules: Rules) -> dict[str, Any]:
    """The rules as plain JSON data with order-significant mappings turned into lists.

    The keyword table is ordered (first match wins), so it becomes a list of
    ``[category, keywords]`` pairs; every other mapping is order-free.
    """
    data = rules.model_dump(mode="json")
    data["classification"]["keywords"] = [
        [cat, words] for cat, words in rules.classification.keywords.items()
    ]
    return data


def rules_hash(rules: Rules) -> str:
    """sha256 (hex) of the canonical JSON of the effective rules (sorted keys, UTF-8)."""
    text = json.dumps(
        canonical_dict(rules), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rules_table(rules: Rules, lang: Lang) -> dict[str, Any]:
    """What ``geoservice rules show`` prints, in ``lang``.

    Returns
    -------
    dict
        ``title``; ``policy`` (the cited rules' full title); ``sections``: a list of
        ``{"key", "title", "rows": [{"key", "label", "value", "unit"}]}`` holding every
        weight, half-life, buffer and threshold; ``routing``: one row per category
        ``{"category", "category_name", "lead", "lead_name", "cooperating",
        "cooperating_names", "article", "citation"}``; ``escalations``: ``{"rule",
        "description", "department", "department_name", "article", "citation"}``;
        ``departments``: ``{"code", "name", "duty"}``; ``keywords``: ``{"category",
        "category_name", "keywords"}`` in matching order; ``hash``: :func:`rules_hash`.
    """

    def dep_rows() -> list[dict[str, Any]]:
        return [
            {
                "code": code,
                "name": dep.en if lang == "en" else dep.zh,
                "duty": dep.duty_en if lang == "en" else dep.duty_zh,
            }
            for code, dep in rules.departments.items()
        ]

    routing = [
        {
            "category": cat,
            "category_name": category_name(cat, lang),
            "lead": rule.lead,
            "lead_name": rules.department_name(rule.lead, lang),
            "cooperating": list(rule.cooperating),
            "cooperating_names": [rules.department_name(d, lang) for d in rule.cooperating],
            "article": rule.article,
            "citation": citation(rules, rule.article, lang),
        }
        for cat, rule in rules.routing.items()
    ]
    keywords = [
        {"category": cat, "category_name": category_name(cat, lang), "keywords": list(words)}
        for cat, words in rules.classification.keywords.items()
    ]
    title = "风险研判与联合执法分工规则" if lang == "zh" else "Risk and joint-enforcement rules"
    return {
        "title": title,
        "policy": rules.policy.title_en if lang == "en" else rules.policy.title_zh,
        "sections": display_sections(rules, lang),
        "routing": routing,
        "escalations": escalation_rows(rules, lang),
        "departments": dep_rows(),
        "keywords": keywords,
        "hash": rules_hash(rules),
    }


# --- text classification ----------------------------------------------------------------


def classify_text(values: pd.Series, rules: Rules) -> pd.Series:
    """Classify Chinese complaint text into categories with the rules' keyword table.

    Categories are tried in the table's order; the first with a keyword contained in the
    text wins. Text matching nothing, and missing text, becomes ``"other"``.

    Parameters
    ----------
    values : pandas.Series
        Free text (e.g. ``complaints.description``).
    rules : Rules

    Returns
    -------
    pandas.Series
        Category codes (str), aligned to ``values``.
    """
    text = values.astype("string").fillna("")
    out = pd.Series("other", index=values.index, dtype=object)
    todo = pd.Series(True, index=values.index)
    for cat, words in rules.classification.keywords.items():
        if not words or not todo.any():
            continue
        pattern = "|".join(re.escape(w) for w in words)
        hit = todo & text.str.contains(pattern, regex=True).fillna(False).astype(bool)
        out[hit] = cat
        todo &= ~hit
    return out
