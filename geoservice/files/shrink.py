"""A replace import never shrinks a layer by more than half unless asked to.

A truncated export, a file filtered to one village, or the wrong sheet looks like a
perfectly good file; imported with ``--mode replace`` it would quietly drop most of a
shared layer. :func:`check_shrink` refuses such an import with the counts and a sample of
what would disappear; ``--allow-shrink`` (``allow_shrink`` over the web) does it anyway.
"""

from __future__ import annotations

import pandas as pd

from geoservice.base.errors import ShrinkRefusedError, message
from layers.schema import schema_for

__all__ = ["check_shrink", "replaced_rows"]

_SAMPLE = 10


def replaced_rows(old: pd.DataFrame | None, kind: str, new: pd.DataFrame) -> pd.DataFrame:
    """The stored rows a ``replace`` import of ``new`` removes.

    The whole layer, except for parcels: only the forest/wetland kinds the new rows are
    of (the other kind stays).
    """
    if old is None:
        return pd.DataFrame()
    if kind != "parcels" or "kind" not in old.columns or "kind" not in new.columns:
        return old
    return old.loc[old["kind"].isin(new["kind"].dropna().unique()).to_numpy()]


def check_shrink(
    stored: pd.DataFrame, new: pd.DataFrame, kind: str, source: str, *, allow: bool
) -> None:
    """Refuse a replace that leaves fewer than half the rows it replaces.

    Parameters
    ----------
    stored : pandas.DataFrame
        The stored rows the import replaces (see :func:`replaced_rows`).
    new : pandas.DataFrame
        The rows the file brings (canonical columns).
    kind : str
        The layer.
    source : str
        The file, as shown to the user.
    allow : bool
        ``--allow-shrink``: replace anyway.

    Raises
    ------
    ShrinkRefusedError
        ``2 * len(new) < len(stored)`` and not ``allow``. The message gives both counts,
        the villages and ids that would disappear (first 10 of each) and the option.
    """
    if allow or 2 * len(new) >= len(stored):
        return
    schema = schema_for(kind)
    part = _part(stored, kind)
    ids_zh, ids_en = _lost(stored, new, schema.id_column)
    villages_zh, villages_en = _lost_villages(stored, new)
    raise ShrinkRefusedError(
        message(
            "import.shrink",
            f"按 replace 方式导入 {source} 会让“{schema.zh}”图层{part[0]}从 {len(stored)} 行"
            f"减少到 {len(new)} 行，不到原来的一半，未导入，工作空间未改变。"
            f"{villages_zh}{ids_zh}如文件不完整（导出中断、只导出了部分村或筛选后的结果），"
            "请取得完整的文件后重新导入；确需如此替换，请加 --allow-shrink"
            "（网页接口：allow_shrink=true）。",
            f"Importing {source} with mode replace would take the {schema.en} layer"
            f"{part[1]} from {len(stored)} rows to {len(new)}, less than half; nothing was"
            f" imported and the workspace is unchanged.{villages_en}{ids_en} If the file is"
            " incomplete (an interrupted export, only some villages, a filtered selection),"
            " get the complete file and import it again; to replace the layer with it"
            " anyway, add --allow-shrink (over the web: allow_shrink=true).",
        )
    )


def _part(stored: pd.DataFrame, kind: str) -> tuple[str, str]:
    """(zh, en) naming the forest/wetland part of parcels that is replaced."""
    if kind != "parcels" or "kind" not in stored.columns:
        return "", ""
    kinds = sorted(stored["kind"].dropna().astype(str).unique())
    words = {"forest": "森林", "wetland": "湿地"}
    zh = "、".join(words.get(k, k) for k in kinds)
    return f"中的{zh}小班", f" ({', '.join(kinds)} parcels)"


def _sample(values: pd.Series) -> tuple[str, str, int]:
    """The first 10 values joined for zh and en, and how many there are in all."""
    shown = values.head(_SAMPLE).tolist()
    return "、".join(shown), ", ".join(shown), len(values)


def _texts(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as text without missing values (empty when the frame lacks it)."""
    if column not in frame.columns:
        return pd.Series([], dtype="string")
    return frame[column].astype("string").dropna()


def _lost(stored: pd.DataFrame, new: pd.DataFrame, id_column: str) -> tuple[str, str]:
    """The ids of stored rows that the new rows do not carry, as (zh, en) sentences."""
    ids = _texts(stored, id_column).drop_duplicates()
    zh, en, n = _sample(ids[~ids.isin(_texts(new, id_column)).to_numpy()])
    if not n:
        return "", ""
    return f"将消失的编号：{zh}（共 {n} 个）。", f" Ids that would disappear: {en} ({n} in all)."


def _lost_villages(stored: pd.DataFrame, new: pd.DataFrame) -> tuple[str, str]:
    """The villages with stored rows and none in the new rows, as (zh, en) sentences."""
    codes = _texts(stored, "village_code")
    names = _texts(stored, "village_name").reindex(codes.index).fillna("")
    villages = pd.DataFrame({"code": codes, "name": names}).drop_duplicates("code")
    gone = villages.loc[~villages["code"].isin(_texts(new, "village_code")).to_numpy()]
    zh, en, n = _sample((gone["code"] + " " + gone["name"]).str.strip().sort_values())
    if not n:
        return "", ""
    return f"将消失的村：{zh}（共 {n} 个）。", f" Villages that would disappear: {en} ({n} in all)."
