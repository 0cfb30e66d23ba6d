"""Importing a problem list without losing workflow state.

``merge`` (the default): problems whose id is new are added (version 1, an ``[import]``
history row); problems already in the workspace keep their row, state, version and
history unchanged, and ids whose state in the file differs from the stored one are
listed in the result (``kept_ids``); stored problems missing from the file stay.

``replace`` (explicit): the layer becomes exactly the file. For stored ids the file's row
and state overwrite the stored ones (version +1 and a history row from the stored state
to the file's, so a client still holding the old version gets a conflict); stored ids
missing from the file are removed from the layer (a history row with state ``removed``).
The history itself is never deleted. The result lists what was overwritten and removed.

Both run as one copy-and-replace transaction of the workspace (``Workspace.transaction``)
holding ``<workspace>.lock``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geoservice.base.errors import NotFoundError, OptionError, message
from geoservice.base.gpkg_sql import audit, connect_file
from geoservice.base.workspace import CatalogEntry, Workspace, now_iso
from geoservice.base.workspace_write import write_frame
from geoservice.files.importing import to_workspace_crs
from geoservice.files.shrink import check_shrink
from geoservice.workflow.store import append_history, ensure_workflow
from layers import read_layer
from layers.attribution import attribute_villages
from layers.messages import Lang
from layers.report import ImportReport

__all__ = ["ProblemImport", "import_problems"]


@dataclass
class ProblemImport:
    """What an import of problems did."""

    mode: str
    added: list[str] = field(default_factory=list)
    kept_ids: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_rejected: int = 0
    report: ImportReport | None = field(default=None, repr=False)

    def to_dict(self, lang: Lang = "zh") -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "report"}
        if self.report is not None:
            detail = self.report.to_dict(lang)
            out["villages"] = detail["villages"]
            out["warnings"] = detail["warnings"]
        return out


def _check_villages(
    ws: Workspace, frame: gpd.GeoDataFrame, report: ImportReport
) -> gpd.GeoDataFrame:
    """Give every problem its village (code, name or location); refuse unknown villages."""
    # Read once; a workspace without villages is a NotFoundError naming the layer.
    villages = ws.read("villages", columns=["village_code", "village_name"])
    out, result = attribute_villages(frame, villages, id_column="problem_id")
    unknown = result.unknown.drop_duplicates("given")
    if len(unknown):
        pairs = "；".join(
            f"{r.given}（最接近：{'、'.join(r.suggestions) or '无'}）" for r in unknown.itertuples()
        )
        pairs_en = "; ".join(
            f"{r.given} (closest: {', '.join(r.suggestions) or 'none'})"
            for r in unknown.itertuples()
        )
        raise NotFoundError(
            message(
                "workflow.import_unknown_village",
                f"问题清单中有 {len(result.unknown)} 行的村名或村代码不在村界图层中，且没有可归属的坐标："
                f"{pairs}；请改正村名、填写村代码或坐标后重新导入，工作空间未改变。",
                f"{len(result.unknown)} rows of the problem list name villages that are not in "
                f"the villages layer and have no location inside one: {pairs_en}; correct the "
                "names, or give village codes or coordinates, and import again. The workspace "
                "is unchanged.",
            )
        )
    report.villages = result
    report.warnings.extend(result.messages())
    return out


def import_problems(
    ws: Workspace,
    path: str | Path,
    *,
    actor: str,
    mode: str = "merge",
    allow_shrink: bool = False,
    **read_options: Any,
) -> ProblemImport:
    """Import a problem list (XLSX/CSV/shapefile...) keeping workflow state; see module doc.

    ``read_options`` go to :func:`layers.read_layer` (encoding, crs, mapping, layer). A
    ``replace`` that would leave fewer than half the stored problems is refused
    (:class:`~geoservice.base.errors.ShrinkRefusedError`) unless ``allow_shrink``.
    """
    if mode not in ("merge", "replace"):
        raise OptionError(
            message(
                "workflow.bad_import_mode",
                f"--mode 为“{mode}”，应为 merge（保留已有问题的整改状态，默认）或 replace"
                "（以文件为准，覆盖已有状态并移除文件中没有的问题）。",
                f"`mode` was {mode!r} but is expected to be 'merge' (keep stored workflow "
                "state, the default) or 'replace' (the file wins: overwrite stored states and "
                "remove problems missing from the file).",
            )
        )
    target = ws.crs()
    frame, report = read_layer(path, "problems", target_crs=target, **read_options)
    frame = to_workspace_crs(frame, target, report)
    frame = _check_villages(ws, frame, report)
    result = ProblemImport(
        mode, rows_read=report.rows_read, rows_rejected=report.rows_rejected, report=report
    )
    at = now_iso()
    with ws.transaction() as work:
        old = None
        if "problems" in [n for n, _ in pyogrio.list_layers(work)]:
            with contextlib.closing(connect_file(work)) as con, con:
                ensure_workflow(con, actor)
            old = pyogrio.read_dataframe(work, layer="problems")
        if mode == "replace" and old is not None:
            check_shrink(old, frame, "problems", Path(path).name, allow=allow_shrink)
        new = _merged(old, frame, mode, at, actor, result)
        write_frame(new, work, "problems")
        with contextlib.closing(connect_file(work)) as con, con:
            ensure_workflow(con, actor)
            _record(con, old, frame, result, at, actor)
            entry = CatalogEntry(
                "problems",
                "",
                "agriculture",
                "internal",
                Path(path).name,
                report.sha256,
                report.encoding,
                report.crs,
                report.rows_imported,
                report.rows_rejected,
                actor,
                at,
                mode,
            )
            values = entry.to_dict()
            if mode == "replace":
                con.execute("DELETE FROM layer_catalog WHERE layer = 'problems'")
            con.execute(
                f"INSERT INTO layer_catalog ({', '.join(values)}) "
                f"VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
            audit(con, at, actor, f"import.problems.{mode}", "problems", result.to_dict())
    return result


def _merged(
    old: gpd.GeoDataFrame | None,
    frame: gpd.GeoDataFrame,
    mode: str,
    at: str,
    actor: str,
    result: ProblemImport,
) -> gpd.GeoDataFrame:
    frame = frame.assign(version=1, updated_at=at, updated_by=actor)
    if old is None or not len(old):
        result.added = frame["problem_id"].astype(str).tolist()
        return frame
    stored = old.set_index(old["problem_id"].astype(str))
    ids = frame["problem_id"].astype(str)
    known = ids.isin(stored.index).to_numpy()
    result.added = ids[~known].tolist()
    if mode == "merge":
        differs = known & (
            frame["status"].astype(str).to_numpy()
            != stored["status"].reindex(ids).astype(str).to_numpy()
        )
        result.kept_ids = ids[differs].tolist()
        out = pd.concat([old, frame.loc[~known].to_crs(old.crs)], ignore_index=True)
        return gpd.GeoDataFrame(out, geometry=old.geometry.name, crs=old.crs)
    result.overwritten = ids[known].tolist()
    result.removed = sorted(set(stored.index) - set(ids))
    frame["version"] = stored["version"].reindex(ids).fillna(0).astype("int64").to_numpy() + 1
    return frame


def _record(
    con: sqlite3.Connection,
    old: gpd.GeoDataFrame | None,
    frame: gpd.GeoDataFrame,
    result: ProblemImport,
    at: str,
    actor: str,
) -> None:
    status = dict(zip(frame["problem_id"].astype(str), frame["status"].astype(str), strict=True))
    before: dict[str, str] = {}
    if old is not None:
        before = dict(zip(old["problem_id"].astype(str), old["status"].astype(str), strict=True))
    note = f"[import {result.mode}]"
    for pid in result.added:
        last = con.execute(
            "SELECT max(version) FROM problem_history WHERE problem_id = ?", (pid,)
        ).fetchone()[0]
        version = int(last or 0) + 1
        con.execute("UPDATE problems SET version = ? WHERE problem_id = ?", (version, pid))
        append_history(con, pid, at, actor, None, status[pid], note, [], version)
    for pid in result.overwritten:
        version = con.execute(
            "SELECT version FROM problems WHERE problem_id = ?", (pid,)
        ).fetchone()[0]
        append_history(con, pid, at, actor, before[pid], status[pid], note, [], int(version))
    for pid in result.removed:
        last = con.execute(
            "SELECT max(version) FROM problem_history WHERE problem_id = ?", (pid,)
        ).fetchone()[0]
        append_history(con, pid, at, actor, before[pid], "removed", note, [], int(last or 0) + 1)
