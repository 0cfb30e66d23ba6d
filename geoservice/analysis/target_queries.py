"""Reading joint-enforcement targets for a caller: filters, one target, GeoJSON.

Who sees what is :meth:`Principal.target_mask`: the office every target, a department the
targets it leads or cooperates on. A target outside the caller's scope does not exist for
the caller (:class:`NotFoundError` naming the id, the same as for an id never issued).
Geometries are answered in lon/lat (EPSG:4326); areas in hectares, volumes in m³.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd

from geoservice.analysis.labels import priority_word
from geoservice.analysis.present import department_code, filter_targets, village_code
from geoservice.analysis.target_register import (
    TARGET_STATE_LABELS,
    TARGET_STATES,
    read_register,
    with_states,
)
from geoservice.base.access import Principal
from geoservice.base.errors import NotFoundError, OptionError, message, no_analysis
from geoservice.base.villages import read_villages
from geoservice.base.workspace import Workspace
from layers.codes import CATEGORIES
from layers.messages import Lang

__all__ = [
    "no_target",
    "read_targets",
    "reasons_in",
    "select_targets",
    "target_evidence",
    "target_feature",
    "target_features",
    "targets_collection",
]

Names = dict[str, tuple[str, str]]
_EVIDENCE_COLUMNS = [
    "parcel_id",
    "kind",
    "village_code",
    "village_name",
    "public_welfare",
    "nature_reserve",
    "area_ha",
    "score",
    "complaint_ids",
    "patch_ids",
    "problem_ids",
    "overdue_problem_count",
    "illegal_area_ha",
    "criminal_threshold_met",
    "criminal_basis",
    "estimated_volume_m3",
]
_ID_LISTS = ("complaint_ids", "patch_ids", "problem_ids")


# --- selection ------------------------------------------------------------------------


def no_target(target_id: str) -> NotFoundError:
    """The error for a target id that does not exist or is outside the caller's scope."""
    return NotFoundError(
        message(
            "targets.not_found",
            f"没有编号为“{target_id}”的目标，或该目标不在您的查看范围内；请从目标清单中选择。",
            f"There is no target {target_id!r}, or it is outside what you may see; pick one "
            "from the target list.",
        )
    )


def read_targets(ws: Workspace) -> tuple[gpd.GeoDataFrame | None, set[str]]:
    """The ``targets`` layer (None before the first analysis run) and the layer names."""
    ws.require()
    present = set(ws.layer_names())
    return (ws.read("targets") if "targets" in present else None), present


def select_targets(
    ws: Workspace,
    principal: Principal,
    names: Names,
    department: str | None,
    village: str | None,
    priority: str | None,
) -> tuple[gpd.GeoDataFrame | None, set[str]]:
    """The caller's targets (target mask) matching the filters, by priority then score,
    and the workspace's layer names.

    ``department`` is a code or name (lead or cooperating), ``village`` a code or name,
    ``priority`` a comma-separated list (``P1,P2``); None leaves a filter out.
    """
    targets, present = read_targets(ws)
    if targets is None:
        return None, present
    scoped = targets.loc[principal.target_mask(targets)]
    villages = read_villages(ws) if village and "villages" in present else None
    chosen = filter_targets(
        scoped,
        department=department_code(department, names) if department else None,
        village=village_code(village, villages) if village else None,
        priorities=priority.split(",") if priority else None,
    )
    return chosen, present


def reasons_in(
    ws: Workspace, targets: gpd.GeoDataFrame, lang: Lang, present: set[str]
) -> pd.Series:
    """Each target's reasons in ``lang`` (every run stores both languages), aligned to
    ``targets``' index."""
    own = targets["reasons"].astype("string")
    if "target_reasons" not in present or not len(targets):
        return own
    table = ws.read("target_reasons", use_arrow=False, read_geometry=False)
    by_id = table.set_index("target_id")[f"reasons_{lang}"]
    return targets["target_id"].map(by_id).astype("string").fillna(own)


# --- GeoJSON ----------------------------------------------------------------------------


def _codes(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("").str.split(";")
    return text.map(lambda xs: [x for x in xs if x])


def _named(codes: pd.Series, table: Names, lang: Lang) -> pd.Series:
    idx = 1 if lang == "en" else 0
    return codes.map(lambda xs: [table.get(c, (c, c))[idx] for c in xs])


def target_features(
    targets: gpd.GeoDataFrame, reasons: pd.Series, names: Names, lang: Lang
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (lon/lat, EPSG:4326) of ``targets`` with readable names.

    Lists (villages, parcels, categories, cooperating departments) are JSON arrays; codes
    stay beside their names so clients can filter and link. Areas in hectares.
    """
    idx = 1 if lang == "en" else 0
    coop = _codes(targets["cooperating_departments"])
    categories = _codes(targets["categories"])
    lead = targets["lead_department"].astype("string").fillna("")
    props = pd.DataFrame(
        {
            "target_id": targets["target_id"].astype(str),
            "priority": targets["priority"].astype(str),
            "priority_label": targets["priority"].map(lambda p: priority_word(str(p), lang)),
            "score": pd.to_numeric(targets["score"], errors="coerce").round(2),
            "village_codes": _codes(targets["village_codes"]),
            "village_names": _codes(targets["village_names"]),
            "parcel_ids": _codes(targets["parcel_ids"]),
            "parcel_count": targets["parcel_count"],
            "area_ha": pd.to_numeric(targets["area_ha"], errors="coerce").round(4),
            "categories": categories,
            "category_names": _named(categories, dict(CATEGORIES), lang),
            "lead_department": lead,
            "lead_department_name": lead.map(lambda c: names.get(c, (c, c))[idx]),
            "cooperating_departments": coop,
            "cooperating_department_names": _named(coop, names, lang),
            "criminal_threshold_met": targets["criminal_threshold_met"].astype(bool),
            "estimated_volume_m3": targets["estimated_volume_m3"],
            "complaint_count": targets["complaint_count"],
            "patch_area_ha": targets["patch_area_ha"],
            "open_problem_count": targets["open_problem_count"],
            "reasons": reasons,
        },
        index=targets.index,
    )
    if "state" in targets.columns:  # the outcome, from the target register
        props["state"] = targets["state"].astype(str)
        props["state_label"] = props["state"].map(lambda v: TARGET_STATE_LABELS[v][idx])
        props["version"] = targets["version"].astype("int64")
        props["case_number"] = targets["case_number"]
    frame = gpd.GeoDataFrame(props, geometry=targets.geometry.to_crs(4326), crs=4326)
    frame.index = frame["target_id"].to_numpy()
    doc: dict[str, Any] = json.loads(frame.to_json(na="null", drop_id=False))
    return doc


def targets_collection(
    ws: Workspace,
    principal: Principal,
    names: Names,
    lang: Lang,
    *,
    department: str | None = None,
    village: str | None = None,
    priority: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """The caller's targets matching the filters as a GeoJSON FeatureCollection (lon/lat),
    names and reasons in ``lang``; ``state`` keeps the targets in that outcome state.

    ``limit`` targets from ``offset`` (all when ``limit`` is None), in the layer's order;
    only those get reasons and GeoJSON. ``numberMatched`` counts every target matching,
    ``numberReturned`` those in the collection.

    Raises
    ------
    NoAnalysisError
        Before the first analysis run (naming ``POST /analysis/runs``).
    OptionError
        An unknown ``state``, naming the states.
    """
    if state is not None and state not in TARGET_STATES:
        raise OptionError(
            message(
                "targets.bad_state",
                f"state 为“{state}”，应为以下之一：{'、'.join(TARGET_STATES)}。",
                f"`state` was {state!r} but is expected to be one of: {', '.join(TARGET_STATES)}.",
            )
        )
    chosen, present = select_targets(ws, principal, names, department, village, priority)
    if chosen is None:
        raise no_analysis(ws.path, web=True)
    chosen = with_states(chosen, read_register(ws))
    if state is not None:
        chosen = chosen[(chosen["state"] == state).to_numpy()]
    matched = len(chosen)
    if limit is not None:
        chosen = chosen.iloc[offset : offset + limit]
    doc = target_features(chosen, reasons_in(ws, chosen, lang, present), names, lang)
    return {**doc, "numberMatched": matched, "numberReturned": len(chosen)}


# --- one target -------------------------------------------------------------------------


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def target_evidence(ws: Workspace, parcel_ids: list[str], present: set[str]) -> dict[str, Any]:
    """The flagged parcels behind a target (highest score first) and the complaint,
    change-patch and problem ids they carry."""
    if "parcel_risk" not in present or not parcel_ids:
        return {"parcels": [], **{k: [] for k in _ID_LISTS}}
    info = ws.info("parcel_risk")
    columns = [c for c in _EVIDENCE_COLUMNS if c in set(info["fields"])]
    rows = ws.read(
        "parcel_risk",
        use_arrow=False,
        columns=columns,
        read_geometry=False,
        where=f"parcel_id IN ({_sql_list(parcel_ids)})",
    )
    rows = rows.sort_values("score", ascending=False, kind="stable")
    out: dict[str, Any] = {}
    for col in _ID_LISTS:
        if col in rows.columns:
            lists = _codes(rows[col])
            rows[col] = lists
            out[col] = sorted({i for ids in lists for i in ids})
        else:
            out[col] = []
    parcels: list[dict[str, Any]] = json.loads(rows.to_json(orient="records", force_ascii=False))
    return {"parcels": parcels, **out}


def target_feature(
    ws: Workspace, principal: Principal, target_id: str, names: Names, lang: Lang
) -> dict[str, Any]:
    """One target in the caller's scope as a GeoJSON Feature (lon/lat) with its reasons in
    ``lang`` and its evidence (``properties.evidence``).

    Raises
    ------
    NotFoundError
        Naming ``target_id`` when there is no such target in the caller's scope, or no
        analysis run yet.
    """
    targets, present = read_targets(ws)
    if targets is None:
        raise no_target(target_id)
    mine = principal.target_mask(targets)
    hit = targets.loc[mine & (targets["target_id"].astype(str) == target_id).to_numpy()]
    if not len(hit):
        raise no_target(target_id)
    hit = with_states(hit, read_register(ws))
    feature: dict[str, Any] = target_features(hit, reasons_in(ws, hit, lang, present), names, lang)[
        "features"
    ][0]
    props = feature["properties"]
    props["evidence"] = target_evidence(ws, props["parcel_ids"], present)
    return feature
