"""Leaflet and its plugins as local files, installed from the npm registry at build time.

The files come from ``maps/assets/node_modules`` (``npm ci --prefix maps/assets``, pinned by
``maps/assets/package-lock.json``); nothing is copied into the repository. CSS is returned
with its relative ``url(...)`` images turned into ``data:`` URIs so that a page holding the
text inline needs no other file.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from layers.errors import MessageError
from layers.messages import Message

__all__ = [
    "ASSET_ROOT",
    "BUNDLES",
    "SERVED_BUNDLES",
    "TILED_BUNDLES",
    "Asset",
    "AssetsMissingError",
    "UnknownAssetError",
    "asset_files",
    "asset_text",
    "bundle",
    "bundle_names",
    "served_names",
    "served_text",
]

ASSET_ROOT = Path(__file__).with_name("assets")

# (bundle name, kind, path under node_modules), in the order a page must load them.
_FILES: tuple[tuple[str, str, str], ...] = (
    ("leaflet", "css", "leaflet/dist/leaflet.css"),
    ("leaflet", "js", "leaflet/dist/leaflet.js"),
    ("markercluster", "css", "leaflet.markercluster/dist/MarkerCluster.css"),
    ("markercluster", "css", "leaflet.markercluster/dist/MarkerCluster.Default.css"),
    ("markercluster", "js", "leaflet.markercluster/dist/leaflet.markercluster.js"),
    ("fullscreen", "css", "leaflet.fullscreen/dist/Control.FullScreen.css"),
    ("fullscreen", "js", "leaflet.fullscreen/dist/Control.FullScreen.umd.js"),
    ("search", "css", "leaflet-search/dist/leaflet-search.min.css"),
    ("search", "js", "leaflet-search/dist/leaflet-search.min.js"),
    ("vectorgrid", "js", "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"),
    ("geoman", "css", "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"),
    ("geoman", "js", "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js"),
    ("proj4", "js", "proj4/dist/proj4.js"),
)
# What a map holding its data (GeoJSON) loads, and what a map of vector tiles loads.
BUNDLES = ("leaflet", "markercluster", "fullscreen", "search")
TILED_BUNDLES = ("leaflet", "fullscreen", "vectorgrid")
# geoman: polygon drawing on the field capture pages; proj4: positions in the survey CRS.
SERVED_BUNDLES = (*BUNDLES, "vectorgrid", "geoman", "proj4")
_URL = re.compile(r"""url\(\s*(['"]?)(?!data:|#)([^'")]+)\1\s*\)""")


class AssetsMissingError(MessageError):
    """The npm packages holding Leaflet and its plugins are not installed."""


class UnknownAssetError(MessageError):
    """A served asset name that is not ``<bundle>.css`` or ``<bundle>.js``."""


@dataclass(frozen=True)
class Asset:
    """One JS or CSS file of a bundle."""

    bundle: str
    kind: str  # "js" or "css"
    path: Path


def _modules(root: Path | None) -> Path:
    return (root or ASSET_ROOT) / "node_modules"


def asset_files(root: Path | None = None) -> list[Asset]:
    """Every JS/CSS file the maps load, in load order.

    Parameters
    ----------
    root : pathlib.Path, optional
        The folder holding ``package.json`` and ``node_modules`` (default ``maps/assets``).

    Raises
    ------
    AssetsMissingError
        When a file is missing: ``npm ci --prefix maps/assets`` was not run.
    """
    modules = _modules(root)
    files = [Asset(b, k, modules / rel) for b, k, rel in _FILES]
    missing = [str(a.path) for a in files if not a.path.is_file()]
    if missing:
        shown = missing[0] + (f" (+{len(missing) - 1})" if len(missing) > 1 else "")
        raise AssetsMissingError(
            Message(
                "maps.assets_missing",
                f"地图所需的 Leaflet 脚本和样式文件不存在：{shown}；这些文件在构建时从 npm "
                f"安装，请在仓库目录运行 `npm ci --prefix maps/assets` 后重试。",
                f"The Leaflet script and style files the maps need are missing: {shown}; "
                f"they are installed from npm at build time: run "
                f"`npm ci --prefix maps/assets` in the repository folder and retry.",
            )
        )
    return files


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def asset_text(asset: Asset) -> str:
    """The file's text; for CSS, relative images inlined as ``data:`` URIs."""
    text = asset.path.read_text(encoding="utf-8")
    if asset.kind != "css":
        return text
    base = asset.path.parent

    def inline(match: re.Match[str]) -> str:
        target = (base / match.group(2).split("?")[0].split("#")[0]).resolve()
        return f'url("{_data_uri(target)}")' if target.is_file() else match.group(0)

    return _URL.sub(inline, text)


def bundle(names: tuple[str, ...] = BUNDLES, root: Path | None = None) -> tuple[str, str]:
    """The ``(css, js)`` text of the named bundles, concatenated in load order."""
    chosen = [a for a in asset_files(root) if a.bundle in names]
    css = "\n".join(asset_text(a) for a in chosen if a.kind == "css")
    js = "\n;\n".join(asset_text(a) for a in chosen if a.kind == "js")
    return css, js


def bundle_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The files ``<bundle>.css`` and ``<bundle>.js`` of the named bundles that have such
    files, in load order (``vectorgrid`` has no style sheet)."""
    kinds = {(b, k) for b, k, _ in _FILES}
    return tuple(f"{b}.{k}" for b in names for k in ("css", "js") if (b, k) in kinds)


def served_names() -> tuple[str, ...]:
    """The file names under which a service publishes the bundles, in load order.

    :func:`bundle_names` of :data:`SERVED_BUNDLES` (``leaflet.css``, ``leaflet.js``,
    ``markercluster.css``, …, ``vectorgrid.js``).
    """
    return bundle_names(SERVED_BUNDLES)


def served_text(name: str, root: Path | None = None) -> str:
    """The text served as ``name`` (e.g. ``markercluster.css``).

    The CSS or JS half of ``bundle((<bundle>,))``: every file of that bundle and kind in
    load order, CSS images inlined as ``data:`` URIs.

    Raises
    ------
    UnknownAssetError
        When ``name`` is not one of :func:`served_names`.
    AssetsMissingError
        When the npm files are not installed.
    """
    if name not in served_names():
        known = ", ".join(served_names())
        raise UnknownAssetError(
            Message(
                "maps.unknown_asset",
                f"地图资源文件名为“{name}”，不是已知的资源；可用：{known}。",
                f"Map asset {name!r} is not a known asset; expected one of: {known}.",
            )
        )
    stem, _, kind = name.rpartition(".")
    css, js = bundle((stem,), root)
    return css if kind == "css" else js
