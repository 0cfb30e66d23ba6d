"""Imports uploaded over the web: who may import what, the upload's file, the import.

Who may import (Article 5: departments share their own data; Article 6: the office
requests and holds it):

- the office: any layer, any owner, any mode;
- a department: layers it owns. ``owner`` defaults to, and must be, its own department;
  ``append`` adds its rows to any shared layer, ``replace`` only to a layer every register
  row of which it owns (it may not wipe another department's data). Inspection problems
  are the office's (Article 7), so only the office imports them;
- villages and viewers: no.

The import itself is :func:`~geoservice.files.importing.import_file`, or for inspection
problems :func:`~geoservice.workflow.imports.import_problems`, exactly as the command line
runs them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, PermissionDeniedError, message
from geoservice.base.settings import Settings
from geoservice.base.workspace import Workspace
from layers.messages import Lang
from layers.schema import KINDS
from layers.table_limits import TableLimits

__all__ = [
    "CHUNK",
    "check_import",
    "check_kind",
    "import_owner",
    "run_import",
    "save_upload",
    "upload_name",
]

CHUNK = 1024 * 1024


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


def check_import(
    principal: Principal, ws: Workspace, kind: str, mode: str | None, owner: str | None
) -> str | None:
    """The owner department to record for an import of ``kind``, after checking that
    ``kind`` can be imported (NotFoundError) and that the caller may import it this way
    (PermissionDeniedError, see :func:`import_owner`)."""
    check_kind(kind)
    return import_owner(principal, ws, kind, mode, owner)


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


def run_import(
    ws: Workspace,
    kind: str,
    path: Path,
    principal: Principal,
    settings: Settings,
    lang: Lang,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """Import the file at ``path`` into layer ``kind``: ``import_problems`` for problems,
    else ``import_file``.

    ``options`` holds ``mode``, ``owner``, ``classification``, ``encoding``,
    ``parcel_kind``, ``crs``, ``layer`` and ``allow_shrink`` as the upload's form gave them.
    Returns the import report (``report``, its ``source`` without the upload folder), the
    register row (``catalog_entry``) and the layer's size (``layer_rows``); for problems
    the workflow import result (``problems_import``) instead.
    """
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
        return {"kind": kind, "problems_import": result.to_dict()}
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
    return {
        "kind": kind,
        "report": report,
        "catalog_entry": done.entry.to_dict(),
        "layer_rows": done.layer_rows,
    }
