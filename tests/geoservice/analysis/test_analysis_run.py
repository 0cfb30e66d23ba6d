"""geoservice analyze end to end: layers written, runs recorded, reproducible, CLI output."""

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geoservice.analysis import lanes, pause
from geoservice.analysis.rules import load_rules
from geoservice.analysis.run import analyze, read_inputs
from geoservice.analysis.scoring import score_parcels
from geoservice.analysis.targets import build_targets_and_reasons
from geoservice.base.errors import NotFoundError
from geoservice.base.workspace import Workspace
from geoservice.cli.app import DEMO_FILES
from geoservice.files.importing import import_file
from tests.support.builders import run_cli, write_shp, xiaoban
from tests.support.files import copy_workspace

SAMPLE = Path(__file__).resolve().parents[3] / "sample_gis"
AS_OF = date(2026, 11, 28)
TARGET_COLUMNS = [
    "target_id",
    "priority",
    "deadline",
    "score",
    "village_codes",
    "village_names",
    "parcel_ids",
    "parcel_count",
    "area_ha",
    "categories",
    "lead_department",
    "cooperating_departments",
    "criminal_threshold_met",
    "estimated_volume_m3",
    "complaint_count",
    "patch_area_ha",
    "open_problem_count",
    "legal_basis",
    "reasons",
    "geometry",
]


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("town") / "town.gpkg")
    for f in DEMO_FILES:
        import_file(ws, SAMPLE / f.name, f.kind, actor="planner", **f.options())
    return ws


@pytest.fixture(scope="module")
def result(town):
    return analyze(town, as_of=AS_OF, rules=load_rules(None), actor="planner")


@pytest.mark.slow
def test_analysis_writes_both_layers_in_the_workspace_crs(town, result):
    targets = pyogrio.read_dataframe(town.path, layer="targets")
    risk = pyogrio.read_dataframe(town.path, layer="parcel_risk")
    assert list(targets.columns) == TARGET_COLUMNS
    assert len(targets) == len(result.targets) > 0
    assert len(risk) == len(result.parcel_risk) >= len(targets)
    assert targets.crs.to_epsg() == 4546


def test_the_run_is_recorded_with_as_of_rules_and_input_hashes(town, result):
    run = town.runs().iloc[-1]
    assert run["as_of"] == "2026-11-28"
    assert run["rules_hash"] == result.rules_hash
    inputs = json.loads(run["inputs"])
    assert inputs["parcels"]["rows"] == 4636 + 146
    assert len(inputs["parcels"]["sha256"]) == 64
    counts = json.loads(run["counts"])
    assert counts["targets"] == len(result.targets)
    assert counts["complaints_without_location"] == 6
    assert town.audit()["action"].iloc[-2:].tolist() == ["analyze", "targets.identity"]


@pytest.mark.slow
def test_a_rerun_at_the_same_date_gives_the_same_targets(town, result):
    again = analyze(town, as_of=AS_OF, rules=load_rules(None), actor="planner")
    assert again.targets["target_id"].tolist() == result.targets["target_id"].tolist()
    assert again.targets["score"].tolist() == pytest.approx(result.targets["score"].tolist())


@pytest.mark.slow
def test_the_columns_read_for_the_analysis_give_the_scores_of_whole_layers(town):
    # read_inputs reads only ANALYSIS_COLUMNS of parcels and complaints: a column the
    # scoring needs but the list lacks would change this result
    rules = load_rules(None)
    frames = read_inputs(town)
    whole = {kind: town.read(kind) for kind in ("parcels", "complaints", "patches", "problems")}
    assert len(frames["parcels"].columns) < len(whole["parcels"].columns)
    ours = score_parcels(*(frames[k] for k in whole), rules, AS_OF).parcel_risk
    full = score_parcels(*(whole[k] for k in whole), rules, AS_OF).parcel_risk
    pd.testing.assert_frame_equal(ours, full)


def test_analysis_by_default_starts_no_thread_and_leaves_the_process_settings(town, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("called outside a batch entry point")

    monkeypatch.setattr(lanes, "ThreadPoolExecutor", refuse)
    monkeypatch.setattr(pause._RUNTIME, "enter", refuse)
    result = analyze(town, as_of=AS_OF, rules=load_rules(None), actor="planner")
    assert len(result.targets) > 0


def test_a_parallel_run_gives_the_same_layers_as_an_inline_one(town):
    rules = load_rules(None)
    runs = []
    for parallel in (False, True):
        frames = read_inputs(town, parallel=parallel)
        kinds = ("parcels", "complaints", "patches", "problems")
        scored = score_parcels(*(frames[k] for k in kinds), rules, AS_OF, parallel=parallel)
        built = build_targets_and_reasons(
            scored.parcel_risk, scored.items, rules, parallel=parallel
        )
        runs.append((scored.parcel_risk, scored.items, *built))
    for inline, threaded in zip(*runs, strict=True):
        pd.testing.assert_frame_equal(inline, threaded)


@pytest.mark.slow
def test_analysis_needs_parcels(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    csv = tmp_path / "c.csv"
    csv.write_text(
        "举报编号,受理时间,举报内容,经度,纬度\nA1,2025-01-02,砍树,112.4,24.8\n", encoding="utf-8"
    )
    import_file(ws, csv, "complaints", actor="a")
    with pytest.raises(NotFoundError, match="has no parcels layer yet"):
        analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="a")


@pytest.mark.slow
def test_parcels_alone_give_no_targets(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, write_shp(xiaoban(), tmp_path / "xb.shp"), "parcels", actor="a")
    result = analyze(ws, as_of=AS_OF, rules=load_rules(None), actor="a")
    assert len(result.targets) == 0
    assert list(pyogrio.read_dataframe(ws.path, layer="targets").columns) == TARGET_COLUMNS


def _cli(*args):
    return run_cli(*args, user="planner")


@pytest.mark.slow
def test_analyze_command_prints_a_summary_and_json(town):
    res = _cli("analyze", "-w", town.path, "--as-of", "2026-11-28")
    assert res.returncode == 0, res.stderr
    assert "联合执法目标" in res.stdout
    data = json.loads(_cli("analyze", "-w", town.path, "--as-of", "2026-11-28", "--json").stdout)
    assert data["counts"]["targets"] > 0
    assert {"P1", "P2"} & set(data["counts"]["targets_by_priority"])


@pytest.mark.slow
def test_analyze_rejects_a_bad_date_in_one_line(town):
    res = _cli("analyze", "-w", town.path, "--as-of", "28/11/2026", "--lang", "en")
    assert res.returncode == 2
    assert "expected to be a date YYYY-MM-DD" in res.stderr


@pytest.mark.slow
def test_rules_show_prints_the_routing_table_in_both_languages():
    zh = _cli("rules", "show")
    en = _cli("rules", "show", "--lang", "en")
    assert zh.returncode == en.returncode == 0
    assert "部门分工（按问题类别）" in zh.stdout
    assert "非法采矿采砂采石" in zh.stdout and "镇郊派出所" in zh.stdout
    assert "Routing by category" in en.stdout
    assert "police station" in en.stdout
    assert "{'" not in zh.stdout and "['" not in zh.stdout


@pytest.mark.slow
def test_targets_export_for_a_department_is_a_table_a_clerk_reads(town, tmp_path):
    out = tmp_path / "t.xlsx"
    res = _cli("export", "targets", "-w", town.path, "--out", out, "--department", "police")
    assert res.returncode == 0, res.stderr
    table = pd.read_excel(out)
    assert {"目标编号", "优先级", "牵头部门", "配合部门", "理由"} <= set(table.columns)
    assert table.apply(
        lambda r: "镇郊派出所" in str(r["牵头部门"]) or "镇郊派出所" in str(r["配合部门"]), axis=1
    ).all()


@pytest.mark.parametrize(
    ("fmt", "read"),
    [
        ("xlsx", lambda p: pd.read_excel(p)),
        ("csv", lambda p: pd.read_csv(p, encoding="utf-8-sig")),
        ("shp", lambda p: pyogrio.read_dataframe(p)),
        ("kml", lambda p: pyogrio.read_dataframe(p)),
        ("geojson", lambda p: pyogrio.read_dataframe(p)),
        ("gpkg", lambda p: pyogrio.read_dataframe(p)),
    ],
)
def test_target_exports_round_trip_with_chinese_text_intact(town, result, tmp_path, fmt, read):
    from geoservice.files.exporting import export_layer

    out = tmp_path / f"targets.{fmt}"
    export_layer(town, "targets", out, actor="planner")
    back = read(out)
    assert len(back) == len(result.targets)
    text = " ".join(map(str, back.drop(columns="geometry", errors="ignore").to_numpy().ravel()))
    assert "黄岗村" in text
    assert "镇郊派出所" in text or "police" in text


def test_targets_export_in_english_has_english_reasons(town, result, tmp_path):
    from geoservice.files.exporting import export_layer

    out = tmp_path / "t.csv"
    export_layer(town, "targets", out, actor="planner", lang="en")
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert "reasons" in table.columns
    assert table["reasons"].str.contains("Article 10").any()
    assert not table["reasons"].str.contains("第十条").any()


def test_flat_target_table_keeps_the_layer_order_and_semicolon_lists(town, result, tmp_path):
    from geoservice.analysis.present import HEADERS
    from geoservice.files.exporting import export_layer
    from geoservice.files.target_columns import CLERK_HEADERS

    out = tmp_path / "t.csv"
    export_layer(town, "targets", out, actor="planner")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    heads = {**HEADERS, "deadline": CLERK_HEADERS["deadline"]}
    layer = [c for c in table.columns if c not in ("状态", "中心经度", "中心纬度")]
    assert layer == [heads[c][0] for c in TARGET_COLUMNS if c != "geometry"]
    multi = table[table["小班/图斑数"].astype(int) > 1]
    assert len(multi) and multi["小班/图斑号"].str.contains(";").all()
    assert not table["配合部门"].str.contains("、").any()
    assert table["配合部门"].str.contains(";").any()


def test_department_filter_accepts_the_name_a_clerk_knows(town, result, tmp_path):
    from geoservice.files.exporting import export_layer

    by_code = export_layer(town, "targets", tmp_path / "a.csv", actor="p", department="police")
    by_name = export_layer(town, "targets", tmp_path / "b.csv", actor="p", department="镇郊派出所")
    assert by_code.rows == by_name.rows > 0


def test_unknown_village_filter_suggests_close_names(town, tmp_path):
    from geoservice.base.errors import OptionError
    from geoservice.files.exporting import export_layer

    with pytest.raises(OptionError, match="did you mean: 黄岗村"):
        export_layer(town, "targets", tmp_path / "a.csv", actor="p", village="黄岗", lang="en")


def test_village_filter_accepts_a_village_name(town, result, tmp_path):
    from geoservice.files.exporting import export_layer

    got = export_layer(town, "targets", tmp_path / "a.csv", actor="p", village="黄岗村")
    assert got.rows == int(result.targets["village_names"].str.contains("黄岗村").sum()) > 0


def test_kml_placemarks_are_named_by_target_id(town, result, tmp_path):
    from geoservice.files.exporting import export_layer

    export_layer(town, "targets", tmp_path / "t.kml", actor="p")
    text = (tmp_path / "t.kml").read_text(encoding="utf-8")
    first = result.targets["target_id"].iloc[0]
    assert f"<name>{first}</name>" in text
    assert "<description>" in text


def test_renamed_department_in_the_rules_reaches_the_table(town, result, tmp_path):
    from geoservice.files.exporting import export_layer

    override = tmp_path / "r.yaml"
    override.write_text("departments:\n  police:\n    zh: 连州镇派出所\n", encoding="utf-8")
    rules = load_rules(override)
    export_layer(town, "targets", tmp_path / "t.csv", actor="p", rules=rules)
    table = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", dtype=str)
    assert table["牵头部门"].str.contains("连州镇派出所").any()
    assert not table["牵头部门"].str.contains("镇郊派出所").any()


def test_rules_keywords_equal_the_importers_default_table():
    from layers.codes import CATEGORY_KEYWORDS

    rules = load_rules(None)
    assert [(c, list(w)) for c, w in CATEGORY_KEYWORDS] == [
        (c, list(w)) for c, w in rules.classification.keywords.items()
    ]


def test_text_classification_agrees_with_the_labelled_sample_complaints():
    from geoservice.analysis.rules import classify_text
    from layers.codes import CATEGORIES

    table = pd.read_csv(SAMPLE / "complaints.csv", encoding="gbk", dtype=str)
    labelled = table[table["类别"].notna()]
    truth = labelled["类别"].map({zh: code for code, (zh, _en) in CATEGORIES.items()})
    predicted = classify_text(labelled["举报内容"], load_rules(None))
    assert len(labelled) > 150
    assert (predicted.to_numpy() == truth.to_numpy()).mean() >= 0.98


def test_a_re_analysis_keeps_the_deadline_of_every_kept_target(town, result, tmp_path):

    first = pyogrio.read_dataframe(town.path, layer="targets", read_geometry=False)
    assert (first["deadline"] > AS_OF.isoformat()).all()
    copy = Workspace(tmp_path / "again.gpkg")
    copy_workspace(town.path, copy.path)
    later = date(2026, 12, 20)
    again = analyze(copy, as_of=later, rules=load_rules(None), actor="planner").targets
    both = first.merge(pd.DataFrame(again), on="target_id", suffixes=("_first", "_again"))
    assert len(both)
    rank = {"P1": 1, "P2": 2, "P3": 3}
    same = both["priority_again"].map(rank) >= both["priority_first"].map(rank)
    assert (both.loc[same, "deadline_again"] == both.loc[same, "deadline_first"]).all()
    assert both.loc[same, "reasons_again"].str.contains("沿用此前研判所定期限").all()
