"""Property-based tests where inputs vary widely: codes, dates and geometry repair."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers import codes
from layers.validate import check_geometries

digits = st.text(alphabet="0123456789", min_size=1, max_size=4)


@pytest.mark.slow
@given(st.lists(digits, min_size=1, max_size=20), st.integers(min_value=0, max_value=3))
def test_leading_zeros_never_change_a_normalised_code(values, zeros):
    plain = codes.normalize_code(pd.Series(values), 6)
    padded = codes.normalize_code(pd.Series(["0" * zeros + v for v in values]), 6)
    assert plain.tolist() == padded.tolist()


@given(
    st.dates(
        min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2090-12-31").date()
    )
)
def test_chinese_written_dates_parse_to_the_same_day(day):
    forms = [
        day.isoformat(),
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}/{day.month}/{day.day}",
    ]
    parsed, bad = codes.parse_dates(pd.Series(forms))
    assert not bad.any()
    assert (parsed == pd.Timestamp(day)).all()


@pytest.mark.slow
@given(st.text(max_size=30))
def test_category_from_text_gives_a_known_category_for_any_text(text):
    out = codes.category_from_text(pd.Series([text])).iloc[0]
    if text.strip():
        assert out in codes.CATEGORIES
    else:
        assert pd.isna(out)


coords = st.tuples(
    st.floats(min_value=0, max_value=100, allow_nan=False),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(coords, min_size=3, max_size=8), min_size=1, max_size=6))
def test_every_kept_polygon_is_valid_polygonal_and_every_row_is_accounted_for(rings):
    polys = [shapely.Polygon(r) for r in rings]
    gdf = gpd.GeoDataFrame({"i": range(len(polys))}, geometry=polys, crs="EPSG:4546")
    result = check_geometries(gdf, "polygon")
    assert len(result.geometry) + len(result.reasons) == len(gdf)
    assert result.geometry.is_valid.all()
    assert result.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert (result.geometry.area > 0).all()
    assert set(result.reasons) <= {"invalid_geometry", "empty_geometry"}
