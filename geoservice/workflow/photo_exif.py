"""Where and when a photo was taken, from its EXIF block (read with Pillow).

A rectification photo's EXIF GPS position and capture time are the evidence that the work
was checked on the spot (``docs/design.md#access-rules`` says who may see them). What phones
really write, and how each case is read:

- GPS latitude and longitude are three rationals (degrees, minutes, seconds), with ``N``/``S``
  and ``E``/``W`` references: a southern or western reference makes the value negative; a
  missing reference is read as ``N``/``E``;
- a rational with a zero denominator (a camera without a fix) is no position;
- ``0, 0`` is a receiver without a fix, never a real place in this service's area: no
  position; values outside ±90 / ±180 are no position either;
- altitude is a rational in metres with a reference byte (1 = below sea level);
- the capture time is ``DateTimeOriginal`` (``YYYY:MM:DD HH:MM:SS``, the camera's local
  time) with ``OffsetTimeOriginal`` (``+08:00``) when present; blank or zero dates are no
  time; without ``DateTimeOriginal`` the GPS date and time stamps (UTC) are used.

EXIF GPS is WGS 84, which differs from CGCS2000 by centimetres: positions are stored as
degrees of EPSG:4326.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

__all__ = ["PhotoPlace", "exif_place", "office_exif"]

_GPS = ExifTags.IFD.GPSInfo
_EXIF = ExifTags.IFD.Exif
_ORIENTATION = ExifTags.Base.Orientation
# Dropped from the office copy: maker notes and comments (large, and they may carry serial
# numbers; the office copy keeps the EXIF that is evidence, not the camera's internals).
_DROPPED = (ExifTags.Base.MakerNote, ExifTags.Base.UserComment)
# What Pillow raises on a damaged EXIF block (bad offsets, truncated entries).
_BROKEN = (OSError, ValueError, SyntaxError, KeyError, IndexError, TypeError, struct.error)


@dataclass(frozen=True)
class PhotoPlace:
    """Where and when a photo says it was taken.

    Attributes
    ----------
    lat, lon : float or None
        Degrees (EPSG:4326), negative south and west; None without a usable GPS fix.
    altitude_m : float or None
        Metres above sea level (negative below).
    taken_at : str or None
        ISO 8601: with its UTC offset when the photo records one (``+08:00``), else the
        camera's local time without an offset.
    time_source : {"DateTimeOriginal", "GPS"} or None
    gps : {"fix", "none", "zero", "invalid"}
        How the GPS block read: a position, no GPS block, the 0/0 of a receiver without a
        fix, or unreadable values.
    """

    lat: float | None = None
    lon: float | None = None
    altitude_m: float | None = None
    taken_at: str | None = None
    time_source: str | None = None
    gps: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> float | None:
    """A rational or number as a float; None for a zero denominator or junk."""
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return out if math.isfinite(out) else None


def _degrees(value: Any) -> float | None:
    """(degrees, minutes, seconds) rationals, or one number, as decimal degrees."""
    parts = value if isinstance(value, tuple | list) else (value,)
    found = [_number(p) for p in parts[:3]]
    numbers = [n for n in found if n is not None]
    if not numbers or len(numbers) != len(found):
        return None
    scale = (1.0, 60.0, 3600.0)
    return float(sum(n / s for n, s in zip(numbers, scale, strict=False)))


def _ref(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").upper()[:1]


def _position(gps: dict[int, Any]) -> tuple[float | None, float | None, str]:
    if ExifTags.GPS.GPSLatitude not in gps or ExifTags.GPS.GPSLongitude not in gps:
        return None, None, "none"
    lat = _degrees(gps[ExifTags.GPS.GPSLatitude])
    lon = _degrees(gps[ExifTags.GPS.GPSLongitude])
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None, None, "invalid"
    if lat == 0 and lon == 0:
        return None, None, "zero"
    if _ref(gps.get(ExifTags.GPS.GPSLatitudeRef)) == "S":
        lat = -lat
    if _ref(gps.get(ExifTags.GPS.GPSLongitudeRef)) == "W":
        lon = -lon
    return round(lat, 7), round(lon, 7), "fix"


def _altitude(gps: dict[int, Any]) -> float | None:
    alt = _number(gps.get(ExifTags.GPS.GPSAltitude))
    if alt is None:
        return None
    ref = gps.get(ExifTags.GPS.GPSAltitudeRef)
    below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    return round(-alt if below else alt, 1)


def _local_time(text: Any, offset: Any) -> str | None:
    """``DateTimeOriginal`` (+ ``OffsetTimeOriginal``) as ISO 8601, or None when blank."""
    raw = str(text or "").strip("\x00 ")
    try:
        when = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _offset(offset)
    return (when.replace(tzinfo=zone) if zone else when).isoformat()


def _offset(text: Any) -> timezone | None:
    raw = str(text or "").strip("\x00 ")
    if len(raw) != 6 or raw[0] not in "+-" or raw[3] != ":":
        return None
    try:
        hours, minutes = int(raw[1:3]), int(raw[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if raw[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _gps_time(gps: dict[int, Any]) -> str | None:
    """GPS date and time stamps (UTC) as ISO 8601, or None."""
    day = str(gps.get(ExifTags.GPS.GPSDateStamp) or "").strip("\x00 ")
    stamp = gps.get(ExifTags.GPS.GPSTimeStamp)
    if not day or not isinstance(stamp, tuple | list) or len(stamp) != 3:
        return None
    parts = [n for n in (_number(p) for p in stamp) if n is not None]
    if len(parts) != 3:
        return None
    h, m, s = parts
    try:
        base = datetime.strptime(day, "%Y:%m:%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (base + timedelta(hours=h, minutes=m, seconds=int(s))).isoformat()


def exif_place(image: Image.Image) -> PhotoPlace:
    """The GPS position, altitude and capture time an opened photo's EXIF records (empty
    fields when it records none; never an error: a photo without EXIF is still a photo)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns of a truncated block, then reads on
            exif = image.getexif()
            gps = dict(exif.get_ifd(_GPS)) if exif else {}
            tags = dict(exif.get_ifd(_EXIF)) if exif else {}
    except _BROKEN:
        return PhotoPlace(gps="invalid")
    if not exif:
        return PhotoPlace()
    lat, lon, status = _position(gps)
    taken = _local_time(
        tags.get(ExifTags.Base.DateTimeOriginal), tags.get(ExifTags.Base.OffsetTimeOriginal)
    )
    source = "DateTimeOriginal" if taken else None
    if taken is None:
        taken = _gps_time(gps)
        source = "GPS" if taken else None
    return PhotoPlace(
        lat=lat,
        lon=lon,
        altitude_m=_altitude(gps) if status == "fix" else None,
        taken_at=taken,
        time_source=source,
        gps=status,
    )


def office_exif(image: Image.Image) -> Image.Exif | None:
    """The EXIF block of the office copy: the photo's own, upright (orientation 1, the
    pixels are already turned) and without maker notes or comments; None when the photo has
    no EXIF worth keeping."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = image.getexif()
            if not {k for k in source if k != _ORIENTATION}:
                return None
            exif = Image.Exif()  # a copy: the opened image's own block stays as it was
            exif.load(source.tobytes())
            inner = exif.get_ifd(_EXIF)
            for tag in _DROPPED:
                inner.pop(tag, None)
            exif.get_ifd(_GPS)  # load the GPS block so it is written back
    except _BROKEN:
        return None  # an unreadable EXIF block is not copied; the photo itself is kept
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    return exif
