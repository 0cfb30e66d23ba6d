"""The sharing register and imports over the web: who sees which rows, who may import what,
uploads run through the same import as the CLI (zip checks, classified names, reports)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from geoservice.base.errors import OptionError
from geoservice.workflow.uploads import save_upload, upload_name

from .conftest import copy_sample

ALL = {"public", "internal", "restricted"}


def zipped(folder: Path, name: str, members: dict[str, Path | bytes]) -> Path:
    """A zip at ``folder/name`` holding ``members`` (file path or raw bytes each)."""
    path = folder / name
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, content in members.items():
            if isinstance(content, Path):
                zf.write(content, arcname)
            else:
                zf.writestr(arcname, content)
    return path


def villages_zip(folder: Path, name: str = "villages.zip") -> Path:
    shp = copy_sample("villages.shp", folder)
    parts = {p.name: p for p in folder.glob(shp.stem + ".*")}
    return zipped(folder, name, parts)  # type: ignore[arg-type]


def upload(town, kind: str, path: Path, who: str, **form: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as fh:
        return town.client.post(
            f"/layers/{kind}/import",
            headers=town.headers(who),
            files={"file": (path.name, fh, "application/octet-stream")},
            data=form,
        )


def complaint_csv(folder: Path, complaint_id: str = "JB209900001") -> Path:
    path = folder / "派出所受理举报.csv"
    path.write_text(
        "举报编号,受理时间,来源,类别,举报内容,经度,纬度,核实结果\n"
        f"{complaint_id},2026-11-20 09:00,110报警,盗伐滥伐林木,有人在山上砍树。,"
        "112.43,24.84,待核实\n",
        encoding="utf-8",
    )
    return path


# --- GET /layers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "classes"),
    [
        ("office", ALL),
        ("department", {"public", "internal"}),
        ("village", {"public"}),
        ("viewer", {"public"}),
    ],
)
def test_register_shows_each_role_only_the_classifications_it_may_read(town, who, classes):
    res = town.get("/layers", who)
    assert res.status_code == 200
    assert {row["classification"] for row in res.json()["layers"]} == classes


def test_register_needs_a_token(town):
    res = town.get("/layers", "anonymous")
    assert res.status_code == 401
    assert res.json()["error"]["code"] == "access.no_token"


def test_register_gives_chinese_titles_owner_names_rows_and_update_time(town):
    rows = town.get("/layers", "office").json()["layers"]
    parcels = next(r for r in rows if r["layer"] == "parcels")
    assert parcels["title"] == "森林湿地小班"
    assert parcels["owner_name"] == "镇农业农村办"
    assert parcels["rows"] > 0
    assert parcels["updated_at"].startswith("20")


def test_register_names_owners_in_english_when_asked(town):
    rows = town.get("/layers?lang=en", "office").json()["layers"]
    villages = next(r for r in rows if r["layer"] == "villages")
    assert villages["owner_name"] == "natural resources office"
    assert villages["title"] == "villages"
    assert villages["title_zh"] == "村界"


def test_register_hides_who_imported_from_viewers(town):
    rows = town.get("/layers", "viewer").json()["layers"]
    assert rows and all(r["imported_by"] is None for r in rows)


def test_register_request_is_audited(town):
    town.get("/layers", "viewer")
    log = town.ws.audit()
    assert (log["action"] == "layers.list").any()


# --- POST /layers/{kind}/import --------------------------------------------------------


@pytest.mark.slow
def test_office_imports_a_zipped_shapefile_and_gets_the_report(town, fresh_dir):
    res = upload(
        town,
        "villages",
        villages_zip(fresh_dir),
        "office",
        mode="replace",
        owner="natural_resources",
    )
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["report"]["rows_imported"] == 16
    assert body["report"]["source"].startswith("villages.zip")
    assert body["catalog_entry"]["source_file"] == "villages.zip"
    assert body["catalog_entry"]["imported_by"].startswith("office:")
    assert body["layer_rows"] == 16


@pytest.mark.slow
def test_an_import_is_audited_with_the_file_name(town, fresh_dir):
    upload(town, "villages", villages_zip(fresh_dir), "office")
    log = town.ws.audit()
    row = log[log["action"] == "layers.import"].iloc[-1]
    assert row["target"] == "villages"
    assert '"file": "villages.zip"' in row["detail"]


def test_a_department_appends_its_own_rows_as_owner(town, fresh_dir):
    res = upload(town, "complaints", complaint_csv(fresh_dir), "department", mode="append")
    assert res.status_code == 201, res.text
    assert res.json()["catalog_entry"]["owner_department"] == "police"
    assert res.json()["report"]["rows_imported"] == 1


def test_a_department_may_not_replace_a_layer_other_departments_shared(town, fresh_dir):
    res = upload(town, "villages", villages_zip(fresh_dir), "department", mode="replace")
    assert res.status_code == 403
    assert "natural_resources" in res.json()["error"]["en"]
    assert "mode=append" in res.json()["error"]["en"]


def test_a_department_may_not_share_in_another_departments_name(town, fresh_dir):
    res = upload(
        town,
        "complaints",
        complaint_csv(fresh_dir),
        "department",
        mode="append",
        owner="agriculture",
    )
    assert res.status_code == 403
    assert "'agriculture'" in res.json()["error"]["en"]


def test_only_the_office_imports_inspection_problems(town, fresh_dir):
    path = fresh_dir / "问题.csv"
    path.write_text("问题编号,督查批次\nX,1\n", encoding="utf-8")
    res = upload(town, "problems", path, "department")
    assert res.status_code == 403
    assert "office" in res.json()["error"]["en"]


@pytest.mark.parametrize("who", ["village", "viewer"])
def test_villages_and_viewers_cannot_import(town, fresh_dir, who):
    res = upload(town, "complaints", complaint_csv(fresh_dir), who, mode="append")
    assert res.status_code == 403
    assert res.json()["error"]["code"] == "access.role"


def test_an_anonymous_import_is_refused_with_401(town, fresh_dir):
    res = upload(town, "complaints", complaint_csv(fresh_dir), "anonymous")
    assert res.status_code == 401


def test_an_unknown_kind_is_404_naming_it(town, fresh_dir):
    res = upload(town, "roads", complaint_csv(fresh_dir), "office")
    assert res.status_code == 404
    assert "'roads'" in res.json()["error"]["en"]


def test_a_zip_member_escaping_the_folder_is_refused_with_422(town, fresh_dir):
    path = zipped(fresh_dir, "bad.zip", {"../evil.csv": b"a,b\n1,2\n"})
    res = upload(town, "complaints", path, "office", mode="append")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "archive.path_escape"


def test_a_refused_upload_is_audited(town, fresh_dir):
    path = zipped(fresh_dir, "bad.zip", {"../evil.csv": b"a,b\n1,2\n"})
    upload(town, "complaints", path, "office", mode="append")
    log = town.ws.audit()
    row = log[log["action"] == "layers.import_refused"].iloc[-1]
    assert "archive.path_escape" in row["detail"]


def test_a_file_named_classified_is_refused_with_422(town, fresh_dir):
    path = complaint_csv(fresh_dir).rename(fresh_dir / "涉密举报.csv")
    res = upload(town, "complaints", path, "office", mode="append")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "source.classified"
    assert "涉密" in res.json()["error"]["zh"]


def test_a_file_whose_rows_are_all_rejected_is_422_with_its_report(town, fresh_dir):
    res = upload(town, "villages", villages_zip(fresh_dir), "office", mode="append")
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "import.nothing_imported"
    report = error["report"]
    # 16 villages in 19 rows (two are stored one row per part): none of them lands
    assert report["rows_imported"] == 0
    assert report["rows_rejected"] + report["rows_merged"] == report["rows_read"] == 19


def test_a_bad_mode_is_422_naming_it(town, fresh_dir):
    res = upload(town, "complaints", complaint_csv(fresh_dir), "office", mode="merge")
    assert res.status_code == 422
    assert "'merge'" in res.json()["error"]["en"]


def test_the_office_merges_a_problem_list_keeping_workflow_state(town, fresh_dir):
    res = upload(town, "problems", copy_sample("problems.xlsx", fresh_dir), "office")
    assert res.status_code == 201, res.text
    result = res.json()["problems_import"]
    assert result["mode"] == "merge"
    assert result["rows_read"] > 0 and result["added"] == []


def test_problems_refuse_owner_and_classification(town, fresh_dir):
    path = fresh_dir / "问题.csv"
    path.write_text("问题编号\nX\n", encoding="utf-8")
    res = upload(town, "problems", path, "office", owner="police")
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "layers.problems_options"


# --- helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/小班.zip", "小班.zip"),
        ("C:\\数据\\村界.zip", "村界.zip"),
        ("villages.zip", "villages.zip"),
    ],
)
def test_upload_name_keeps_only_the_file_name(given, expected):
    assert upload_name(given) == expected


@pytest.mark.parametrize("given", [None, "", "../", ".hidden"])
def test_upload_name_refuses_names_that_are_no_file(given):
    with pytest.raises(OptionError, match="cannot name a data file"):
        upload_name(given)


def test_save_upload_copies_every_chunk(tmp_path):
    data = bytes(range(256)) * (5 * 1024 * 4 + 3)  # a little over 5 MB
    written = save_upload(io.BytesIO(data), tmp_path / "f.bin")
    assert written == len(data)
    assert (tmp_path / "f.bin").read_bytes() == data
