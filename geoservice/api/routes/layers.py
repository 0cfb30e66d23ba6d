"""The sharing register (Article 5) and imports over the web.

``GET /layers``
    One page (``limit``, ``offset``; ``total``, ``next`` and an ``ETag``:
    :mod:`geoservice.api.paging`) of the register rows the caller may read (:meth:`Principal.can_read` of each row's
    classification): office everything, departments up to ``internal``, villages and
    viewers ``public`` only.
``POST /layers/{kind}/import``
    A multipart upload (field ``file``; form fields ``mode``, ``owner``,
    ``classification``, ``encoding``, ``parcel_kind``, ``crs``, ``layer``,
    ``allow_shrink``) saved to a temporary folder and imported exactly as ``geoservice
    import`` does: zips are checked and unpacked by the reader, data marked classified
    (涉密) is refused, a file whose rows are all rejected answers 422 with its import
    report, and a ``replace`` that would leave fewer than half the layer's rows answers
    409 unless ``allow_shrink`` is true.

Who may import (Article 5: departments share their own data; Article 6: the office
requests and holds it):

- the office: any layer, any owner, any mode;
- a department: layers it owns. ``owner`` defaults to, and must be, its own department;
  ``append`` adds its rows to any shared layer, ``replace`` only to a layer every register
  row of which it owns (it may not wipe another department's data). Inspection problems
  are the office's (Article 7), so only the office imports them;
- villages and viewers: no (403).

The register rows come from :mod:`geoservice.files.register`; the checks and the import
from :mod:`geoservice.workflow.uploads`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, Field

from geoservice.api.deps import (
    Caller,
    DepartmentNamesDep,
    LangDep,
    SettingsDep,
    WorkspaceDep,
    audit,
    require,
)
from geoservice.api.limits import ShortText
from geoservice.api.paging import LIST_RESPONSES, PageDep, list_etag, not_modified, paging_headers
from geoservice.base.access import Principal
from geoservice.files.register import readable_register
from geoservice.workflow.uploads import check_import, run_import, save_upload, upload_name
from layers.errors import MessageError

router = APIRouter(tags=["layers"])


class LayerEntry(BaseModel):
    """One row of the sharing register as the caller may see it."""

    layer: str
    part: str
    title: str
    title_zh: str
    owner_department: str
    owner_name: str
    classification: str
    source_file: str
    rows: int
    rows_rejected: int
    updated_at: str
    imported_by: str | None
    mode: str
    encoding: str | None
    crs: str | None


class LayerList(BaseModel):
    total: int
    limit: int
    offset: int
    next: str | None = Field(default=None, description="absolute address of the next page")
    layers: list[LayerEntry]


class ImportOut(BaseModel):
    """What an import did: the import report, the register row and the layer's size; for
    inspection problems the workflow import result instead."""

    kind: str
    report: dict[str, Any] | None = None
    catalog_entry: dict[str, Any] | None = None
    layer_rows: int | None = None
    problems_import: dict[str, Any] | None = None


@router.get("/layers", response_model=LayerList, responses=LIST_RESPONSES)
def list_layers(
    request: Request,
    response: Response,
    principal: Caller,
    ws: WorkspaceDep,
    names: DepartmentNamesDep,
    lang: LangDep,
    page: PageDep,
) -> Any:
    """The sharing register (数据共享目录): the rows whose classification the caller may
    read, one page (the register holds a row per import, so it is cut after reading)."""
    # department names come from the rules, which may change without the data
    etag = list_etag(request, ws, principal, lang, extra=tuple(sorted(names.items())))
    unchanged = not_modified(request, etag)
    if unchanged is not None:
        return unchanged
    rows = readable_register(ws, principal, names, lang)
    link = paging_headers(request, response, page, len(rows), etag)
    chosen = page.cut(rows)
    detail = {"rows": len(chosen), "total": len(rows), "offset": page.offset}
    audit(request, principal, "layers.list", "layer_catalog", detail)
    return LayerList.model_validate(
        {
            "total": len(rows),
            "limit": page.limit,
            "offset": page.offset,
            "next": link,
            "layers": chosen,
        }
    )


Text = Annotated[ShortText | None, Form()]


@router.post("/layers/{kind}/import", response_model=ImportOut, status_code=201)
def import_layer(
    kind: str,
    request: Request,
    principal: Annotated[Principal, require("office", "department")],
    ws: WorkspaceDep,
    settings: SettingsDep,
    lang: LangDep,
    file: Annotated[
        UploadFile, File(description="shapefile .zip, .gpkg, .geojson, .kml(z), .csv, .xlsx")
    ],
    mode: Text = None,
    owner: Text = None,
    classification: Text = None,
    encoding: Text = None,
    parcel_kind: Text = None,
    crs: Text = None,
    layer: Text = None,
    allow_shrink: Annotated[
        bool,
        Form(description="replace even when the layer would keep fewer than half its rows"),
    ] = False,
) -> ImportOut:
    """Import an uploaded survey file into a shared layer (导入调查数据); 201 with the report."""
    owner = check_import(principal, ws, kind, mode, owner)
    name = upload_name(file.filename)
    options = {
        "mode": mode,
        "owner": owner,
        "classification": classification,
        "encoding": encoding,
        "parcel_kind": parcel_kind,
        "crs": crs,
        "layer": layer,
        "allow_shrink": allow_shrink,
    }
    detail: dict[str, Any] = {"file": name, **{k: v for k, v in options.items() if v}}
    with tempfile.TemporaryDirectory(prefix="geoservice-upload-") as folder:
        path = Path(folder) / name
        detail["bytes"] = save_upload(file.file, path)
        try:
            out = ImportOut.model_validate(
                run_import(ws, kind, path, principal, settings, lang, options)
            )
        except MessageError as exc:
            audit(request, principal, "layers.import_refused", kind, {**detail, "code": exc.code})
            raise
    if out.report is not None:
        detail |= {k: out.report[k] for k in ("rows_imported", "rows_rejected")}
    audit(request, principal, "layers.import", kind, detail)
    return out
