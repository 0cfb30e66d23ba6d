"""Core of the web maps: evidence scope, clearance by the register, refusals, served pages."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast

import folium
import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, PermissionDeniedError, message
from geoservice.base.workspace import Workspace
from geoservice.cli.common import DEMO_FILES
from geoservice.files.importing import import_file
from geoservice.intake.complaints import ComplaintIntake
from geoservice.webmaps.build import (
    analysis_as_of,
    department_map_of,
    department_page,
    map_asset,
    parse_as_of,
    readable_layers,
    target_evidence,
    targets_map_of,
    targets_page,
    villages_map_of,
    villages_page,
)
from geoservice.webmaps.cache import PAGES, PageCache, cached_page, data_version
from geoservice.workflow.records import add_problem
from geoservice.workflow.store import read_problems, update_problem
from maps.assets import (
    BUNDLES,
    TILED_BUNDLES,
    UnknownAssetError,
    bundle_names,
    served_names,
    served_text,
)
from maps.render import MapInputError, served_html
from tests.support.files import copy_workspace

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
def test_map_asset_is_the_served_text_with_a_content_etag(name, map_assets):
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
        "vectorgrid.js",
        "geoman.css",
        "geoman.js",
        "proj4.js",
    )


def test_served_html_references_every_bundle_under_the_base_and_no_cdn():
    page = served_html(folium.Map(tiles=None), asset_base="/gs/static/")
    links = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert sorted(links) == sorted(f"/gs/static/{n}" for n in bundle_names(BUNDLES))
    assert re.search(r"https?://", page) is None


def test_served_html_of_a_tiled_map_references_the_tiled_bundles():
    page = served_html(folium.Map(tiles=None), bundles=TILED_BUNDLES)
    links = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page)
    assert sorted(links) == sorted(f"/static/maps/{n}" for n in bundle_names(TILED_BUNDLES))
    assert "/static/maps/vectorgrid.js" in links


@pytest.mark.parametrize("base", ["https://cdn.example.org/maps", "//cdn.example.org", "file:/x"])
def test_served_html_refuses_an_off_site_asset_base(base):
    with pytest.raises(MapInputError, match="asset_base"):
        served_html(folium.Map(tiles=None), asset_base=base)


# --- the page cache ---------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"
AS_OF = date(2026, 11, 28)
EDUCATION = Principal("u4", "教育办", "department", department="education")
OTHER_VILLAGER = Principal("u5", "村干部", "village", village_code="441882101203")


@pytest.fixture(scope="module")
def town_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample town imported and analysed at AS_OF, once for this module."""
    ws = Workspace(tmp_path_factory.mktemp("town") / "town.gpkg")
    for f in DEMO_FILES:
        import_file(ws, SAMPLE / f.name, f.kind, actor="t", **f.options())
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")
    read_problems(ws)  # the first workflow read adds the workflow columns, in place
    return ws.path


@pytest.fixture
def town(town_file: Path, tmp_path: Path) -> Workspace:
    """A private copy of the sample town, with an empty page cache."""
    copy_workspace(town_file, tmp_path / "town.gpkg")
    PAGES.clear()
    return Workspace(tmp_path / "town.gpkg")


def _villages_page(ws: Workspace, who: Principal = OFFICE) -> str:
    return villages_page(ws, who, AS_OF, "zh")


def _targets_page(ws: Workspace, who: Principal = OFFICE) -> str:
    return targets_page(ws, who, "zh")


def _move_a_problem(ws: Workspace) -> None:
    probs = read_problems(ws)
    row = probs[probs["status"] == "assigned"].iloc[0]
    update_problem(ws, str(row["problem_id"]), "in_progress", "office:t")


def _add_a_problem(ws: Workspace) -> None:
    add_problem(
        ws, village=VILLAGER.village_code or "", category="illegal_logging", description="砍伐",
        deadline=date(2026, 12, 31), by="office:t", found_on=AS_OF,
    )  # fmt: skip


def _file_a_complaint(ws: Workspace) -> None:
    intake = ComplaintIntake(ws)
    intake.submit(ws, text="有人砍树", village=VILLAGER.village_code, by="office:t", as_of=AS_OF)


def _analyse_again(ws: Workspace) -> None:
    analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="t")


@pytest.mark.slow
def test_a_second_identical_request_is_served_from_the_cache(town):
    first = _villages_page(town)
    town.log("office:t", "map.villages", "villages", {})  # what every served request does
    assert _villages_page(town) is first
    assert (PAGES.builds, PAGES.hits) == (1, 1)


@pytest.mark.parametrize(
    ("change", "page"),
    [(_file_a_complaint, _targets_page), (_analyse_again, _targets_page)],
    ids=["complaint intake", "re-analysis"],
)
def test_a_change_to_the_layers_builds_the_page_again(town, change, page):
    page(town)
    change(town)
    page(town)
    assert (PAGES.builds, PAGES.hits) == (2, 0)


@pytest.mark.parametrize(
    "change", [_move_a_problem, _add_a_problem], ids=["problem status change", "problem added"]
)
def test_a_problem_change_never_builds_the_page_again(town, change):
    _move_a_problem(town)  # the first workflow write adds the workflow tables
    PAGES.clear()
    _villages_page(town)
    change(town)
    _villages_page(town)
    assert (PAGES.builds, PAGES.hits) == (1, 1)


@pytest.mark.parametrize(
    ("page", "one", "other", "shared"),
    [
        (_villages_page, VILLAGER, OTHER_VILLAGER, 1),
        (_villages_page, OFFICE, VILLAGER, 0),
        (_targets_page, OFFICE, POLICE, 0),
        (_targets_page, POLICE, EDUCATION, 0),
    ],
    ids=["two villages", "office and village", "office and department", "two departments"],
)
@pytest.mark.slow
def test_principals_of_different_scope_never_share_a_page(town, page, one, other, shared):
    """Each scope has a page of its own; pages opened on a village are made from one page
    of their role (kept too), which the second village of a role finds (``shared``)."""
    first_one, first_other = page(town, one), page(town, other)
    assert page(town, one) is first_one
    assert page(town, other) is first_other
    villages = sum(p.role == "village" for p in (one, other))
    roles = 1 if villages else 0
    assert (PAGES.builds, PAGES.hits, len(PAGES)) == (2 + roles, 2 + shared, 2 + roles)


def test_a_role_a_map_is_not_for_is_refused_even_with_the_page_cached(town):
    _targets_page(town)
    with pytest.raises(PermissionDeniedError, match="village"):
        _targets_page(town, VILLAGER)


def test_a_workspace_that_cannot_be_read_is_built_and_not_kept(tmp_path):
    PAGES.clear()
    assert data_version(tmp_path / "none.gpkg") is None
    assert cached_page(Workspace(tmp_path / "none.gpkg"), OFFICE, ("x",), lambda: "page") == "page"
    assert len(PAGES) == 0


def test_the_least_recently_used_page_is_dropped_first():
    cache = PageCache(size=2)
    for key in ("a", "b", "a", "c"):
        cache.get(key, lambda: "page")
    cache.get("b", lambda: "page b again")
    assert (cache.builds, cache.hits) == (4, 1)


def test_a_failed_build_is_not_kept():
    cache = PageCache()

    def broken() -> str:
        raise NotFoundError(message("t.none", "无", "none"))

    with pytest.raises(NotFoundError, match="none"):
        cache.get("k", broken)
    assert cache.get("k", lambda: "page") == "page"
    assert (cache.builds, len(cache)) == (1, 1)


def test_concurrent_requests_for_one_page_build_it_once():
    cache = PageCache()

    def slow() -> str:
        time.sleep(0.1)
        return "page"

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(lambda _: cache.get("k", slow), range(8)))
    assert pages == ["page"] * 8
    assert (cache.builds, cache.hits) == (1, 7)


# --- the data date under each map's title --------------------------------------------------


def test_analysis_as_of_is_none_before_any_analysis(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, SAMPLE / DEMO_FILES[0].name, DEMO_FILES[0].kind, actor="t",
                **DEMO_FILES[0].options())  # fmt: skip
    assert analysis_as_of(ws) is None


@pytest.mark.slow
def test_targets_map_is_dated_by_the_latest_analysis(town):
    analyze(town, as_of=date(2026, 12, 1), rules=load_rules(None), actor="t")
    assert analysis_as_of(town) == "2026-12-01"
    page = targets_map_of(town, "zh").get_root().render()
    assert json.dumps("研判数据截至：2026-12-01")[1:-1] in page  # as the page's JSON holds it


def test_villages_map_is_dated_by_the_day_its_status_is_evaluated_at(town):
    page = villages_map_of(town, date(2026, 11, 30), "en").get_root().render()
    assert "Status as of: 2026-11-30" in page


@pytest.mark.parametrize(
    ("page", "texts"),
    [
        (lambda ws: targets_page(ws, OFFICE, "en"), ["Joint enforcement targets", "Analysis as of: 2026-11-28"]),
        (lambda ws: villages_page(ws, OFFICE, AS_OF, "en"), ["Rectification status by village", "Status as of: 2026-11-28"]),
        (
            lambda ws: department_page(ws, OFFICE, "police", date(2026, 11, 30), "en"),
            ["Police station: targets and problems", "Analysis as of: 2026-11-28", "Problems as of: 2026-11-30"],
        ),
    ],
    ids=["targets", "villages", "department"],
)  # fmt: skip
def test_served_light_page_is_titled_with_its_data_dates(town, page, texts):
    text = page(town)
    assert all(json.dumps(t)[1:-1] in text for t in texts)
    assert "L.control.scale({metric: true, imperial: false" in text and "gs-north" in text


def test_the_targets_page_of_a_workspace_without_analysis_names_the_fix(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    villages = next(f for f in DEMO_FILES if f.kind == "villages")
    import_file(ws, SAMPLE / villages.name, villages.kind, actor="t", **villages.options())
    with pytest.raises(NotFoundError, match="geoservice analyze"):
        targets_page(ws, OFFICE, "zh")
