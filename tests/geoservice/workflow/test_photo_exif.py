"""EXIF GPS and capture time read at upload, kept as evidence metadata and in an office copy,
and never in the copy served to everyone else."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from geoservice.base.errors import NotFoundError, OptionError
from geoservice.workflow.photo_exif import exif_place
from geoservice.workflow.photos import photo_meta, problem_photos, save_photos, served_photo
from tests.support.exif_photos import GPS, exif_photo, gps_block, read_exif

MB = 1024 * 1024


def _place(data: bytes):  # type: ignore[no-untyped-def]
    with Image.open(io.BytesIO(data)) as im:
        return exif_place(im)


def _save(tmp_path: Path, data: bytes) -> str:
    return save_photos(tmp_path, "P-1", [("现场.jpg", data)], max_bytes=10 * MB)[0]


# --- reading ------------------------------------------------------------------------------


def test_gps_rationals_north_east_become_decimal_degrees() -> None:
    place = _place(exif_photo(gps=gps_block(24.844016, 112.379624, 231.5)))
    assert place.gps == "fix"
    assert place.lat == pytest.approx(24.844016, abs=1e-6)
    assert place.lon == pytest.approx(112.379624, abs=1e-6)
    assert place.altitude_m == 231.5


def test_southern_and_western_references_are_negative() -> None:
    place = _place(exif_photo(gps=gps_block(-33.8568, -70.6483)))
    assert place.lat == pytest.approx(-33.8568, abs=1e-6)
    assert place.lon == pytest.approx(-70.6483, abs=1e-6)


def test_altitude_below_sea_level_is_negative() -> None:
    assert _place(exif_photo(gps=gps_block(31.2, 121.5, -4.5))).altitude_m == -4.5


def test_a_photo_without_gps_has_no_position() -> None:
    place = _place(exif_photo(when="2026:11:20 10:31:05"))
    assert (place.gps, place.lat, place.lon) == ("none", None, None)


def test_a_photo_without_any_exif_has_nothing() -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="JPEG")
    place = _place(out.getvalue())
    assert (place.gps, place.taken_at, place.lat) == ("none", None, None)


def test_gps_zero_zero_is_a_receiver_without_a_fix() -> None:
    place = _place(exif_photo(gps=gps_block(0.0, 0.0)))
    assert (place.gps, place.lat, place.lon) == ("zero", None, None)


def test_a_rational_with_a_zero_denominator_is_no_position() -> None:
    block = gps_block(24.8, 112.4)
    block[GPS.GPSLatitude] = (IFDRational(24, 1), IFDRational(0, 0), IFDRational(0, 0))
    place = _place(exif_photo(gps=block))
    assert (place.gps, place.lat) == ("invalid", None)


def test_capture_time_keeps_its_utc_offset() -> None:
    place = _place(exif_photo(when="2026:11:20 10:31:05", offset="+08:00"))
    assert (place.taken_at, place.time_source) == ("2026-11-20T10:31:05+08:00", "DateTimeOriginal")


def test_capture_time_without_offset_is_the_cameras_local_time() -> None:
    assert _place(exif_photo(when="2026:11:20 10:31:05")).taken_at == "2026-11-20T10:31:05"


def test_a_blank_capture_time_falls_back_to_the_gps_stamps_in_utc() -> None:
    block = gps_block(24.8, 112.4)
    block[GPS.GPSDateStamp] = "2026:11:20"
    block[GPS.GPSTimeStamp] = (IFDRational(2, 1), IFDRational(31, 1), IFDRational(5, 1))
    place = _place(exif_photo(gps=block, when="    :  :     :  :  "))
    assert (place.taken_at, place.time_source) == ("2026-11-20T02:31:05+00:00", "GPS")


def test_a_zero_capture_date_is_no_time() -> None:
    assert _place(exif_photo(when="0000:00:00 00:00:00")).taken_at is None


# --- storing and serving ------------------------------------------------------------------


def test_upload_stores_position_time_and_the_originals_hash(tmp_path: Path) -> None:
    data = exif_photo(
        gps=gps_block(24.844016, 112.379624, 88.0), when="2026:11:20 10:31:05", offset="+08:00"
    )
    name = _save(tmp_path, data)
    meta = photo_meta(tmp_path, "P-1", name)
    assert meta is not None
    assert (meta["lat"], meta["lon"], meta["altitude_m"]) == pytest.approx(
        (24.844016, 112.379624, 88.0), abs=1e-6
    )
    assert meta["taken_at"] == "2026-11-20T10:31:05+08:00"
    assert meta["original"]["format"] == "JPEG" and meta["original"]["bytes"] == len(data)
    assert len(meta["original"]["sha256"]) == 64 and meta["office_copy"] is True


def test_the_copy_served_to_other_roles_has_no_exif(tmp_path: Path) -> None:
    name = _save(tmp_path, exif_photo(gps=gps_block(24.8, 112.4), when="2026:11:20 10:31:05"))
    for role in ("village", "department", "viewer"):
        ifd0, gps, inner = read_exif(served_photo(tmp_path, "P-1", name, role).read_bytes())
        assert (ifd0, gps, inner) == ({}, {}, {}), role


def test_the_office_copy_keeps_gps_time_and_camera(tmp_path: Path) -> None:
    name = _save(tmp_path, exif_photo(gps=gps_block(24.8, 112.4), when="2026:11:20 10:31:05"))
    ifd0, gps, inner = read_exif(served_photo(tmp_path, "P-1", name, "office").read_bytes())
    assert gps[GPS.GPSLatitudeRef] == "N" and gps[GPS.GPSLatitude][0] == 24
    assert inner[ExifTags.Base.DateTimeOriginal] == "2026:11:20 10:31:05"
    assert ifd0[ExifTags.Base.Model] == "Redmi Note 12"


def test_the_office_copy_drops_the_maker_note(tmp_path: Path) -> None:
    data = exif_photo(gps=gps_block(24.8, 112.4), maker_note=b"SN:8841-22" * 20)
    _, _, inner = read_exif(
        served_photo(tmp_path, "P-1", _save(tmp_path, data), "office").read_bytes()
    )
    assert ExifTags.Base.MakerNote not in inner


def test_a_rotated_photo_is_stored_upright_with_orientation_one(tmp_path: Path) -> None:
    # Orientation 6: the camera was turned; the 400 x 300 sensor picture is shown 300 x 400.
    name = _save(tmp_path, exif_photo(gps=gps_block(24.8, 112.4), orientation=6))
    for role in ("office", "village"):
        with Image.open(served_photo(tmp_path, "P-1", name, role)) as im:
            assert im.size == (300, 400), role
            assert im.getexif().get(ExifTags.Base.Orientation, 1) == 1, role
            top, bottom = im.getpixel((150, 10)), im.getpixel((150, 390))
            assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0], role


def test_a_photo_without_exif_has_no_office_copy(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="PNG")
    name = _save(tmp_path, out.getvalue())
    assert served_photo(tmp_path, "P-1", name, "office") == served_photo(
        tmp_path, "P-1", name, "village"
    )
    assert photo_meta(tmp_path, "P-1", name)["office_copy"] is False  # type: ignore[index]


def test_only_served_copies_are_listed_and_none_of_the_metadata(tmp_path: Path) -> None:
    name = _save(tmp_path, exif_photo(gps=gps_block(24.8, 112.4)))
    assert problem_photos(tmp_path, "P-1") == [name]


def test_metadata_cannot_be_asked_for_as_a_photo(tmp_path: Path) -> None:
    name = _save(tmp_path, exif_photo(gps=gps_block(24.8, 112.4)))
    with pytest.raises(NotFoundError, match="has no photo named"):
        served_photo(tmp_path, "P-1", f".exif/{name}.json", "village")
    with pytest.raises(NotFoundError, match="has no photo named"):
        served_photo(tmp_path, "P-1", ".exif", "office")


def test_a_heic_photo_is_refused_naming_the_iphone_setting(tmp_path: Path) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(OptionError, match=r"HEIC photo .*Most Compatible"):
        _save(tmp_path, heic)
    assert problem_photos(tmp_path, "P-1") == []


def test_no_metadata_for_an_unknown_photo(tmp_path: Path) -> None:
    assert photo_meta(tmp_path, "P-1", "nothing.jpg") is None


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_webp_and_png_photos_keep_their_exif_place_too(tmp_path: Path, fmt: str) -> None:
    data = exif_photo(gps=gps_block(24.8, 112.4), when="2026:11:20 10:31:05", fmt=fmt)
    name = _save(tmp_path, data)
    meta = photo_meta(tmp_path, "P-1", name)
    assert meta is not None and meta["original"]["format"] == fmt
    assert (meta["lat"], meta["taken_at"]) == (pytest.approx(24.8, abs=1e-6), "2026-11-20T10:31:05")
    _, gps, _ = read_exif(served_photo(tmp_path, "P-1", name, "office").read_bytes())
    assert gps[GPS.GPSLatitude][:2] == (24, 48)


def _with_broken_exif() -> bytes:
    """A JPEG whose EXIF block claims five entries and holds garbage (a damaged file)."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="JPEG")
    jpeg = out.getvalue()
    block = b"Exif\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + b"\x00\x05" + b"\xff" * 40
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block + jpeg[2:]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_damaged_exif_block_still_stores_the_photo_without_a_place(tmp_path: Path) -> None:
    name = _save(tmp_path, _with_broken_exif())
    meta = photo_meta(tmp_path, "P-1", name)
    assert meta is not None and (meta["lat"], meta["taken_at"], meta["office_copy"]) == (
        None,
        None,
        False,
    )
    assert problem_photos(tmp_path, "P-1") == [name]
