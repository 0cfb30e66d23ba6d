"""GCJ-02 / BD-09 <-> WGS 84 / CGCS2000 on numpy arrays."""

from __future__ import annotations

import coordTransform as oracle
import numpy as np
import pyproj
import pytest

from layers import chinacoords as cc

GEOD = pyproj.Geod(ellps="GRS80")

# Published WGS 84 -> GCJ-02 pairs of real places (lon, lat): the test vectors of the
# eviltransform project (Shanghai, Shenzhen, Beijing) and the coordtransform README
# (Beijing, 116.404 E 39.915 N).
WGS_GCJ = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
]
# Published GCJ-02 -> BD-09 pairs: coordtransform README (Beijing) and Alibaba Cloud's
# coordinate-conversion API example (Hangzhou, Yuhang; given to 6 decimals).
GCJ_BD = [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021), 1e-9),
    ((120.026268, 30.279164), (120.032768, 30.285238), 1.5e-6),
]


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def china_grid(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random WGS 84 points over mainland China (inside every implementation's box)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(74.0, 134.0, n), rng.uniform(18.0, 53.0, n)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_forward_gcj02_matches_published_pairs(wgs, gcj):
    lon, lat = cc.wgs84_to_gcj02(*wgs)
    assert metres(lon, lat, *gcj) < 0.01


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_inverse_gcj02_recovers_the_published_wgs84_point(wgs, gcj):
    lon, lat = cc.gcj02_to_wgs84(*gcj)
    assert metres(lon, lat, *wgs) < 0.01


@pytest.mark.parametrize(("gcj", "bd", "tol"), GCJ_BD)
def test_forward_bd09_matches_published_pairs(gcj, bd, tol):
    lon, lat = cc.gcj02_to_bd09(*gcj)
    assert abs(lon - bd[0]) < tol and abs(lat - bd[1]) < tol


def test_bd09_to_wgs84_of_a_published_baidu_point_lands_on_its_gcj02_inverse():
    # Alibaba Cloud's example: the same place as GCJ-02 120.026268,30.279164 and BD-09
    # 120.032768,30.285238 (both rounded to 6 decimals, about 0.1 m).
    from_bd = cc.bd09_to_wgs84(120.032768, 30.285238)
    from_gcj = cc.gcj02_to_wgs84(120.026268, 30.279164)
    assert metres(*from_bd, *from_gcj) < 0.2


def test_the_one_step_inverse_misses_by_metres_where_iteration_does_not():
    # Alibaba Cloud publishes WGS84 120.021519,30.281543 for GCJ-02 120.026268,30.279164:
    # the one-step approximation, whose forward transform misses the input by > 1 m.
    gcj = (120.026268, 30.279164)
    published = cc.wgs84_to_gcj02(120.021519, 30.281543)
    ours = cc.wgs84_to_gcj02(*cc.gcj02_to_wgs84(*gcj))
    assert metres(*published, *gcj) > 1.0
    assert metres(*ours, *gcj) < 1e-3


def test_forward_transforms_agree_with_the_coordtransform_package():
    lon, lat = china_grid()
    ours = np.array(cc.wgs84_to_gcj02(lon, lat))
    theirs = np.array(oracle.wgs84_to_gcj02(lon, lat), dtype=float)
    assert np.abs(ours - theirs).max() < 1e-9
    ours_bd = np.array(cc.gcj02_to_bd09(lon, lat))
    theirs_bd = np.array(oracle.gcj02_to_bd09(lon, lat), dtype=float)
    assert np.abs(ours_bd - theirs_bd).max() < 1e-9


def test_inverse_gcj02_is_exact_under_the_packages_forward_transform():
    gcj = china_grid(seed=1)
    wgs = cc.gcj02_to_wgs84(*gcj)
    back = np.array(oracle.wgs84_to_gcj02(*wgs), dtype=float)
    assert metres(back[0], back[1], *gcj).max() < 0.01


def test_inverse_bd09_is_exact_under_the_packages_forward_transform():
    bd = china_grid(seed=2)
    wgs = cc.bd09_to_wgs84(*bd)
    back = np.array(oracle.wgs84_to_bd09(*wgs), dtype=float)
    assert metres(back[0], back[1], *bd).max() < 0.01


def test_the_packages_own_inverse_is_only_good_to_metres():
    # Why the package is a test oracle only: its GCJ-02 inverse is one step.
    gcj = china_grid(seed=3)
    one_step = np.array(oracle.gcj02_to_wgs84(*gcj), dtype=float)
    assert metres(*one_step, *cc.gcj02_to_wgs84(*gcj)).max() > 0.5


def test_round_trips_stay_within_a_centimetre():
    lon, lat = china_grid(20_000, seed=4)
    gcj_back = cc.gcj02_to_wgs84(*cc.wgs84_to_gcj02(lon, lat))
    bd_back = cc.bd09_to_wgs84(*cc.wgs84_to_bd09(lon, lat))
    gcj_bd_back = cc.bd09_to_gcj02(*cc.gcj02_to_bd09(lon, lat))
    for back in (gcj_back, bd_back, gcj_bd_back):
        assert metres(*back, lon, lat).max() < 0.01


def test_the_offset_in_guangdong_is_hundreds_of_metres():
    lon, lat = np.array([112.4, 113.3, 114.1]), np.array([24.8, 23.1, 22.5])
    shift = metres(*cc.wgs84_to_gcj02(lon, lat), lon, lat)
    assert ((shift > 250) & (shift < 700)).all()


def test_points_outside_china_are_not_offset():
    lon = np.array([2.3522, -74.006, 139.6917, 151.2093])
    lat = np.array([48.8566, 40.7128, 35.6895, -33.8688])
    for convert in (cc.gcj02_to_wgs84, cc.bd09_to_wgs84, cc.wgs84_to_gcj02, cc.wgs84_to_bd09):
        out_lon, out_lat = convert(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


def test_nan_stays_nan_and_does_not_spoil_the_other_points():
    lon = np.array([np.nan, 113.3, 113.3, np.nan])
    lat = np.array([23.1, np.nan, 23.1, np.nan])
    out_lon, out_lat = cc.gcj02_to_wgs84(lon, lat)
    assert np.isnan(out_lon[[0, 3]]).all() and np.isnan(out_lat[[1, 3]]).all()
    single = cc.gcj02_to_wgs84(113.3, 23.1)
    assert (out_lon[2], out_lat[2]) == (single[0], single[1])


def test_empty_arrays_give_empty_arrays():
    for convert in (cc.gcj02_to_wgs84, cc.bd09_to_wgs84, cc.wgs84_to_gcj02, cc.bd09_to_gcj02):
        out_lon, out_lat = convert(np.array([]), np.array([]))
        assert out_lon.shape == out_lat.shape == (0,)


def test_arrays_keep_their_shape():
    lon, lat = np.full((2, 3), 113.3), np.full((2, 3), 23.1)
    out_lon, out_lat = cc.bd09_to_wgs84(lon, lat)
    assert out_lon.shape == out_lat.shape == (2, 3)


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("gcj02", "GCJ-02"),
        ("GCJ-02", "GCJ-02"),
        ("gcj_02", "GCJ-02"),
        ("bd09", "BD-09"),
        ("BD-09", "BD-09"),
        ("bd09ll", "BD-09"),
        ("WGS-84", "WGS84"),
        ("EPSG:4326", "WGS84"),
        ("cgcs2000", "CGCS2000"),
        ("epsg:4490", "CGCS2000"),
        ("EPSG:4546", None),
        ("gcj", None),
        (None, None),
    ],
)
def test_datum_spellings(spelling, name):
    assert cc.datum_name(spelling) == name


def test_to_cgcs2000_converts_offset_datums_and_keeps_the_others():
    lon, lat = np.array([113.3]), np.array([23.1])
    assert metres(*cc.to_cgcs2000(lon, lat, "gcj02"), *cc.gcj02_to_wgs84(lon, lat))[0] == 0
    assert metres(*cc.to_cgcs2000(lon, lat, "BD-09"), *cc.bd09_to_wgs84(lon, lat))[0] == 0
    assert cc.to_cgcs2000(lon, lat, "WGS84")[0][0] == 113.3


def test_to_cgcs2000_refuses_an_unknown_datum():
    with pytest.raises(ValueError, match="'EPSG:4546' is not one of CGCS2000, WGS84"):
        cc.to_cgcs2000(np.array([113.3]), np.array([23.1]), "EPSG:4546")
