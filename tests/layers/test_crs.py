from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely

from layers.crs import (
    crs_from_prj,
    crs_from_user,
    describe_crs,
    epsg_table,
    is_projected_metres,
    match_epsg,
    valid_lonlat_box,
)
from layers.crs_inference import infer_crs
from layers.errors import CRSError

# --------------------------------------------------------------------------- ESRI .prj texts

UNIT = 'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
CGCS2000 = (
    'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
    f'SPHEROID["CGCS2000",6378137.0,298.257222101]],{UNIT}'
)
XIAN80 = (
    f'GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],{UNIT}'
)
BJ54 = (
    'GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",'
    f'SPHEROID["Krasovsky_1940",6378245.0,298.3]],{UNIT}'
)
BJ54_TOWGS84 = BJ54.replace("298.3]", "298.3],TOWGS84[15.8,-154.4,-82.3,0,0,0,0]")
UNNAMED_GRS80 = (
    f'GEOGCS["GCS_unknown",DATUM["D_unknown",SPHEROID["unnamed",6378137.0,298.257222101]],{UNIT}'
)

BJ54_LAMBERT = (
    f'PROJCS["China_Lambert_Conformal_Conic",{BJ54},PROJECTION["Lambert_Conformal_Conic"],'
    'PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",105.0],PARAMETER["Standard_Parallel_1",30.0],'
    'PARAMETER["Standard_Parallel_2",62.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def gk(name: str, geogcs: str, cm: float, fe: float, projection: str = "Gauss_Kruger") -> str:
    """An ESRI Gauss-Kruger PROJCS as ArcGIS writes it."""
    return (
        f'PROJCS["{name}",{geogcs},PROJECTION["{projection}"],'
        f'PARAMETER["False_Easting",{fe:.1f}],PARAMETER["False_Northing",0.0],'
        f'PARAMETER["Central_Meridian",{cm:.1f}],PARAMETER["Scale_Factor",1.0],'
        f'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )


PRJ_CASES = {
    "cgcs2000_geographic": (CGCS2000, 4490),
    "cgcs2000_geographic_custom": (
        CGCS2000.replace("GCS_China_Geodetic_Coordinate_System_2000", "GCS_CGCS2000"),
        4490,
    ),
    "xian80_geographic": (XIAN80, 4610),
    "beijing54_geographic": (BJ54, 4214),
    "cgcs2000_3deg_zone37": (gk("CGCS2000_3_Degree_GK_Zone_37", CGCS2000, 111, 37_500_000), 4525),
    "cgcs2000_3deg_cm111": (gk("CGCS2000_3_Degree_GK_CM_111E", CGCS2000, 111, 500_000), 4546),
    "cgcs2000_3deg_cm111_tm": (
        gk("CGCS2000_3_Degree_GK_CM_111E", CGCS2000, 111, 500_000, "Transverse_Mercator"),
        4546,
    ),
    "cgcs2000_3deg_cm114": (gk("CGCS2000_3_Degree_GK_CM_114E", CGCS2000, 114, 500_000), 4547),
    "cgcs2000_custom_cm111": (gk("CGCS2000_GK_CM_111E_custom", CGCS2000, 111, 500_000), 4546),
    "cgcs2000_custom_zone38_tm": (
        gk("连州_38带", CGCS2000, 114, 38_500_000, "Transverse_Mercator"),
        4526,
    ),
    "cgcs2000_6deg_zone19": (gk("CGCS2000_GK_Zone_19", CGCS2000, 111, 19_500_000), 4497),
    "cgcs2000_6deg_zone19_custom": (gk("my_six_degree_19", CGCS2000, 111, 19_500_000), 4497),
    "cgcs2000_6deg_cm111": (gk("CGCS2000_GK_CM_111E", CGCS2000, 111, 500_000), 4508),
    "unnamed_datum_grs80_cm111": (gk("local_GK_111", UNNAMED_GRS80, 111, 500_000), 4546),
    "xian80_3deg_zone37": (gk("Xian_1980_3_Degree_GK_Zone_37", XIAN80, 111, 37_500_000), 2361),
    "xian80_3deg_zone37_custom": (gk("西安80_37带", XIAN80, 111, 37_500_000), 2361),
    "xian80_3deg_cm111": (gk("Xian_1980_3_Degree_GK_CM_111E", XIAN80, 111, 500_000), 2382),
    "xian80_6deg_zone19_custom": (gk("Xian80_6du_19", XIAN80, 111, 19_500_000), 2333),
    "beijing54_3deg_cm111": (gk("Beijing_1954_3_Degree_GK_CM_111E", BJ54, 111, 500_000), 2434),
    "beijing54_3deg_zone37": (gk("Beijing_1954_3_Degree_GK_Zone_37", BJ54, 111, 37_500_000), 2413),
    "beijing54_cm111_custom": (gk("BJ54_111", BJ54, 111, 500_000), 2434),
    "beijing54_cm111_towgs84": (gk("BJ54_111", BJ54_TOWGS84, 111, 500_000), 2434),
    "beijing54_6deg_zone20_custom": (gk("BJ54_zone20", BJ54, 117, 20_500_000), 21420),
}


def write_prj(tmp_path: Path, prj: str) -> Path:
    gdf = gpd.GeoDataFrame({"A": [1]}, geometry=[shapely.Point(641567, 2744626)], crs="EPSG:4546")
    shp = tmp_path / "xb.shp"
    gdf.to_file(shp, engine="pyogrio")
    shp.with_suffix(".prj").write_text(prj, encoding="utf-8")
    return shp


# --------------------------------------------------------------------------- crs_from_prj


@pytest.mark.parametrize(("prj", "code"), PRJ_CASES.values(), ids=PRJ_CASES.keys())
def test_prj_text_resolves_to_its_epsg_code(prj, code):
    crs, reason = crs_from_prj(prj)
    assert crs == pyproj.CRS.from_epsg(code)
    assert f"EPSG:{code}" in reason.en and f"EPSG:{code}" in reason.zh


@pytest.mark.parametrize(("prj", "code"), PRJ_CASES.values(), ids=PRJ_CASES.keys())
def test_prj_file_read_through_gdal_resolves_to_its_epsg_code(tmp_path, prj, code):
    file_crs = gpd.read_file(write_prj(tmp_path, prj)).crs  # GDAL morphs the ESRI WKT
    crs, _ = crs_from_prj(file_crs.to_wkt())
    assert crs.to_epsg() == code


def test_custom_named_cgcs2000_is_matched_by_parameters_when_proj_finds_no_code(tmp_path):
    prj = PRJ_CASES["cgcs2000_custom_cm111"][0]
    file_crs = gpd.read_file(write_prj(tmp_path, prj)).crs
    assert file_crs.to_epsg() is None  # what GDAL alone gives

    crs, reason = crs_from_prj(file_crs.to_wkt())

    assert crs.to_epsg() == 4546
    assert reason.code == "crs.prj_matched"
    assert reason.zh == "按投影参数匹配为 EPSG:4546 (CGCS2000 3度带 中央经线111°E)"
    assert (
        reason.en == "matched by projection parameters to EPSG:4546 (CGCS2000 3-degree GK CM 111E)"
    )


@pytest.mark.parametrize("name", ["CGCS2000_6_Degree_GK_CM_111E_custom", "GK_CM_111E"])
def test_custom_cm_prj_fitting_3_and_6_degree_series_gets_one_of_the_two(name):
    # EPSG:4546 (3-degree CM 111E) and EPSG:4508 (6-degree CM 111E) have the same numbers.
    crs, _ = crs_from_prj(gk(name, CGCS2000, 111, 500_000))
    assert crs.to_epsg() in (4546, 4508)


def test_datum_recognised_only_by_ellipsoid_is_said_in_the_reason():
    _, reason = crs_from_prj(PRJ_CASES["unnamed_datum_grs80_cm111"][0])
    assert "datum recognised from the ellipsoid parameters" in reason.en


def test_towgs84_dropped_by_the_match_is_said_in_the_reason():
    _, reason = crs_from_prj(PRJ_CASES["beijing54_cm111_towgs84"][0])
    assert "TOWGS84" in reason.en and "TOWGS84" in reason.zh


def test_beijing54_lambert_has_no_epsg_code_and_is_kept_as_wkt():
    crs, reason = crs_from_prj(BJ54_LAMBERT)
    assert crs.to_epsg() is None
    assert crs.name == "China_Lambert_Conformal_Conic"
    assert reason.code == "crs.prj_wkt"
    assert "no EPSG code, kept as WKT" in reason.en


@pytest.mark.parametrize(
    "prj",
    [
        gk(
            "Xian_named_on_krassowsky",
            XIAN80.replace("6378140.0,298.257", "6378245.0,298.3"),
            111,
            500_000,
        ),
        gk("scale_not_one", CGCS2000, 111, 500_000).replace(
            '"Scale_Factor",1.0', '"Scale_Factor",0.9996'
        ),
        gk("zone_prefix_and_cm_disagree", CGCS2000, 114, 37_500_000),
        gk("cm_not_integer", CGCS2000, 111.5, 500_000),
    ],
    ids=["datum_name_contradicts_ellipsoid", "utm_like_scale", "zone_cm_mismatch", "odd_cm"],
)
def test_prj_that_only_resembles_a_chinese_gk_crs_is_kept_as_wkt(prj):
    crs, reason = crs_from_prj(prj)
    assert reason.code == "crs.prj_wkt"
    assert crs.to_epsg() is None


@pytest.mark.parametrize("text", ["", "   ", "not a crs", 'PROJCS["broken",GEOGCS['])
def test_unparseable_prj_raises_crs_error(text):
    with pytest.raises(CRSError, match=r"\.prj content.*--crs"):
        crs_from_prj(text)


# --------------------------------------------------------------------------- EPSG table


def test_epsg_table_covers_the_documented_ranges():
    codes = set(epsg_table())
    for first, last in [(4513, 4554), (2349, 2390), (2401, 2442), (4491, 4512), (2327, 2348)]:
        assert set(range(first, last + 1)) <= codes
    assert {4490, 4610, 4214, 21413, 21423, 21453, 21463} <= codes


@pytest.mark.parametrize(("code", "entry"), sorted(epsg_table().items()), ids=str)
def test_every_epsg_table_entry_matches_pyproj(code, entry):
    crs = pyproj.CRS.from_epsg(code)
    ellipsoid = crs.ellipsoid
    assert ellipsoid is not None
    assert math.isclose(ellipsoid.semi_major_metre, entry.datum.a)
    assert math.isclose(ellipsoid.inverse_flattening, entry.datum.rf)
    assert match_epsg(crs)[0] in (code, *_same_numbers(code))
    if entry.band == 0:
        assert crs.is_geographic
        return
    assert entry.datum.en in crs.name
    where = f"zone {entry.zone}" if entry.zone else f"CM {entry.cm:g}E"
    assert where in crs.name
    operation = crs.coordinate_operation
    assert operation is not None
    params = {p.code: p.value for p in operation.params}
    assert params["8802"] == entry.cm
    assert params["8806"] == (entry.zone or 0) * 1_000_000 + 500_000


def _same_numbers(code: int) -> list[int]:
    """The other CM code with the same datum and central meridian (3 vs 6 degree)."""
    entry = epsg_table()[code]
    return [
        c
        for c, e in epsg_table().items()
        if e.datum == entry.datum and e.zone is None and e.cm == entry.cm and c != code
    ]


# --------------------------------------------------------------------------- crs_from_user


@pytest.mark.parametrize(
    "text",
    ["EPSG:4546", "epsg:4546", "4546", " EPSG: 4546 ", pyproj.CRS.from_epsg(4546).to_wkt()],
)
def test_user_crs_accepts_codes_and_wkt(text):
    assert crs_from_user(text).to_epsg() == 4546


def test_user_crs_accepts_a_proj_string():
    crs = crs_from_user(
        "+proj=tmerc +lat_0=0 +lon_0=111 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
    )
    assert crs.is_projected
    assert match_epsg(crs) == [4546, 4508]


@pytest.mark.parametrize("text", ["foo", "EPSG:99999999", "", "4546E"])
def test_invalid_user_crs_raises_with_examples(text):
    with pytest.raises(CRSError, match=r"`--crs` was '.*'.*EPSG:4546 \(CGCS2000.*EPSG:4490"):
        crs_from_user(text)


# --------------------------------------------------------------------------- infer_crs


def test_lonlat_bounds_in_china_are_assumed_cgcs2000():
    crs, reason = infer_crs((112.12, 24.5, 112.79, 25.2))
    assert crs.to_epsg() == 4490
    assert reason.en == (
        "the file declares no CRS; coordinates look like longitude/latitude; assumed CGCS2000 (EPSG:4490); "
        "pass --crs if not"
    )


def test_zone_prefixed_3_degree_eastings_give_the_cgcs2000_zone_code():
    crs, reason = infer_crs((37_641_567.0, 2_744_626.0, 37_682_000.0, 2_800_000.0))
    assert crs.to_epsg() == 4525
    assert reason.code == "crs.inferred_zone"
    assert "datum assumed CGCS2000" in reason.en
    assert "--crs EPSG:2361" in reason.en and "--crs EPSG:2413" in reason.en


def test_zone_prefixed_6_degree_eastings_give_the_cgcs2000_zone_code():
    crs, reason = infer_crs((19_641_567.0, 2_744_626.0, 19_682_000.0, 2_800_000.0))
    assert crs.to_epsg() == 4497
    assert "EPSG:2333" in reason.en and "EPSG:21419" in reason.en


def test_unprefixed_gk_eastings_are_ambiguous_and_ask_for_crs():
    with pytest.raises(
        CRSError,
        match=r"central meridian is unknown.*--crs.*EPSG:4546 CGCS2000 / 3-degree GK CM 111E",
    ):
        infer_crs((641_567.0, 2_744_626.0, 682_000.0, 2_800_000.0))


@pytest.mark.parametrize(
    "bounds",
    [
        (37_641_567.0, 2_744_626.0, 38_338_206.0, 2_800_000.0),  # two zones
        (37_950_000.0, 2_744_626.0, 37_960_000.0, 2_800_000.0),  # easting past any zone
        (50_641_567.0, 2_744_626.0, 50_682_000.0, 2_800_000.0),  # no such zone
        (37_641_567.0, 9_000_000.0, 37_682_000.0, 9_100_000.0),  # northing outside China
        (24.5, 112.12, 25.2, 112.79),  # latitude/longitude swapped
        (2.0, 48.0, 3.0, 49.0),  # lon/lat outside China
        (-1e9, -1e9, 1e9, 1e9),
    ],
)
def test_bounds_that_fit_no_unambiguous_case_ask_for_crs(bounds):
    with pytest.raises(CRSError, match=r"cannot be inferred, pass --crs"):
        infer_crs(bounds)


@pytest.mark.parametrize(
    "bounds", [(math.nan,) * 4, (112.0, math.nan, 113.0, 25.0), (math.inf, 0.0, 1.0, 1.0)]
)
def test_empty_or_nan_bounds_raise(bounds):
    with pytest.raises(CRSError, match=r"empty or not numbers.*pass --crs"):
        infer_crs(bounds)


# --------------------------------------------------------------------------- helpers


def test_lonlat_box_of_a_gk_zone_allows_data_past_the_zone_edge():
    minlon, minlat, maxlon, maxlat = valid_lonlat_box(pyproj.CRS.from_epsg(4546))
    assert minlon <= 109.5 - 1.5 and maxlon >= 112.5 + 1.5
    assert minlon <= 112.8 <= maxlon and minlat <= 24.8 <= maxlat  # Lianzhou in CM 111E
    assert not minlon <= 116.0 <= maxlon


def test_lonlat_box_is_clipped_to_the_world():
    assert valid_lonlat_box(pyproj.CRS.from_epsg(4326)) == (-180.0, -90.0, 180.0, 90.0)


def test_lonlat_box_without_area_of_use_is_the_world():
    crs, _ = crs_from_prj(BJ54_LAMBERT)
    assert crs.area_of_use is None
    assert valid_lonlat_box(crs) == (-180.0, -90.0, 180.0, 90.0)


@pytest.mark.parametrize(
    ("code", "expected"), [(4546, True), (4525, True), (4490, False), (2227, False)]
)
def test_is_projected_metres(code, expected):
    assert is_projected_metres(pyproj.CRS.from_epsg(code)) is expected


def test_describe_crs_gives_code_and_name():
    assert (
        describe_crs(pyproj.CRS.from_epsg(4546))
        == "EPSG:4546 CGCS2000 / 3-degree Gauss-Kruger CM 111E"
    )


def test_describe_crs_without_code_gives_the_name():
    crs, _ = crs_from_prj(BJ54_LAMBERT)
    assert describe_crs(crs) == "China_Lambert_Conformal_Conic"
