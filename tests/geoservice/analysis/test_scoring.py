"""Parcel scores on tiny hand-built layers (EPSG:4546, metres), numbers computed by hand.

Default rules: severity 1.0 for illegal_logging / land_occupation / wildlife_crime /
fire_hazard; complaint status weights verified 1, new 0.5, closed 0.1, unfounded 0;
half-life 180 days; buffer 200 m; patches 6 points per hectare, legality true 1,
suspected 0.6, unknown 0.5, false 0; open problem 1 point, overdue 2.
"""

from datetime import date, timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoservice.analysis.evidence_items import ITEM_COLUMNS
from geoservice.analysis.rules import load_rules
from geoservice.analysis.scoring import (
    PARCEL_RISK_COLUMNS,
    UNMATCHED_COMPLAINT_COLUMNS,
    UNMATCHED_PROBLEM_COLUMNS,
    score_parcels,
)

CRS = "EPSG:4546"
X0, Y0 = 641_000.0, 2_744_000.0
AS_OF = date(2026, 11, 28)
RULES = load_rules()


def box(dx=0.0, dy=0.0, w=100.0, h=100.0):
    """A w x h metre rectangle whose lower-left corner is (X0 + dx, Y0 + dy)."""
    return shapely.box(X0 + dx, Y0 + dy, X0 + dx + w, Y0 + dy + h)


def at(dx, dy):
    return shapely.Point(X0 + dx, Y0 + dy)


def parcels(*rows):
    base = {
        "kind": "forest",
        "village_code": "441882101211",
        "village_name": "黄岗村",
        "public_welfare": "none",
        "nature_reserve": False,
        "volume_per_ha": 100.0,
        "area_ha": 1.0,
    }
    data = [{"parcel_id": f"0001-{i + 1:03d}", **base, **r} for i, r in enumerate(rows)]
    geoms = [d.pop("geometry", box(300.0 * i)) for i, d in enumerate(data)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def complaints(*rows):
    base = {"category": "illegal_logging", "description": "有人砍树", "status": "verified"}
    data = [{"complaint_id": f"JB2026{i + 1:05d}", **base, **r} for i, r in enumerate(rows)]
    for d in data:
        d["received_at"] = pd.Timestamp(d.get("received_at", AS_OF))
    geoms = [d.pop("geometry", at(50, 50)) for d in data]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def patches(*rows):
    base = {
        "year": 2026,
        "change_cause": "421",
        "category": "land_occupation",
        "illegal": "true",
        "illegal_area_ha": 0.5,
        "area_ha": 0.5,
        "permit_no": None,
    }
    data = [{"patch_id": f"4418822026{i + 1:04d}", **base, **r} for i, r in enumerate(rows)]
    geoms = [d.pop("geometry", box(0, 0, 50, 100)) for d in data]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def problems(*rows):
    base = {
        "category": "illegal_logging",
        "status": "assigned",
        "found_on": pd.Timestamp("2026-09-01"),
        "deadline": pd.Timestamp("2026-12-31"),
        "village_code": "441882101211",
        "village_name": "黄岗村",
        "description": "",
    }
    data = [{"problem_id": f"DC202609-{i + 1:03d}", **base, **r} for i, r in enumerate(rows)]
    geoms = [d.pop("geometry", at(50, 50)) for d in data]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def empty():
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


def score(p, c=None, x=None, q=None, rules=RULES, as_of=AS_OF):
    return score_parcels(
        p,
        c if c is not None else empty(),
        x if x is not None else empty(),
        q if q is not None else empty(),
        rules,
        as_of,
    )


def row(result, parcel_id="0001-001"):
    risk = result.parcel_risk
    [found] = risk.index[risk["parcel_id"] == parcel_id]
    return risk.loc[found]


def test_a_complaint_one_half_life_old_counts_half():
    c = complaints({"received_at": AS_OF - timedelta(days=180)})
    assert row(score(parcels({}), c))["complaint_score"] == pytest.approx(0.5)


def test_a_complaint_two_half_lives_old_counts_a_quarter():
    c = complaints({"received_at": AS_OF - timedelta(days=360)})
    assert row(score(parcels({}), c))["complaint_score"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("status", "points"), [("verified", 1.0), ("new", 0.5), ("closed", 0.1), ("unfounded", 0.0)]
)
def test_complaint_status_weights(status, points):
    assert row(score(parcels({}), complaints({"status": status})))[
        "complaint_score"
    ] == pytest.approx(points)


def test_an_unfounded_complaint_counts_nothing_but_is_listed():
    r = row(score(parcels({}), complaints({"status": "unfounded"})))
    assert (r["score"], r["complaint_count"], r["complaint_ids"]) == (0.0, 1, "JB202600001")
    assert not r["flagged"]


def test_complaints_after_as_of_are_ignored():
    c = complaints({"received_at": AS_OF + timedelta(days=1)})
    result = score(parcels({}), c)
    assert result.parcel_risk.empty
    assert result.unmatched_complaints.empty


def test_category_severity_scales_a_complaint():
    c = complaints({"category": "roadside_trees"})
    assert row(score(parcels({}), c))["complaint_score"] == pytest.approx(0.4)


@pytest.mark.parametrize(("dx", "counted"), [(299.0, True), (301.0, False)])
def test_buffer_edge_199_m_in_201_m_out(dx, counted):
    # the parcel's east edge is at x = 100 m: the point is 199 or 201 m from it
    result = score(parcels({}), complaints({"geometry": at(dx, 50)}))
    assert (len(result.parcel_risk) == 1) is counted
    assert (len(result.unmatched_complaints) == 1) is not counted


def test_a_complaint_beyond_the_buffer_is_reported_unmatched_with_its_nearest_parcel():
    c = complaints({"geometry": at(50, 1100), "village_name": "黄岗村"})
    result = score(parcels({}), c)
    assert list(result.unmatched_complaints.columns) == UNMATCHED_COMPLAINT_COLUMNS
    lost = result.unmatched_complaints.iloc[0]
    assert (lost["complaint_id"], lost["nearest_parcel_id"]) == ("JB202600001", "0001-001")
    assert lost["distance_m"] == pytest.approx(1000.0)
    assert lost["village_name"] == "黄岗村"


def test_a_complaint_in_no_parcel_counts_for_each_parcel_near_it_by_a_share_halving_every_100_m():
    # 25 m from the first parcel, 100 m from the second: 0.5 ** 0.25 and 0.5
    p = parcels({}, {"geometry": box(225)})
    result = score(p, complaints({"geometry": at(125, 50)}))
    assert result.parcel_risk["complaint_score"].tolist() == pytest.approx([0.5**0.25, 0.5])


def test_a_complaint_in_no_parcel_counts_half_at_100_m():
    result = score(parcels({}), complaints({"geometry": at(200, 50)}))
    assert row(result)["complaint_score"] == pytest.approx(0.5)


def test_a_complaint_counts_in_full_for_the_parcel_it_lies_in_and_not_for_its_neighbours():
    p = parcels({}, {"geometry": box(130)})
    result = score(p, complaints({"geometry": at(50, 50)}))
    assert result.parcel_risk["parcel_id"].tolist() == ["0001-001"]
    assert row(result)["complaint_score"] == pytest.approx(1.0)


def test_a_complaint_on_a_shared_boundary_counts_in_full_for_both_parcels():
    p = parcels({}, {"geometry": box(100)})
    result = score(p, complaints({"geometry": at(100, 50)}))
    assert result.parcel_risk["complaint_score"].tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize(
    "text", ["0001-002 旁边有人砍树", "林班0001小班002有人砍树", "1林班2小班有人砍树"]
)
def test_a_complaint_naming_a_nearby_parcel_counts_for_it_by_distance(text):
    # lies in 0001-001, 40 m from 0001-002 (named) and 51 m from 0001-003 (not named)
    p = parcels({}, {"geometry": box(130)}, {"geometry": box(20, 140, 60, 60)})
    result = score(p, complaints({"geometry": at(90, 90), "description": text}))
    risk = result.parcel_risk
    scores = dict(zip(risk["parcel_id"], risk["complaint_score"], strict=True))
    assert scores == pytest.approx({"0001-001": 1.0, "0001-002": 0.5**0.4})


def test_a_date_or_phone_number_in_the_text_names_no_parcel():
    p = parcels({}, {"geometry": box(130)})
    text = "2026-11-28 起有人砍树，电话 0001-0020，工号 10001-002"
    result = score(p, complaints({"geometry": at(50, 50), "description": text}))
    assert result.parcel_risk["parcel_id"].tolist() == ["0001-001"]


def test_half_distance_comes_from_the_rules(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("complaints:\n  half_distance_m: 50\n", encoding="utf-8")
    result = score(parcels({}), complaints({"geometry": at(200, 50)}), rules=load_rules(override))
    assert row(result)["complaint_score"] == pytest.approx(0.25)


def test_other_complaints_are_reclassified_from_their_text():
    c = complaints({"category": "other", "description": "保护区里有人用气枪打鸟"})
    assert row(score(parcels({}), c))["categories"] == "wildlife_crime"


def test_a_legal_patch_counts_nothing():
    result = score(parcels({}), x=patches({"illegal": "false", "illegal_area_ha": 0.0}))
    assert result.parcel_risk.empty


@pytest.mark.parametrize(
    ("illegal", "area", "points"),
    [("true", 0.5, 3.0), ("unknown", None, 1.5), ("true", None, 1.8)],
)
def test_patch_points_follow_overlap_and_legality(illegal, area, points):
    # 0.5 ha overlap x 6 points/ha x legality (1, 0.5 unknown, 0.6 suspected)
    r = row(score(parcels({}), x=patches({"illegal": illegal, "illegal_area_ha": area})))
    assert r["patch_score"] == pytest.approx(points)
    assert r["patch_area_ha"] == pytest.approx(0.5)


def test_illegal_area_is_apportioned_by_overlap_share():
    p = parcels({}, {"geometry": box(100)})
    x = patches({"geometry": box(50, 0, 100, 100), "illegal_area_ha": 0.8, "area_ha": 1.0})
    result = score(p, x=x)
    assert result.parcel_risk["illegal_area_ha"].tolist() == pytest.approx([0.4, 0.4])


def test_a_patch_of_a_later_year_than_as_of_is_ignored():
    assert score(parcels({}), x=patches({"year": 2027})).parcel_risk.empty


@pytest.mark.parametrize(
    ("attrs", "multiplier"),
    [
        ({"public_welfare": "national_1"}, 2.0),
        ({"public_welfare": "national_2"}, 1.7),
        ({"public_welfare": "local_key"}, 1.5),
        ({"public_welfare": "local_general"}, 1.2),
        ({"public_welfare": "none"}, 1.0),
        ({"public_welfare": None}, 1.0),
        ({"nature_reserve": True}, 1.4),
        ({"kind": "wetland", "public_welfare": None}, 1.3),
        ({"public_welfare": "national_1", "nature_reserve": True}, 2.0),
    ],
)
def test_protection_multipliers_take_the_largest(attrs, multiplier):
    r = row(score(parcels(attrs), complaints({})))
    assert r["protection_multiplier"] == pytest.approx(multiplier)
    assert r["score"] == pytest.approx(multiplier)


@pytest.mark.parametrize(
    ("public_welfare", "area", "met"),
    [
        ("national_2", 0.34, True),
        ("national_2", 0.33, False),
        ("none", 0.67, True),
        ("none", 0.66, False),
    ],
)
def test_criminal_threshold_by_area_public_welfare_5_mu_other_10_mu(public_welfare, area, met):
    x = patches({"illegal_area_ha": area, "geometry": box(0, 0, 100, 100)})
    r = row(score(parcels({"public_welfare": public_welfare}), x=x))
    assert bool(r["criminal_threshold_met"]) is met
    assert r["criminal_basis"] == ("area" if met else "")
    assert r["occupation_area_ha"] == pytest.approx(area)


@pytest.mark.parametrize(("area", "met"), [(0.05, True), (0.049, False)])
def test_criminal_threshold_by_felling_volume_5_m3(area, met):
    # illegal felling area x 100 m³/ha: 5.0 m³ meets the 盗伐 threshold, 4.9 m³ does not
    x = patches({"change_cause": "22", "category": "illegal_logging", "illegal_area_ha": area})
    r = row(score(parcels({}), x=x))
    assert r["estimated_volume_m3"] == pytest.approx(area * 100)
    assert bool(r["criminal_threshold_met"]) is met
    assert r["criminal_basis"] == ("volume" if met else "")


def test_a_province_override_changes_the_felling_threshold(tmp_path):
    override = tmp_path / "province.rules.yaml"
    override.write_text("criminal:\n  felling_volume_m3: 10.0\n", encoding="utf-8")
    x = patches({"change_cause": "22", "category": "illegal_logging", "illegal_area_ha": 0.06})
    r = row(score(parcels({}), x=x, rules=load_rules(override)))
    # 6 m³ meets the national 5 m³ but not the province's 10 m³
    assert not r["criminal_threshold_met"]


def burn(area_ha, land_class="0111"):
    """A parcel of ``land_class`` under a burn of ``area_ha`` (legality unknown)."""
    side = (area_ha * 10_000.0) ** 0.5
    p = parcels({"land_class": land_class, "geometry": box(0, 0, 200, 200)})
    x = patches(
        {
            "change_cause": "71",
            "category": "fire_hazard",
            "illegal": "unknown",
            "illegal_area_ha": None,
            "geometry": box(0, 0, side, side),
        }
    )
    return row(score(p, x=x))


@pytest.mark.parametrize(("area", "met"), [(2.0, True), (1.98, False)])
def test_a_forest_fire_burning_2_ha_of_stocked_forest_meets_the_case_filing_threshold(area, met):
    r = burn(area)
    assert bool(r["criminal_threshold_met"]) is met
    assert r["criminal_basis"] == ("fire" if met else "")


def test_a_fire_on_land_that_is_not_stocked_forest_meets_no_threshold():
    # 0141 未成林造林地: the 2 ha figure counts stocked forest (有林地) only
    assert not burn(3.0, land_class="0141")["criminal_threshold_met"]


def test_a_whole_patch_meets_the_threshold_across_parcels():
    # 0.8 ha on two commercial parcels, 0.4 ha each: neither alone reaches 10 mu
    p = parcels({}, {"geometry": box(100)})
    x = patches({"geometry": box(50, 0, 100, 100), "illegal_area_ha": 0.8, "area_ha": 1.0})
    risk = score(p, x=x).parcel_risk
    assert risk["criminal_threshold_met"].tolist() == [True, True]


def test_a_suspected_patch_never_meets_a_criminal_threshold():
    x = patches({"illegal_area_ha": None, "geometry": box(0, 0, 100, 100)})
    r = row(score(parcels({"public_welfare": "national_1"}), x=x))
    assert not r["criminal_threshold_met"]
    assert r["illegal_area_ha"] == 0.0


def test_occupation_of_wetland_is_wetland_damage_and_not_forest_land():
    p = parcels({"kind": "wetland", "public_welfare": None})
    r = row(score(p, x=patches({"illegal_area_ha": 0.5})))
    assert r["dominant_category"] == "wetland_damage"
    assert not r["criminal_threshold_met"]


def test_an_open_problem_in_a_parcel_counts_its_severity():
    r = row(score(parcels({}), q=problems({})))
    assert (r["problem_score"], r["open_problem_count"], r["overdue_problem_count"]) == (1.0, 1, 0)


def test_an_overdue_problem_counts_double():
    r = row(score(parcels({}), q=problems({"deadline": pd.Timestamp("2026-11-01")})))
    assert (r["problem_score"], r["overdue_problem_count"]) == (2.0, 1)


def test_flagged_parcels_carry_the_facts_of_their_evidence():
    p = parcels({"public_welfare": "national_1"})
    q = problems({"deadline": pd.Timestamp("2026-11-01")})
    r = row(score(p, q=q))
    assert r["flagged"]
    assert r["problem_facts"] == "DC202609-001|illegal_logging|assigned|2026-11-01|27|2"


def test_flagged_parcels_list_each_evidence_item_with_its_points_and_distance():
    p = parcels({"public_welfare": "national_1"})
    c = complaints({}, {"geometry": at(130, 50)})
    x = patches({"illegal_area_ha": None, "illegal": "unknown"})
    items = score(p, c, x).items
    assert list(items.columns) == ITEM_COLUMNS
    assert items["kind"].tolist() == ["complaint", "complaint", "patch"]
    assert items["item_id"].tolist() == ["JB202600001", "JB202600002", "44188220260001"]
    assert items["distance_m"].tolist() == pytest.approx([0.0, 30.0, 0.0])
    # the second complaint lies in no parcel, 30 m away: 0.5 ** 0.3 of a point;
    # 0.5 ha overlap x unknown 0.5 x 6 points per hectare
    assert items["points"].tolist() == pytest.approx([1.0, round(0.5**0.3, 4), 1.5])
    assert items["parcel_id"].tolist() == ["0001-001"] * 3
    assert items["overlap_ha"].iloc[2] == pytest.approx(0.5)


def test_parcels_below_the_member_score_that_are_not_flagged_have_no_evidence_items():
    # a new complaint half a year old: 0.25 points, under targets.member_score (0.4)
    old = AS_OF - timedelta(days=180)
    result = score(parcels({}), complaints({"status": "new", "received_at": old}))
    assert len(result.parcel_risk) == 1
    assert result.items.empty
    assert list(result.items.columns) == ITEM_COLUMNS


def test_an_id_holding_a_list_separator_is_kept_in_the_items_and_slashed_in_the_facts():
    p = parcels({"public_welfare": "national_1"})
    result = score(p, complaints({"complaint_id": "JB;7|1"}, {"complaint_id": "JB8"}))
    assert result.items["item_id"].tolist() == ["JB;7|1", "JB8"]
    facts = row(result)["complaint_facts"].split(";")
    assert [f.split("|")[0] for f in facts] == ["JB/7/1", "JB8"]
    assert row(result)["complaint_ids"] == "JB/7/1;JB8"


def test_the_facts_text_is_written_from_the_evidence_items():
    p = parcels({"public_welfare": "national_1"})
    q = problems({"deadline": pd.Timestamp("2026-11-01")})
    result = score(p, q=q)
    [item] = result.items.itertuples()
    assert (item.kind, item.item_id, item.overdue_days, item.points) == (
        "problem",
        "DC202609-001",
        27.0,
        2.0,
    )
    assert item.distance_m == 0.0


@pytest.mark.parametrize("status", ["reported", "verified"])
def test_closed_or_reported_problems_are_not_evidence(status):
    assert score(parcels({}), q=problems({"status": status})).parcel_risk.empty


def test_a_problem_without_location_is_placed_by_the_xiaoban_in_its_description():
    q = problems({"geometry": None, "description": "黄岗村猪婆岭（林班0001小班002）盗伐"})
    result = score(parcels({}, {}), q=q)
    assert result.parcel_risk["parcel_id"].tolist() == ["0001-002"]
    assert result.unmatched_problems.empty


def test_a_problem_placed_nowhere_is_reported_unmatched():
    q = problems({"geometry": None, "description": "黄岗村有人盗伐"})
    result = score(parcels({}), q=q)
    assert result.parcel_risk.empty
    assert list(result.unmatched_problems.columns) == UNMATCHED_PROBLEM_COLUMNS
    assert result.unmatched_problems["problem_id"].tolist() == ["DC202609-001"]


def test_score_is_the_sum_of_parts_times_protection():
    p = parcels({"public_welfare": "national_1"})
    r = row(score(p, complaints({}), patches({}), problems({})))
    assert (r["complaint_score"], r["patch_score"], r["problem_score"]) == pytest.approx(
        (1.0, 3.0, 1.0)
    )
    assert r["score"] == pytest.approx(10.0)
    assert r["flagged"]


def test_categories_list_the_heaviest_first():
    c = complaints({"category": "pollution"})
    r = row(score(parcels({}), c, patches({})))
    assert (r["categories"], r["dominant_category"]) == (
        "land_occupation;pollution",
        "land_occupation",
    )


def test_parcel_risk_has_the_documented_columns_and_crs():
    risk = score(parcels({}), complaints({})).parcel_risk
    assert list(risk.columns) == PARCEL_RISK_COLUMNS
    assert risk.crs.to_epsg() == 4546


@pytest.mark.parametrize("which", ["parcels", "complaints", "patches", "problems", "all"])
def test_empty_inputs_give_empty_frames_with_the_columns(which):
    p = empty() if which in ("parcels", "all") else parcels({})
    c = empty() if which in ("complaints", "all") else complaints({"geometry": at(50, 1100)})
    result = score(p, c, empty(), empty())
    assert list(result.parcel_risk.columns) == PARCEL_RISK_COLUMNS
    assert result.parcel_risk.empty
    assert list(result.unmatched_complaints.columns) == UNMATCHED_COMPLAINT_COLUMNS
    assert list(result.unmatched_problems.columns) == UNMATCHED_PROBLEM_COLUMNS


def test_without_parcels_every_complaint_is_unmatched():
    result = score(empty(), complaints({}))
    lost = result.unmatched_complaints
    assert lost["complaint_id"].tolist() == ["JB202600001"]
    assert lost["nearest_parcel_id"].isna().all()


def test_a_criminal_threshold_flags_a_parcel_whatever_its_score(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("flag:\n  score: 1000\n", encoding="utf-8")
    x = patches({"illegal_area_ha": 0.7, "geometry": box(0, 0, 100, 100)})
    r = row(score(parcels({}), x=x, rules=load_rules(override)))
    assert r["score"] < 1000
    assert r["flagged"]


def test_below_the_flag_score_a_parcel_is_not_flagged():
    r = row(score(parcels({}), complaints({"status": "new"})))
    assert r["score"] == pytest.approx(0.5)
    assert not r["flagged"]


def test_a_point_in_a_hole_is_outside_and_any_part_of_a_multipolygon_counts(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("complaints:\n  buffer_m: 0\n", encoding="utf-8")
    holed = box().difference(box(30, 30, 40, 40))
    two_parts = shapely.MultiPolygon([box(1000), box(1200)])
    p = parcels({"geometry": holed}, {"geometry": two_parts})
    c = complaints({"geometry": at(50, 50)}, {"geometry": at(1250, 50)})
    result = score(p, c, rules=load_rules(override))
    assert result.unmatched_complaints["complaint_id"].tolist() == ["JB202600001"]
    assert result.parcel_risk["parcel_id"].tolist() == ["0001-002"]


def test_the_buffer_join_agrees_with_geos_on_random_shapes():
    import numpy as np

    from geoservice.analysis.spatial import PolygonIndex, points_within

    rng = np.random.default_rng(7)
    centres = shapely.points(rng.uniform(0, 2000, (300, 2)))
    radii = rng.uniform(5, 80, 300)
    # few-edged shapes take the numpy edge test, many-edged ones (> 256 edges) GEOS
    shapes = np.concatenate(
        [
            shapely.buffer(centres[:200], radii[:200], quad_segs=2),
            shapely.buffer(centres[200:], radii[200:], quad_segs=80),
        ]
    )
    shapes[::7] = shapely.difference(shapes[::7], shapely.buffer(centres[::7], 3))
    points = shapely.points(rng.uniform(-100, 2100, (2000, 2)))
    index = PolygonIndex.build(shapes)
    mine = set(zip(*points_within(points, index, 37.5), strict=True))
    tree = shapely.STRtree(shapes)
    geos = set(zip(*tree.query(points, predicate="dwithin", distance=37.5), strict=True))
    assert mine == {(int(a), int(b)) for a, b in geos}


def test_without_established_areas_an_illegal_patch_counts_whole(tmp_path):
    override = tmp_path / "rules.yaml"
    override.write_text("patches:\n  established_area_only: false\n", encoding="utf-8")
    x = patches({"illegal_area_ha": None, "geometry": box(0, 0, 100, 70)})
    r = row(score(parcels({}), x=x, rules=load_rules(override)))
    assert r["patch_score"] == pytest.approx(0.7 * 6)
    assert r["illegal_area_ha"] == pytest.approx(0.7)
    assert r["criminal_threshold_met"]


def test_problems_are_placed_by_description_even_with_duplicate_parcel_ids():
    p = parcels({}, {"parcel_id": "0001-001", "geometry": box(300)})
    q = problems({"geometry": None, "description": "（林班0001小班001）"})
    assert score(p, q=q).parcel_risk["parcel_id"].tolist() == ["0001-001"]


def test_a_problem_is_placed_by_description_in_its_own_township():
    p = parcels({"parcel_id": "101-0001-002"}, {"parcel_id": "102-0001-002"})
    q = problems(
        {"geometry": None, "village_code": "441882102211", "description": "（林班1小班2）盗伐"}
    )
    result = score(p, q=q)
    assert row(result, "102-0001-002")["open_problem_count"] == 1
    assert "101-0001-002" not in set(result.parcel_risk["parcel_id"])
