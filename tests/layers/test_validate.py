import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from layers.validate import check_geometries, outside_area

BOWTIE = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])


def frame(geoms, crs=4546):
    return gpd.GeoDataFrame({"n": range(len(geoms))}, geometry=list(geoms), crs=crs)


def test_valid_polygons_pass_untouched():
    gdf = frame([shapely.box(0, 0, 1, 1)])
    result = check_geometries(gdf, "polygon")
    assert result.reasons.empty
    assert result.repaired == 0
    assert result.geometry.crs == gdf.crs


def test_self_intersecting_polygon_is_repaired_keeping_its_area():
    result = check_geometries(frame([BOWTIE]), "polygon")
    assert result.repaired == 1
    assert result.geometry.iloc[0].is_valid
    assert result.geometry.iloc[0].area == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("geom", "reason"),
    [
        (None, "null_geometry"),
        (shapely.Polygon(), "empty_geometry"),
        (shapely.Point(1, 1), "wrong_geometry_type"),
        (shapely.LineString([(0, 0), (1, 1)]), "wrong_geometry_type"),
        (shapely.Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]), "invalid_geometry"),
    ],
)
def test_bad_polygons_are_rejected_with_their_reason(geom, reason):
    result = check_geometries(frame([shapely.box(0, 0, 1, 1), geom]), "polygon")
    assert result.reasons.to_dict() == {1: reason}
    assert result.geometry.index.tolist() == [0]


def test_z_coordinates_are_dropped():
    poly = shapely.Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5)])
    result = check_geometries(frame([poly]), "polygon")
    assert not shapely.has_z(result.geometry.iloc[0])


def test_collection_keeps_only_its_polygonal_part():
    gc = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)])
    result = check_geometries(frame([gc]), "polygon")
    assert result.geometry.iloc[0].geom_type == "Polygon"
    assert result.repaired == 1


def test_points_optional_allows_missing_geometry():
    result = check_geometries(frame([None, shapely.Point(0, 0)]), "point_optional")
    assert result.reasons.empty
    assert result.geometry.iloc[0] is None


def test_single_part_multipoint_becomes_point():
    result = check_geometries(frame([shapely.MultiPoint([(1, 2)])]), "point")
    assert result.geometry.iloc[0].geom_type == "Point"


def test_empty_frame_gives_empty_result():
    result = check_geometries(frame([]), "polygon")
    assert len(result.geometry) == 0
    assert result.reasons.empty


def test_swapped_lat_lon_is_outside_the_area():
    pts = gpd.GeoSeries([shapely.Point(112.4, 24.8), shapely.Point(24.8, 112.4)], crs=4490)
    flags = outside_area(pts, pyproj.CRS(4490), (73, 3, 136, 54))
    assert flags.tolist() == [False, True]


def test_swapped_easting_northing_is_outside_the_area():
    pts = gpd.GeoSeries([shapely.Point(641567, 2744626), shapely.Point(2744626, 641567)])
    flags = outside_area(pts, pyproj.CRS(4546), (108, 18, 114.5, 45))
    assert flags.tolist() == [False, True]


def test_missing_geometry_is_never_outside():
    flags = outside_area(gpd.GeoSeries([None], crs=4490), pyproj.CRS(4490), (0, 0, 1, 1))
    assert not np.any(flags)
