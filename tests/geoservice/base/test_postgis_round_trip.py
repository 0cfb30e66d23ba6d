"""Layers of any field names, types, missing values, sizes and CRSs come back from PostGIS
as they went in (hypothesis), and so does a real public shapefile once imported."""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geoservice.base.postgis_copy import copy_to_postgis, parse_target
from geoservice.base.postgis_restore import copy_from_postgis
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file

GUANGDONG = ("realdata", "guangdong_districts", "guangdong_district.shp")

_NAME_CHARS = st.sampled_from(list("abcXYZ_09 -'\"") + list("林班地类面积村名小编号"))
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=10).filter(
    lambda n: n.strip() == n and n.lower() not in ("fid", "geom")
)
_KINDS = st.sampled_from(["int", "float", "text", "bool", "datetime"])
_CRS = st.sampled_from(["EPSG:4326", "EPSG:4549", "EPSG:4546", "EPSG:32650", "EPSG:3857"])


def _column(kind: str, n: int, missing: list[bool], seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    if kind == "int":
        values = pd.array(rng.integers(-(2**40), 2**40, n), dtype="Int64")
    elif kind == "float":
        values = pd.array(rng.normal(0, 1e6, n), dtype="Float64")
    elif kind == "text":
        values = pd.array([f"第{i}号 '{seed}\"" for i in range(n)], dtype="string")
    elif kind == "bool":
        values = pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean")
    else:
        start = np.datetime64("2024-01-01T00:00:00", "ms")
        values = pd.array(start + rng.integers(0, 10**10, n).astype("timedelta64[ms]"))
    series = pd.Series(values)
    series[pd.Series(missing[:n], dtype=bool)] = pd.NA if kind != "datetime" else pd.NaT
    return series


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.lists(
        st.tuples(_NAMES, _KINDS), min_size=1, max_size=5, unique_by=lambda f: f[0].lower()
    ),
    n=st.integers(0, 6),
    missing=st.lists(st.booleans(), min_size=6, max_size=6),
    crs=_CRS,
    seed=st.integers(0, 10**6),
)
def test_a_layer_comes_back_as_it_went_in(postgis, fields, n, missing, crs, seed):
    rng = np.random.default_rng(seed)
    geographic = crs == "EPSG:4326"
    x0, y0, size = (113.0, 24.0, 1e-4) if geographic else (500000.0, 2.7e6, 10.0)
    x, y = x0 + rng.uniform(0, 1, n) * size * 100, y0 + rng.uniform(0, 1, n) * size * 100
    squares = shapely.box(x, y, x + size, y + size)  # shapely: no CRS warning for degrees
    frame = gpd.GeoDataFrame(
        {name: _column(kind, n, missing, seed + i) for i, (name, kind) in enumerate(fields)},
        geometry=gpd.GeoSeries(squares, crs=crs),
        crs=crs,
    )
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.gpkg"
        pyogrio.write_dataframe(frame, source, layer="parcels")
        target = parse_target(f"{postgis}&schema=prop")
        assert target is not None
        copy_to_postgis(source, target, replace=True)
        back = Path(folder) / "back.gpkg"
        copy_from_postgis(target, back)
        kept = pyogrio.read_dataframe(source, layer="parcels", fid_as_index=True)
        made = pyogrio.read_dataframe(back, layer="parcels", fid_as_index=True)
    assert_geodataframe_equal(made, kept)


@pytest.mark.slow
def test_a_real_public_shapefile_imported_comes_back_as_it_went_in(postgis, shared_dir, tmp_path):
    """Guangdong's districts (UTF-8 without a code page, no .prj, AMap coordinates),
    imported as villages, copied into PostGIS and back."""
    ws = Workspace(tmp_path / "real.gpkg")
    import_file(ws, shared_dir.joinpath(*GUANGDONG), "villages", actor="t")
    target = parse_target(f"{postgis}&schema=real")
    assert target is not None
    report = copy_to_postgis(ws.path, target)
    back = tmp_path / "back.gpkg"
    copy_from_postgis(target, back)
    kept = pyogrio.read_dataframe(ws.path, layer="villages", fid_as_index=True)
    made = pyogrio.read_dataframe(back, layer="villages", fid_as_index=True)
    assert report.rows["villages"] == len(kept) == 125
    assert "连州市" in set(made["village_name"])
    assert_geodataframe_equal(made, kept)
