"""A replace import never shrinks a layer by more than half without --allow-shrink."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geoservice.base.errors import ShrinkRefusedError
from geoservice.base.workspace import Workspace
from geoservice.files.importing import import_file
from geoservice.workflow.imports import import_problems
from tests.support.builders import GK111, X0, Y0, run_cli, write_shp, xiaoban

VILLAGES = {"441882101201": "竹山村", "441882101202": "东陂村", "441882101203": "黄岗村"}


def _parcels(path: Path, villages: list[str], per_village: int = 2, first: int = 1) -> Path:
    """Forest parcels, ``per_village`` in each village, numbered from ``first``."""
    codes = [code for code in villages for _ in range(per_village)]
    n = len(codes)
    frame = xiaoban(
        n,
        ZLDWDM=codes,
        CUN_MC=[VILLAGES[c] for c in codes],
        XIAO_BAN=[f"{first + i:03d}" for i in range(n)],
    )
    return write_shp(frame, path)


def _wetlands(path: Path, n: int) -> Path:
    frame = xiaoban(n, XIAO_BAN=[f"{900 + i}" for i in range(n)], DI_LEI=["1108"] * n)
    return write_shp(frame, path)


def _forest_rows(ws: Workspace) -> int:
    return int((ws.read("parcels")["kind"] == "forest").sum())


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Six forest parcels, two in each of three villages."""
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, _parcels(tmp_path / "all.shp", list(VILLAGES)), "parcels", actor="t")
    return ws


# --- parcels and other layers -------------------------------------------------------------


def test_a_file_of_one_village_replacing_the_layer_is_refused_naming_what_would_go(ws, tmp_path):
    one = _parcels(tmp_path / "one.shp", ["441882101201"])
    with pytest.raises(
        ShrinkRefusedError,
        match=r"one\.shp with mode replace would take the .* layer \(forest parcels\) from 6"
        r" rows to 2, less than half.*Villages that would disappear: 441882101202 东陂村,"
        r" 441882101203 黄岗村 \(2 in all\)\. Ids that would disappear: 0012-003, 0012-004,"
        r" 0012-005, 0012-006 \(4 in all\).*--allow-shrink",
    ) as caught:
        import_file(ws, one, "parcels", actor="t", mode="replace")
    assert "从 6 行减少到 2 行" in caught.value.message.zh
    assert len(ws.read("parcels")) == 6


def test_allow_shrink_replaces_anyway(ws, tmp_path):
    one = _parcels(tmp_path / "one.shp", ["441882101201"])
    result = import_file(ws, one, "parcels", actor="t", mode="replace", allow_shrink=True)
    assert result.layer_rows == 2


def test_a_replace_keeping_half_the_rows_is_allowed(ws, tmp_path):
    half = _parcels(tmp_path / "half.shp", list(VILLAGES), per_village=1)
    assert import_file(ws, half, "parcels", actor="t", mode="replace").layer_rows == 3


@pytest.mark.slow
def test_parcels_are_compared_within_the_same_forest_or_wetland_part(ws, tmp_path):
    import_file(ws, _wetlands(tmp_path / "wet.shp", 20), "parcels", actor="t")
    one = _parcels(tmp_path / "one.shp", ["441882101201"])
    # 26 rows would become 22, but the forest part would go from 6 to 2.
    with pytest.raises(ShrinkRefusedError, match=r"\(forest parcels\) from 6 rows to 2"):
        import_file(ws, one, "parcels", actor="t", mode="replace")
    assert _forest_rows(ws) == 6


@pytest.mark.slow
def test_a_smaller_wetland_file_is_not_compared_with_the_forest_part(ws, tmp_path):
    result = import_file(ws, _wetlands(tmp_path / "wet.shp", 1), "parcels", actor="t")
    assert result.layer_rows == 7


@pytest.mark.slow
def test_append_is_never_a_shrink(ws, tmp_path):
    extra = _parcels(tmp_path / "extra.shp", ["441882101201"], per_village=1, first=50)
    assert import_file(ws, extra, "parcels", actor="t", mode="append").layer_rows == 7


def test_an_empty_file_replacing_complaints_is_refused(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    full = tmp_path / "full.csv"
    full.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\n"
        "A1,2026-10-01,有人砍树,112.41,24.81\nA2,2026-10-02,有人采石,112.42,24.82\n",
        encoding="utf-8",
    )
    import_file(ws, full, "complaints", actor="t")
    empty = tmp_path / "empty.csv"
    empty.write_text("举报编号,受理时间,举报内容,经度,纬度\n", encoding="utf-8")
    with pytest.raises(ShrinkRefusedError, match=r"from 2 rows to 0.*Ids that would disappear:"):
        import_file(ws, empty, "complaints", actor="t", mode="replace")
    assert len(ws.read("complaints")) == 2


# --- problems -----------------------------------------------------------------------------


def _villages(path: Path) -> Path:
    frame = gpd.GeoDataFrame(
        {"XZQDM": list(VILLAGES), "XZQMC": list(VILLAGES.values())},
        geometry=[
            shapely.box(X0 + 2000 * i, Y0, X0 + 2000 * i + 1000, Y0 + 1000) for i in range(3)
        ],
        crs=GK111,
    )
    return write_shp(frame, path, encoding="utf-8", cpg=True)


def _problems(path: Path, n: int) -> Path:
    names = list(VILLAGES.values())
    rows = [
        f"WT-{i},2026-09-01,{names[i % 3]},盗伐滥伐林木,2026-12-01,未整改" for i in range(1, n + 1)
    ]
    path.write_text(
        "问题编号,发现日期,村名,问题类别,整改期限,整改状态\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def problems_ws(tmp_path: Path) -> Workspace:
    """Three villages and four problems."""
    ws = Workspace(tmp_path / "p.gpkg")
    import_file(ws, _villages(tmp_path / "v.shp"), "villages", actor="t")
    import_problems(ws, _problems(tmp_path / "all.csv", 4), actor="t")
    return ws


@pytest.mark.slow
def test_a_problem_list_replacing_most_problems_is_refused(problems_ws, tmp_path):
    with pytest.raises(
        ShrinkRefusedError,
        match=r"from 4 rows to 1.*Ids that would disappear: WT-2, WT-3, WT-4 \(3 in all\)",
    ):
        import_problems(problems_ws, _problems(tmp_path / "one.csv", 1), actor="t", mode="replace")
    assert len(problems_ws.read("problems")) == 4


@pytest.mark.slow
def test_allow_shrink_replaces_the_problem_list_anyway(problems_ws, tmp_path):
    result = import_problems(
        problems_ws,
        _problems(tmp_path / "one.csv", 1),
        actor="t",
        mode="replace",
        allow_shrink=True,
    )
    assert result.removed == ["WT-2", "WT-3", "WT-4"]


@pytest.mark.slow
def test_merging_a_short_problem_list_is_not_a_shrink(problems_ws, tmp_path):
    result = import_problems(problems_ws, _problems(tmp_path / "one.csv", 1), actor="t")
    assert result.removed == []
    assert len(problems_ws.read("problems")) == 4


# --- the command line ---------------------------------------------------------------------


@pytest.mark.slow
def test_cli_refuses_the_shrink_with_status_2_and_allow_shrink_does_it(ws, tmp_path):
    one = _parcels(tmp_path / "one.shp", ["441882101201"])
    refused = run_cli("import", "parcels", one, "-w", ws.path, "--mode", "replace", "--lang", "en")
    assert refused.returncode == 2
    assert "from 6 rows to 2" in refused.stdout + refused.stderr
    done = run_cli("import", "parcels", one, "-w", ws.path, "--mode", "replace", "--allow-shrink")
    assert done.returncode == 0, done.stderr
    assert _forest_rows(ws) == 2
