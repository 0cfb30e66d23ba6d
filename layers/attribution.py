"""Which village each row belongs to: by its code, by its name, or by its location.

Every row of every layer belongs to a village (``docs/design.md#village-attribution``).
Files give it in three ways, tried in this order against the villages layer:

1. **code**: a 12-digit village code (``layers.normalize`` has already turned the forms
   real files use, composed or full-length ``XIAN``/``XIANG``/``CUN`` and 19-character
   ``ZLDWDM``, into 12 digits);
2. **name**: the village name exactly, then without whitespace and a trailing 村 / 村委会 /
   居委会 / 社区, then a village name found inside a place text (“黄岗村石坑组”);
3. **location**: a point by the village polygon that contains it, a polygon by the village
   it overlaps most.

A row whose written village (code or name) and location disagree keeps the written one,
and the disagreement is reported. All of it is vectorised (STRtree bulk queries, pandas
maps and one regular expression over the distinct texts).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.codes import code_key
from layers.messages import Lang, Message

VILLAGE_BY: tuple[str, ...] = ("code", "name", "location", "none")
VILLAGE_BY_LABELS: dict[str, tuple[str, str]] = {
    "code": ("按代码", "by code"),
    "name": ("按村名", "by name"),
    "location": ("按位置", "by location"),
    "none": ("无村", "none"),
}
_SUFFIX = r"(?:村民委员会|居民委员会|村\(居\)委会|村委会|居委会|社区|村)$"
_LIST = 5


def name_key(names: pd.Series) -> pd.Series:
    """Names without whitespace, full-width forms read as ASCII, no trailing 村 / 村委会 / 社区."""
    s = names.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return s.str.replace(_SUFFIX, "", regex=True)


def suggest(name: str, villages: pd.DataFrame, n: int = 3) -> list[str]:
    """The village names of ``villages`` closest to ``name`` (difflib ratio)."""
    known = villages["village_name"].dropna().astype(str).tolist()
    return difflib.get_close_matches(str(name), known, n=n, cutoff=0.0)[:n]


def match_codes(codes: pd.Series, villages: pd.DataFrame) -> pd.Series:
    """Village codes of ``villages`` matching ``codes`` (leading zeros ignored); else ``<NA>``."""
    table = dict(zip(code_key(villages["village_code"]), villages["village_code"], strict=True))
    return code_key(codes.astype("string")).map(table).astype("string")


def _unique_map(keys: pd.Series, values: pd.Series) -> dict[str, str]:
    """``key → value`` for the keys that name one value only (ambiguous keys left out)."""
    frame = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy()}).dropna()
    frame = frame[frame["k"] != ""].drop_duplicates()
    unique = frame[~frame["k"].duplicated(keep=False)]
    return dict(zip(unique["k"], unique["v"], strict=True))


def match_names(names: pd.Series, villages: pd.DataFrame) -> pd.Series:
    """Village codes for free-form village names or place texts; ``<NA>`` when none.

    Exact names first, then name keys (:func:`name_key`), then the longest village name
    or key (two characters or more) found inside the text, when only one village has it.
    """
    text = names.astype("string").str.strip()
    text = text.where(text != "")
    exact = _unique_map(villages["village_name"].astype("string"), villages["village_code"])
    matched = text.map(exact).astype("string")
    keys = name_key(villages["village_name"])
    by_key = _unique_map(keys, villages["village_code"])
    matched = matched.fillna(name_key(text).map(by_key).astype("string"))
    todo = matched.isna() & text.notna()
    if todo.any():
        inside = {**by_key, **exact}
        words = sorted((w for w in inside if len(w) >= 2), key=len, reverse=True)
        if words:
            pattern = "(" + "|".join(re.escape(w) for w in words) + ")"
            distinct = pd.Series(text[todo].unique(), dtype="string")
            hit = distinct.str.normalize("NFKC").str.extract(pattern, expand=False)
            found = dict(zip(distinct, hit.map(inside), strict=True))
            matched = matched.mask(todo, text.map(found).astype("string"))
    return matched.astype("string")


def locate(geometry: gpd.GeoSeries, villages: gpd.GeoDataFrame) -> pd.Series:
    """Village code of each geometry by location; ``<NA>`` outside every village.

    Points (and lines) take the village that contains (touches) them, the first one in
    the villages layer when on a shared boundary; polygons the village they overlap most.
    ``geometry`` and ``villages`` must share a CRS.
    """
    out = pd.Series(pd.NA, index=geometry.index, dtype="string")
    geoms = np.asarray(geometry.array, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    vgeoms = np.asarray(villages.geometry.array, dtype=object)
    if not present.any() or not len(villages):
        return out
    rows = np.flatnonzero(present)
    tree = shapely.STRtree(vgeoms)
    left, right = tree.query(geoms[rows], predicate="intersects")
    if not len(left):
        return out
    score = np.zeros(len(left))
    counts = np.bincount(left, minlength=len(rows))
    shared = counts[left] > 1
    polygonal = np.isin(shapely.get_type_id(geoms[rows][left]), (3, 6))
    measure = shared & polygonal
    if measure.any():
        cut = shapely.intersection(geoms[rows][left[measure]], vgeoms[right[measure]])
        score[measure] = shapely.area(cut)
    # Largest overlap first; ties (and points) by the villages layer's order.
    order = np.lexsort((right, -score, left))
    first = order[np.r_[True, left[order][1:] != left[order][:-1]]]
    codes = villages["village_code"].astype("string").to_numpy()
    out.iloc[rows[left[first]]] = codes[right[first]]
    return out


@dataclass
class Attribution:
    """How the rows of one layer got their village.

    Attributes
    ----------
    counts : dict
        Rows per way (``code``, ``name``, ``location``, ``none``).
    disagreements : pandas.DataFrame
        ``label`` (the row's id), ``written`` and ``located`` village names of rows whose
        written village differs from the village at their location.
    unknown : pandas.DataFrame
        ``label``, ``given`` (code or name as written) and ``suggestions`` of rows whose
        written village is not in the villages layer.
    checked : bool
        Whether a villages layer was there to check against.
    """

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VILLAGE_BY, 0))
    disagreements: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown: pd.DataFrame = field(default_factory=pd.DataFrame)
    checked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": dict(self.counts),
            "disagreements": len(self.disagreements),
            "unknown": len(self.unknown),
        }

    def summary(self, lang: Lang = "zh") -> str:
        """One line: rows per way, e.g. ``按代码 120，按村名 3，按位置 30，无村 2``."""
        i = 1 if lang == "en" else 0
        sep = ", " if lang == "en" else "，"
        return sep.join(f"{VILLAGE_BY_LABELS[k][i]} {self.counts.get(k, 0)}" for k in VILLAGE_BY)

    def messages(self) -> list[Message]:
        """Warnings for the import report: disagreements and unknown villages."""
        out: list[Message] = []
        if len(self.disagreements):
            d = self.disagreements.head(_LIST)
            zh = "；".join(
                f"{r.label} 填写为{r.written}，位置在{r.located}" for r in d.itertuples()
            )
            en = "; ".join(
                f"{r.label}: written {r.written}, located in {r.located}" for r in d.itertuples()
            )
            n = len(self.disagreements)
            more_zh = f"等（共 {n} 行）" if n > _LIST else ""
            more_en = f" ({n} rows in all)" if n > _LIST else ""
            out.append(
                Message(
                    "villages.disagree",
                    f"{n} 行填写的村与其位置所在的村不一致，已按填写的村归属，请核对：{zh}{more_zh}。",
                    f"{n} rows name a village other than the one their location lies in; "
                    f"they keep the written village, please check: {en}{more_en}.",
                )
            )
        if len(self.unknown):
            u = self.unknown.drop_duplicates("given").head(_LIST)
            zh = "；".join(
                f"{r.given}（最接近：{'、'.join(r.suggestions) or '无'}）" for r in u.itertuples()
            )
            en = "; ".join(
                f"{r.given} (closest: {', '.join(r.suggestions) or 'none'})" for r in u.itertuples()
            )
            n = len(self.unknown)
            out.append(
                Message(
                    "villages.unknown",
                    f"{n} 行填写的村代码或村名不在村界图层中，且无法按位置归属：{zh}。"
                    "请改正村名、填写村代码或坐标后重新导入。",
                    f"{n} rows give a village code or name that is not in the villages layer "
                    f"and have no location inside a village: {en}. Correct the names, or give "
                    "village codes or coordinates, and import again.",
                )
            )
        return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype("string")
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _labels(frame: pd.DataFrame, id_column: str | None) -> pd.Series:
    if id_column and id_column in frame.columns:
        ids = frame[id_column].astype("string")
        return ids.fillna(pd.Series(frame.index.astype(str), index=frame.index, dtype="string"))
    return pd.Series([f"#{i + 1}" for i in range(len(frame))], index=frame.index, dtype="string")


def attribute_villages(
    frame: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None,
    *,
    id_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, Attribution]:
    """Give every row its village by code, by name, or by location.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        A canonical layer with ``village_code``/``village_name`` (missing values allowed)
        and optionally ``place`` (free text naming a place).
    villages : geopandas.GeoDataFrame or None
        The villages layer (``village_code``, ``village_name``, polygons), in any CRS (it
        is reprojected to ``frame``'s). None when the workspace has none: rows keep the
        code or name they give, unchecked.
    id_column : str, optional
        Column naming rows in messages.

    Returns
    -------
    (geopandas.GeoDataFrame, Attribution)
        ``frame`` aligned to its index, with ``village_code`` and ``village_name`` set to
        the village layer's values where a village was found, ``village_by`` saying how
        (``code``, ``name``, ``location`` or ``none``); CRS and other columns unchanged.
    """
    out = frame.copy()
    code = _column(frame, "village_code")
    name = _column(frame, "village_name")
    result = Attribution()
    if villages is None or not len(villages):
        by = pd.Series("none", index=frame.index, dtype="string")
        by = by.mask(name.notna(), "name").mask(code.notna(), "code")
        out["village_by"] = by
        result.counts = {k: int((by == k).sum()) for k in VILLAGE_BY}
        return out, result
    result.checked = True
    if frame.crs is not None and villages.crs is not None and villages.crs != frame.crs:
        villages = villages.to_crs(frame.crs)
    table = pd.DataFrame(
        {
            "village_code": villages["village_code"].astype("string"),
            "village_name": villages["village_name"].astype("string"),
        }
    )
    by_code = match_codes(code, table)
    by_name = match_names(name, table)
    place = _column(frame, "place").where(by_name.isna())  # only where the name did not tell
    by_name = by_name.fillna(match_names(place, table))
    by_name = by_name.where(by_code.isna())
    written = by_code.fillna(by_name)
    located = locate(frame.geometry, villages)
    final = written.fillna(located)
    by = pd.Series("none", index=frame.index, dtype="string")
    by = by.mask(located.notna(), "location")
    by = by.mask(by_name.notna(), "name").mask(by_code.notna(), "code")
    names = dict(zip(table["village_code"], table["village_name"], strict=False))
    found = final.notna()
    out["village_code"] = final.where(found, code)
    out["village_name"] = final.map(names).astype("string").where(found, name)
    out["village_by"] = by
    result.counts = {k: int((by == k).sum()) for k in VILLAGE_BY}
    labels = _labels(frame, id_column)
    given = code.where(code.notna(), name).fillna(_column(frame, "place"))
    # Written and located differ, or what is written names no village at all.
    differ = located.notna() & given.notna() & (written != located).fillna(True)
    result.disagreements = pd.DataFrame(
        {
            "label": labels[differ],
            "written": written[differ].map(names).astype("string").fillna(given[differ]),
            "located": located[differ].map(names),
        }
    )
    lost = ~found & given.notna()
    result.unknown = pd.DataFrame(
        {
            "label": labels[lost],
            "given": given[lost],
            "suggestions": given[lost].map(
                {
                    g: [] if str(g).isdigit() else suggest(str(g), table)
                    for g in given[lost].unique()
                }
            ),
        }
    )
    return out, result


__all__ = [
    "VILLAGE_BY",
    "VILLAGE_BY_LABELS",
    "Attribution",
    "attribute_villages",
    "locate",
    "match_codes",
    "match_names",
    "name_key",
    "suggest",
]
