"""HTML of the map products: layers, popups, legend, no external URL, size."""

import json
import os
import subprocess
import sys
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from folium.plugins import MarkerCluster
from shapely.geometry import Point, box

from maps import assets, cartography, styles
from maps.cartography import TARGETS_PANE
from maps.overlays import CLUSTER_UNTIL_ZOOM
from maps.products import department_map, targets_map, villages_map
from maps.render import MapInputError, base_map, external_urls, save_standalone, served_html

CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E
X0, Y0 = 500_000.0, 2_600_000.0


def _villages():
    return gpd.GeoDataFrame(
        {"village_code": ["441882101201", "441882101202"], "village_name": ["竹山村", "石坑村"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs=CRS,
    )


def _targets():
    return gpd.GeoDataFrame(
        {
            "target_id": ["T-aaaaaaaaaa", "T-bbbbbbbbbb"],
            "priority": ["P1", "P3"],
            "village_names": ["竹山村", "石坑村"],
            "area_ha": [1.5, 0.25],
            "categories": ["illegal_logging", "land_occupation"],
            "lead_department": ["police", "natural_resources"],
            "cooperating_departments": ["agriculture", "police;environment"],
            "criminal_threshold_met": [True, False],
            "complaint_count": [3, 0],
            "patch_area_ha": [0.5, 0.0],
            "open_problem_count": [1, 0],
            "parcel_count": [2, 1],
            "reasons": ["多次举报<盗伐>", "占用林地"],
        },
        geometry=[
            box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300),
            box(X0 + 1200, Y0 + 100, X0 + 1300, Y0 + 200),
        ],
        crs=CRS,
    )


def _points(n, **cols):
    return gpd.GeoDataFrame(
        cols, geometry=[Point(X0 + 50 + 10 * i, Y0 + 50) for i in range(n)], crs=CRS
    )


def _complaints():
    return _points(
        2,
        complaint_id=["C1", "C2"],
        received_at=["2026-05-01 09:00", "2026-06-01"],
        category=["illegal_logging", "other"],
        description=["有人砍树", "倾倒"],
    )


def _patches():
    return gpd.GeoDataFrame(
        {"patch_id": ["P-1"], "year": [2026], "change_cause": ["采伐"], "area_ha": [0.5]},
        geometry=[box(X0 + 120, Y0 + 120, X0 + 180, Y0 + 180)],
        crs=CRS,
    )


def _problems():
    return _points(
        2,
        problem_id=["DC-1", "DC-2"],
        village_name=["竹山村", "竹山村"],
        category=["illegal_logging", "other"],
        status=["assigned", "verified"],
        deadline=["2026-10-01", "2026-09-01"],
        cc_departments=["police,agriculture", "environment"],
        escalation=["listed", "none"],
    )


def _flagged():
    return gpd.GeoDataFrame(
        {"parcel_id": ["0001-001"], "village_name": ["竹山村"], "score": [9.5], "area_ha": [1.0]},
        geometry=[box(X0 + 100, Y0 + 100, X0 + 200, Y0 + 200)],
        crs=CRS,
    )


def _status():
    return pd.DataFrame(
        {
            "village_code": ["441882101201", "441882101202"],
            "problems": [2, 0],
            "open": [1, 0],
            "overdue": [1, 0],
            "awaiting_verification": [0, 0],
            "verified": [1, 0],
            "on_time_rate": [0.5, float("nan")],
            "max_escalation": ["listed", "none"],
        }
    )


def _shown(page: str, text: str) -> bool:
    """Whether ``text`` is in the page as such or as JSON with escaped non-ASCII characters."""
    escaped = json.dumps(text)[1:-1]
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        escaped = escaped.replace(char, code)
    return text in page or escaped in page


@pytest.fixture(scope="module")
def targets_page(tmp_path_factory, map_assets):
    m = targets_map(_targets(), _villages(), _complaints(), _patches(), _flagged(), "zh")
    path = save_standalone(m, tmp_path_factory.mktemp("maps") / "targets.html")
    return path.read_text(encoding="utf-8")


def test_targets_map_of_no_target_draws_the_villages():
    empty = _targets().iloc[:0]
    m = targets_map(empty, _villages(), _complaints(), _patches(), _flagged(), "zh")
    page = m.get_root().render()
    assert all(_shown(page, name) for name in _villages()["village_name"])


def test_targets_map_has_one_layer_per_lead_department(targets_page):
    assert _shown(targets_page, "牵头：镇郊派出所 (1)")
    assert _shown(targets_page, "牵头：镇自然资源所 (1)")


@pytest.mark.parametrize("name", ["村界", "高风险小班", "森林督查变化图斑", "举报投诉"])
def test_targets_map_has_the_evidence_and_village_layers(targets_page, name):
    assert _shown(targets_page, name)


def test_targets_popup_names_departments_categories_and_evidence(targets_page):
    for text in [
        "目标编号",
        "T-aaaaaaaaaa",
        "镇农业农村办",
        "盗伐滥伐林木",
        "举报 3",
        "达到刑事立案标准",
    ]:
        assert _shown(targets_page, text)


def test_targets_popup_text_is_escaped(targets_page):
    assert _shown(targets_page, "多次举报&lt;盗伐&gt;")
    assert not _shown(targets_page, "<盗伐>")


def test_targets_map_has_legend_fullscreen_scale_search_and_clusters(targets_page):
    for text in [
        "P1 立即行动",
        "L.Control.FullScreen",
        "L.control.scale",
        "L.Control.Search",
        "L.markerClusterGroup",
        "preferCanvas",
    ]:
        assert _shown(targets_page, text)


def test_standalone_page_loads_nothing_from_the_network(targets_page):
    assert external_urls(targets_page) == []
    assert "cdn.jsdelivr" not in targets_page
    assert "<script src" not in targets_page
    assert '<link rel="stylesheet" href' not in targets_page


def test_coordinates_are_rounded_to_six_decimals(targets_page):
    import re

    longest = max(
        len(m) for m in re.findall(r"\d+\.(\d+)", targets_page.split("var ")[-1]) or ["0"]
    )
    assert longest <= 6


def test_villages_map_fills_by_status_and_lists_counts(tmp_path, map_assets):
    m = villages_map(_villages(), _status(), _problems(), "en")
    page = save_standalone(m, tmp_path / "v.html").read_text(encoding="utf-8")
    assert "#d32f2f" in page and "#bdbdbd" in page  # escalated and no-problem villages
    for text in [
        "On-time rate",
        "50%",
        "listed for supervision",
        "Village status",
        "Inspection problems",
    ]:
        assert _shown(page, text)


def test_villages_map_draws_problems_that_all_lack_a_location(tmp_path, map_assets):
    unlocated = _problems().set_geometry(gpd.GeoSeries([None, None], crs=_problems().crs))
    m = villages_map(_villages(), _status(), unlocated, "en")
    page = save_standalone(m, tmp_path / "v.html").read_text(encoding="utf-8")
    assert _shown(page, "Village status")


def test_department_map_keeps_only_its_targets_and_copied_problems(tmp_path, map_assets):
    m = department_map("environment", _targets(), _problems(), _villages(), "zh")
    page = save_standalone(m, tmp_path / "d.html").read_text(encoding="utf-8")
    assert "T-bbbbbbbbbb" in page and "T-aaaaaaaaaa" not in page
    assert "DC-2" in page and "DC-1" not in page


def test_department_map_refuses_an_unknown_department():
    with pytest.raises(MapInputError, match="not a registered department"):
        department_map("nobody", _targets(), _problems(), _villages())


def test_unknown_village_to_zoom_to_is_refused():
    with pytest.raises(MapInputError, match="not in the villages layer"):
        villages_map(_villages(), _status(), _problems(), village="不存在村")


def test_frame_without_crs_is_refused():
    with pytest.raises(MapInputError, match="has no CRS"):
        villages_map(_villages().set_crs(None, allow_override=True), _status(), _problems())


def test_internet_tiles_are_refused_in_a_standalone_file(tmp_path, map_assets):
    m = villages_map(
        _villages(), _status(), _problems(), tiles="https://tile.example.org/{z}/{x}/{y}.png"
    )
    with pytest.raises(MapInputError, match=r"external URL https://tile\.example\.org"):
        save_standalone(m, tmp_path / "v.html")
    assert not (tmp_path / "v.html").exists()


def test_intranet_tiles_asked_for_are_kept(tmp_path, map_assets):
    url = "http://10.0.0.5/tiles/{z}/{x}/{y}.png"
    m = villages_map(_villages(), _status(), _problems(), tiles=url)
    page = save_standalone(m, tmp_path / "v.html", allowed=("http://10.0.0.5/tiles/",))
    assert url in page.read_text(encoding="utf-8")


def test_missing_npm_assets_say_to_run_npm_ci(tmp_path):
    with pytest.raises(assets.AssetsMissingError, match="npm ci --prefix maps/assets"):
        assets.asset_files(tmp_path)


def test_css_images_are_inlined_as_data_uris(map_assets):
    css, _js = assets.bundle(("leaflet",))
    assert "url(images/" not in css
    assert "data:image/png;base64," in css


@pytest.fixture(scope="module")
def sample_pages(tmp_path_factory, map_assets):
    out = tmp_path_factory.mktemp("town")
    env = {**os.environ, "GEOSERVICE_USER": "planner"}
    run = [sys.executable, "-m", "geoservice"]
    res = subprocess.run(
        [*run, "demo", "--out", str(out), "--json"], capture_output=True, env=env, check=False
    )
    assert res.returncode == 0, res.stderr
    ws = str(out / "demo.gpkg")
    pages = {}
    for kind, extra in [("targets", []), ("villages", ["--as-of", "2026-11-28"])]:
        page = out / f"{kind}.html"
        code = (
            "import typer; from geoservice.cli.maps import map_app; a = typer.Typer(); "
            "a.add_typer(map_app, name='map'); a()"
        )
        res = subprocess.run(
            [sys.executable, "-c", code, "map", kind, "-w", ws, "--out", str(page), *extra],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        pages[kind] = Path(page)
    return pages


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["targets", "villages"])
def test_sample_town_pages_stay_under_5_mb_and_offline(sample_pages, kind):
    text = sample_pages[kind].read_text(encoding="utf-8")
    assert sample_pages[kind].stat().st_size < 5_000_000
    assert external_urls(text) == []


def test_targets_map_names_missing_villages_dates_categories_and_texts(tmp_path, map_assets):
    targets = _targets().assign(village_names=[None, None], village_codes=["441882109999", None])
    complaints = _complaints().assign(
        received_at=[None, "2026-06-01"], category=[None, "other"], description=[None, "倾倒"]
    )
    flagged = _flagged().assign(village_name=[None])
    m = targets_map(targets, _villages(), complaints, _patches(), flagged, "zh")
    page = save_standalone(m, tmp_path / "t.html").read_text(encoding="utf-8")
    for text in ["未知村（代码 441882109999）", "未知村", "日期不详", "未分类", "（无说明）"]:
        assert _shown(page, text), text


def test_villages_map_with_nameless_villages_and_problems_outside_the_layer(tmp_path, map_assets):
    villages = _villages().assign(village_code=["441882101201", None], village_name=[None, None])
    outside = pd.DataFrame(
        {"village_code": [None, "441882109999"], "problems": [3, 1], "open": [3, 1]}
    )
    status = pd.concat([_status().assign(village_code=villages["village_code"]), outside])
    problems = _problems().assign(village_name=[None, None], deadline=[None, "2026-09-01"])
    m = villages_map(villages, status.reset_index(drop=True), problems, "en")
    page = save_standalone(m, tmp_path / "v.html").read_text(encoding="utf-8")
    for text in ["unknown village (code 441882101201)", "unknown village", "no deadline set"]:
        assert _shown(page, text), text
    assert page.count('"code": "441882101201"') == 1


def _elements(m, kind):
    """Every element of class ``kind`` under the map ``m``, in page order."""
    found, todo = [], [m]
    while todo:
        element = todo.pop(0)
        found += [element] if isinstance(element, kind) else []
        todo.extend(element._children.values())
    return found


def _statused_complaints():
    return _points(
        4,
        complaint_id=["C1", "C2", "C3", "C4"],
        received_at=["2026-05-01"] * 4,
        category=["illegal_logging"] * 4,
        description=["砍树"] * 4,
        status=["new", "closed", "unfounded", "verified"],
    )


def _legality_patches():
    cells = [box(X0 + 100 * i, Y0 + 500, X0 + 100 * i + 80, Y0 + 580) for i in range(4)]
    return gpd.GeoDataFrame(
        {
            "patch_id": ["P-ill", "P-road", "P-new", "P-fire"],
            "year": [2026] * 4,
            "change_cause": ["421", "411", None, "71"],
            "illegal": ["true", "false", "unknown", "unknown"],
            "area_ha": [0.6, 8.32, 0.4, 0.2],
        },
        geometry=cells,
        crs=CRS,
    )


def _map(kind, lang):
    if kind == "targets":
        return targets_map(
            _targets(), _villages(), _complaints(), _patches(), _flagged(), lang, as_of="2026-11-20"
        )
    if kind == "villages":
        return villages_map(_villages(), _status(), _problems(), lang, as_of="2026-11-28")
    return department_map(
        "police",
        _targets(),
        _problems(),
        _villages(),
        lang,
        as_of="2026-11-28",
        analysis_as_of="2026-11-20",
    )


@pytest.mark.parametrize("kind", ["targets", "villages", "department"])
def test_every_map_has_a_metric_only_scale(kind):
    page = _map(kind, "zh").get_root().render()
    assert "L.control.scale({metric: true, imperial: false" in page
    assert "L.control.scale()" not in page


@pytest.mark.parametrize(
    ("kind", "lang", "title", "dates"),
    [
        ("targets", "zh", "联合执法目标图", ["研判数据截至：2026-11-20"]),
        ("villages", "zh", "村整改情况图", ["整改状态截至：2026-11-28"]),
        (
            "department",
            "zh",
            "镇郊派出所 执法目标与督查问题",
            ["研判数据截至：2026-11-20", "问题状态截至：2026-11-28"],
        ),
        ("targets", "en", "Joint enforcement targets", ["Analysis as of: 2026-11-20"]),
        ("villages", "en", "Rectification status by village", ["Status as of: 2026-11-28"]),
        (
            "department",
            "en",
            "Police station: targets and problems",
            ["Analysis as of: 2026-11-20", "Problems as of: 2026-11-28"],
        ),
    ],
)
def test_every_map_has_a_title_its_data_date_and_a_north_arrow(kind, lang, title, dates):
    page = _map(kind, lang).get_root().render()
    assert _shown(page, title)
    assert all(_shown(page, d) for d in dates)
    assert _shown(page, "指北针" if lang == "zh" else "North arrow")
    assert page.count("gs-north leaflet-control") == 1


def test_map_without_a_data_date_says_the_date_is_unknown():
    m = villages_map(_villages(), _status(), _problems(), "zh")
    assert _shown(m.get_root().render(), "整改状态截至：日期不详")


def test_change_patches_are_coloured_by_legality_and_listed_in_the_legend():
    m = targets_map(_targets(), _villages(), _complaints(), _legality_patches(), _flagged(), "zh")
    (layer,) = [g for g in _elements(m, folium.GeoJson) if g.layer_name == "森林督查变化图斑"]
    colours = {
        f["properties"]["pid"]: layer.style_function(f)["fillColor"] for f in layer.data["features"]
    }
    assert colours == {
        "P-ill": styles.PATCH_COLOURS["illegal"],
        "P-road": styles.PATCH_COLOURS["legal"],
        "P-new": styles.PATCH_COLOURS["unverified"],
        "P-fire": styles.PATCH_COLOURS["other"],
    }
    page = m.get_root().render()
    for text in ["违法违规图斑", "合法（已审批）图斑", "未核实图斑", "其他变化图斑"]:
        assert _shown(page, text)


def test_closed_and_unfounded_complaints_are_behind_a_layer_switched_off():
    m = targets_map(_targets(), _villages(), _statused_complaints(), _patches(), _flagged(), "en")
    clusters = {c.layer_name: c for c in _elements(m, MarkerCluster)}
    assert set(clusters) == {"Complaints (2)", "Closed or unfounded complaints (2)"}
    shown, hidden = clusters["Complaints (2)"], clusters["Closed or unfounded complaints (2)"]
    assert shown.show and not hidden.show and hidden.control

    def ids(cluster):
        (layer,) = _elements(cluster, folium.GeoJson)
        return sorted(f["properties"]["cid"] for f in layer.data["features"])

    assert ids(shown) == ["C1", "C4"] and ids(hidden) == ["C2", "C3"]


def test_complaints_are_clustered_only_below_the_street_zoom():
    m = targets_map(_targets(), _villages(), _statused_complaints(), _patches(), _flagged(), "zh")
    for cluster in _elements(m, MarkerCluster):
        assert cluster.options["disableClusteringAtZoom"] == CLUSTER_UNTIL_ZOOM == 15


def test_targets_are_drawn_as_svg_in_a_pane_above_markers_and_clusters():
    m = targets_map(_targets(), _villages(), _complaints(), _patches(), _flagged(), "zh")
    (pane,) = _elements(m, folium.map.CustomPane)
    assert pane.name == TARGETS_PANE and int(pane.z_index) > 600  # Leaflet's markerPane
    targets = [g for g in _elements(m, folium.GeoJson) if g.layer_name.startswith("牵头：")]
    assert len(targets) == 2
    for layer in targets:
        assert layer.options["pane"] == TARGETS_PANE
        assert "L.svg" in str(layer.options["renderer"])
    assert "leaflet-gs-targets-pane > svg{pointer-events:none}" in m.get_root().render()


def test_problem_markers_have_a_white_ring_in_the_state_colour():
    m = villages_map(_villages(), _status(), _problems(), "zh")
    (layer,) = [g for g in _elements(m, folium.GeoJson) if g.layer_name == "督查问题"]
    styled = [layer.style_function(f) for f in layer.data["features"]]
    assert [s["color"] for s in styled] == [styles.PROBLEM_OUTLINE] * 2
    assert [s["fillColor"] for s in styled] == [
        styles.state_colour("assigned"),
        styles.state_colour("verified"),
    ]
    assert all(s["weight"] >= 2 for s in styled)


def test_legend_is_a_toggle_collapsed_below_600_px():
    page = _map("targets", "en").get_root().render()
    assert "gs-legend-toggle" in page and _shown(page, "Legend")
    assert "matchMedia('(max-width: 599px)')" in page


@pytest.mark.parametrize(("lang", "letter"), [("zh", "北"), ("en", "N")])
def test_any_map_from_base_map_has_a_north_arrow_and_a_metric_scale(lang, letter):
    page = base_map(lang=lang).get_root().render()
    assert "gs-north" in page and _shown(page, f">{letter}</text>")
    assert "imperial: false" in page
    assert page.count("gs-north leaflet-control") == 1


def test_map_furniture_names_no_url_at_all():
    m = base_map(lang="en")
    cartography.caption(m, "Title", [("Data as of", "2026-11-28")], "en")
    cartography.legend(m, ["<b>x</b>"], "en")
    assert "://" not in served_html(m)
