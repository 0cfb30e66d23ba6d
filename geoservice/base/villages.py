"""The workspace's villages: reading the layer and resolving a village given by code or name.

A village is named by people in many forms (code, full name, name without 村); this is
the one place the service turns such a text into the village of the ``villages`` layer,
with the mechanism of :mod:`layers.attribution` (code, then name). Names that match
nothing are reported with the closest village names.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoservice.base.data_version import data_version
from geoservice.base.errors import NotFoundError, message
from geoservice.base.real_paths import real_path
from geoservice.base.workspace import Workspace
from geoservice.base.workspace_gate import gate
from layers.attribution import match_codes, match_names, suggest

__all__ = [
    "FILE_PARTS_ONLY",
    "match_villages",
    "read_villages",
    "resolve_village",
    "villages_in_degrees",
]

# The parts of data_version changed in place: left out, the rest tells a rewritten file.
FILE_PARTS_ONLY = ("problems", "contents", "complaints", "register", "patches")
_KEPT: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}  # (file, form): (version, frame)
_KEPT_ENTRIES = 32  # 16 files, each in both forms
_LOCK = threading.Lock()


def read_villages(ws: Workspace) -> pd.DataFrame:
    """``village_code`` and ``village_name`` of the villages layer (NotFoundError without it).

    Kept in memory per workspace file until the file is rewritten (an import or an
    analysis) or the layer is written in place (its ``gpkg_contents.last_change``).
    """

    def read() -> pd.DataFrame:
        frame = ws.read(
            "villages",
            use_arrow=False,
            columns=["village_code", "village_name"],
            read_geometry=False,
        )
        return frame.astype({"village_code": "string", "village_name": "string"})

    frame: pd.DataFrame = _kept(ws, "table", read)
    return frame.copy()


def villages_in_degrees(ws: Workspace) -> gpd.GeoDataFrame:
    """The villages layer (``village_code``, ``village_name``, geometry) in EPSG:4326,
    kept like :func:`read_villages`; shared between callers: read it, never change it.

    Every map page's first build for a scope read and projected the whole layer with
    GDAL (half the build at county scale, with the process's SQL connections to the file
    waiting meanwhile); a worker now does it once per version of the layer."""

    def read() -> gpd.GeoDataFrame:
        return ws.read("villages", columns=["village_code", "village_name"]).to_crs("EPSG:4326")

    frame: gpd.GeoDataFrame = _kept(ws, "degrees", read)
    return frame


def _kept(ws: Workspace, form: str, read: Callable[[], Any]) -> Any:
    """``read()`` of the villages layer in ``form``, kept per workspace file while the
    layer is the same (:func:`_layer_version`)."""
    key = _layer_version(ws.path)
    where = (real_path(ws.path), form)
    with _LOCK:
        hit = _KEPT.get(where)
    if key is not None and hit is not None and hit[0] == key:
        return hit[1]
    frame = read()
    if key is not None:
        with _LOCK:
            _KEPT.pop(where, None)
            _KEPT[where] = (key, frame)
            while len(_KEPT) > _KEPT_ENTRIES:
                del _KEPT[next(iter(_KEPT))]
    return frame


def _layer_version(path: Path) -> tuple[Any, ...] | None:
    """The file's identity and the villages layer's last change; None when unreadable."""
    identity = data_version(path, without=FILE_PARTS_ONLY)
    if identity is None:
        return None
    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        with (
            gate(Path(path)).sql(),
            contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as con,
        ):
            row = con.execute(
                "SELECT last_change FROM gpkg_contents WHERE table_name = 'villages'"
            ).fetchone()
    except sqlite3.Error:
        return None
    return (identity, row)


def match_villages(
    codes: pd.Series, names: pd.Series, villages: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """The village code of each row: by code, else by name (see :mod:`layers.attribution`).

    Returns
    -------
    matched : pandas.Series
        Village codes of the villages layer aligned to the input; ``<NA>`` when unmatched.
    unknown : pandas.DataFrame
        ``row`` (input index), ``village_name`` and ``suggestions`` (list) of every row
        with a name that matched no village (rows with neither code nor name are skipped).
    """
    matched = match_codes(codes, villages).fillna(match_names(names, villages))
    miss = matched.isna() & names.notna() & (names.astype("string").str.strip() != "")
    unknown = pd.DataFrame(
        {
            "row": names.index[miss.to_numpy()],
            "village_name": names[miss].astype(str).to_numpy(),
            "suggestions": [suggest(n, villages) for n in names[miss].astype(str)],
        }
    )
    return matched, unknown


def resolve_village(text: str, villages: pd.DataFrame) -> tuple[str, str]:
    """The (code, name) of the village given by code or name; NotFoundError with suggestions."""
    value = pd.Series([text], dtype="string")
    matched, _unknown = match_villages(value, value, villages)
    code = matched.iloc[0]
    if pd.isna(code):
        close = "、".join(suggest(text, villages)) or "无"
        raise NotFoundError(
            message(
                "workflow.unknown_village",
                f"村“{text}”不在工作空间的村界图层中；最接近的村名：{close}。请使用村界图层中的村名或村代码。",
                f"Village {text!r} is not in the workspace's villages layer; the closest names "
                f"are: {close.replace('、', ', ')}. Use a village name or code of that layer.",
            )
        )
    name = villages.loc[villages["village_code"] == code, "village_name"].iloc[0]
    return str(code), str(name)
