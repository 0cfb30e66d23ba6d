"""Everything downstream of the import works on rows with missing values.

The sample town is imported and then damaged the way real survey files are: a share of the
rows of every stored layer lose their village (code and name), their category, their dates
(received_at, found_on, deadline) or their text, or name a village code that is not in the
villages layer; one village polygon has no name, another neither code nor name. The
damaged layers are written back with the workspace's own writer, so every product reads
what an import could have stored. Each test runs one product and checks that it finishes,
that the damaged rows are still in its output and that they are named in plain words
(未知村 / unknown village, not ``nan`` or ``<NA>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_write import write_frame
from geoservice.cli.app import app
from tests.support.builders import run_demo
from tests.support.files import copy_workspace

pytestmark = pytest.mark.slow

AS_OF = "2026-11-28"
UNKNOWN_CODE = "441882109999"  # a village code the villages layer does not have
NAMELESS_VILLAGE = "441882101216"  # a village polygon with a code and no name
WORDS = {"zh": "未知村", "en": "unknown village"}
CODE_ONLY = {
    "zh": f"未知村（代码 {NAMELESS_VILLAGE}）",
    "en": f"unknown village (code {NAMELESS_VILLAGE})",
}
GARBAGE = re.compile(r"\bnan\b|<NA>|&lt;NA&gt;|\bNaT\b|\bNone\b")
LAYERS = ("villages", "parcels", "complaints", "patches", "problems", "parcel_risk", "targets")
FORMATS = ("xlsx", "csv", "gpkg", "geojson", "kml", "shp")


def _every(n: int, k: int, start: int = 0) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[start::k] = True
    return mask


def _damage(ws: Workspace) -> dict[str, int]:
    """Blank villages, categories, dates and texts on a share of the rows of each stored
    layer; returns how many rows of each layer have no village at all."""
    v = ws.read("villages")
    v.loc[v["village_code"] == NAMELESS_VILLAGE, "village_name"] = None
    v.loc[v["village_code"] == "441882101214", ["village_code", "village_name"]] = None

    p = ws.read("parcels")
    # whole target areas of the sample town lose their village (黄岗村) or name an
    # unknown code (白石村); and one parcel in seven everywhere
    ids = p["parcel_id"].astype(str)
    none = _every(len(p), 7) | ids.str.startswith("0139-").to_numpy()
    unknown = (_every(len(p), 11, 3) | ids.str.startswith("0142-").to_numpy()) & ~none
    p.loc[none, ["village_code", "village_name"]] = None
    p.loc[unknown, ["village_code", "village_name"]] = [UNKNOWN_CODE, None]
    p.loc[_every(len(p), 5, 1), ["forest_category", "dominant_species", "origin"]] = None

    c = ws.read("complaints")
    c.loc[_every(len(c), 3), "village_name"] = None
    c.loc[_every(len(c), 4, 1), "category"] = None
    c.loc[_every(len(c), 5, 2), "received_at"] = pd.NaT
    c.loc[_every(len(c), 6, 1), "description"] = None

    x = ws.read("patches")
    x.loc[_every(len(x), 3), "category"] = None
    x.loc[_every(len(x), 4, 1), ["change_cause", "permit_no"]] = None

    q = ws.read("problems")
    q.loc[_every(len(q), 4), ["village_code", "village_name"]] = None
    q.loc[_every(len(q), 4, 1), ["village_code", "village_name"]] = [UNKNOWN_CODE, None]
    q.loc[_every(len(q), 3, 2), "category"] = None
    q.loc[_every(len(q), 5, 1), "found_on"] = pd.NaT
    q.loc[_every(len(q), 5, 2), "deadline"] = pd.NaT
    q.loc[_every(len(q), 6, 3), ["description", "campaign", "cc_departments"]] = None

    frames = {"villages": v, "parcels": p, "complaints": c, "patches": x, "problems": q}
    with ws.transaction() as work:
        for name, frame in frames.items():
            write_frame(frame, work, name)
    return {
        "villages": int(v["village_code"].isna().sum()),
        "parcels": int(none.sum()),
        "complaints": int(c["village_name"].isna().sum()),
        "problems": int(q["village_code"].isna().sum()),
    }


@dataclass
class Damaged:
    ws: Workspace
    folder: Path
    no_village: dict[str, int]

    def cli(self, *args: str) -> str:
        """Run a command in process; its output (fails the test on a non-zero exit)."""
        res = CliRunner().invoke(
            app, [str(a) for a in args], env={"GEOSERVICE_USER": "planner"}, catch_exceptions=False
        )
        assert res.exit_code == 0, res.output
        return res.output


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    """The sample town (``geoservice demo``), damaged, then analysed again."""
    folder = tmp_path_factory.mktemp("missing")
    ws = Workspace(run_demo(folder))
    town = Damaged(ws, folder, _damage(ws))
    town.cli("analyze", "-w", ws.path, "--as-of", AS_OF)
    return town


def _shown(page: str, text: str) -> bool:
    """``text`` in a page as such, or JSON-escaped inside embedded map data."""
    return text in page or json.dumps(text)[1:-1] in page


# --- analysis --------------------------------------------------------------------------


def test_analysis_keeps_targets_of_parcels_without_village_and_says_so(damaged):
    targets = damaged.ws.read("targets", read_geometry=False)
    reasons = damaged.ws.read("target_reasons", read_geometry=False)
    assert targets["village_codes"].isna().any()  # stored missing, not a placeholder
    assert not targets["village_names"].fillna("").str.contains("未知村").any()
    for lang, word in WORDS.items():
        assert reasons[f"reasons_{lang}"].str.contains(word).sum() >= 2
        assert not reasons[f"reasons_{lang}"].str.contains(GARBAGE).any()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_analyze_command_in_each_language(damaged, lang, tmp_path):
    path = tmp_path / "again.gpkg"
    copy_workspace(damaged.ws.path, path)
    out = damaged.cli("analyze", "-w", path, "--as-of", AS_OF, "--lang", lang)
    assert "P1" in out
    assert Workspace(path).read("targets", read_geometry=False)["village_codes"].isna().any()


# --- maps ------------------------------------------------------------------------------

MAPS = {
    "targets": ("map", "targets"),
    "villages": ("map", "villages", "--as-of", AS_OF),
    "department": ("map", "department", "police"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", list(MAPS))
def test_map_names_unknown_villages(damaged, tmp_path, kind, lang, map_assets):
    out = tmp_path / f"{kind}.html"
    damaged.cli(*MAPS[kind], "-w", damaged.ws.path, "--out", out, "--lang", lang)
    page = out.read_text(encoding="utf-8")
    assert _shown(page, WORDS[lang])
    assert _shown(page, CODE_ONLY[lang])


# --- report ----------------------------------------------------------------------------


def _report(damaged: Damaged, out: Path, lang: str) -> Path:
    """``geoservice report departments`` of the damaged town for this year so far."""
    damaged.cli(
        *("report", "departments", "-w", damaged.ws.path, "--from", "2026-01-01", "--to", AS_OF),
        *("--out", out, "--lang", lang),
    )
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_department_report_html(damaged, tmp_path, lang):
    out = _report(damaged, tmp_path / "report.html", lang)
    page = out.read_text(encoding="utf-8")
    assert WORDS[lang] in page and UNKNOWN_CODE in page
    assert not GARBAGE.search(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_department_report_xlsx(damaged, tmp_path, lang):
    out = _report(damaged, tmp_path / "report.xlsx", lang)
    book = openpyxl.load_workbook(out)
    cells = [
        str(c)
        for s in book.worksheets
        for row in s.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    assert any(c.startswith(WORDS[lang]) for c in cells)
    assert not any(GARBAGE.search(c) for c in cells)


# --- village status --------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_village_status_table_lists_problems_outside_the_villages_layer(damaged, lang):
    out = damaged.cli("villages", "status", "-w", damaged.ws.path, "--as-of", AS_OF, "--lang", lang)
    assert WORDS[lang] in out and UNKNOWN_CODE in out
    assert "<NA>" not in out and "nan" not in out


def test_village_status_json_counts_every_problem(damaged):
    out = json.loads(
        damaged.cli("villages", "status", "-w", damaged.ws.path, "--as-of", AS_OF, "--json")
    )
    rows = out["villages"]
    assert sum(r["problems"] for r in rows) == damaged.ws.count("problems")
    assert any(r["village_code"] is None and r["problems"] > 0 for r in rows)
    assert any(r["village_code"] == UNKNOWN_CODE for r in rows)


# --- exports ---------------------------------------------------------------------------


def _rows_of(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    if fmt == "xlsx":
        return pd.read_excel(path, dtype=str)
    return pyogrio.read_dataframe(path, read_geometry=False)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", LAYERS)
def test_export_keeps_every_row(damaged, tmp_path, layer, fmt):
    out = tmp_path / f"{layer}.{fmt}"
    damaged.cli("export", layer, "-w", damaged.ws.path, "--out", out)
    rows = _rows_of(out, fmt)
    assert len(rows) == damaged.ws.count(layer)
    if layer in damaged.no_village and fmt in ("csv", "gpkg", "geojson"):
        column = "village_code" if layer != "complaints" else "village_name"
        assert rows[column].isna().sum() == damaged.no_village[layer]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_target_list_for_clerks_names_unknown_villages(damaged, tmp_path, fmt, lang):
    out = tmp_path / f"targets.{fmt}"
    damaged.cli("export", "targets", "-w", damaged.ws.path, "--out", out, "--lang", lang)
    villages = _rows_of(out, fmt)["所在村" if lang == "zh" else "villages"]
    assert villages.notna().all()
    assert villages.str.startswith(WORDS[lang]).sum() >= 2


# --- web service -----------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient
    headers: dict[str, dict[str, str]]

    def get(self, url: str, who: str = "office") -> httpx.Response:
        res = self.client.get(url, headers=self.headers[who])
        assert res.status_code == 200, (url, res.status_code, res.text[:300])
        return res


@pytest.fixture(scope="module")
def service(damaged, tmp_path_factory):
    folder = tmp_path_factory.mktemp("service")
    path = folder / "town.gpkg"
    copy_workspace(damaged.ws.path, path)
    ws = Workspace(path)
    roles = {
        "office": {"role": "office"},
        "police": {"role": "department", "department": "police"},
        "viewer": {"role": "viewer"},
    }
    tokens = {who: add_user(ws, name=who, by="test", **kw)[1] for who, kw in roles.items()}
    settings = Settings(workspace=path, user="service", evidence_dir=folder / "evidence")
    return Service(
        TestClient(create_app(settings)),
        {who: {"Authorization": f"Bearer {t}"} for who, t in tokens.items()},
    )


def _no_village_problem(damaged) -> str:
    q = damaged.ws.read("problems", read_geometry=False)
    return str(q.loc[q["village_code"].isna(), "problem_id"].iloc[0])


def _no_village_target(damaged) -> str:
    t = damaged.ws.read("targets", read_geometry=False)
    return str(t.loc[t["village_codes"].isna(), "target_id"].iloc[0])


@pytest.mark.parametrize("collection", [*LAYERS])
def test_ogc_items_hold_every_row(damaged, service, collection):
    doc = service.get(f"/ogc/collections/{collection}/items?limit=10000").json()
    assert doc["numberMatched"] == damaged.ws.count(collection)
    assert len(doc["features"]) == damaged.ws.count(collection)


@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/problems", "office"),
        ("/problems", "police"),
        ("/targets", "office"),
        (f"/villages/status?as_of={AS_OF}", "office"),
        (f"/villages/status?as_of={AS_OF}", "viewer"),
    ],
)
def test_json_list_keeps_rows_without_village(damaged, service, url, who):
    doc = service.get(url, who).json()
    rows = doc["features"] if isinstance(doc, dict) else doc
    props = [r.get("properties", r) for r in rows]
    key = "village_codes" if url == "/targets" else "village_code"
    assert any(not p[key] for p in props)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", ["home", "tasks", "viewer", "problem", "target"])
def test_phone_page_names_unknown_villages(damaged, service, page, lang):
    url, who = {
        "home": ("/", "office"),
        "tasks": ("/app", "office"),
        "viewer": ("/app", "viewer"),
        "problem": (f"/app/problems/{_no_village_problem(damaged)}", "office"),
        "target": (f"/app/targets/{_no_village_target(damaged)}", "office"),
    }[page]
    html = service.get(f"{url}?lang={lang}", who).text
    body = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert WORDS[lang] in body
    assert not GARBAGE.search(body)


def test_damaged_rows_are_really_missing_in_the_workspace(damaged):
    """The fixture is what it says: the stored layers hold the missing values."""
    assert damaged.no_village["parcels"] > 600 and damaged.no_village["problems"] >= 10
    q = damaged.ws.read("problems", read_geometry=False)
    assert q["deadline"].isna().any() and q["found_on"].isna().any() and q["category"].isna().any()
    c = damaged.ws.read("complaints", read_geometry=False)
    assert c["received_at"].isna().any() and c["description"].isna().any()
