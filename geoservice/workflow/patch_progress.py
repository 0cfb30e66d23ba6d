"""Change-patch progress per village: the patch figures of the village status.

One row per village of the patches' workflow table
(:func:`~geoservice.workflow.patch_store.read_patch_states`): how many change patches it
has, how many are in each state, how many were verified in the field, found illegal, and
how many have their current stage overdue. Each figure has one word
(:data:`PATCH_FIGURE_WORDS`), used by the CLI, the API's field descriptions and the map
popups alike. Patches are tied to the villages layer as problems are (code, then name:
:func:`geoservice.base.villages.match_villages`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from geoservice.base.villages import match_villages
from geoservice.base.workspace import Workspace
from geoservice.workflow.patch_states import PATCH_STATE_LABELS, PATCH_STATES
from layers.messages import Lang, pick

__all__ = [
    "BY_STATE_WORD",
    "PATCH_FIGURE_WORDS",
    "PATCH_STATUS_COLUMNS",
    "add_patch_progress",
    "figure_word",
    "merge_patch_progress",
    "patch_figures_help",
    "patch_flags",
    "patch_items",
    "patch_progress",
    "read_village_patch_states",
    "village_patch_progress",
]

# column -> (zh, en): the word of each figure, defined here only.
PATCH_FIGURE_WORDS: dict[str, tuple[str, str]] = {
    "patches": ("变化图斑", "change patches"),
    **{
        f"patches_{state}": (f"图斑·{zh}", f"patches {en}")
        for state, (zh, en) in PATCH_STATE_LABELS.items()
    },
    "patches_field_verified": (
        "已现地核实图斑（合法性已定）",
        "patches verified in the field (legality found)",
    ),
    "patches_illegal": ("核实违法图斑", "patches verified illegal"),
    "patches_overdue": ("环节逾期图斑", "patches with their current stage overdue"),
}
PATCH_STATUS_COLUMNS: list[str] = list(PATCH_FIGURE_WORDS)
# The word of the per-state breakdown shown as one text (map popups).
BY_STATE_WORD: tuple[str, str] = ("图斑各环节数", "patches by state")


def figure_word(column: str, lang: Lang = "zh") -> str:
    """The word of a patch figure (the column name itself when it is not one)."""
    return pick(lang, *PATCH_FIGURE_WORDS.get(column, (column, column)))


def patch_figures_help() -> str:
    """The words of the patch figures, for command help (one line per figure)."""
    return "\n\n".join(f"{column}: {zh} / {en}" for column, (zh, en) in PATCH_FIGURE_WORDS.items())


def patch_flags(states: pd.DataFrame) -> pd.DataFrame:
    """0/1 flags of each patch for every figure of :data:`PATCH_STATUS_COLUMNS`.

    Parameters
    ----------
    states : pandas.DataFrame
        Rows of :func:`~geoservice.workflow.patch_store.read_patch_states`: ``state``,
        ``legality`` (legal, illegal, other or missing) and ``days_overdue``.

    Returns
    -------
    pandas.DataFrame
        Integer columns :data:`PATCH_STATUS_COLUMNS`, aligned to ``states``.
    """
    state = states["state"].astype("string")
    legality = states["legality"].astype("string")
    overdue = pd.to_numeric(states["days_overdue"], errors="coerce").fillna(0) > 0
    flags = {"patches": pd.Series(1, index=states.index)}
    for name in PATCH_STATES:
        flags[f"patches_{name}"] = (state == name).fillna(False)
    flags["patches_field_verified"] = legality.notna() & (legality.str.strip() != "")
    flags["patches_illegal"] = (legality == "illegal").fillna(False)
    flags["patches_overdue"] = overdue
    return pd.DataFrame(flags, index=states.index).fillna(False).astype("int64")


def _group(flags: pd.DataFrame, codes: pd.Series, names: pd.Series) -> pd.DataFrame:
    keys = pd.DataFrame(
        {"village_code": codes.astype("string"), "village_name": names.astype("string")},
        index=flags.index,
    )
    grouped = flags.join(keys).groupby(["village_code", "village_name"], dropna=False)
    return grouped[PATCH_STATUS_COLUMNS].sum().reset_index()


def village_patch_progress(
    states: pd.DataFrame, villages: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The patch figures per village of the villages layer, and of patches outside it.

    Parameters
    ----------
    states : pandas.DataFrame
        Rows of :func:`~geoservice.workflow.patch_store.read_patch_states` (``village_code``,
        ``village_name``, ``state``, ``legality``, ``days_overdue``).
    villages : pandas.DataFrame
        The villages layer (``village_code``, ``village_name``).

    Returns
    -------
    inside : pandas.DataFrame
        Indexed by the village code of the villages layer, columns
        :data:`PATCH_STATUS_COLUMNS` (villages without patches are absent).
    outside : pandas.DataFrame
        ``village_code``, ``village_name`` (as the patches give them, missing when they do
        not) and the figures, one row per village the villages layer does not know.
    """
    return patch_progress(patch_items(states, villages))


def patch_items(states: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Each patch's 0/1 figures (:func:`patch_flags`) with the village it belongs to.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``states``: :data:`PATCH_STATUS_COLUMNS`, ``vcode`` (the village code
        of the villages layer, ``<NA>`` when the patch matches none) and ``village_code``,
        ``village_name`` as the patch gives them (stripped; missing when empty).
    """
    if states.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64") for c in PATCH_STATUS_COLUMNS}
            | {k: pd.Series(dtype="string") for k in ("vcode", "village_code", "village_name")}
        )
    codes = states["village_code"].astype("string")
    names = states["village_name"].astype("string")
    matched, _unknown = match_villages(codes, names, villages)
    clean = [s.str.strip().replace("", pd.NA) for s in (codes, names)]
    return patch_flags(states).assign(vcode=matched, village_code=clean[0], village_name=clean[1])


def patch_progress(
    items: pd.DataFrame, codes: set[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`village_patch_progress` of the rows of :func:`patch_items`; ``codes``
    limits ``inside`` to those villages of the layer (the others are absent)."""
    empty = pd.DataFrame(columns=["village_code", "village_name", *PATCH_STATUS_COLUMNS])
    if items.empty:
        return empty.set_index("village_code").drop(columns="village_name"), empty
    known = items["vcode"].notna().to_numpy()
    flags = items[PATCH_STATUS_COLUMNS]
    chosen = known if codes is None else known & items["vcode"].isin(codes).to_numpy()
    inside = flags[chosen].groupby(items["vcode"][chosen].astype(str).to_numpy()).sum()
    outside = _group(flags[~known], items["village_code"][~known], items["village_name"][~known])
    return inside, outside


def add_patch_progress(
    status: pd.DataFrame, states: pd.DataFrame, villages: pd.DataFrame
) -> pd.DataFrame:
    """``status`` (rows of the village status: villages of the layer, then villages
    outside it) with the patch figures; a village outside the layer that only patches name
    gets its own row, with zero problems."""
    return merge_patch_progress(status, *village_patch_progress(states, villages), villages)


def merge_patch_progress(
    status: pd.DataFrame, inside: pd.DataFrame, outside: pd.DataFrame, villages: pd.DataFrame
) -> pd.DataFrame:
    """:func:`add_patch_progress` from the figures :func:`village_patch_progress` gives."""
    out = status.copy()
    in_layer = out["village_code"].isin(set(villages["village_code"].dropna().astype(str)))
    codes = out["village_code"].astype("string")
    for column in PATCH_STATUS_COLUMNS:
        mapped = codes.map(inside[column]) if len(inside) else pd.Series(pd.NA, index=out.index)
        out[column] = mapped.where(in_layer.to_numpy())
    key = ["village_code", "village_name"]
    sentinel = "\u0000"
    left = out.loc[~in_layer.to_numpy(), key].astype("string").fillna(sentinel)
    right = outside.assign(**{k: outside[k].astype("string").fillna(sentinel) for k in key})
    hits = left.reset_index().merge(right, on=key, how="inner").set_index("index")
    for column in PATCH_STATUS_COLUMNS:
        out.loc[hits.index, column] = hits[column]
    new = ~pd.MultiIndex.from_frame(right[key]).isin(pd.MultiIndex.from_frame(left))
    extra = right.loc[new]
    extra = extra.assign(**{k: extra[k].replace(sentinel, pd.NA) for k in key})
    if len(extra):
        out = pd.concat([out, extra], ignore_index=True)
    out[PATCH_STATUS_COLUMNS] = out[PATCH_STATUS_COLUMNS].fillna(0).astype("int64")
    return out


def read_village_patch_states(ws: Workspace, as_of: date) -> pd.DataFrame:
    """The patches' workflow rows at ``as_of`` (empty without a ``patches`` layer)."""
    from geoservice.workflow.patch_store import read_patch_states

    if "patches" not in ws.layer_names():
        return pd.DataFrame(
            columns=["village_code", "village_name", "state", "legality", "days_overdue"]
        )
    return read_patch_states(ws, as_of)
