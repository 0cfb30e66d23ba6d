"""A change patch verified illegal opens a problem for its village and, above a criminal
threshold, joins the enforcement target that holds it.

The links are kept both ways: ``patch_state.problem_id`` / ``patch_state.target_id`` name
the problem and target of a patch, and a problem's patch is found from its id
(:func:`geoservice.workflow.patch_store.patches_of_problems`); a problem opened for a patch
also says so in its first history row (``[patch <图斑号>]``). A target already lists the
patches it holds (its parcels' ``patch_ids``).

Which problem: a problem of the patch's village found in or after the patch's change year
on a parcel the patch covers (``parcel_risk``, the analysis's evidence per parcel) is the
patch's problem already (the sample town's inspection found several before the patch
list arrived), unless another patch claims it; otherwise a new problem is opened
(:func:`geoservice.workflow.records.insert_problem`): the patch's category and village, its
inner point as location, the routing rule's departments, and a deadline
``patch_workflow.problem_days`` after the verification.

Which target: the patch meets a criminal threshold on its own (its ``patch_basis`` in the
analysis's evidence, :mod:`geoservice.analysis.thresholds`) and a target holds one of the
parcels it lies on (the criminal one first, then by priority and score).

The analysis pipeline (``geoservice analyze``, ``geoservice demo``) runs
:func:`link_illegal_patches` after each run, so every patch established illegal has its
problem (and its target when one applies).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geoservice.analysis.evidence_items import FACT_FIELDS
from geoservice.base.gpkg_sql import audit
from geoservice.base.workspace import Workspace, now_iso
from geoservice.base.workspace_write import has_table
from geoservice.workflow.patch_tables import append_history, ensure_patches
from geoservice.workflow.records import default_departments, insert_problem
from geoservice.workflow.store import ensure_workflow

if TYPE_CHECKING:
    from geoservice.analysis.rules import Rules

__all__ = ["LinkFacts", "link_illegal_patches", "link_patch", "prepare_links"]

_BASIS = ("id", *FACT_FIELDS["patch"]).index("patch_basis")


@dataclass
class LinkFacts:
    """What linking needs, read before the write transaction (GDAL reads stay outside it).

    ``patches`` is indexed by patch_id (village, category, year, illegal area, change cause,
    ``lon``/``lat`` of an inner point in CGCS2000 degrees); ``existing`` maps a patch to the
    problem already on its parcels, ``targets`` to the target holding it when it meets a
    criminal threshold.
    """

    patches: pd.DataFrame
    existing: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    found_on: date = field(default_factory=date.today)
    problem_days: int = 90


def _read_patches(ws: Workspace, patch_ids: list[str] | None) -> pd.DataFrame:
    cols = ["patch_id", "village_code", "village_name", "category", "year", "change_cause"]
    cols.append("illegal_area_ha")
    info = set(ws.info("patches")["fields"])
    where = None
    if patch_ids is not None:
        where = "patch_id IN (" + ", ".join("'" + i.replace("'", "''") + "'" for i in patch_ids)
        where += ")"
    frame = ws.read("patches", columns=[c for c in cols if c in info], where=where)
    frame = frame.drop_duplicates("patch_id")
    points = frame.geometry.representative_point().to_crs(4490)
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for c in cols:
        if c not in out.columns:
            out[c] = None
    out["lon"], out["lat"] = points.x.to_numpy(), points.y.to_numpy()
    return out.set_index(out["patch_id"].astype(str))


def _split(frame: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    values = frame[column].astype("string").fillna("").str.split(";")
    out = frame.drop(columns=[column]).assign(**{name: values}).explode(name)
    return out[out[name].astype(str) != ""]


def _evidence(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """parcel_risk (parcel, patch_ids, problem_ids, patch_facts), targets and problems."""
    with ws.read_connection() as con:
        risk = (
            pd.read_sql_query(
                "SELECT parcel_id, patch_ids, problem_ids, patch_facts FROM parcel_risk", con
            )
            if has_table(con, "parcel_risk")
            else pd.DataFrame(columns=["parcel_id", "patch_ids", "problem_ids", "patch_facts"])
        )
        targets = (
            pd.read_sql_query(
                "SELECT target_id, parcel_ids, criminal_threshold_met, priority, score "
                "FROM targets",
                con,
            )
            if has_table(con, "targets")
            else pd.DataFrame(columns=["target_id", "parcel_ids"])
        )
        problems = (
            pd.read_sql_query("SELECT problem_id, village_code, found_on FROM problems", con)
            if has_table(con, "problems")
            else pd.DataFrame(columns=["problem_id", "village_code", "found_on"])
        )
    return risk, targets, problems


def _criminal_patches(risk: pd.DataFrame) -> set[str]:
    """Patches whose own figures meet a criminal threshold (non-empty ``patch_basis``)."""
    facts = _split(risk[["patch_facts"]], "patch_facts", "fact")["fact"].astype(str)
    parts = facts.str.split("|")
    basis = parts.str[_BASIS].fillna("")
    return set(parts.str[0][basis != ""].tolist())


def _targets_of(on: pd.DataFrame, targets: pd.DataFrame, criminal: set[str]) -> dict[str, str]:
    if targets.empty or on.empty:
        return {}
    held = _split(targets, "parcel_ids", "parcel_id").merge(on, on="parcel_id")
    held = held[held["patch_id"].isin(criminal)]
    held = held.sort_values(
        ["criminal_threshold_met", "priority", "score", "target_id"],
        ascending=[False, True, False, True],
    )
    return dict(held.drop_duplicates("patch_id")[["patch_id", "target_id"]].to_numpy().tolist())


def _existing_of(
    on: pd.DataFrame, risk: pd.DataFrame, problems: pd.DataFrame, patches: pd.DataFrame
) -> dict[str, str]:
    shared = _split(risk[["parcel_id", "problem_ids"]], "problem_ids", "problem_id")
    pairs = on.merge(shared, on="parcel_id").merge(problems, on="problem_id")
    if pairs.empty:
        return {}
    own = patches.reindex(pairs["patch_id"].astype(str))
    year = pd.to_datetime(pairs["found_on"], errors="coerce").dt.year.to_numpy()
    since = pd.to_numeric(own["year"], errors="coerce").fillna(0).to_numpy()
    same = (
        pairs["village_code"].astype(str).to_numpy() == own["village_code"].astype(str).to_numpy()
    )
    keep = pairs[same & (year >= since)].sort_values(["patch_id", "problem_id"])
    return dict(keep.drop_duplicates("patch_id")[["patch_id", "problem_id"]].to_numpy().tolist())


def prepare_links(
    ws: Workspace,
    patch_ids: list[str] | None = None,
    *,
    as_of: date | None = None,
    rules: Rules | None = None,
    rules_path: Path | None = None,
) -> LinkFacts:
    """Read what linking ``patch_ids`` (default every patch) needs; see :class:`LinkFacts`.

    ``rules`` (or the rules file ``rules_path``) gives ``patch_workflow.problem_days``.
    """
    from geoservice.analysis.rules import load_rules

    days = (rules or load_rules(rules_path)).patch_workflow.problem_days
    if "patches" not in ws.layer_names():
        return LinkFacts(pd.DataFrame(), found_on=as_of or date.today(), problem_days=days)
    patches = _read_patches(ws, patch_ids)
    risk, targets, problems = _evidence(ws)
    on = _split(risk[["parcel_id", "patch_ids"]], "patch_ids", "patch_id")
    on = on[on["patch_id"].isin(patches.index)]
    return LinkFacts(
        patches,
        existing=_existing_of(on, risk, problems, patches),
        targets=_targets_of(on, targets, _criminal_patches(risk)),
        found_on=as_of or date.today(),
        problem_days=days,
    )


def _description(patch_id: str, facts: pd.Series) -> str:
    area = pd.to_numeric(pd.Series([facts.get("illegal_area_ha")]), errors="coerce").iloc[0]
    area_text = f"，违法违规面积 {area:.2f} 公顷" if pd.notna(area) and area > 0 else ""
    year = facts.get("year")
    year_text = f"{int(year)} 年度" if pd.notna(year) else ""
    return (
        f"{year_text}森林督查变化图斑 {patch_id}（变化原因 {facts.get('change_cause') or '未填'}）"
        f"经现地核实为违法违规{area_text}；需依法查处并限期整改、恢复林地。"
    )


def _open_problem(
    con: sqlite3.Connection, ws: Workspace, facts: LinkFacts, patch_id: str, actor: str
) -> str | None:
    """The patch's problem: the one already on its parcels, or a new one (None when the
    workspace has no problems layer or the patch no village)."""
    taken = con.execute(
        "SELECT problem_id FROM patch_state WHERE problem_id IS NOT NULL AND patch_id != ?",
        (patch_id,),
    ).fetchall()
    found = facts.existing.get(patch_id)
    if found and found not in {r[0] for r in taken}:
        return found
    row = facts.patches.loc[patch_id] if patch_id in facts.patches.index else None
    if row is None or not row.get("village_code") or not has_table(con, "problems"):
        return None
    ensure_workflow(con, actor)
    category = str(row.get("category") or "other")
    lon, lat = row.get("lon"), row.get("lat")
    located = pd.notna(lon) and pd.notna(lat)
    problem = insert_problem(
        con,
        ws,
        village_code=str(row["village_code"]),
        village_name=str(row.get("village_name") or row["village_code"]),
        category=category,
        description=_description(patch_id, row),
        deadline=facts.found_on + timedelta(days=facts.problem_days),
        found_on=facts.found_on,
        by=actor,
        departments=default_departments(category),
        lon=float(lon) if located else None,
        lat=float(lat) if located else None,
        note=f"[patch {patch_id}]",
        context={"patch_id": patch_id},
    )
    return str(problem["problem_id"])


def link_patch(
    con: sqlite3.Connection, ws: Workspace, facts: LinkFacts, patch_id: str, actor: str
) -> dict[str, Any]:
    """Give a patch verified illegal its problem and target inside the caller's
    transaction; returns ``problem_id`` / ``target_id`` (as stored, None when none).

    A link does not change the patch's version (a link made by the system never makes a
    verifier's pending change stale); it adds a ``link`` history row.
    """
    row = con.execute(
        "SELECT state, legality, version, problem_id, target_id FROM patch_state "
        "WHERE patch_id = ?",
        (patch_id,),
    ).fetchone()
    if row is None or row[1] != "illegal":
        return {}
    problem_id, target_id = row[3], row[4]
    new_problem = None if problem_id else _open_problem(con, ws, facts, patch_id, actor)
    new_target = None if target_id else facts.targets.get(patch_id)
    if new_problem or new_target:
        con.execute(
            "UPDATE patch_state SET problem_id = coalesce(problem_id, ?), "
            "target_id = coalesce(target_id, ?) WHERE patch_id = ?",
            (new_problem, new_target, patch_id),
        )
        note = "; ".join(
            x
            for x in (
                f"problem {new_problem}" if new_problem else "",
                f"target {new_target}" if new_target else "",
            )
            if x
        )
        at = now_iso()
        append_history(con, patch_id, at, actor, "link", None, row[0], row[1], note, int(row[2]))
        link = {"problem_id": new_problem, "target_id": new_target}
        audit(con, at, actor, "patch.link", patch_id, {"patch_id": patch_id, **link})
    return {"problem_id": problem_id or new_problem, "target_id": target_id or new_target}


def link_illegal_patches(
    ws: Workspace,
    as_of: date,
    actor: str,
    *,
    rules: Rules | None = None,
    rules_path: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Register the layer's new patches and link every patch verified illegal that lacks
    its problem or target; returns what each linked patch now holds, by patch id.

    New patches are registered on the earlier of ``as_of`` and today: their first stage
    starts on the layer's dispatch, image or check date for it (never after that day), or
    on that day without one (:mod:`geoservice.workflow.patch_tables`). Nothing is written
    when no patch needs a link and none is new.
    """
    if "patches" not in ws.layer_names():
        return {}
    facts = prepare_links(ws, as_of=as_of, rules=rules, rules_path=rules_path)
    day = min(as_of, date.today())

    def schema(con: sqlite3.Connection, who: str) -> None:
        ensure_patches(con, who, day)

    out: dict[str, dict[str, Any]] = {}
    with ws.sql_transaction(actor, schema=schema) as con:
        todo = con.execute(
            "SELECT patch_id FROM patch_state WHERE legality = 'illegal' AND "
            "(problem_id IS NULL OR target_id IS NULL) ORDER BY patch_id"
        ).fetchall()
        for (patch_id,) in todo:
            before = con.execute(
                "SELECT problem_id, target_id FROM patch_state WHERE patch_id = ?", (patch_id,)
            ).fetchone()
            now = link_patch(con, ws, facts, str(patch_id), actor)
            if now and (now.get("problem_id"), now.get("target_id")) != tuple(before):
                out[str(patch_id)] = now
    return out
