"""Problem photos: recognised by content, cleaned (upright, small, no EXIF), all or none."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from geoservice.base.errors import NotFoundError, OptionError, TooLargeError
from geoservice.workflow.photos import (
    ACCEPTED_TYPES,
    MAX_PIXELS,
    check_evidence,
    photo_path,
    problem_photos,
    save_photos,
)

PID = "DC202606-002"
MB = 1024 * 1024
NAME = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{8}\.jpg$")


def image_bytes(size=(300, 200), fmt="JPEG", mode="RGB", color="green", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format=fmt, **save)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def stored(folder: Path, name: str) -> Image.Image:
    return Image.open(folder / PID / name)


def save(folder: Path, files, **kw):  # type: ignore[no-untyped-def]
    return save_photos(folder, PID, files, max_bytes=kw.pop("max_bytes", 5 * MB), **kw)


def test_accepted_types_are_jpeg_png_and_webp():
    assert ACCEPTED_TYPES == {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def test_a_large_photo_is_shrunk_to_1600_on_the_long_side(tmp_path):
    names = save(tmp_path, [("site.jpg", image_bytes((3000, 2000)))])
    assert len(names) == 1 and NAME.match(names[0])
    with stored(tmp_path, names[0]) as im:
        assert im.format == "JPEG"
        assert im.size == (1600, 1067)


def test_a_small_photo_keeps_its_size(tmp_path):
    names = save(tmp_path, [("small.jpg", image_bytes((640, 480)))])
    with stored(tmp_path, names[0]) as im:
        assert im.size == (640, 480)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_stored_as_jpeg(tmp_path, fmt):
    names = save(tmp_path, [("photo.bin", image_bytes(fmt=fmt))])
    with stored(tmp_path, names[0]) as im:
        assert im.format == "JPEG" and im.mode == "RGB"


def test_transparent_png_is_flattened_on_white(tmp_path):
    data = image_bytes(fmt="PNG", mode="RGBA", color=(0, 0, 0, 0))
    names = save(tmp_path, [("clear.png", data)])
    with stored(tmp_path, names[0]) as im:
        assert min(im.getpixel((10, 10))) > 245


def test_exif_orientation_is_applied_and_exif_removed(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    data = image_bytes((3000, 2000), exif=exif.tobytes())
    names = save(tmp_path, [("turned.jpg", data)])
    with stored(tmp_path, names[0]) as im:
        assert im.size == (1067, 1600)
        assert len(im.getexif()) == 0
        assert "exif" not in im.info


def test_photos_are_stored_in_the_problem_folder_in_upload_order(tmp_path):
    names = save(tmp_path, [("a.jpg", image_bytes()), ("b.png", image_bytes(fmt="PNG"))])
    assert problem_photos(tmp_path, PID) == sorted(names)
    assert all((tmp_path / PID / n).is_file() for n in names)
    assert len(set(names)) == 2


def test_a_text_file_named_jpg_is_refused_by_content(tmp_path):
    with pytest.raises(OptionError, match=r"'notes\.jpg' contains text.*JPEG, PNG, WebP"):
        save(tmp_path, [("notes.jpg", "整改完成".encode())])
    assert problem_photos(tmp_path, PID) == []


@pytest.mark.parametrize(
    ("data", "seen"),
    [
        (image_bytes(fmt="GIF"), "a GIF image"),
        (b"%PDF-1.7\n...", "a PDF document"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32, "a HEIC photo"),
        (b"", "an empty file"),
    ],
)
def test_the_refusal_says_what_was_received(tmp_path, data, seen):
    with pytest.raises(OptionError, match=re.escape(seen)):
        save(tmp_path, [("x.jpg", data)])


def test_a_file_over_the_limit_is_refused_naming_file_size_and_limit(tmp_path):
    big = image_bytes() + b"\x00" * (MB + MB // 2)
    with pytest.raises(TooLargeError, match=r"'big\.jpg' is 1\.5 MB, over the 1 MB limit"):
        save(tmp_path, [("big.jpg", big)], max_bytes=MB)


@pytest.mark.parametrize(
    ("count", "said"), [(0, r"No photo was received"), (5, r"5 photos .* at most 4 are accepted")]
)
def test_no_file_or_too_many_files_are_refused(tmp_path, count, said):
    with pytest.raises(OptionError, match=said):
        save(tmp_path, [(f"{i}.jpg", image_bytes()) for i in range(count)])


def test_every_problem_is_reported_at_once_and_nothing_is_stored(tmp_path):
    files = [
        ("good.jpg", image_bytes()),
        ("big.jpg", b"\xff" * (MB + 1)),
        ("notes.jpg", b"plain text"),
    ]
    with pytest.raises(TooLargeError, match=r"'big\.jpg' is .*'notes\.jpg' contains text"):
        save(tmp_path, files, max_bytes=MB)
    assert problem_photos(tmp_path, PID) == []


def test_a_decompression_bomb_beyond_pillows_limit_is_refused(tmp_path):
    with pytest.raises(OptionError, match=r"'bomb\.png' has 400,000,000 pixels.*decompression"):
        save(tmp_path, [("bomb.png", png_header_only(20000, 20000))])


def test_a_picture_over_the_service_pixel_limit_is_refused_before_decoding(tmp_path):
    side = int(MAX_PIXELS**0.5) + 10
    with pytest.raises(OptionError, match=rf"'huge\.png' has {side * side:,} pixels"):
        save(tmp_path, [("huge.png", png_header_only(side, side))])


def test_a_damaged_photo_fails_the_whole_upload(tmp_path):
    whole = image_bytes((800, 600))
    truncated = whole[: whole.index(b"\xff\xda") + 40]  # header and a little scan data
    with pytest.raises(OptionError, match=r"'cut\.jpg' could not be decoded"):
        save(tmp_path, [("good.jpg", image_bytes()), ("cut.jpg", truncated)])
    assert problem_photos(tmp_path, PID) == []


def test_an_unsafe_problem_id_is_refused(tmp_path):
    with pytest.raises(OptionError, match="cannot name a photo folder"):
        save_photos(tmp_path, "../x", [("a.jpg", image_bytes())], max_bytes=MB)


def test_photo_path_returns_the_stored_file(tmp_path):
    [name] = save(tmp_path, [("a.jpg", image_bytes())])
    assert photo_path(tmp_path, PID, name) == tmp_path / PID / name


@pytest.mark.parametrize(
    "name", ["20260101T000000-00000000.jpg", "../secret.jpg", "a/b.jpg", "..", "a\\b.jpg", ""]
)
def test_photo_path_refuses_missing_and_escaping_names(tmp_path, name):
    (tmp_path / "secret.jpg").write_bytes(b"x")
    with pytest.raises(NotFoundError, match=f"Problem {PID} has no photo named"):
        photo_path(tmp_path, PID, name)


def test_problem_photos_is_empty_for_a_problem_without_photos(tmp_path):
    assert problem_photos(tmp_path, "NONE-1") == []


def test_check_evidence_names_the_missing_photos(tmp_path):
    [name] = save(tmp_path, [("a.jpg", image_bytes())])
    assert check_evidence(tmp_path, PID, [name]) == [name]
    with pytest.raises(OptionError, match=rf"'nope\.jpg'.*uploaded: {name}"):
        check_evidence(tmp_path, PID, [name, "nope.jpg"])


def test_a_damaged_photo_is_still_refused_once_the_work_order_renderer_is_loaded(
    tmp_path, pdf_libraries
):
    from PIL import ImageFile

    from geoservice.reports.dossier import load_weasyprint

    load_weasyprint()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    whole = image_bytes((800, 600))
    truncated = whole[: whole.index(b"\xff\xda") + 40]
    with pytest.raises(OptionError, match=r"'cut\.jpg' could not be decoded"):
        save(tmp_path, [("cut.jpg", truncated)])
