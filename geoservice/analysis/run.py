"""One analysis run: read the workspace, score parcels, build targets, store everything.

The run is reproducible: every time-dependent figure uses ``as_of``, the effective rules
are hashed, and the input layers are identified by the hashes of their source files; all
three are recorded in ``analysis_runs`` with the counts and the duration.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd

from geoservice.analysis import lanes
from geoservice.analysis.complaints import COMPLAINT_COLUMNS
from geoservice.analysis.deadlines import earlier_deadlines, with_deadlines
from geoservice.analysis.rules import Rules, rules_hash
from geoservice.analysis.scoring import PARCEL_READ_COLUMNS, score_parcels
from geoservice.analysis.target_register import identify, record_identity
from geoservice.analysis.targets import build_targets_and_reasons
from geoservice.base.errors import NotFoundError, message
from geoservice.base.workspace import Workspace
from layers.messages import Lang
from layers.schema import SCHEMAS

INPUTS = ("parcels", "complaints", "patches", "problems")


@dataclass
class AnalysisResult:
    """What one run found.

    Attributes
    ----------
    parcel_risk, targets : geopandas.GeoDataFrame
        The two layers written to the workspace (workspace CRS, metres).
    unmatched_complaints, unmatched_problems : pandas.DataFrame
        Evidence that could not be tied to any parcel (listed, not dropped).
    """

    as_of: date
    rules_hash: str
    parcel_risk: gpd.GeoDataFrame
    targets: gpd.GeoDataFrame
    unmatched_complaints: pd.DataFrame
    unmatched_problems: pd.DataFrame
    inputs: dict[str, Any]
    duration_s: float
    complaints_without_location: int = 0

    def counts(self) -> dict[str, Any]:
        """Counts for the run record and the summary."""
        flagged = int(self.parcel_risk["flagged"].sum()) if len(self.parcel_risk) else 0
        return {
            "parcels_with_evidence": len(self.parcel_risk),
            "flagged_parcels": flagged,
            "targets": len(self.targets),
            "targets_by_priority": dict(sorted(Counter(self.targets["priority"]).items())),
            "targets_by_lead": dict(Counter(self.targets["lead_department"]).most_common()),
            "criminal_targets": int(self.targets["criminal_threshold_met"].sum())
            if len(self.targets)
            else 0,
            "unmatched_complaints": len(self.unmatched_complaints),
            "complaints_without_location": self.complaints_without_location,
            "unmatched_problems": len(self.unmatched_problems),
        }


def empty_layer(kind: str, crs: Any) -> gpd.GeoDataFrame:
    """An empty layer of ``kind`` with its canonical columns, in ``crs``."""
    names = list(SCHEMAS[kind].names)  # type: ignore[index]
    return gpd.GeoDataFrame({n: pd.Series(dtype="object") for n in names}, geometry=[], crs=crs)


# the columns the analysis reads of the two largest layers (the others are read whole):
# parcels and complaints carry many more (survey codes, coordinates as text, channel)
ANALYSIS_COLUMNS = {"parcels": PARCEL_READ_COLUMNS, "complaints": COMPLAINT_COLUMNS}


def _read(ws: Workspace, kind: str) -> gpd.GeoDataFrame:
    """Layer ``kind`` with the analysis columns it has (all columns when not listed)."""
    if kind not in ANALYSIS_COLUMNS:
        return ws.read(kind)
    fields = set(ws.info(kind)["fields"])
    return ws.read(kind, columns=[name for name in ANALYSIS_COLUMNS[kind] if name in fields])


def read_inputs(ws: Workspace, *, parallel: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """The four input layers, parcels and complaints with the columns the analysis reads
    (:data:`ANALYSIS_COLUMNS`) only; parcels are required, the others may be absent
    (empty). ``parallel``: the other layers are read on a second thread."""
    present = set(ws.layer_names())
    if "parcels" not in present:
        raise NotFoundError(
            message(
                "analysis.no_parcels",
                f"工作空间 {ws.path} 中还没有森林湿地小班（parcels）图层；请先导入小班数据："
                "geoservice import parcels 小班.shp。",
                f"Workspace {ws.path} has no parcels layer yet; import the sub-compartments "
                "first: geoservice import parcels FILE.",
            )
        )
    # the parcels (the largest layer) are read while the other layers are read beside them
    with lanes.lane(parallel) as lane:
        others = {kind: lane.submit(_read, ws, kind) for kind in INPUTS[1:] if kind in present}
        frames = {"parcels": _read(ws, "parcels")}
        crs = frames["parcels"].crs
        for kind in INPUTS[1:]:
            frames[kind] = others[kind].result() if kind in others else empty_layer(kind, crs)
    return frames


def analyze(
    ws: Workspace,
    *,
    as_of: date,
    rules: Rules,
    actor: str,
    lang: Lang = "zh",
    parallel: bool = False,
) -> AnalysisResult:
    """Run the analysis on the workspace and store ``parcel_risk`` and ``targets``.

    Parameters
    ----------
    ws : Workspace
    as_of : datetime.date
        The date every age, decay and overdue test is evaluated at.
    rules : Rules
        Effective rules (weights, thresholds, routing).
    actor : str
        Who runs it (run record and audit log).
    lang : {"zh", "en"}
        Language of the ``reasons`` column.
    parallel : bool
        Use a second thread for independent steps (same result). Batch entry points
        pass True and run the call inside
        :func:`~geoservice.analysis.pause.analysis_runtime`; by default (a request, a
        test) no thread is started and the process settings are left alone.
    """
    start = time.perf_counter()
    frames = read_inputs(ws, parallel=parallel)
    scored = score_parcels(
        frames["parcels"],
        frames["complaints"],
        frames["patches"],
        frames["problems"],
        rules,
        as_of,
        parallel=parallel,
    )
    targets, reasons = build_targets_and_reasons(
        scored.parcel_risk, scored.items, rules, lang, parallel=parallel
    )
    # the targets keep the ids of their earlier selves (stable identity, lineage)
    earlier = earlier_deadlines(ws)
    targets, reasons, identity = identify(ws, targets, reasons)
    # and their deadlines (the earlier of the two when the priority rose)
    targets, reasons = with_deadlines(targets, reasons, earlier, as_of, rules, lang)
    duration = time.perf_counter() - start
    inputs = {kind: {"rows": len(frames[kind]), "sha256": ws.input_hash(kind)} for kind in INPUTS}
    no_location = 0
    if "rejects_complaints" in ws.layer_names():
        rejects = ws.read("rejects_complaints")
        if "reject_reason" in rejects.columns:
            no_location = int((rejects["reject_reason"] == "missing_coordinates").sum())
    result = AnalysisResult(
        as_of=as_of,
        rules_hash=rules_hash(rules),
        parcel_risk=scored.parcel_risk,
        targets=targets,
        unmatched_complaints=scored.unmatched_complaints,
        unmatched_problems=scored.unmatched_problems,
        inputs=inputs,
        duration_s=duration,
        complaints_without_location=no_location,
    )
    ws.write_results(
        {"parcel_risk": scored.parcel_risk, "targets": targets, "target_reasons": reasons},
        {
            "as_of": as_of.isoformat(),
            "rules_hash": result.rules_hash,
            "inputs": inputs,
            "counts": result.counts(),
            "duration_s": round(duration, 3),
            "lang": lang,
        },
        actor,
    )
    record_identity(ws, targets, identity, as_of.isoformat(), actor)
    return result
