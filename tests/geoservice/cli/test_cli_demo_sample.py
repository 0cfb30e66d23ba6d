"""``geoservice demo`` without ``--data`` reads the sample town shipped in the repository."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geoservice.cli.common import DEMO_FILES

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"


def test_demo_without_data_reads_the_shipped_sample_and_writes_none_in_the_working_folder(
    tmp_path: Path,
) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "geoservice", "demo", "--out", str(tmp_path / "out"), "--json"],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "GEOSERVICE_USER": "planner"},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    sources = [Path(i["source"]) for i in json.loads(res.stdout)["imports"]]
    assert sources == [SAMPLE / f.name for f in DEMO_FILES]
    assert list(work.iterdir()) == []
