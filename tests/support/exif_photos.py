"""Phone-like photos built with Pillow, carrying a real EXIF block: GPS as degree, minute
and second rationals with N/S and E/W references, altitude with its reference byte, the
capture time with its UTC offset, and an orientation tag."""

from __future__ import annotations

import io
from typing import Any

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

GPS = ExifTags.GPS


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """``abs(value)`` degrees as the three rationals a phone writes (seconds to 1/100)."""
    v = abs(value)
    deg = int(v)
    minutes = int((v - deg) * 60)
    seconds = (v - deg - minutes / 60) * 3600
    return IFDRational(deg, 1), IFDRational(minutes, 1), IFDRational(round(seconds * 100), 100)


def gps_block(lat: float, lon: float, alt: float | None = None) -> dict[int, Any]:
    """The GPS IFD of a fix at ``lat``, ``lon`` (negative: south, west) and ``alt`` m."""
    block: dict[int, Any] = {
        GPS.GPSLatitudeRef: "S" if lat < 0 else "N",
        GPS.GPSLatitude: dms(lat),
        GPS.GPSLongitudeRef: "W" if lon < 0 else "E",
        GPS.GPSLongitude: dms(lon),
    }
    if alt is not None:
        block[GPS.GPSAltitudeRef] = b"\x01" if alt < 0 else b"\x00"
        block[GPS.GPSAltitude] = IFDRational(round(abs(alt) * 10), 10)
    return block


def exif_photo(
    *,
    gps: dict[int, Any] | None = None,
    when: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
    size: tuple[int, int] = (400, 300),
    fmt: str = "JPEG",
    maker_note: bytes | None = None,
) -> bytes:
    """A photo whose EXIF holds ``gps`` (a GPS IFD), ``when`` (DateTimeOriginal,
    ``YYYY:MM:DD HH:MM:SS``), ``offset`` (OffsetTimeOriginal) and ``orientation``. The
    left half is red and the right half blue, so a rotation can be seen in the pixels."""
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Model] = "Redmi Note 12"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps is not None:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(gps)
    inner = exif.get_ifd(ExifTags.IFD.Exif)
    if when is not None:
        inner[ExifTags.Base.DateTimeOriginal] = when
    if offset is not None:
        inner[ExifTags.Base.OffsetTimeOriginal] = offset
    if maker_note is not None:
        inner[ExifTags.Base.MakerNote] = maker_note
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def read_exif(data: bytes) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """The IFD0, GPS and Exif blocks of an encoded photo (empty when it has none)."""
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        return (
            dict(exif),
            dict(exif.get_ifd(ExifTags.IFD.GPSInfo)),
            dict(exif.get_ifd(ExifTags.IFD.Exif)),
        )
