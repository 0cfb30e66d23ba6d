"""Tests of the sample-data generator (town scale only; the county scale is in bench/)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geoservice.sample.town import (
    DEFAULT_SEED,
    FILE_NAMES,
    PlantedCase,
    SampleData,
    SampleError,
    build,
    generate,
)

SHIPPED = Path(__file__).resolve().parents[3] / "sample_gis"
COMPLAINT_HEADERS = [
    "举报编号",
    "受理时间",
    "来源",
    "类别",
    "举报内容",
    "经度",
    "纬度",
    "核实结果",
    "所在村",
]
PROBLEM_HEADERS = [
    "问题编号",
    "督查批次",
    "发现日期",
    "所属村",
    "问题类别",
    "问题描述",
    "整改期限",
    "整改状态",
    "抄送部门",
    "经度",
    "纬度",
]
WECHAT_HEADERS = [
    "工单编号",
    "举报时间",
    "来源",
    "问题类型",
    "举报内容",
    "经度",
    "纬度",
    "处理状态",
]


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate(tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="module")
def data() -> SampleData:
    return build()


def read(path: Path, encoding: str | None = None) -> pd.DataFrame:
    return pyogrio.read_dataframe(path, encoding=encoding)


def dbf_header(shp: Path) -> bytes:
    return shp.with_suffix(".dbf").read_bytes()[:32]


def dbf_text(shp: Path) -> bytes:
    raw = shp.with_suffix(".dbf").read_bytes()
    header_len = int.from_bytes(raw[8:10], "little")
    return raw[header_len:]


# ------------------------------------------------------------------ counts and API


def test_generate_returns_every_kind_as_an_existing_path(town: dict[str, Path]) -> None:
    assert set(town) == {
        "villages",
        "parcels",
        "wetlands",
        "patches",
        "complaints",
        "complaints_wechat",
        "problems",
    }
    assert {k: p.name for k, p in town.items()} == FILE_NAMES
    assert all(p.is_file() for p in town.values())


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [
        ("villages", 12, 20),
        ("parcels", 3_000, 6_000),
        ("wetlands", 100, 250),
        ("patches", 50, 100),
    ],
)
def test_town_shapefile_counts_are_in_range(
    town: dict[str, Path], kind: str, low: int, high: int
) -> None:
    assert low <= pyogrio.read_info(town[kind])["features"] <= high


def test_town_has_about_300_complaints_over_two_years(town: dict[str, Path]) -> None:
    c = pd.read_csv(town["complaints"], encoding="gbk", dtype=str, keep_default_na=False)
    when = pd.to_datetime(c["受理时间"])
    assert 270 <= len(c) <= 330
    assert when.max() <= pd.Timestamp("2026-11-15 23:59")
    assert (when.max() - when.min()).days > 700


def test_town_has_about_40_problems(town: dict[str, Path]) -> None:
    assert 35 <= len(pd.read_excel(town["problems"])) <= 45


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"scale": "city"}, "`scale` was 'city'"),
        ({"seed": -1}, "`seed` was -1"),
        ({"seed": "abc"}, "`seed` was 'abc'"),
    ],
)
def test_bad_arguments_raise_sample_error(tmp_path: Path, kwargs: dict, pattern: str) -> None:
    with pytest.raises(SampleError, match=pattern) as info:
        generate(tmp_path, **kwargs)
    assert info.value.text("zh")


def test_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(SampleError, match="is a file but is expected to be a folder"):
        generate(target)


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_byte_identical_files(town: dict[str, Path], tmp_path: Path) -> None:
    again = generate(tmp_path)
    src = sorted(p.name for p in town["villages"].parent.iterdir())
    assert src == sorted(p.name for p in tmp_path.iterdir())
    for name in src:
        assert (tmp_path / name).read_bytes() == (town["villages"].parent / name).read_bytes(), name
    assert set(again) == set(town)


def test_another_seed_gives_different_files(town: dict[str, Path], tmp_path: Path) -> None:
    other = generate(tmp_path, seed=DEFAULT_SEED + 1)
    for kind in ("parcels", "complaints", "problems"):
        assert other[kind].read_bytes() != town[kind].read_bytes(), kind


# ------------------------------------------------------------------ encodings and CRS


def test_xiaoban_is_gbk_without_cpg_and_with_ldid_zero(town: dict[str, Path]) -> None:
    shp = town["parcels"]
    assert not shp.with_suffix(".cpg").exists()
    assert dbf_header(shp)[29] == 0x00
    text = dbf_text(shp)
    text.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        text.decode("utf-8")


def test_xiaoban_reads_correctly_only_when_told_gbk(town: dict[str, Path]) -> None:
    assert read(town["parcels"], "gbk")["CUN_MC"].str.endswith("村").all()
    assert not read(town["parcels"])["CUN_MC"].str.endswith("村").any()


def test_patches_are_gbk_with_a_lying_ansi_ldid_and_no_cpg(town: dict[str, Path]) -> None:
    shp = town["patches"]
    assert not shp.with_suffix(".cpg").exists()
    assert dbf_header(shp)[29] == 0x57
    dbf_text(shp).decode("gbk")


def test_villages_are_gbk_with_cpg_936(town: dict[str, Path]) -> None:
    shp = town["villages"]
    assert shp.with_suffix(".cpg").read_text() == "936"
    assert dbf_header(shp)[29] == 0x4D
    assert read(shp)["XZQMC"].str.endswith("村").all()


def test_wetlands_are_utf8_with_cpg(town: dict[str, Path]) -> None:
    shp = town["wetlands"]
    assert shp.with_suffix(".cpg").read_text() == "UTF-8"
    dbf_text(shp).decode("utf-8")


def test_dbf_last_update_date_is_fixed(town: dict[str, Path]) -> None:
    assert tuple(dbf_header(town["parcels"])[1:4]) == (126, 6, 30)


@pytest.mark.parametrize(
    ("kind", "epsg"), [("villages", 4546), ("parcels", 4546), ("wetlands", 4546), ("patches", 4525)]
)
def test_prj_is_recognised_as_the_expected_epsg(
    town: dict[str, Path], kind: str, epsg: int
) -> None:
    assert pyogrio.read_info(town[kind])["crs"] == f"EPSG:{epsg}"


def test_patch_eastings_carry_the_zone_37_prefix(town: dict[str, Path]) -> None:
    g = read(town["patches"], "gbk")
    xmin, _, xmax, _ = g.total_bounds
    assert 37_500_000 < xmin < xmax < 37_800_000
    assert (np.abs(g["GPS_X"] - g.geometry.centroid.x) < 1).all()


def test_complaints_csv_is_gbk_with_the_chinese_headers(town: dict[str, Path]) -> None:
    raw = town["complaints"].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").splitlines()[0].split(",") == COMPLAINT_HEADERS


def test_problems_xlsx_has_one_sheet_with_the_chinese_headers(town: dict[str, Path]) -> None:
    sheets = pd.read_excel(town["problems"], sheet_name=None)
    assert list(sheets) == ["督查问题"]
    assert list(sheets["督查问题"].columns) == PROBLEM_HEADERS


# ------------------------------------------------------------------ geometry


def test_parcels_do_not_overlap_and_lie_inside_the_villages(town: dict[str, Path]) -> None:
    parcels = read(town["parcels"], "gbk").geometry.to_numpy()
    wet = read(town["wetlands"]).geometry.to_numpy()
    villages = shapely.union_all(read(town["villages"]).geometry.to_numpy())
    both = np.r_[parcels, wet]
    union = shapely.union_all(both)
    assert shapely.area(both).sum() == pytest.approx(union.area, rel=1e-6)
    assert shapely.difference(union, villages).area < 1.0


def test_villages_tile_the_town_without_gaps_or_overlaps(town: dict[str, Path]) -> None:
    geoms = read(town["villages"]).geometry.to_numpy()
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon"
    assert shapely.get_num_interior_rings(union) == 0
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-9)


def test_mian_ji_is_hectares_close_to_the_geometry(town: dict[str, Path]) -> None:
    g = read(town["parcels"], "gbk")
    area_ha = g.area / 1e4
    assert ((g["MIAN_JI"] - area_ha).abs() <= 0.06 * area_ha + 0.005).all()
    assert g["MIAN_JI"].sum() == pytest.approx(area_ha.sum(), rel=0.005)


def test_parcel_id_lin_ban_plus_xiao_ban_is_unique(town: dict[str, Path]) -> None:
    g = read(town["parcels"], "gbk")
    assert (g["LIN_BAN"] + g["XIAO_BAN"]).is_unique


def test_di_lei_mixes_padded_and_unpadded_codes(town: dict[str, Path]) -> None:
    codes = set(read(town["parcels"], "gbk")["DI_LEI"])
    assert {"0111", "1111", "131", "0131"} <= codes


def test_wetland_zldwdm_is_the_village_code_plus_seven_zeros(town: dict[str, Path]) -> None:
    w = read(town["wetlands"])
    v = set(read(town["villages"])["XZQDM"])
    assert (w["ZLDWDM"].str.len() == 19).all()
    assert set(w["ZLDWDM"].str[:12]) <= v
    assert (w["ZLDWDM"].str[12:] == "0000000").all()


# ------------------------------------------------------------------ real-world forms


def test_patch_codes_are_full_length_county_township_and_village(town: dict[str, Path]) -> None:
    p = read(town["patches"], "gbk")
    villages = set(read(town["villages"])["XZQDM"])
    assert (p["XIAN"].str.len() == 6).all()
    assert (p["XIANG"].str.len() == 9).all() and (p["XIANG"].str[:6] == p["XIAN"]).all()
    assert (p["CUN"].str.len() == 12).all() and (p["CUN"].str[:9] == p["XIANG"]).all()
    assert set(p["CUN"]) <= villages


def test_problem_list_names_the_village_only_under_suoshucun(town: dict[str, Path]) -> None:
    q = pd.read_excel(town["problems"], dtype={"所属村": str})
    assert not {"村代码", "村名"} & set(q.columns)
    names = set(read(town["villages"])["XZQMC"])
    given = q["所属村"].dropna()
    full = given.isin(names)
    bare = (given + "村").isin(names)
    committee = given.str.removesuffix("委会").isin(names) & given.str.endswith("村委会")
    assert (full | bare | committee).all()
    assert full.sum() > len(given) / 2 and bare.any() and committee.any()


def test_one_problem_in_five_with_coordinates_leaves_suoshucun_empty(
    town: dict[str, Path],
) -> None:
    q = pd.read_excel(town["problems"], dtype={"所属村": str})
    blank = q["所属村"].isna()
    located = q["经度"].notna()
    assert not (blank & ~located).any()
    assert blank.sum() == (located.sum() + 2) // 5 > 0  # the 3rd, 8th, 13th ... located row


def test_some_village_boundaries_are_stored_one_row_per_part(town: dict[str, Path]) -> None:
    v = read(town["villages"])
    rows = v.groupby("XZQDM").size()
    assert len(rows) == 16
    assert {2, 3} <= set(rows)
    assert (v.groupby("XZQDM")["XZQMC"].nunique() == 1).all()
    assert (v.geom_type == "Polygon").all()
    for code in rows[rows > 1].index:
        parts = v.loc[v["XZQDM"] == code].geometry.to_numpy()
        whole = shapely.union_all(parts)
        assert whole.geom_type == "Polygon", code
        assert shapely.area(parts).sum() == pytest.approx(whole.area, rel=1e-9), code


def test_wechat_complaints_are_utf8_with_bom_and_have_their_own_ids(
    town: dict[str, Path],
) -> None:
    raw = town["complaints_wechat"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0].split(",") == WECHAT_HEADERS
    w = pd.read_csv(town["complaints_wechat"], encoding="utf-8-sig", dtype=str)
    c = pd.read_csv(town["complaints"], encoding="gbk", dtype=str)
    assert 10 <= len(w) <= 15
    assert w["工单编号"].str.fullmatch(r"WX2026\d{5}").all() and w["工单编号"].is_unique
    assert not set(w["工单编号"]) & set(c["举报编号"])
    assert w[["问题类型", "经度", "纬度"]].notna().all().all()


def test_wechat_coordinates_are_gcj02_of_the_true_positions(
    town: dict[str, Path], data: SampleData
) -> None:
    from pyproj import Transformer

    from layers.chinacoords import gcj02_to_wgs84

    w = pd.read_csv(town["complaints_wechat"], encoding="utf-8-sig", dtype={"工单编号": str})
    to_m = Transformer.from_crs(4490, 4546, always_xy=True)
    true_x, true_y = data.wechat["_x"].to_numpy(), data.wechat["_y"].to_numpy()
    lon, lat = gcj02_to_wgs84(w["经度"].to_numpy(), w["纬度"].to_numpy())
    x, y = to_m.transform(lon, lat)
    assert np.hypot(x - true_x, y - true_y).max() < 0.5
    naive_x, naive_y = to_m.transform(w["经度"].to_numpy(), w["纬度"].to_numpy())
    assert np.hypot(naive_x - true_x, naive_y - true_y).min() > 300


def test_wechat_complaints_near_the_edge_stay_inside_the_villages() -> None:
    from geoservice.sample.events import Hosts
    from geoservice.sample.forms import wechat_complaints
    from geoservice.sample.terrain import Villages

    square = shapely.box(0.0, 0.0, 1_000.0, 1_000.0)
    one = np.zeros(1)
    villages = Villages(
        np.array([square], dtype=object),
        np.array(["441882101201"]),
        np.array(["竹山村"]),
        np.array(["441882"]),
        np.array(["101"]),
        np.array(["201"]),
        one,
        one,
        np.zeros(1, dtype=np.int64),
    )
    edge = Hosts(np.full(4, 999.0), np.linspace(1.0, 999.0, 4), np.zeros(4, int), np.ones(4))
    hosts = {"forest": edge, "river": edge, "settlement": edge}
    sent = wechat_complaints(np.random.default_rng(1), 200, hosts, villages, np.empty((0, 2)), 0.0)
    assert shapely.contains_xy(square, sent["_x"], sent["_y"]).all()
    assert (sent["_x"] < 999.0).any()  # the others still spread around their host


def test_wechat_complaints_lie_far_from_every_planted_case(data: SampleData) -> None:
    from pyproj import Transformer

    planted = data.complaints[data.complaints["_case"] != ""]
    patches = data.patches.loc[data.patches["_case"] != "", "geometry"].to_numpy()
    to_m = Transformer.from_crs(4490, 4546, always_xy=True)
    sites = to_m.transform([c.lon for c in data.cases], [c.lat for c in data.cases])
    parcel_ids = {p for c in data.cases for p in (*c.parcel_ids, *c.wetland_ids)}
    forest_ids = data.forest["LIN_BAN"] + "-" + data.forest["XIAO_BAN"]
    parcels = np.r_[
        data.forest.geometry.to_numpy()[forest_ids.isin(parcel_ids).to_numpy()],
        data.wetlands.geometry.to_numpy()[data.wetlands["BSM"].isin(parcel_ids).to_numpy()],
    ]
    evidence = np.r_[
        shapely.points(planted[["_x", "_y"]].to_numpy()),
        patches,
        shapely.points(*sites),
        parcels,
    ]
    sent = shapely.points(data.wechat[["_x", "_y"]].to_numpy())
    assert shapely.distance(sent[:, None], evidence[None, :]).min() > 450


# ------------------------------------------------------------------ planted cases


def case(data: SampleData, key: str) -> PlantedCase:
    return next(c for c in data.cases if c.key == key)


def test_every_case_sits_in_its_own_village(data: SampleData) -> None:
    codes = [c.village_code for c in data.cases]
    assert len(codes) == 8 == len(set(codes))


def test_felling_case_is_illegal_felling_in_national_level_1_forest(data: SampleData) -> None:
    c = case(data, "felling")
    p = data.patches.set_index("PAN_NO_TB").loc[list(c.patch_ids)]
    assert (p["BHYY"] == "22").all() and (p["SHIFOU_WF"] == "1").all()
    assert (p["WF_MJ"] > 0.34).all()
    ids = data.forest["LIN_BAN"] + "-" + data.forest["XIAO_BAN"]
    parcel = data.forest[ids.isin(c.parcel_ids)]
    assert (parcel["GJGYL_BHDJ"] == "1").any()
    status = data.complaints.set_index("举报编号").loc[list(c.complaint_ids), "核实结果"]
    assert (status == "属实").sum() >= 3
    problem = data.problems.set_index("问题编号").loc[list(c.problem_ids)]
    assert problem["整改状态"].isin(["未整改", "整改中", "退回"]).all()


def test_wetland_fill_case_has_an_overdue_open_problem(data: SampleData) -> None:
    c = case(data, "wetland_fill")
    assert c.wetland_ids
    p = data.patches.set_index("PAN_NO_TB").loc[list(c.patch_ids)]
    assert (p["BHYY"] == "421").all()
    problem = data.problems.set_index("问题编号").loc[list(c.problem_ids)]
    assert (problem["整改期限"] < pd.Timestamp("2026-11-28").date()).all()
    assert (problem["整改状态"] == "未整改").all()


def test_poaching_case_is_in_the_nature_reserve(data: SampleData) -> None:
    c = case(data, "poaching")
    ids = data.forest["LIN_BAN"] + "-" + data.forest["XIAO_BAN"]
    assert (data.forest.loc[ids.isin(c.parcel_ids), "LIN_ZHONG"] == "127").any()


@pytest.mark.parametrize(
    ("key", "cause", "illegal"),
    [
        ("burning", "71", ""),
        ("quarry", "421", "1"),
        ("approved_road", "411", "0"),
        ("unfounded_felling", "21", "0"),
    ],
)
def test_case_patch_has_its_cause_and_legality(
    data: SampleData, key: str, cause: str, illegal: str
) -> None:
    p = data.patches.set_index("PAN_NO_TB").loc[list(case(data, key).patch_ids)]
    assert list(p["BHYY"]) == [cause] and list(p["SHIFOU_WF"]) == [illegal]


def test_look_alike_complaints_are_closed_or_unfounded(data: SampleData) -> None:
    for key in ("old_closed", "approved_road", "unfounded_felling"):
        ids = list(case(data, key).complaint_ids)
        status = data.complaints.set_index("举报编号").loc[ids, "核实结果"]
        assert status.isin(["已办结", "不属实"]).all(), key


# ------------------------------------------------------------------ shipped sample


def test_shipped_sample_is_under_10_mb() -> None:
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 10 * 1024 * 1024


def test_shipped_sample_equals_what_generate_writes(town: dict[str, Path]) -> None:
    made = town["villages"].parent
    shipped = sorted(p.name for p in SHIPPED.iterdir() if p.name != "README.md")
    assert shipped == sorted(p.name for p in made.iterdir())
    for name in shipped:
        assert (SHIPPED / name).read_bytes() == (made / name).read_bytes(), name


def test_readme_lists_every_field_of_every_file(town: dict[str, Path]) -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    for kind in ("villages", "parcels", "wetlands", "patches"):
        for name in pyogrio.read_info(town[kind], encoding="gbk")["fields"]:
            assert f"`{name}`" in readme, (kind, name)
    for name in COMPLAINT_HEADERS + PROBLEM_HEADERS + WECHAT_HEADERS:
        assert f"`{name}`" in readme, name


def test_readme_case_ids_match_the_generated_cases(data: SampleData) -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    for c in data.cases:
        section = readme.split(f"<!-- case:{c.key} -->")[1].split("<!-- /case -->")[0]
        for value in (
            c.village_name,
            c.village_code,
            *c.complaint_ids,
            *c.patch_ids,
            *c.problem_ids,
            *c.parcel_ids,
            *c.wetland_ids,
        ):
            assert value in section, (c.key, value)
        listed = set(re.findall(r"JB\d{9}", section))
        assert listed == set(c.complaint_ids), c.key
