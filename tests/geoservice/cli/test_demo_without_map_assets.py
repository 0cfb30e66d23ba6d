"""``geoservice demo`` without the npm map assets writes everything but the maps."""

import pytest
from typer.testing import CliRunner

import maps.assets
from geoservice.cli.app import app


@pytest.mark.slow
def test_demo_without_map_assets_warns_with_the_fix_and_writes_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(maps.assets, "ASSET_ROOT", tmp_path / "no-assets")
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: the maps were not written. The Leaflet script")
    assert "npm ci --prefix maps/assets" in result.stderr
    assert "Maps (work offline): not written (see the warning above)" in result.stdout
    assert {p.name for p in out.iterdir()} >= {"demo.gpkg", "targets.xlsx", "targets.gpkg"}
    assert [p.name for p in out.glob("*.html")] == ["department_report.html"]
