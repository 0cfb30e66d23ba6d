"""The sharing register (Article 5) and imports over the web.

``GET /layers``
    The register rows the caller may read (:meth:`Principal.can_read` of each row's
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
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PureWindowsPath
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

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
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, PermissionDeniedError, message
from geoservice.base.settings import Settings
from geoservice.base.workspace import CatalogEntry, Workspace
from layers.errors import MessageError
from layers.messages import Lang, pick
from layers.schema import KINDS, SCHEMAS
from layers.table_limits import TableLimits

router = APIRouter(tags=["layers"])

CHUNK = 1024 * 1024
_STAFF = ("office", "department")


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
    layers: list[LayerEntry]


class ImportOut(BaseModel):
    """What an import did: the import report, the register row and the layer's size; for
    inspection problems the workflow import result instead."""

    kind: str
    report: dict[str, Any] | None = None
    catalog_entry: dict[str, Any] | None = None
    layer_rows: int | None = None
    problems_import: dict[str, Any] | None = None


def _entry(
    e: CatalogEntry, principal: Principal, names: dict[str, tuple[str, str]], lang: Lang
) -> LayerEntry:
    schema = SCHEMAS.get(e.layer)  # type: ignore[call-overload]
    zh, en = (schema.zh, schema.en) if schema is not None else (e.layer, e.layer)
    owner = names.get(e.owner_department, (e.owner_department, e.owner_department))
    return LayerEntry(
        layer=e.layer,
        part=e.part,
        title=pick(lang, zh, en),
        title_zh=zh,
        owner_department=e.owner_department,
        owner_name=pick(lang, *owner),
        classification=e.classification,
        source_file=e.source_file,
        rows=int(e.rows),
        rows_rejected=int(e.rows_rejected),
        updated_at=e.imported_at,
        # Who imported is staff information: not shown to villages and viewers.
        imported_by=e.imported_by if principal.role in _STAFF else None,
        mode=e.mode,
        encoding=e.encoding,
        crs=e.crs,
    )


@router.get("/layers", response_model=LayerList)
def list_layers(
    request: Request,
    principal: Caller,
    ws: WorkspaceDep,
    names: DepartmentNamesDep,
    lang: LangDep,
) -> LayerList:
    """The sharing register (数据共享目录): the rows whose classification the caller may read."""
    entries = [e for e in ws.catalog() if principal.can_read(e.classification)]
    audit(request, principal, "layers.list", "layer_catalog", {"rows": len(entries)})
    return LayerList(layers=[_entry(e, principal, names, lang) for e in entries])


def check_kind(kind: str) -> None:
    """NotFoundError naming ``kind`` unless it is a layer kind that can be imported."""
    if kind in KINDS:
        return
    raise NotFoundError(
        message(
            "layers.unknown_kind",
            f"没有名为“{kind}”的图层类型；可导入的图层：{'、'.join(KINDS)}。",
            f"There is no layer kind {kind!r}; the layers that can be imported are: "
            f"{', '.join(KINDS)}.",
        )
    )


def import_owner(
    principal: Principal, ws: Workspace, kind: str, mode: str | None, owner: str | None
) -> str | None:
    """The owner department to record, after checking the caller may import this way.

    PermissionDeniedError when a department imports problems, names another owner, or
    replaces a layer another department contributed to.
    """
    if principal.role == "office":
        return owner
    mine = str(principal.department)
    if kind == "problems":
        principal.require("office")
    if owner not in (None, "", mine):
        raise PermissionDeniedError(
            message(
                "layers.foreign_owner",
                f"部门用户只能以本部门（{mine}）名义共享数据，owner 却为“{owner}”；"
                "请去掉 owner 或改为本部门，或请镇林长办导入。",
                f"A department shares data as itself ({mine}), but `owner` was {owner!r}; "
                "leave owner out or set it to your department, or ask the forest-chief office.",
            )
        )
    if (mode or "replace") == "replace" and ws.exists():
        others = sorted({e.owner_department for e in ws.catalog() if e.layer == kind} - {mine})
        if others:
            raise PermissionDeniedError(
                message(
                    "layers.replace_foreign",
                    f"图层“{kind}”含有其他部门（{'、'.join(others)}）共享的数据，部门不能替换；"
                    "请用 mode=append 追加本部门的数据，或请镇林长办替换。",
                    f"Layer {kind!r} holds data shared by other departments "
                    f"({', '.join(others)}), which a department may not replace; use "
                    "mode=append to add your rows, or ask the forest-chief office to replace it.",
                )
            )
    return mine


def upload_name(filename: str | None) -> str:
    """The upload's own file name, without any folder part; OptionError when unusable."""
    raw = (filename or "").replace("\x00", "")
    name = PureWindowsPath(raw.replace("/", "\\")).name.strip()
    if not name or name.startswith("."):
        raise OptionError(
            message(
                "layers.bad_file_name",
                f"上传文件名为“{raw}”，无法作为数据文件名；请上传带扩展名的文件，如 小班.zip。",
                f"The uploaded file name was {raw!r}, which cannot name a data file; upload a "
                "file with its extension, e.g. parcels.zip.",
            )
        )
    return name


def save_upload(source: BinaryIO, dest: Path) -> int:
    """Copy an upload to ``dest`` in chunks; returns the bytes written."""
    written = 0
    with dest.open("wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            written += len(chunk)
    return written


def _problem_options(mode: str | None, owner: str | None, classification: str | None) -> str:
    if owner or classification:
        raise OptionError(
            message(
                "layers.problems_options",
                "督查问题的主管部门和密级固定（镇农业农村办、internal），请去掉 owner 和 classification。",
                "Inspection problems always belong to the agriculture office as internal "
                "data; leave out owner and classification.",
            )
        )
    return "replace" if mode == "replace" else "merge"


def _run_import(
    ws: Workspace,
    kind: str,
    path: Path,
    principal: Principal,
    settings: Settings,
    lang: Lang,
    options: dict[str, Any],
) -> ImportOut:
    """The one core call: ``import_problems`` for problems, else ``import_file``."""
    read_options: dict[str, Any] = {
        k: options[k] for k in ("encoding", "crs", "layer") if options[k]
    }
    read_options["table_limits"] = TableLimits(settings.max_import_rows, settings.max_import_cells)
    if kind == "problems":
        from geoservice.workflow.imports import import_problems

        mode = _problem_options(options["mode"], options["owner"], options["classification"])
        result = import_problems(
            ws,
            path,
            actor=principal.actor,
            mode=mode,
            allow_shrink=options["allow_shrink"],
            **read_options,
        )
        return ImportOut(kind=kind, problems_import=result.to_dict())
    from geoservice.files.importing import import_file

    done = import_file(
        ws,
        path,
        kind,
        actor=principal.actor,
        parcel_kind=options["parcel_kind"] or None,
        mode=options["mode"] or "replace",
        owner=options["owner"] or None,
        classification=options["classification"] or None,
        workspace_crs=settings.crs,
        allow_shrink=options["allow_shrink"],
        **read_options,
    )
    report = done.report.to_dict(lang)
    report["source"] = str(report["source"]).replace(str(path.parent) + os.sep, "")
    return ImportOut(
        kind=kind,
        report=report,
        catalog_entry=done.entry.to_dict(),
        layer_rows=done.layer_rows,
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
    check_kind(kind)
    owner = import_owner(principal, ws, kind, mode, owner)
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
            out = _run_import(ws, kind, path, principal, settings, lang, options)
        except MessageError as exc:
            audit(request, principal, "layers.import_refused", kind, {**detail, "code": exc.code})
            raise
    if out.report is not None:
        detail |= {k: out.report[k] for k in ("rows_imported", "rows_rejected")}
    audit(request, principal, "layers.import", kind, detail)
    return out
