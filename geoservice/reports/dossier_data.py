"""What a joint-enforcement work order (联合执法任务书) is built from, read from the workspace.

One target in the caller's scope (:meth:`Principal.target_mask`; the command line on the
workspace file sees every target), its parcels, the complaints, change patches and open
inspection problems behind them (by the ids the analysis stored on the parcels), the
villages it lies in, and the parcels around it for the map. Geometries stay in the
workspace CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geoservice.analysis.target_queries import no_target, read_targets, reasons_in, target_evidence
from geoservice.base.access import Principal
from geoservice.base.workspace import Workspace
from layers.messages import Lang

__all__ = ["DossierFacts", "dossier_facts", "ids_of", "sql_list"]

# A complaint's reporter phone, as the intake stores it (masked, 138****5678).
PHONE = "reporter_phone_masked"
_CONTEXT_PAD_M = 150.0


@dataclass
class DossierFacts:
    """The facts of one target for its work order (geometries in the workspace CRS).

    Attributes
    ----------
    target : pandas.Series
        The target's row of the ``targets`` layer (with ``geometry``).
    reasons : str
        Its reasons in the requested language.
    parcels : GeoDataFrame
        Its parcels (``parcels`` layer), in the order the target lists them.
    risk : DataFrame
        Their ``parcel_risk`` rows (scores, evidence ids, criminal basis).
    complaints, patches, problems : GeoDataFrame
        The evidence behind the parcels; ``complaints`` keeps the reporter's masked phone
        only when ``show_phone``; ``problems`` are the open ones the analysis counted.
    villages : GeoDataFrame
        The villages the target lies in.
    context : GeoDataFrame
        Other parcels around the target, for orientation on the map.
    as_of : str or None
        The evaluation date of the latest analysis run (YYYY-MM-DD).
    show_phone : bool
        Whether the reporter's phone may be shown (the office only).
    """

    target: pd.Series
    reasons: str
    parcels: gpd.GeoDataFrame
    risk: pd.DataFrame
    complaints: gpd.GeoDataFrame
    patches: gpd.GeoDataFrame
    problems: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    as_of: str | None
    show_phone: bool

    @property
    def target_id(self) -> str:
        return str(self.target["target_id"])


def sql_list(values: list[str]) -> str:
    """``'a', 'b'`` for an SQL ``IN`` list, quotes doubled."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def ids_of(value: object) -> list[str]:
    """The ids of a ``;``-separated list cell (empty for a missing value)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [x for x in str(value).split(";") if x]


def _by_ids(
    ws: Workspace, layer: str, key: str, ids: list[str], present: set[str]
) -> gpd.GeoDataFrame:
    """Rows of ``layer`` whose ``key`` is in ``ids``, in the order of ``ids``."""
    if layer not in present or not ids:
        crs = ws.crs() if layer in present else None
        return gpd.GeoDataFrame({key: pd.Series([], dtype="string")}, geometry=[], crs=crs)
    rows = ws.read(layer, use_arrow=False, where=f'"{key}" IN ({sql_list(ids)})')
    rows[key] = rows[key].astype("string")
    order = pd.Series(range(len(ids)), index=pd.Index(ids)).groupby(level=0).first()
    rank = rows[key].map(order)
    return rows.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")


def _pick_target(
    ws: Workspace, principal: Principal | None, target_id: str
) -> tuple[gpd.GeoDataFrame, set[str]]:
    targets, present = read_targets(ws)
    if targets is None:
        raise no_target(target_id)
    hit = targets["target_id"].astype(str) == target_id
    if principal is not None:
        hit &= principal.target_mask(targets)
    if not hit.any():
        raise no_target(target_id)
    return targets.loc[hit.to_numpy()], present


def _as_of(ws: Workspace) -> str | None:
    runs = ws.runs()
    return str(runs.iloc[-1]["as_of"]) if len(runs) else None


def _context(ws: Workspace, target: gpd.GeoDataFrame, present: set[str]) -> gpd.GeoDataFrame:
    if "parcels" not in present:
        return gpd.GeoDataFrame(
            {"parcel_id": pd.Series([], dtype="string")}, geometry=[], crs=target.crs
        )
    x0, y0, x1, y1 = target.total_bounds
    pad = max(_CONTEXT_PAD_M, 0.25 * max(x1 - x0, y1 - y0))
    return ws.read(
        "parcels",
        columns=["parcel_id"],
        bbox=(x0 - pad, y0 - pad, x1 + pad, y1 + pad),
    )


def dossier_facts(
    ws: Workspace, principal: Principal | None, target_id: str, lang: Lang
) -> DossierFacts:
    """Everything the work order of ``target_id`` shows.

    Parameters
    ----------
    ws : Workspace
    principal : Principal or None
        The caller; None is the command line on the workspace file (every target, the
        office's view).
    target_id : str
    lang : {"zh", "en"}
        Language of the reasons.

    Raises
    ------
    NotFoundError
        Naming ``target_id`` when there is no such target in the caller's scope, or no
        analysis run yet.
    """
    hit, present = _pick_target(ws, principal, target_id)
    row = hit.iloc[0]
    parcel_ids = ids_of(row["parcel_ids"])
    evidence = target_evidence(ws, parcel_ids, present)
    risk = pd.DataFrame(evidence["parcels"])
    show_phone = principal is None or principal.role == "office"
    complaints = _by_ids(ws, "complaints", "complaint_id", evidence["complaint_ids"], present)
    if not show_phone and PHONE in complaints.columns:
        complaints = complaints.drop(columns=PHONE)
    codes = ids_of(row["village_codes"])
    return DossierFacts(
        target=row,
        reasons=str(reasons_in(ws, hit, lang, present).iloc[0]),
        parcels=_by_ids(ws, "parcels", "parcel_id", parcel_ids, present),
        risk=risk,
        complaints=complaints,
        patches=_by_ids(ws, "patches", "patch_id", evidence["patch_ids"], present),
        problems=_by_ids(ws, "problems", "problem_id", evidence["problem_ids"], present),
        villages=_by_ids(ws, "villages", "village_code", codes, present),
        context=_context(ws, hit, present),
        as_of=_as_of(ws),
        show_phone=show_phone,
    )
