"""The sharing register (Article 5) as a caller may read it.

A row is shown when the caller may read its classification (:meth:`Principal.can_read`):
the office everything, departments up to ``internal``, villages and viewers ``public``
only. Who imported a layer is staff information, hidden from villages and viewers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geoservice.base.access import Principal
from geoservice.base.workspace import CatalogEntry, Workspace
from layers.messages import Lang, pick
from layers.schema import SCHEMAS

__all__ = ["readable_register", "register_row"]

_STAFF = ("office", "department")


def register_row(
    e: CatalogEntry, principal: Principal, names: Mapping[str, tuple[str, str]], lang: Lang
) -> dict[str, Any]:
    """One register row with its layer title and owner name in ``lang``."""
    schema = SCHEMAS.get(e.layer)  # type: ignore[call-overload]
    zh, en = (schema.zh, schema.en) if schema is not None else (e.layer, e.layer)
    owner = names.get(e.owner_department, (e.owner_department, e.owner_department))
    return {
        "layer": e.layer,
        "part": e.part,
        "title": pick(lang, zh, en),
        "title_zh": zh,
        "owner_department": e.owner_department,
        "owner_name": pick(lang, *owner),
        "classification": e.classification,
        "source_file": e.source_file,
        "rows": int(e.rows),
        "rows_rejected": int(e.rows_rejected),
        "updated_at": e.imported_at,
        "imported_by": e.imported_by if principal.role in _STAFF else None,
        "mode": e.mode,
        "encoding": e.encoding,
        "crs": e.crs,
    }


def readable_register(
    ws: Workspace, principal: Principal, names: Mapping[str, tuple[str, str]], lang: Lang
) -> list[dict[str, Any]]:
    """The register rows whose classification the caller may read, in register order."""
    entries = [e for e in ws.catalog() if principal.can_read(e.classification)]
    return [register_row(e, principal, names, lang) for e in entries]
