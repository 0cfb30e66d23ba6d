"""Targets over the web: GeoJSON in lon/lat scoped to the caller, one target with its
evidence, and file exports that never reach outside the caller's scope."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

from geoservice.api.responses import content_disposition
from geoservice.base.access import authenticate
from geoservice.files.target_export import export_file_name

from .conftest import DEPARTMENT, VILLAGE


def involved(frame: pd.DataFrame, department: str) -> pd.Series:
    coop = frame["cooperating_departments"].fillna("").str.split(";")
    return (frame["lead_department"] == department) | coop.map(lambda xs: department in xs)


def own_ids(town, department: str = DEPARTMENT) -> set[str]:  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets")
    return set(targets.loc[involved(targets, department), "target_id"])


def foreign_id(town) -> str:  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets")
    return str(targets.loc[~involved(targets, DEPARTMENT), "target_id"].iloc[0])


def features(res) -> list[dict]:  # type: ignore[no-untyped-def]
    assert res.status_code == 200, res.text
    return res.json()["features"]


# --- GET /targets -----------------------------------------------------------------------


@pytest.mark.slow
def test_office_gets_every_target_as_geojson(town):
    res = town.get("/targets", "office")
    assert res.headers["content-type"].startswith("application/geo+json")
    assert res.json()["type"] == "FeatureCollection"
    assert len(features(res)) == len(town.ws.read("targets"))


@pytest.mark.slow
def test_target_coordinates_are_lon_lat(town):
    coords = []
    for f in features(town.get("/targets", "office")):
        for polygon in f["geometry"]["coordinates"]:
            coords.extend(polygon[0])
    xy = np.asarray(coords)
    assert (xy[:, 0] > 112).all() and (xy[:, 0] < 113).all()
    assert (xy[:, 1] > 24).all() and (xy[:, 1] < 25).all()


@pytest.mark.slow
def test_a_department_sees_only_targets_it_leads_or_cooperates_on(town):
    got = {f["id"] for f in features(town.get("/targets", "department"))}
    assert got == own_ids(town)
    assert foreign_id(town) not in got


@pytest.mark.slow
def test_a_department_without_targets_gets_an_empty_collection(town):
    assert features(town.get("/targets", "other_department")) == []


@pytest.mark.parametrize("who", ["village", "viewer"])
def test_villages_and_viewers_get_no_target_list(town, who):
    res = town.get("/targets", who)
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "access.role"


def test_the_target_list_needs_a_token(town):
    assert town.get("/targets", "anonymous").status_code == 401


def test_properties_carry_names_and_reasons_in_chinese(town):
    props = features(town.get("/targets", "department"))[0]["properties"]
    assert (
        props["lead_department_name"] == "镇郊派出所"
        or "镇郊派出所" in props["cooperating_department_names"]
    )
    assert props["reasons"].startswith("位置：")
    assert isinstance(props["parcel_ids"], list) and props["parcel_ids"]


def test_properties_follow_the_callers_language(town):
    props = features(town.get("/targets?lang=en", "office"))[0]["properties"]
    assert props["reasons"].startswith("Where:")
    assert props["priority_label"] in ("act now", "inspect", "watch")
    assert all(name.isascii() for name in props["cooperating_department_names"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("priority=P1", lambda p: p["priority"] == "P1"),
        ("priority=P1,P2", lambda p: p["priority"] in ("P1", "P2")),
        (f"village={VILLAGE}", lambda p: VILLAGE in p["village_codes"]),
        (
            "department=镇郊派出所",
            lambda p: "police" in [p["lead_department"], *p["cooperating_departments"]],
        ),
    ],
)
def test_filters_select_matching_targets(town, query, check):
    found = features(town.get(f"/targets?{query}", "office"))
    assert found and all(check(f["properties"]) for f in found)


def test_a_bad_priority_is_422_naming_it(town):
    res = town.get("/targets?priority=P9", "office")
    assert res.status_code == 422
    assert "P9" in res.json()["error"]["en"]


@pytest.mark.slow
def test_a_department_filter_cannot_widen_a_departments_scope(town):
    got = {f["id"] for f in features(town.get("/targets?department=agriculture", "department"))}
    assert got <= own_ids(town)
    assert foreign_id(town) not in got


@pytest.mark.slow
def test_the_target_list_request_is_audited(town):
    town.get("/targets?priority=P1", "department")
    row = town.ws.audit().iloc[-1]
    assert row["action"] == "targets.list"
    assert row["actor"].startswith("department:police")


# --- GET /targets/{id} ------------------------------------------------------------------


@pytest.mark.slow
def test_one_target_has_its_reasons_and_evidence(town):
    target_id = sorted(own_ids(town))[0]
    res = town.get(f"/targets/{target_id}", "department")
    assert res.status_code == 200
    feature = res.json()
    assert feature["type"] == "Feature" and feature["id"] == target_id
    props = feature["properties"]
    assert props["reasons"]
    evidence = props["evidence"]
    assert {p["parcel_id"] for p in evidence["parcels"]} <= set(props["parcel_ids"])
    assert evidence["parcels"]
    assert evidence["complaint_ids"] or evidence["patch_ids"] or evidence["problem_ids"]


@pytest.mark.slow
def test_the_office_sees_any_target(town):
    res = town.get(f"/targets/{foreign_id(town)}", "office")
    assert res.status_code == 200
    assert res.json()["id"] == foreign_id(town)


@pytest.mark.slow
def test_a_target_outside_the_scope_is_404_like_an_unknown_one(town):
    hidden = town.get(f"/targets/{foreign_id(town)}", "department")
    unknown = town.get("/targets/T-0000000000", "department")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert foreign_id(town) in hidden.json()["error"]["en"]


@pytest.mark.parametrize(("who", "status"), [("village", 403), ("viewer", 403), ("anonymous", 401)])
def test_one_target_is_refused_to_other_roles(town, who, status):
    target_id = sorted(own_ids(town))[0]
    assert town.get(f"/targets/{target_id}", who).status_code == status


# --- GET /targets/export ----------------------------------------------------------------


def sheet_rows(content: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    return rows


@pytest.mark.slow
def test_a_department_exports_only_its_targets_with_chinese_headers(town):
    res = town.get("/targets/export?format=xlsx", "department")
    assert res.status_code == 200
    rows = sheet_rows(res.content)
    head = rows[0]
    assert "目标编号" in head and "牵头部门" in head
    ids = {r[head.index("目标编号")] for r in rows[1:]}
    assert ids == own_ids(town)
    for r in rows[1:]:
        depts = f"{r[head.index('牵头部门')]};{r[head.index('配合部门')] or ''}"
        assert "镇郊派出所" in depts


@pytest.mark.slow
def test_an_export_has_a_chinese_file_name(town):
    res = town.get("/targets/export?format=xlsx", "department")
    disposition = res.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == "联合执法目标清单_镇郊派出所.xlsx"


def test_an_export_of_one_target_holds_that_target(town):
    target_id = sorted(own_ids(town))[0]
    res = town.get(f"/targets/export?format=csv&target={target_id}", "department")
    assert res.status_code == 200
    table = pd.read_csv(io.BytesIO(res.content), encoding="utf-8-sig")
    assert table["目标编号"].tolist() == [target_id]


def test_exporting_a_target_outside_the_scope_is_404(town):
    res = town.get(f"/targets/export?target={foreign_id(town)}", "department")
    assert res.status_code == 404
    assert foreign_id(town) in res.json()["error"]["en"]


def saved(res, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    assert res.status_code == 200, res.text
    path = tmp_path / "export.gpkg"
    path.write_bytes(res.content)
    return path


def test_an_office_gpkg_export_holds_every_target(town, tmp_path):
    path = saved(town.get("/targets/export?format=gpkg", "office"), tmp_path)
    assert pyogrio.read_info(path)["features"] == len(town.ws.read("targets"))


@pytest.mark.slow
def test_a_department_gpkg_export_stays_in_scope_whatever_the_filter(town, tmp_path):
    res = town.get("/targets/export?format=gpkg&department=agriculture", "department")
    frame = pyogrio.read_dataframe(saved(res, tmp_path))
    assert set(frame["target_id"]) <= own_ids(town)
    assert foreign_id(town) not in set(frame["target_id"])


@pytest.mark.slow
def test_a_kml_export_is_lon_lat_placemarks(town):
    res = town.get("/targets/export?format=kml&priority=P1", "office")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/vnd.google-earth.kml+xml")
    assert b"<Placemark" in res.content


def test_an_unsupported_export_format_is_422(town):
    res = town.get("/targets/export?format=shp", "office")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "targets.bad_export_format"


@pytest.mark.parametrize(("who", "status"), [("village", 403), ("viewer", 403), ("anonymous", 401)])
def test_exports_are_refused_to_other_roles(town, who, status):
    assert town.get("/targets/export", who).status_code == status


@pytest.mark.slow
def test_an_export_is_audited_once_with_user_and_address(town):
    town.get("/targets/export?format=xlsx", "department")
    rows = town.ws.audit()
    rows = rows.loc[rows["detail"].str.contains('"user_id"')]  # not the demo's own exports
    [detail] = rows.loc[rows["action"].str.contains("export"), "detail"].map(json.loads)
    assert detail["user_id"] == authenticate(town.ws, town.tokens["department"]).user_id
    assert detail["from"] == "testclient"


def test_export_file_names_fall_back_to_ascii():
    shown, fallback = export_file_name("xlsx", "zh", ("police", "镇郊派出所"), "T-1")
    assert shown == "联合执法目标_镇郊派出所_T-1.xlsx"
    assert fallback == "target_police_T-1.xlsx"
    header = content_disposition(shown, fallback)
    assert 'filename="target_police_T-1.xlsx"' in header
    assert header.isascii()


# --- exports a clerk can print ---------------------------------------------------------


def centres_by_id(table: pd.DataFrame, lon: str, lat: str, key: str) -> dict[str, shapely.Point]:
    return {
        str(i): shapely.Point(x, y)
        for i, x, y in zip(table[key], table[lon], table[lat], strict=True)
    }


def assert_inside_targets_and_town(town, points: dict[str, shapely.Point]) -> None:  # type: ignore[no-untyped-def]
    targets = town.ws.read("targets").to_crs(4326).set_index("target_id").geometry
    xmin, ymin, xmax, ymax = town.ws.read("villages").to_crs(4326).total_bounds
    assert points
    for target_id, point in points.items():
        assert xmin <= point.x <= xmax and ymin <= point.y <= ymax
        assert targets[target_id].contains(point), target_id


@pytest.mark.slow
def test_an_xlsx_export_prints_a4_landscape_one_page_wide_with_the_header_repeated(town):
    res = town.get("/targets/export?format=xlsx", "office")
    sheet = openpyxl.load_workbook(io.BytesIO(res.content)).active
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9
    assert sheet.print_title_rows == "$1:$1"
    assert int(sheet.page_setup.fitToWidth) == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    head = [c.value for c in sheet[1]]
    reasons = [row[head.index("理由")] for row in sheet.iter_rows(min_row=2)]
    assert reasons and all(c.alignment.wrap_text and c.alignment.vertical == "top" for c in reasons)


@pytest.mark.slow
def test_an_xlsx_export_has_centres_inside_the_targets_and_a_deadline(town):
    rows = sheet_rows(town.get("/targets/export?format=xlsx", "office").content)
    table = pd.DataFrame(rows[1:], columns=rows[0])
    assert_inside_targets_and_town(town, centres_by_id(table, "中心经度", "中心纬度", "目标编号"))
    deadlines = table["期限"]
    # every target has the deadline the analysis set, with open problems or without
    assert len(deadlines) and pd.to_datetime(deadlines, format="%Y-%m-%d").notna().all()


@pytest.mark.slow
def test_an_english_csv_export_has_centre_and_deadline_columns(town):
    res = town.get("/targets/export?format=csv&lang=en", "office")
    table = pd.read_csv(io.BytesIO(res.content), encoding="utf-8-sig")
    assert {"deadline", "centre longitude", "centre latitude"} <= set(table.columns)
    points = centres_by_id(table, "centre longitude", "centre latitude", "target id")
    assert_inside_targets_and_town(town, points)


@pytest.mark.slow
def test_a_geojson_export_carries_chinese_labels_beside_the_codes(town):
    res = town.get("/targets/export?format=geojson", "office")
    assert res.headers["content-type"].startswith("application/geo+json")
    features = res.json()["features"]
    assert len(features) == len(town.ws.read("targets"))
    for feature in features:
        props = feature["properties"]
        assert props["priority_label"] in {"立即行动", "组织核查", "持续关注"}
        assert props["lead_department"] and props["lead_department_name"].startswith("镇")
        assert len(props["village_codes"].split(";")) == len(props["village_names"].split(";"))
    points = {
        f["properties"]["target_id"]: shapely.Point(f["properties"]["lon"], f["properties"]["lat"])
        for f in features
    }
    assert_inside_targets_and_town(town, points)
