"""The sharing register's row (``layer_catalog``), its default owners and classifications.

Re-exported by :mod:`geoservice.base.workspace`, which writes the register.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CLASSIFICATIONS",
    "DEFAULT_CLASSIFICATION",
    "DEFAULT_OWNER",
    "CatalogEntry",
    "now_iso",
]

CLASSIFICATIONS = ("public", "internal", "restricted")
DEFAULT_OWNER: dict[str, str] = {
    "villages": "natural_resources",
    "parcels": "agriculture",
    "complaints": "agriculture",
    "patches": "agriculture",
    "problems": "agriculture",
}
DEFAULT_CLASSIFICATION: dict[str, str] = {
    "villages": "public",
    "parcels": "internal",
    "complaints": "restricted",
    "patches": "internal",
    "problems": "internal",
}


@dataclass(frozen=True)
class CatalogEntry:
    """One row of the sharing register (``layer_catalog``)."""

    layer: str
    part: str
    owner_department: str
    classification: str
    source_file: str
    sha256: str | None
    encoding: str | None
    crs: str | None
    rows: int
    rows_rejected: int
    imported_by: str
    imported_at: str
    mode: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
