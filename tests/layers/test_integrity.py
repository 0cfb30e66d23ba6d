"""Shapefiles whose parts disagree on the record count are refused before reading."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from layers import read_layer
from layers.errors import ShapefileIntegrityError, SourceError
from layers.integrity import ShapefileCounts, check_shapefile
from tests.support.builders import write_shp, xiaoban

# --- builders: a sound shapefile of 5 parcels, then one part damaged as copies are -------


def _shapefile(folder: Path, n: int = 5) -> Path:
    return write_shp(xiaoban(n), folder / "xb.shp")


def _dbf_layout(dbf: Path) -> tuple[int, int, int]:
    """(declared records, header length, record length)."""
    n, header, record = struct.unpack_from("<IHH", dbf.read_bytes(), 4)
    return n, header, record


def _cut_dbf(shp: Path, keep: int, declared: int, eof: bool = True) -> None:
    """Keep the first ``keep`` records of the .dbf and write ``declared`` in its header."""
    dbf = shp.with_suffix(".dbf")
    _, header, record = _dbf_layout(dbf)
    data = bytearray(dbf.read_bytes()[: header + keep * record] + (b"\x1a" if eof else b""))
    struct.pack_into("<I", data, 4, declared)
    dbf.write_bytes(bytes(data))


def _part_from_other_version(shp: Path, ending: str, n: int, tmp_path: Path) -> None:
    """Replace one part by the same part of the layer exported with ``n`` parcels."""
    other = _shapefile(tmp_path / f"version_{n}", n)
    shp.with_suffix(ending).write_bytes(other.with_suffix(ending).read_bytes())


def _zip(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(folder.iterdir()):
            zf.write(part, part.name)
    return archive


def _check(shp: Path) -> ShapefileCounts:
    return check_shapefile(shp, shp.with_suffix(".shx"), shp.with_suffix(".dbf"))


# --- sound files --------------------------------------------------------------------------


def test_sound_shapefile_counts_agree(tmp_path):
    assert _check(_shapefile(tmp_path)) == ShapefileCounts(5, 5, 5, 5)


def test_dbf_without_its_end_of_file_byte_is_sound(tmp_path):
    shp = _shapefile(tmp_path)
    _cut_dbf(shp, keep=5, declared=5, eof=False)
    _, report = read_layer(shp, "parcels")
    assert report.rows_read == report.rows_imported == 5


def test_empty_shapefile_is_sound(tmp_path):
    shp = _shapefile(tmp_path, 0)
    assert _check(shp) == ShapefileCounts(0, 0, 0, 0)


# --- the traps ----------------------------------------------------------------------------


def test_dbf_counting_fewer_records_than_the_shapes_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    _cut_dbf(shp, keep=3, declared=3)
    with pytest.raises(
        ShapefileIntegrityError,
        match=r"'xb\.dbf' holds 3 records but 'xb\.shp' holds 5 shapes.*truncated copy"
        r".*complete copy",
    ) as caught:
        read_layer(shp, "parcels")
    assert "有 3 条记录" in caught.value.message.zh
    assert "5 个图形" in caught.value.message.zh


def test_dbf_from_a_longer_version_of_the_layer_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    _part_from_other_version(shp, ".dbf", 6, tmp_path)
    with pytest.raises(
        ShapefileIntegrityError, match=r"holds 6 records but .* 5 shapes.*another version"
    ):
        read_layer(shp, "parcels")


def test_dbf_cut_at_a_record_boundary_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    _cut_dbf(shp, keep=3, declared=5, eof=False)
    with pytest.raises(
        ShapefileIntegrityError, match=r"declares 5 records in its header but holds 3"
    ):
        read_layer(shp, "parcels")


def test_dbf_cut_in_the_middle_of_a_record_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[:-40])
    with pytest.raises(
        ShapefileIntegrityError,
        match=r"ends in the middle of a record: its header declares 5 records, the file"
        r" holds 4 complete",
    ):
        read_layer(shp, "parcels")


def test_dbf_header_behind_its_records_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    _cut_dbf(shp, keep=5, declared=4)
    with pytest.raises(
        ShapefileIntegrityError, match=r"declares 4 records .* holds 5.*updating the header"
    ):
        read_layer(shp, "parcels")


def test_index_from_another_version_is_refused_with_the_gdal_repair(tmp_path):
    shp = _shapefile(tmp_path)
    _part_from_other_version(shp, ".shx", 3, tmp_path)
    with pytest.raises(
        ShapefileIntegrityError,
        match=r"'xb\.shx' lists 3 shapes but 'xb\.shp' holds 5.*SHAPE_RESTORE_SHX YES"
        r".*Repair Shapefile",
    ):
        read_layer(shp, "parcels")


def test_index_cut_short_is_refused_as_broken(tmp_path):
    shp = _shapefile(tmp_path)
    shx = shp.with_suffix(".shx")
    shx.write_bytes(shx.read_bytes()[:-4])
    with pytest.raises(
        ShapefileIntegrityError, match=r"index 'xb\.shx' is broken.*SHAPE_RESTORE_SHX"
    ):
        read_layer(shp, "parcels")


def test_shp_cut_in_its_last_shape_is_refused(tmp_path):
    shp = _shapefile(tmp_path)
    shp.write_bytes(shp.read_bytes()[:-10])
    with pytest.raises(
        ShapefileIntegrityError,
        match=r"'xb\.shp' is cut short: the index lists 5 shapes and only 4 are complete",
    ):
        read_layer(shp, "parcels")


def test_missing_index_names_the_gdal_repair(tmp_path):
    shp = _shapefile(tmp_path)
    shp.with_suffix(".shx").unlink()
    with pytest.raises(SourceError, match=r"xb\.shx .*SHAPE_RESTORE_SHX YES repaired\.shp xb\.shp"):
        read_layer(shp, "parcels")


def test_truncated_dbf_inside_a_zip_is_refused_by_its_member_name(tmp_path):
    shp = _shapefile(tmp_path / "src")
    _cut_dbf(shp, keep=2, declared=2)
    archive = _zip(shp.parent, tmp_path / "parcels.zip")
    with pytest.raises(
        ShapefileIntegrityError, match=r"'parcels\.zip!xb\.dbf' holds 2 records but"
    ):
        read_layer(archive, "parcels")
