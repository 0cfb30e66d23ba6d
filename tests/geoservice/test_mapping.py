"""Core of the web maps: evidence scope, clearance by the register, refusals, served pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import cast

import folium
import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geoservice.access import Principal
from geoservice.errors import NotFoundError, OptionError, PermissionDeniedError
from geoservice.mapping import (
    department_map_of,
    department_page,
    map_asset,
    parse_as_of,
    readable_layers,
    target_evidence,
    targets_map_of,
)
from geoservice.workspace import Workspace
from maps.assets import UnknownAssetError, served_names, served_text
from maps.render import MapInputError, served_html

CRS = "EPSG:4546"
OFFICE = Principal("u1", "林长办", "office")
POLICE = Principal("u2", "派出所", "department", department="police")
VILLAGER = Principal("u3", "村干部", "village", village_code="441882101212")


def _frame(**cols):
    n = len(next(iter(cols.values())))
    return gpd.GeoDataFrame(cols, geometry=[Point(i, 0) for i in range(n)], crs=CRS)


def _targets():
    return gpd.GeoDataFrame(
        {"target_id": ["T-1"], "parcel_ids": ["P1;P2"]}, geometry=[box(0, 0, 1, 1)], crs=CRS
    )


def _risk():
    return _frame(
        parcel_id=["P1", "P2", "P3"],
        flagged=[1, 0, 1],
        complaint_ids=["C1;C2", "C3", "C9"],
        patch_ids=["", "B1,B2", "B9"],
    )


def _complaints():
    return _frame(complaint_id=["C1", "C2", "C3", "C9"])


def _patches():
    return _frame(patch_id=["B1", "B2", "B9"])


def _evidence(readable):
    return target_evidence(_targets(), _risk(), _complaints(), _patches(), readable)


def test_unscoped_evidence_is_every_row_and_every_flagged_parcel():
    ev = _evidence(None)
    assert list(ev.complaints["complaint_id"]) == ["C1", "C2", "C3", "C9"]
    assert list(ev.patches["patch_id"]) == ["B1", "B2", "B9"]
    assert list(ev.flagged["parcel_id"]) == ["P1", "P3"]


def test_scoped_evidence_is_only_what_the_targets_parcels_cite():
    ev = _evidence({"complaints", "patches", "parcel_risk"})
    assert list(ev.complaints["complaint_id"]) == ["C1", "C2", "C3"]
    assert list(ev.patches["patch_id"]) == ["B1", "B2"]
    assert list(ev.flagged["parcel_id"]) == ["P1"]


def test_scoped_evidence_leaves_out_layers_not_readable():
    ev = _evidence({"patches"})
    assert ev.complaints.empty and ev.flagged.empty
    assert list(ev.patches["patch_id"]) == ["B1", "B2"]


def test_scoped_evidence_of_no_target_is_empty():
    ev = target_evidence(
        _targets().iloc[:0], _risk(), _complaints(), _patches(), {"complaints", "patches"}
    )
    assert ev.complaints.empty and ev.patches.empty and ev.flagged.empty


@dataclass
class _Entry:
    layer: str
    classification: str


class _Register:
    """A workspace stand-in holding only a sharing register."""

    def catalog(self):
        return [
            _Entry("villages", "public"),
            _Entry("parcels", "internal"),
            _Entry("complaints", "restricted"),
            _Entry("patches", "internal"),
            _Entry("patches", "restricted"),
        ]


REGISTER = cast(Workspace, _Register())


def test_office_reads_every_layer():
    assert readable_layers(REGISTER, OFFICE) is None
    assert readable_layers(REGISTER, None) is None


def test_department_reads_by_clearance_and_derived_layers_as_their_source():
    assert readable_layers(REGISTER, POLICE) == {"villages", "parcels", "parcel_risk"}


def test_village_reads_public_layers_only():
    assert readable_layers(REGISTER, VILLAGER) == {"villages"}


def test_targets_map_refuses_a_village_user(tmp_path):
    with pytest.raises(PermissionDeniedError, match="village"):
        targets_map_of(Workspace(tmp_path / "w.gpkg"), "zh", principal=VILLAGER)


def test_department_map_of_another_department_is_not_found(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    with pytest.raises(NotFoundError, match=r"'education'.*/maps/department/police"):
        department_map_of(ws, "education", date(2026, 11, 28), "en", principal=POLICE)


def test_department_page_of_an_unknown_department_is_not_found(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    with pytest.raises(NotFoundError, match=r"'forestry'.*police"):
        department_page(ws, OFFICE, "forestry", date(2026, 11, 28), "en")


def test_as_of_defaults_to_today():
    assert parse_as_of(None) == date.today()
    assert parse_as_of(" 2026-11-28 ") == date(2026, 11, 28)


def test_as_of_not_a_date_is_refused_naming_it():
    with pytest.raises(OptionError, match=r"'2026/11/28'.*YYYY-MM-DD"):
        parse_as_of("2026/11/28")


@pytest.mark.parametrize("name", served_names())
def test_map_asset_is_the_served_text_with_a_content_etag(name):
    asset = map_asset(name)
    assert asset.content.decode("utf-8") == served_text(name)
    assert re.fullmatch(r'"[0-9a-f]{32}"', asset.etag)


def test_map_asset_of_another_name_is_not_found():
    with pytest.raises(NotFoundError, match=r"'leaflet\.min\.js'"):
        map_asset("leaflet.min.js")


def test_served_text_of_another_name_is_refused():
    with pytest.raises(UnknownAssetError, match=r"'leaflet\.png'"):
        served_text("leaflet.png")


def test_served_names_are_css_and_js_of_each_bundle():
    assert served_names() == (
        "leaflet.css",
        "leaflet.js",
        "markercluster.css",
        "markercluster.js",
        "fullscreen.css",
        "fullscreen.js",
        "search.css",
        "search.js",
    )


def test_served_html_references_every_bundle_under_the_base_and_no_cdn():
    page = served_html(folium.Map(tiles=None), asset_base="/gs/static/")
    links = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert sorted(links) == sorted(f"/gs/static/{n}" for n in served_names())
    assert re.search(r"https?://", page) is None


@pytest.mark.parametrize("base", ["https://cdn.example.org/maps", "//cdn.example.org", "file:/x"])
def test_served_html_refuses_an_off_site_asset_base(base):
    with pytest.raises(MapInputError, match="asset_base"):
        served_html(folium.Map(tiles=None), asset_base=base)
