"""Targets: grouping, stable ids, evidence counted once, priorities, reasons; the sample town."""

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import shapely

from geoservice.analysis.present import present_targets
from geoservice.analysis.rules import load_rules
from geoservice.analysis.scoring import score_parcels
from geoservice.analysis.targets import TARGET_COLUMNS, build_targets, target_id
from geoservice.base.workspace import Workspace
from geoservice.cli.app import DEMO_FILES
from geoservice.files.importing import import_file
from geoservice.sample.town import planted_cases
from tests.geoservice.analysis.test_scoring import (
    RULES,
    at,
    box,
    complaints,
    empty,
    parcels,
    patches,
    problems,
    score,
)

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"


def targets_of(p, c=None, x=None, q=None, lang="zh"):
    scored = score(p, c, x, q)
    return build_targets(scored.parcel_risk, scored.items, RULES, lang)


def hot(dx=0.0, **attrs):
    """A 1-ha national level-1 parcel at dx (protection multiplier 2.0)."""
    return {"geometry": box(dx), "public_welfare": "national_1", **attrs}


def hot_complaints(*dxs):
    """Two verified complaints inside the parcel at each dx: 2 x 2.0 = 4 points, flagged."""
    return complaints(*({"geometry": at(dx + 50, 50 + i)} for dx in dxs for i in range(2)))


@pytest.mark.parametrize(("gap", "parcel_counts"), [(99.0, [2]), (101.0, [1, 1])])
def test_parcels_99_m_apart_share_a_target_and_101_m_apart_do_not(gap, parcel_counts):
    p = parcels(hot(0), hot(100 + gap))
    # one complaint inside each parcel, each within 200 m of both: both flagged
    t = targets_of(p, hot_complaints(0, 100 + gap))
    assert t["parcel_count"].tolist() == parcel_counts


def test_target_columns_are_exactly_the_contract():
    t = targets_of(parcels(hot()), hot_complaints(0))
    assert list(t.columns) == TARGET_COLUMNS
    assert t.crs.to_epsg() == 4546
    assert t.geometry.iloc[0].geom_type == "MultiPolygon"


def test_target_id_is_sha1_of_the_sorted_parcel_ids():
    expected = "T-" + hashlib.sha1(b"0001-001;0001-002").hexdigest()[:10]
    assert target_id(["0001-002", "0001-001"]) == expected


def test_target_ids_are_stable_across_runs_and_when_an_unrelated_parcel_changes():
    p = parcels(hot(0), hot(3000))
    first = targets_of(p, hot_complaints(0, 3000))
    assert (
        targets_of(p, hot_complaints(0, 3000))["target_id"].tolist() == first["target_id"].tolist()
    )
    # the far parcel changes (class, more evidence): the first target keeps its id
    changed = p.copy()
    changed.loc[1, "public_welfare"] = "local_key"
    second = targets_of(changed, hot_complaints(0, 3000, 3000))
    [kept] = first.loc[first["parcel_ids"] == "0001-001", "target_id"]
    assert kept in set(second["target_id"])


def test_a_complaint_in_two_parcels_of_one_target_counts_once_at_the_higher_protection():
    p = parcels(hot(0), {"geometry": box(100), "public_welfare": "local_key"})
    # one on the shared boundary (in both parcels), one inside each parcel
    c = complaints({"geometry": at(100, 50)}, {"geometry": at(50, 50)}, {"geometry": at(150, 50)})
    t = targets_of(p, c)
    assert t["complaint_count"].tolist() == [3]
    # boundary and first: 1 point x 2.0 (national_1) each; third: 1 x 1.5 (local_key)
    assert t["score"].tolist() == pytest.approx([5.5])


def test_priority_p1_when_a_criminal_threshold_is_met():
    x = patches({"illegal_area_ha": 0.7, "geometry": box(0, 0, 100, 100)})
    t = targets_of(parcels({}), x=x)
    assert t["priority"].tolist() == ["P1"]
    assert t["criminal_threshold_met"].tolist() == [True]
    assert t["lead_department"].tolist() == ["police"]


@pytest.mark.parametrize(
    ("n_complaints", "priority"),
    [(2, "P3"), (3, "P2"), (5, "P1")],
)
def test_priority_follows_the_score_thresholds(n_complaints, priority):
    # each verified complaint is 2 points on national level-1 forest: 4 < 4.5, 6 >= 4.5, 10 >= 10
    c = complaints(*({"geometry": at(50, 40 + i)} for i in range(n_complaints)))
    t = targets_of(parcels(hot()), c)
    assert t["priority"].tolist() == [priority]


def test_targets_are_sorted_by_priority_then_score():
    p = parcels(hot(0), hot(3000), hot(6000))
    c = complaints(
        *({"geometry": at(50, 40 + i)} for i in range(2)),
        *({"geometry": at(3050, 40 + i)} for i in range(4)),
        *({"geometry": at(6050, 40 + i)} for i in range(3)),
    )
    t = targets_of(p, c)
    assert t["priority"].tolist() == ["P2", "P2", "P3"]
    assert t["score"].tolist() == pytest.approx([8.0, 6.0, 4.0])


def test_escalation_environment_joins_for_pollution():
    c = complaints({"category": "illegal_logging"}, {"category": "pollution"}, {})
    t = targets_of(parcels(hot()), c)
    assert t["categories"].tolist() == ["illegal_logging;pollution"]
    assert t["cooperating_departments"].tolist() == ["police;natural_resources;environment"]


def test_escalation_agriculture_joins_in_a_nature_reserve():
    c = complaints({"category": "illegal_mining"}, {"category": "illegal_mining"})
    t = targets_of(parcels(hot(nature_reserve=True)), c)
    assert t["lead_department"].tolist() == ["natural_resources"]
    assert t["cooperating_departments"].tolist() == ["environment;police;agriculture"]


def test_reasons_name_the_evidence_the_threshold_and_the_article():
    p = parcels(hot())
    x = patches(
        {
            "change_cause": "22",
            "category": "illegal_logging",
            "illegal_area_ha": 0.6,
            "geometry": box(0, 0, 100, 60),
        }
    )
    q = problems({"deadline": pd.Timestamp("2026-10-30")})
    reasons = targets_of(p, hot_complaints(0), x, q)["reasons"].iloc[0]
    for text in (
        "JB202600001",
        "44188220260001",
        "未经审批采伐林木",
        "DC202609-001",
        "已逾期 29 天",
        "估算林木蓄积 60.0 立方米，超过盗伐林木 5 立方米刑事立案标准"
        "（《最高人民法院关于审理破坏森林资源刑事案件适用法律若干问题的解释》（法释〔2023〕8号）第三条）",
        "如系林木所有者无证采伐（滥伐林木），标准为 20 立方米或幼树 1000 株",
        "依据《部门协作制度》第十条，镇郊派出所负责侦办破坏森林资源刑事案件",
        "镇农业农村办（盗伐滥伐林木问题的主责部门",
    ):
        assert text in reasons, text


def test_a_province_override_changes_the_threshold_and_the_cited_text(tmp_path):
    override = tmp_path / "province.rules.yaml"
    override.write_text(
        "criminal:\n"
        "  felling_volume_m3: 10.0\n"
        "  citations:\n"
        "    felling: {zh: 《某省破坏森林资源案件立案标准》第三条, en: Art. 3 of the province standards}\n",
        encoding="utf-8",
    )
    rules = load_rules(override)
    x = patches({"change_cause": "22", "category": "illegal_logging", "illegal_area_ha": 0.12})
    scored = score(parcels(hot()), x=x, rules=rules)
    [target] = build_targets(scored.parcel_risk, scored.items, rules).itertuples()
    assert (
        "超过盗伐林木 10 立方米刑事立案标准（《某省破坏森林资源案件立案标准》第三条）"
        in target.reasons
    )
    assert "《某省破坏森林资源案件立案标准》第三条" in target.legal_basis


def test_the_legal_basis_states_the_thresholds_that_concern_the_target():
    t = targets_of(parcels(hot()), hot_complaints(0))
    [basis] = t["legal_basis"].tolist()
    assert basis.startswith("适用标准：盗伐林木罪：立木蓄积 5 立方米或幼树 200 株以上")
    assert "法释〔2023〕8号）第五条" in basis


def test_a_hunting_target_cites_the_wildlife_interpretation():
    c = complaints(*({"category": "wildlife_crime", "geometry": at(50, 40 + i)} for i in range(3)))
    [target] = targets_of(parcels(hot()), c).itertuples()
    assert "法释〔2022〕12号）第七条" in target.reasons
    assert "法释〔2022〕12号）第七条" in target.legal_basis


def test_reasons_state_the_public_welfare_area_threshold():
    x = patches({"illegal_area_ha": 0.52, "geometry": box(0, 0, 100, 60)})
    reasons = targets_of(parcels({"public_welfare": "national_1"}), x=x)["reasons"].iloc[0]
    assert "违法占用国家一级公益林地 0.52 公顷，超过 5 亩（0.3333 公顷）刑事立案标准" in reasons


def test_reasons_in_english():
    reasons = targets_of(parcels(hot()), hot_complaints(0), lang="en")["reasons"].iloc[0]
    assert "2 complaints (2 verified)" in reasons
    assert (
        "under Article 10 of the Collaboration Rules, the agriculture and rural affairs office"
        in reasons
    )


def test_no_flagged_parcel_gives_an_empty_target_table():
    t = targets_of(parcels({}), complaints({"status": "new"}))
    assert t.empty
    assert list(t.columns) == TARGET_COLUMNS


def test_empty_parcel_risk_gives_an_empty_target_table():
    scored = score(empty())
    t = build_targets(scored.parcel_risk, scored.items, RULES)
    assert t.empty
    assert list(t.columns) == TARGET_COLUMNS


def test_target_geometry_is_the_union_of_its_parcels():
    p = parcels(hot(0), hot(100))
    t = targets_of(p, hot_complaints(0, 100))
    assert t.geometry.iloc[0].area == pytest.approx(20_000.0)
    assert shapely.get_num_geometries(t.geometry.iloc[0]) == 1


# --- the sample town -------------------------------------------------------------------


@pytest.fixture(scope="module")
def town_layers(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("town") / "town.gpkg")
    for f in DEMO_FILES:
        if f.kind != "villages":
            import_file(ws, SAMPLE / f.name, f.kind, actor="test", **f.options())
    return {k: ws.read(k) for k in ("parcels", "complaints", "patches", "problems")}


@pytest.fixture(scope="module")
def town(town_layers):
    result = score_parcels(*town_layers.values(), load_rules(), date(2026, 11, 28))
    return result, build_targets(result.parcel_risk, result.items, load_rules())


@pytest.fixture(scope="module")
def cases():
    return {c.key: c for c in planted_cases()}


def _case_targets(targets, case):
    ids = set(case.parcel_ids) | set(case.wetland_ids)
    touched = targets["parcel_ids"].str.split(";").map(lambda ps: bool(ids & set(ps)))
    return targets[touched]


EXPECTED = {
    # lead, departments that must take part
    "felling": ("police", {"agriculture", "natural_resources"}),
    "wetland_fill": ("agriculture", {"environment", "natural_resources"}),
    "quarry": ("police", {"natural_resources", "environment"}),
    "poaching": ("police", {"finance", "agriculture"}),
    # 2.32 ha of stocked forest burnt: the 失火 case-filing threshold is met, police lead
    "burning": ("police", {"emergency", "agriculture", "public_service"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(EXPECTED))
def test_sample_town_planted_cases_are_p1_or_p2_targets_with_the_right_departments(
    town, cases, key
):
    _, targets = town
    case = cases[key]
    found = _case_targets(targets, case)
    assert len(found) == 1, found[["target_id", "parcel_ids"]]
    target = found.iloc[0]
    lead, cooperating = EXPECTED[key]
    assert target["priority"] in ("P1", "P2")
    assert target["lead_department"] == lead
    assert cooperating <= set(target["cooperating_departments"].split(";"))
    assert case.village_code in target["village_codes"]
    for evidence in (*case.complaint_ids[:2], *case.patch_ids, *case.problem_ids[:1]):
        if evidence in {"DC202603-003"}:  # reported fixed: no longer open
            continue
        assert evidence in target["reasons"], evidence


def test_sample_town_felling_and_quarry_meet_criminal_thresholds(town, cases):
    _, targets = town
    assert _case_targets(targets, cases["felling"])["criminal_threshold_met"].all()
    assert _case_targets(targets, cases["quarry"])["criminal_threshold_met"].all()
    assert not _case_targets(targets, cases["wetland_fill"])["criminal_threshold_met"].any()


@pytest.mark.parametrize("key", ["old_closed", "approved_road", "unfounded_felling"])
def test_sample_town_look_alikes_are_not_targets(town, cases, key):
    _, targets = town
    assert _case_targets(targets, cases[key]).empty


def _lies_in(layer, parcels):
    """Item id -> the parcel ids its geometry lies in (overlaps, for polygons)."""
    pairs = layer.sjoin(parcels[["parcel_id", "geometry"]], predicate="intersects")
    if layer.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        part = shapely.intersection(
            layer.geometry.loc[pairs.index].to_numpy(),
            parcels.geometry.loc[pairs["index_right"]].to_numpy(),
        )
        pairs = pairs[shapely.area(part) > 1.0]
    return pairs.groupby(pairs.columns[0])["parcel_id"].agg(set).to_dict()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "id_column"),
    [("complaints", "complaint_id"), ("patches", "patch_id"), ("problems", "problem_id")],
)
def test_sample_town_every_target_contains_the_parcels_its_evidence_lies_in(
    town, town_layers, kind, id_column
):
    result, targets = town
    parcels = town_layers["parcels"]
    layer = town_layers[kind][[id_column, "geometry"]].dropna(subset=["geometry"])
    where = _lies_in(layer, parcels)
    items = result.items
    for target in targets.itertuples():
        members = set(target.parcel_ids.split(";"))
        counted = set(items.loc[items["parcel_id"].isin(members), "item_id"])
        for item_id in counted & set(where):
            assert where[item_id] <= members, (target.target_id, item_id, where[item_id])


@pytest.mark.slow
def test_sample_town_poaching_target_holds_the_parcels_its_complaints_and_problem_lie_in(
    town, cases
):
    _, targets = town
    [target] = _case_targets(targets, cases["poaching"]).itertuples()
    parcels = set(target.parcel_ids.split(";"))
    assert {"0078-003", "0078-004", "0080-023", "0080-029", "0080-014"} <= parcels
    assert target.complaint_count == 5
    assert target.priority == "P2"


@pytest.mark.slow
def test_sample_town_fire_target_covers_the_whole_burn(town, cases):
    _, targets = town
    [target] = _case_targets(targets, cases["burning"]).itertuples()
    assert set(cases["burning"].parcel_ids) <= set(target.parcel_ids.split(";"))
    # the burn (patch 44188220260019) is 2.50 ha, all of it on the target's parcels
    assert target.patch_area_ha == pytest.approx(2.495, abs=0.005)


@pytest.mark.slow
def test_sample_town_complaints_counted_from_outside_their_parcel_give_the_distance(town):
    _, targets = town
    [wetland] = targets[targets["parcel_ids"].str.contains("441882110000000123")].itertuples()
    # JB202600028 lies in no parcel, 2 m from wetland parcel 441882110000000123
    assert "JB202600028 距" in wetland.reasons


def test_sample_town_target_list_is_short_enough_to_act_on(town):
    result, targets = town
    assert 5 <= len(targets) <= 25
    assert result.unmatched_complaints.empty
    assert set(targets.loc[targets["priority"] == "P3", "parcel_count"]) <= {1, 2, 3}


def test_a_patch_crossing_wetland_and_forest_weighs_in_both_categories():
    p = parcels(
        {"kind": "wetland", "geometry": box(0, 0)},
        {"kind": "forest", "geometry": box(100, 0)},
    )
    x = patches(
        {
            "change_cause": "51",
            "category": "land_reclamation",
            "illegal_area_ha": 1.0,
            "area_ha": 1.0,
            "geometry": box(50, 0, 100, 100),
        }
    )
    [target] = targets_of(p, x=x).itertuples()
    assert set(target.categories.split(";")) == {"wetland_damage", "land_reclamation"}


def test_a_target_of_parcels_without_village_keeps_them_missing_and_says_unknown_village():
    p = parcels(hot(0, village_code=None, village_name=None), hot(150))
    p = p.astype({"village_code": "string", "village_name": "string"})
    [target] = targets_of(p, hot_complaints(0, 150)).itertuples()
    assert (target.village_codes, target.village_names) == ("441882101211", "黄岗村")
    assert target.reasons.startswith("位置：黄岗村、未知村，小班 0001-001、0001-002")


def test_a_target_with_no_village_at_all_stores_none_and_reads_unknown_village_in_english():
    p = parcels(hot(0, village_code=None, village_name=None))
    t = targets_of(p, hot_complaints(0), lang="en")
    assert t["village_codes"].isna().all() and t["village_names"].isna().all()
    assert t["reasons"].iloc[0].startswith("Where: unknown village, 1 parcel 0001-001")


def test_a_village_code_without_a_name_is_named_by_its_code():
    p = parcels(hot(0, village_code="441882109999", village_name=None))
    t = targets_of(p, hot_complaints(0))
    assert t["village_codes"].iloc[0] == "441882109999"
    assert pd.isna(t["village_names"].iloc[0])
    assert t["reasons"].iloc[0].startswith("位置：未知村（代码 441882109999），")


def test_an_open_problem_without_deadline_reads_no_deadline_set():
    q = problems({"deadline": pd.NaT}, {"deadline": pd.NaT, "geometry": at(60, 60)})
    reasons = targets_of(parcels(hot()), hot_complaints(0), q=q)["reasons"].iloc[0]
    assert "DC202609-001（盗伐滥伐林木，已交办，未定整改期限）" in reasons


def test_target_table_for_clerks_names_a_target_with_no_village_in_plain_words():
    p = parcels(hot(0, village_code=None, village_name=None), hot(3000))
    p = p.astype({"village_code": "string", "village_name": "string"})
    t = targets_of(p, hot_complaints(0, 3000))
    assert sorted(present_targets(t)["所在村"]) == ["未知村", "黄岗村"]
    assert sorted(present_targets(t, "en")["villages"]) == ["unknown village", "黄岗村"]
