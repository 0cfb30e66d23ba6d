from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
from shapely.geometry import box

from layers.classified import CLASSIFIED_WORDS, check_not_classified, is_classified_text
from layers.errors import (
    ArchiveError,
    ClassifiedDataError,
    LayerChoiceError,
    SourceError,
)
from layers.sources import (
    Format,
    Source,
    resolve_source,
    source_sha256,
)

# --- builders -----------------------------------------------------------------------------


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"XIAO_BAN": ["001", "002"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:4490",
    )


def _shapefile(folder: Path, stem: str = "小班") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.shp"
    _frame().to_file(path, encoding="utf-8")
    return path


def _gpkg(path: Path, layers: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for name in layers:
        _frame().to_file(path, layer=name, driver="GPKG")
    return path


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return archive


def _zip(archive: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return archive


_HEADER_AND_ROW: list[list[object]] = [["小班号", "面积"], ["001", 1.5]]


# --- missing, unsupported, simple formats -------------------------------------------------


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"Input '.*nowhere.shp' does not exist"):
        resolve_source(tmp_path / "nowhere.shp", tmp_path / "work")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.geojson", "geojson"),
        ("a.json", "geojson"),
        ("a.kml", "kml"),
        ("a.csv", "csv"),
        ("a.txt", "csv"),
        ("A.CSV", "csv"),
    ],
)
def test_single_file_formats_by_extension(tmp_path: Path, name: str, fmt: Format) -> None:
    path = tmp_path / name
    path.write_text("x")
    assert resolve_source(path, tmp_path / "work") == Source(path, fmt, None, path, name)


def test_unsupported_extension_lists_supported_formats(tmp_path: Path) -> None:
    path = tmp_path / "图.dwg"
    path.write_bytes(b"AC1027")
    with pytest.raises(SourceError, match=r"'图.dwg' has format .dwg.*GeoPackage \(.gpkg\)"):
        resolve_source(path, tmp_path / "work")


@pytest.mark.parametrize("name", ["图.rar", "图.7z", "图.tar.gz"])
def test_other_archive_formats_ask_to_extract_or_rezip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00")
    with pytest.raises(SourceError, match=rf"'{name}' is a \.\w+ archive.*re-pack it as \.zip"):
        resolve_source(path, tmp_path / "work")


def test_old_excel_asks_to_save_as_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "举报.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SourceError, match=r"old Excel workbook \(.xls\).*save it as .xlsx"):
        resolve_source(path, tmp_path / "work")


# --- shapefiles ---------------------------------------------------------------------------


def test_shp_resolves_to_itself(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path)
    source = resolve_source(shp, tmp_path / "work")
    assert source == Source(shp, "shapefile", None, shp, "小班.shp")


@pytest.mark.parametrize("part", [".dbf", ".shx"])
def test_dbf_or_shx_given_resolves_to_its_shp(tmp_path: Path, part: str) -> None:
    shp = _shapefile(tmp_path)
    given = shp.with_suffix(part)
    assert resolve_source(given, tmp_path / "work") == Source(
        shp, "shapefile", None, given, "小班.shp"
    )


@pytest.mark.parametrize(
    ("part", "match"),
    [
        (".dbf", r"'小班.shp' is incomplete: 小班.dbf \(attribute table\) is missing"),
        (".shx", r"'小班.shp' is incomplete: 小班.shx \(shape index\) is missing"),
    ],
)
def test_shapefile_missing_part_is_named(tmp_path: Path, part: str, match: str) -> None:
    shp = _shapefile(tmp_path)
    shp.with_suffix(part).unlink()
    with pytest.raises(SourceError, match=match + r".*copy all parts.*\.cpg\) together"):
        resolve_source(shp, tmp_path / "work")


def test_dbf_without_shp_names_the_missing_shp(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path)
    shp.unlink()
    with pytest.raises(SourceError, match=r"小班.shp \(geometry\) is missing"):
        resolve_source(shp.with_suffix(".dbf"), tmp_path / "work")


def test_upper_case_extensions_are_recognised(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path, "XB")
    for part in tmp_path.iterdir():
        part.rename(part.with_suffix(part.suffix.upper()))
    upper = tmp_path / "XB.SHP"
    assert resolve_source(upper, tmp_path / "work") == Source(
        upper, "shapefile", None, upper, "XB.SHP"
    )
    assert not shp.exists()


# --- folders ------------------------------------------------------------------------------


def test_folder_with_one_shapefile_resolves_to_it(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path / "survey" / "林班")
    (tmp_path / "survey" / "说明.txt").write_text("read me")
    source = resolve_source(tmp_path / "survey", tmp_path / "work")
    assert source == Source(shp, "shapefile", None, tmp_path / "survey", "survey/林班/小班.shp")


def test_folder_with_two_datasets_asks_for_layer(tmp_path: Path) -> None:
    _shapefile(tmp_path / "survey", "小班")
    _shapefile(tmp_path / "survey", "村界")
    with pytest.raises(LayerChoiceError, match=r"several datasets: 小班, 村界.*--layer NAME") as e:
        resolve_source(tmp_path / "survey", tmp_path / "work")
    assert e.value.choices == ["小班", "村界"]


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ("小班", "小班.shp"),
        ("cunjie", "sub/CunJie.shp"),
        ("SUB/CUNJIE", "sub/CunJie.shp"),
        ("sub\\CunJie.shp", "sub/CunJie.shp"),
    ],
)
def test_folder_layer_matches_stem_or_relative_path(
    tmp_path: Path, layer: str, expected: str
) -> None:
    _shapefile(tmp_path / "survey", "小班")
    _shapefile(tmp_path / "survey" / "sub", "CunJie")
    source = resolve_source(tmp_path / "survey", tmp_path / "work", layer)
    assert source.path == tmp_path / "survey" / expected
    assert source.name == f"survey/{expected}"


def test_folder_layer_without_match_lists_choices(tmp_path: Path) -> None:
    _shapefile(tmp_path / "survey", "小班")
    _shapefile(tmp_path / "survey", "村界")
    with pytest.raises(LayerChoiceError, match=r"matching '林班'; choices: 小班, 村界") as e:
        resolve_source(tmp_path / "survey", tmp_path / "work", "林班")
    assert e.value.choices == ["小班", "村界"]


def test_current_folder_is_named_by_its_real_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shapefile(tmp_path / "survey")
    monkeypatch.chdir(tmp_path / "survey")
    assert resolve_source(Path("."), tmp_path / "work").name == "survey/小班.shp"


def test_folder_without_datasets_lists_supported_formats(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "说明.txt").write_text("read me")
    with pytest.raises(SourceError, match=r"'empty' holds 1 files but no dataset.*Shapefile"):
        resolve_source(tmp_path / "empty", tmp_path / "work")


def test_folder_with_one_gpkg_passes_layer_on(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "survey" / "data.gpkg", ["xiaoban", "cunjie"])
    source = resolve_source(tmp_path / "survey", tmp_path / "work", "cunjie")
    assert (source.path, source.format, source.layer) == (gpkg, "gpkg", "cunjie")


# --- zips and KMZ -------------------------------------------------------------------------


def test_zip_with_one_shapefile_is_extracted_into_workdir(tmp_path: Path) -> None:
    _shapefile(tmp_path / "src" / "林班")
    archive = _zip_folder(tmp_path / "src", tmp_path / "parcels.zip")
    source = resolve_source(archive, tmp_path / "work")
    assert source.name == "parcels.zip!林班/小班.shp"
    assert (source.format, source.layer, source.original) == ("shapefile", None, archive)
    assert source.path.is_relative_to((tmp_path / "work").resolve())
    assert source.path.with_suffix(".dbf").is_file()


def test_each_zip_gets_a_fresh_folder(tmp_path: Path) -> None:
    _shapefile(tmp_path / "src")
    archive = _zip_folder(tmp_path / "src", tmp_path / "parcels.zip")
    first = resolve_source(archive, tmp_path / "work")
    second = resolve_source(archive, tmp_path / "work")
    assert first.path.parent != second.path.parent


def test_zip_with_two_shapefiles_lists_both(tmp_path: Path) -> None:
    _shapefile(tmp_path / "src", "小班")
    _shapefile(tmp_path / "src", "村界")
    archive = _zip_folder(tmp_path / "src", tmp_path / "survey.zip")
    with pytest.raises(LayerChoiceError, match=r"'survey.zip' holds several datasets") as e:
        resolve_source(archive, tmp_path / "work")
    assert e.value.choices == ["小班", "村界"]


def test_zip_with_two_shapefiles_resolves_with_layer(tmp_path: Path) -> None:
    _shapefile(tmp_path / "src", "小班")
    _shapefile(tmp_path / "src", "村界")
    archive = _zip_folder(tmp_path / "src", tmp_path / "survey.zip")
    source = resolve_source(archive, tmp_path / "work", "村界")
    assert (source.name, source.path.name) == ("survey.zip!村界.shp", "村界.shp")


def test_zip_slip_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"ok.shp": b"", "../evil.shp": b"evil"})
    with pytest.raises(ArchiveError, match=r"'../evil.shp' uses '..' to point outside"):
        resolve_source(archive, tmp_path / "work")
    assert not list((tmp_path / "work").rglob("*.shp"))
    assert not (tmp_path / "evil.shp").exists()


def test_non_zip_named_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "parcels.zip"
    path.write_text("this is a text file")
    with pytest.raises(ArchiveError, match=r"'parcels.zip' is not a valid zip"):
        resolve_source(path, tmp_path / "work")


def test_zip_without_dataset_lists_supported_formats(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.zip", {"readme.md": b"hi"})
    with pytest.raises(SourceError, match=r"'a.zip' holds 1 files but no dataset"):
        resolve_source(archive, tmp_path / "work")


def test_kmz_resolves_to_doc_kml(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "巡护.kmz",
        {"files/extra.kml": b"<kml/>", "doc.kml": b"<kml/>", "files/icon.png": b"png"},
    )
    source = resolve_source(archive, tmp_path / "work")
    assert (source.format, source.name, source.path.name) == ("kml", "巡护.kmz!doc.kml", "doc.kml")
    assert source.path.read_bytes() == b"<kml/>"


_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Folder><name>小班</name>
<Placemark><Point><coordinates>112.4,24.8</coordinates></Point></Placemark></Folder>
<Folder><name>Villages</name>
<Placemark><Point><coordinates>112.5,24.8</coordinates></Point></Placemark></Folder>
</Document></kml>
"""


def test_kml_layer_is_left_to_the_reader_when_not_given(tmp_path: Path) -> None:
    path = tmp_path / "a.kml"
    path.write_text(_KML, encoding="utf-8")
    assert resolve_source(path, tmp_path / "work") == Source(path, "kml", None, path, "a.kml")


def test_kmz_layer_is_matched_against_kml_folders(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.kmz", {"doc.kml": _KML.encode("utf-8")})
    assert resolve_source(archive, tmp_path / "work", "villages").layer == "Villages"
    with pytest.raises(LayerChoiceError, match="matching 'roads'; choices: 小班, Villages"):
        resolve_source(archive, tmp_path / "work", "roads")


def test_kmz_without_kml_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "a.kmz", {"files/icon.png": b"png"})
    with pytest.raises(SourceError, match=r"KMZ 'a.kmz' holds no .kml"):
        resolve_source(archive, tmp_path / "work")


# --- GeoPackage and Excel -----------------------------------------------------------------


def test_gpkg_with_one_layer_resolves_to_it(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "a.gpkg", ["小班"])
    assert resolve_source(gpkg, tmp_path / "work") == Source(gpkg, "gpkg", "小班", gpkg, "a.gpkg")


def test_gpkg_with_two_layers_asks_for_layer(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "a.gpkg", ["Parcels", "villages"])
    with pytest.raises(LayerChoiceError, match=r"several layers: Parcels, villages") as e:
        resolve_source(gpkg, tmp_path / "work")
    assert e.value.choices == ["Parcels", "villages"]


def test_gpkg_layer_is_matched_case_insensitively(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "a.gpkg", ["Parcels", "villages"])
    assert resolve_source(gpkg, tmp_path / "work", "PARCELS").layer == "Parcels"


def test_gpkg_unknown_layer_lists_layers(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "a.gpkg", ["Parcels", "villages"])
    with pytest.raises(LayerChoiceError, match=r"matching 'roads'; choices: Parcels, villages"):
        resolve_source(gpkg, tmp_path / "work", "roads")


def test_invalid_gpkg_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "a.gpkg"
    path.write_text("not sqlite")
    with pytest.raises(SourceError, match=r"'a.gpkg' cannot be opened as GeoPackage"):
        resolve_source(path, tmp_path / "work")


def test_xlsx_with_two_filled_sheets_asks_for_sheet(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "举报.xlsx",
        {"2023": _HEADER_AND_ROW, "说明": [["只有表头"]], "2024": _HEADER_AND_ROW},
    )
    with pytest.raises(LayerChoiceError, match=r"several sheets: 2023, 2024") as e:
        resolve_source(path, tmp_path / "work")
    assert e.value.choices == ["2023", "2024"]


def test_xlsx_sheet_is_chosen_with_layer(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "a.xlsx", {"2023": _HEADER_AND_ROW, "2024": _HEADER_AND_ROW})
    assert resolve_source(path, tmp_path / "work", "2024") == Source(
        path, "xlsx", "2024", path, "a.xlsx"
    )


def test_xlsx_single_filled_sheet_is_chosen(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "a.xlsm", {"空": [], "说明": [["表头"]], "举报": _HEADER_AND_ROW})
    assert resolve_source(path, tmp_path / "work").layer == "举报"


def test_xlsx_without_data_rows_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "a.xlsx", {"Sheet1": [["表头"]]})
    with pytest.raises(SourceError, match=r"'a.xlsx' has no readable sheet with data rows"):
        resolve_source(path, tmp_path / "work")


# --- classified data ----------------------------------------------------------------------


@pytest.mark.parametrize("word", CLASSIFIED_WORDS)
def test_classified_file_name_is_refused(tmp_path: Path, word: str) -> None:
    path = tmp_path / f"森林资源{word}.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(
        ClassifiedDataError,
        match=f"File '森林资源{word}.csv' is marked classified \\('{word}'\\).*does not belong"
        ".*Article 6",
    ):
        resolve_source(path, tmp_path / "work")


def test_classified_folder_name_is_refused(tmp_path: Path) -> None:
    _shapefile(tmp_path / "机密资料")
    with pytest.raises(ClassifiedDataError, match=r"'机密资料' is marked classified"):
        resolve_source(tmp_path / "机密资料", tmp_path / "work")


def test_classified_file_inside_folder_is_refused(tmp_path: Path) -> None:
    _shapefile(tmp_path / "survey", "小班")
    (tmp_path / "survey" / "绝密说明.txt").write_text("x")
    with pytest.raises(ClassifiedDataError, match=r"'survey/绝密说明.txt' is marked"):
        resolve_source(tmp_path / "survey", tmp_path / "work")


def test_classified_zip_member_is_refused_before_extraction(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "data.zip", {"涉密/小班.shp": b"", "涉密/小班.dbf": b""})
    with pytest.raises(ClassifiedDataError, match=r"'data.zip!涉密/小班.shp' is marked"):
        resolve_source(archive, tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_classified_gpkg_layer_is_refused(tmp_path: Path) -> None:
    gpkg = _gpkg(tmp_path / "a.gpkg", ["小班", "秘密小班"])
    with pytest.raises(ClassifiedDataError, match=r"'a.gpkg!秘密小班' is marked"):
        resolve_source(gpkg, tmp_path / "work", "小班")


def test_classified_sheet_name_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "a.xlsx", {"举报": _HEADER_AND_ROW, "涉密线索": _HEADER_AND_ROW})
    with pytest.raises(ClassifiedDataError, match=r"'a.xlsx!涉密线索' is marked"):
        resolve_source(path, tmp_path / "work", "举报")


def test_check_not_classified_names_every_mark_in_both_languages() -> None:
    with pytest.raises(ClassifiedDataError, match=r"\('秘密', '机密'\)") as e:
        check_not_classified("秘密与机密.shp")
    assert "“秘密”、“机密”" in e.value.text("zh")
    assert "第六条" in e.value.text("zh")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("绝密", True), ("内部资料涉密", True), ("公开", False), ("", False), ("密度", False)],
)
def test_is_classified_text(value: str, expected: bool) -> None:
    assert is_classified_text(value) is expected


# --- hashing ------------------------------------------------------------------------------


def test_sha256_of_plain_file_matches_sha256sum(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert source_sha256(path) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_sha256_of_shapefile_covers_its_sidecars(tmp_path: Path) -> None:
    shp = _shapefile(tmp_path)
    before = source_sha256(shp)
    assert source_sha256(shp.with_suffix(".dbf")) == before
    shp.with_suffix(".prj").write_text("GEOGCS[]")
    assert source_sha256(shp) != before


def test_sha256_of_folder_covers_every_file(tmp_path: Path) -> None:
    _shapefile(tmp_path / "survey")
    before = source_sha256(tmp_path / "survey")
    assert source_sha256(tmp_path / "survey") == before
    (tmp_path / "survey" / "小班.cpg").write_text("GBK")
    assert source_sha256(tmp_path / "survey") != before


def test_sha256_of_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"does not exist"):
        source_sha256(tmp_path / "nowhere.zip")


@pytest.mark.parametrize(
    "name", ["非涉密举报.csv", "不涉密_小班.shp", "无涉密内容.xlsx", "非秘密.csv"]
)
def test_negated_classification_marks_are_not_marks(name):
    check_not_classified(name)


def test_a_mark_beside_a_negation_is_still_a_mark():
    with pytest.raises(ClassifiedDataError, match="marked classified"):
        check_not_classified("非涉密_机密附件.csv")
