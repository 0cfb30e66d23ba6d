"""Stable target identity across re-analyses (``docs/design.md#target-identity``).

A freshly built target is named by a hash of its parcel ids
(:func:`~geoservice.analysis.targets.target_id`), which changes as soon as one parcel joins
or leaves it. :func:`match_targets` gives the new targets the ids of their earlier selves
instead: the overlap of parcel sets between every earlier and every new target is counted
at once (one merge of the exploded ``(target, parcel)`` pairs), and ids are matched in
rounds of mutual best overlap (an earlier target's largest successor that also has it as
its largest predecessor; ties go to the smaller id), so the result is deterministic and
independent of row order:

- a new target matched to an earlier one keeps its id (``kept``);
- a new target sharing parcels with an earlier one whose id went to another new target
  was split off it (``split``);
- an earlier target whose id went to no new target but whose parcels did was ``merged``
  into the new target holding most of them;
- an earlier target sharing no parcel with any new target is ``resolved`` (its evidence is
  gone); it is never deleted (:mod:`~geoservice.analysis.target_register`).

Targets that left the layer in an earlier run (resolved, or merged into another) are
matched last, so evidence that comes back at the same parcels, or a merged target that
splits again, brings the old id back. New targets matched to nothing keep their hash id;
one that is already taken (by an earlier or resolved target) is re-hashed with a counter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoservice.analysis.targets import target_id

__all__ = ["HOW", "IdentityResult", "match_targets", "pairs"]

HOW = ("kept", "split", "merged", "resolved")
_LINEAGE = ["old_id", "new_id", "how", "shared_parcels"]


@dataclass
class IdentityResult:
    """What :func:`match_targets` decided.

    Attributes
    ----------
    ids : pandas.Series
        The id of each new target (aligned to the new frame's index).
    lineage : pandas.DataFrame
        ``old_id``, ``new_id`` (None for ``resolved``), ``how`` (:data:`HOW`),
        ``shared_parcels`` (int): one row per earlier target and successor, sorted by
        ``old_id`` then ``new_id``.
    """

    ids: pd.Series
    lineage: pd.DataFrame

    def rename(self, frame: pd.DataFrame, hashed: pd.Series) -> pd.DataFrame:
        """``frame`` (with a ``target_id`` column of hash ids) with the matched ids."""
        mapping = pd.Series(self.ids.to_numpy(), index=hashed.to_numpy())
        out = frame.copy()
        out["target_id"] = out["target_id"].astype(str).map(mapping).astype(object)
        return out


def _ids(values: pd.Series) -> pd.Series:
    """Ids as a Series of Python ``str`` objects (object dtype)."""
    return pd.Series(values.astype(str).to_numpy(dtype=object), index=values.index, dtype=object)


def pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """``(target_id, parcel_id)`` pairs of a frame with ``;``-joined ``parcel_ids``."""
    if frame.empty:
        return pd.DataFrame({"target_id": [], "parcel_id": []}, dtype=object)
    # plain object strings: hashing and isin on them are vectorised (arrow strings are not)
    lists = frame["parcel_ids"].astype(object).fillna("").astype(str).str.split(";")
    out = pd.DataFrame({"target_id": _ids(frame["target_id"]), "parcel_id": lists})
    out = out.explode("parcel_id")
    out = out[out["parcel_id"].notna() & (out["parcel_id"] != "")]
    return out.drop_duplicates().reset_index(drop=True)


def _overlap(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Shared parcel counts of every (old, new) pair that shares one: ``old``, ``new``,
    ``n``."""
    joined = pairs(old).merge(pairs(new), on="parcel_id", suffixes=("_old", "_new"))
    if joined.empty:
        return pd.DataFrame({"old": [], "new": [], "n": []}).astype(
            {"old": object, "new": object, "n": np.int64}
        )
    counts = joined.groupby(["target_id_old", "target_id_new"], sort=True).size()
    out = counts.rename("n").reset_index()
    out = out.rename(columns={"target_id_old": "old", "target_id_new": "new"})
    return out.assign(old=_ids(out["old"]), new=_ids(out["new"]))


def _best(frame: pd.DataFrame, key: str, other: str) -> pd.Series:
    """For each ``key``, the ``other`` with the largest ``n`` (ties: smallest id)."""
    ranked = frame.sort_values(["n", other], ascending=[False, True], kind="stable")
    return ranked.drop_duplicates(key).set_index(key)[other]


def _mutual(overlap: pd.DataFrame) -> dict[str, str]:
    """Rounds of mutual best overlap: new id -> old id."""
    chosen: dict[str, str] = {}
    left = overlap
    while not left.empty:
        best_new = _best(left, "old", "new")
        best_old = _best(left, "new", "old")
        both = best_new.reset_index()
        hit = both[both["old"].to_numpy() == best_old.reindex(both["new"]).to_numpy()]
        if hit.empty:
            break
        chosen.update(zip(hit["new"].astype(str), hit["old"].astype(str), strict=True))
        left = left[~left["old"].isin(hit["old"]) & ~left["new"].isin(hit["new"])]
    return chosen


def _fresh_ids(new: pd.DataFrame, taken: set[str]) -> pd.Series:
    """The hash id of each target, re-hashed with a counter while it is ``taken``."""
    ids = _ids(new["target_id"])
    clash = ids.isin(list(taken)) | ids.duplicated()
    if not clash.any():
        return ids
    out = ids.copy()
    used = set(taken) | set(ids[~clash])
    for idx in ids.index[clash.to_numpy()]:  # only the clashing few
        parcels = str(new.at[idx, "parcel_ids"]).split(";")
        k = 1
        candidate = target_id([*parcels, f"#{k}"])
        while candidate in used:
            k += 1
            candidate = target_id([*parcels, f"#{k}"])
        out[idx] = candidate
        used.add(candidate)
    return out


def match_targets(
    earlier: pd.DataFrame,
    new: pd.DataFrame,
    resolved: pd.DataFrame | None = None,
    known_ids: Iterable[str] = (),
) -> IdentityResult:
    """Give the ``new`` targets the ids of the ``earlier`` ones they continue.

    Parameters
    ----------
    earlier : pandas.DataFrame
        ``target_id``, ``parcel_ids`` (``;``-joined) of the targets of the last run.
    new : pandas.DataFrame
        The same columns of the targets just built (hash ids).
    resolved : pandas.DataFrame, optional
        The same columns of targets resolved by earlier runs: matched after ``earlier``,
        to the new targets still without an id; they get no lineage row when nothing
        matches them (they are already resolved).
    known_ids : iterable of str
        Every id ever issued in the workspace (never issued again to a different target).

    Returns
    -------
    IdentityResult
    """
    resolved = resolved if resolved is not None else earlier.iloc[0:0]
    first = _overlap(earlier, new)
    chosen = _mutual(first)
    rest_new = new[~_ids(new["target_id"]).isin(list(chosen))]
    second = _overlap(resolved, rest_new)
    back = _mutual(second)
    chosen.update(back)
    taken = set(map(str, known_ids)) | set(_ids(earlier["target_id"]))
    taken |= set(_ids(resolved["target_id"]))
    hashed = _ids(new["target_id"])
    fresh = _fresh_ids(new.assign(target_id=hashed), taken)
    matched = hashed.map(chosen).astype(object)
    ids = matched.where(matched.notna(), fresh.astype(object)).astype(str)
    revived = second[second["new"].map(back).to_numpy() == second["old"].to_numpy()]
    lineage = _lineage(earlier, pd.concat([first, revived]), ids.set_axis(hashed.to_numpy()))
    return IdentityResult(ids=ids, lineage=lineage)


def _lineage(earlier: pd.DataFrame, overlap: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """Lineage rows from the earlier (and revived) targets' overlaps (``ids``: hash id ->
    final id)."""
    rows = overlap.assign(new_id=overlap["new"].map(ids).astype(str))
    rows = rows.rename(columns={"old": "old_id", "n": "shared_parcels"})
    kept_ids = set(rows.loc[rows["old_id"] == rows["new_id"], "old_id"])
    how = np.where(
        rows["old_id"] == rows["new_id"],
        "kept",
        np.where(rows["old_id"].isin(kept_ids), "split", "merged"),
    )
    rows = rows.assign(how=how)
    old_ids = _ids(earlier["target_id"])
    gone = old_ids[~old_ids.isin(rows["old_id"].to_numpy(dtype=object))]
    resolved = pd.DataFrame(
        {"old_id": gone, "new_id": None, "how": "resolved", "shared_parcels": 0}
    )
    out = pd.concat([rows[_LINEAGE], resolved[_LINEAGE]], ignore_index=True)
    out["shared_parcels"] = out["shared_parcels"].astype(np.int64)
    return out.sort_values(["old_id", "new_id"], kind="stable", na_position="last").reset_index(
        drop=True
    )
