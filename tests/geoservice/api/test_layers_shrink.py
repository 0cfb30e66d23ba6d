"""POST /layers/{kind}/import in replace mode: a file that would shrink the layer by more
than half answers 409 unless allow_shrink is true."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest

from .conftest import SAMPLE


def _three_villages_zip(folder: Path) -> Path:
    """The sample town's village boundaries cut down to three villages, zipped."""
    shp = folder / "村界.shp"
    gpd.read_file(SAMPLE / "villages.shp").head(3).to_file(shp, encoding="utf-8")
    archive = folder / "村界.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.glob("村界.*"):
            if part != archive:
                zf.write(part, part.name)
    return archive


def _replace(town, path: Path, **form: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return town.client.post(
            "/layers/villages/import",
            headers=town.headers("office"),
            files={"file": (path.name, fh, "application/zip")},
            data={"mode": "replace", **form},
        )


def test_a_replace_shrinking_the_layer_is_409_and_changes_nothing(town, fresh_dir):
    res = _replace(town, _three_villages_zip(fresh_dir))
    assert res.status_code == 409, res.text
    error = res.json()["error"]
    assert error["code"] == "import.shrink"
    assert "from 16 rows to 3" in error["en"]
    assert "allow_shrink=true" in error["en"]
    assert len(town.ws.read("villages")) == 16


@pytest.mark.slow
def test_allow_shrink_replaces_the_layer_anyway(town, fresh_dir):
    res = _replace(town, _three_villages_zip(fresh_dir), allow_shrink="true")
    assert res.status_code == 201, res.text
    assert res.json()["layer_rows"] == 3
