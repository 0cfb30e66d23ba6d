"""Change-patch progress per village through the service and the command line:
``/villages/status``, the village map's status object and popups, ``villages status``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from geoservice.workflow.patch_progress import PATCH_FIGURE_WORDS, PATCH_STATUS_COLUMNS
from geoservice.workflow.patch_store import read_patch_states, update_patch

from .conftest import AS_OF, VILLAGE

STATUS = f"/villages/status?as_of={AS_OF}&limit=1000"
MAP_STATUS = f"/maps/status.json?kind=villages&as_of={AS_OF}"


def _own_open_patch(town) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A patch of VILLAGE that is not closed, and its version."""
    states = read_patch_states(town.ws)
    mine = states[(states["village_code"] == VILLAGE) & (states["state"] != "closed")]
    row = mine.iloc[0]
    return str(row["patch_id"]), int(row["version"])


def test_the_office_sees_every_patch_counted_once_by_village(town):
    rows = town.get(STATUS, "office").json()
    assert sum(r["patches"] for r in rows) == len(read_patch_states(town.ws)) > 0
    for r in rows:
        by_state = sum(r[c] for c in PATCH_STATUS_COLUMNS[1:8])
        assert by_state == r["patches"]
        assert r["patches_illegal"] <= r["patches_field_verified"] <= r["patches"]


def test_a_village_sees_its_own_patch_figures(town):
    [row] = town.get(STATUS, "village").json()
    states = read_patch_states(town.ws)
    assert row["patches"] == int((states["village_code"] == VILLAGE).sum()) > 0


def test_a_viewer_gets_no_patch_figures(town):
    rows = town.get(STATUS, "viewer").json()
    assert rows and all(r[c] is None for r in rows for c in PATCH_STATUS_COLUMNS)
    assert all(r["problems"] is not None for r in rows)


def test_the_api_describes_each_figure_with_its_word(town):
    schema = town.client.get("/openapi.json").json()["components"]["schemas"]["VillageStatus"]
    for column, (zh, en) in PATCH_FIGURE_WORDS.items():
        assert zh in schema["properties"][column]["description"]
        assert en in schema["properties"][column]["description"]


def test_a_patch_moved_on_changes_the_status_and_its_etag(town):
    first = town.get(STATUS, "office")
    patch_id, version = _own_open_patch(town)
    before = next(r for r in first.json() if r["village_code"] == VILLAGE)
    state = str(read_patch_states(town.ws).set_index("patch_id").loc[patch_id, "state"])
    to = {"interpreted": "dispatched", "verified": "investigating"}[state]
    update_patch(town.ws, patch_id, version, actor="office:t", state=to)
    again = town.get(STATUS, "office", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    after = next(r for r in again.json() if r["village_code"] == VILLAGE)
    assert after[f"patches_{to}"] == before[f"patches_{to}"] + 1
    assert after[f"patches_{state}"] == before[f"patches_{state}"] - 1


def test_the_village_map_status_carries_the_patch_figures_in_words(town):
    body = town.get(MAP_STATUS, "office").json()
    village = body["villages"][VILLAGE]
    assert village["patches"] > 0
    assert "已销号" in village["patches_by_state"] or "已核实" in village["patches_by_state"]
    english = town.get(MAP_STATUS + "&lang=en", "office").json()["villages"][VILLAGE]
    assert "closed" in english["patches_by_state"] or "verified" in english["patches_by_state"]


def test_the_village_map_status_of_a_viewer_has_no_patch_figures(town):
    body = town.get(MAP_STATUS, "viewer").json()
    assert body["villages"]
    assert all("patches" not in v for v in body["villages"].values())


@pytest.mark.parametrize(
    ("lang", "word"), [("zh", "核实违法图斑"), ("en", "patches verified illegal")]
)
def test_the_village_map_popup_names_the_patch_figures(town, lang, word):
    page = town.get(f"/maps/villages?as_of={AS_OF}&lang={lang}", "office").text
    assert json.dumps(word)[1:-1] in page  # in the page's layer settings (JSON)


@pytest.mark.slow
def test_the_villages_status_command_prints_and_explains_the_patch_figures(town):
    cmd = [sys.executable, "-m", "geoservice", "villages", "status", "-w", str(town.path)]
    shown = subprocess.run([*cmd, "--as-of", AS_OF], capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "各村变化图斑办理进度" in shown.stdout and "核实违法图斑" in shown.stdout
    data = subprocess.run(
        [*cmd, "--as-of", AS_OF, "--json"], capture_output=True, text=True, check=False
    )
    rows = json.loads(data.stdout)["villages"]
    assert sum(r["patches"] for r in rows) == len(read_patch_states(town.ws))
    helped = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=False)
    assert "patches_overdue" in helped.stdout and "环节逾期图斑" in helped.stdout
