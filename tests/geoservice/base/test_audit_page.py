"""One page of the audit log, cut in SQL: filters that are text, not patterns; newest first."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import Point

from geoservice.base.audit_log import audit_page
from geoservice.base.errors import OptionError
from geoservice.base.workspace import Workspace


def empty_workspace(tmp_path: Path) -> Workspace:
    """A GeoPackage with one point layer and no audit log yet."""
    path = tmp_path / "ws.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(path, layer="x")
    return Workspace(path)


def logged(tmp_path: Path, rows: list[tuple[str, str]]) -> Workspace:
    ws = empty_workspace(tmp_path)
    for actor, action in rows:
        ws.log(actor, action, "t", {"n": 1})
    return ws


def test_workspace_without_audit_rows_gives_an_empty_page(tmp_path: Path) -> None:
    page = audit_page(empty_workspace(tmp_path), limit=5)
    assert page == {"total": 0, "limit": 5, "offset": 0, "rows": []}


def test_page_is_newest_first_with_the_total(tmp_path: Path) -> None:
    ws = logged(tmp_path, [("a", f"x.{i}") for i in range(5)])
    page = audit_page(ws, limit=2, offset=1)
    assert page["total"] == 5
    assert [r["action"] for r in page["rows"]] == ["x.3", "x.2"]


def test_action_family_is_a_prefix_with_a_dot_not_a_pattern(tmp_path: Path) -> None:
    rows = [("a", "import"), ("a", "import.append"), ("a", "importer.run"), ("a", "i%port.x")]
    ws = logged(tmp_path, [*rows, ("a", "import_x")])
    got = {r["action"] for r in audit_page(ws, action="import")["rows"]}
    assert got == {"import", "import.append"}
    assert {r["action"] for r in audit_page(ws, action="i%port")["rows"]} == {"i%port.x"}
    assert audit_page(ws, action="import_")["total"] == 0


def test_actor_filter_is_text_contained_not_a_pattern(tmp_path: Path) -> None:
    ws = logged(tmp_path, [("office:李", "a"), ("police:王", "a"), ("100%:x", "a")])
    assert [r["actor"] for r in audit_page(ws, actor="police")["rows"]] == ["police:王"]
    assert [r["actor"] for r in audit_page(ws, actor="%")["rows"]] == ["100%:x"]
    assert audit_page(ws, actor="_")["total"] == 0


def test_limit_over_the_maximum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="`limit` was 1001 but is expected to be between 1"):
        audit_page(empty_workspace(tmp_path), limit=1001)
