"""Shared pieces of the map products: display preparation, controls, offline HTML.

Frames come in any CRS with a defined CRS; they are simplified in their projected CRS (metres)
and shown in EPSG:4326. CGCS2000 (EPSG:4490 and its projections) is taken as WGS84: the
difference is below a metre, invisible at display scale.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from layers.errors import MessageError
from layers.messages import Lang, Message
from maps.assets import BUNDLES, bundle, bundle_names
from maps.basemaps import Basemap, TileSpec
from maps.cartography import CARTOGRAPHY_CSS, metric_scale, north_arrow
from maps.cartography import legend as cartography_legend
from maps.styles import LEGEND_CSS

__all__ = [
    "ASSET_BASE",
    "MapInputError",
    "asset_urls",
    "base_map",
    "display_frame",
    "external_urls",
    "fit_to",
    "legend",
    "offline_html",
    "save_standalone",
    "search",
    "served_html",
]

# Where a service publishes the bundles of :func:`maps.assets.served_names`.
ASSET_BASE = "/static/maps"

# What a page loads by itself: attributes that fetch a resource, CSS ``url()``/``@import``,
# and the Leaflet layers that fetch tiles or images. Text (popups, tooltips, the GeoJSON
# data) is never fetched, so URLs in it are not assets.
_LOADING_ATTRS = frozenset({"src", "srcset", "imagesrcset", "poster", "data", "background"})
_CSS_URL = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
# folium writes these arguments as JSON strings (double quotes); a quote inside user text
# is escaped there, so the text of a feature can never close a string and match.
_LEAFLET_LOADER = re.compile(
    r'L\.(?:tileLayer(?:\.wms)?|imageOverlay|videoOverlay)\(\s*"([^"]*)"'
    r'|"?(?:iconUrl|iconRetinaUrl|shadowUrl)"?\s*:\s*"([^"]*)"'
)
# SVG elements that fetch what their ``href`` names.
_SVG_LOADERS = frozenset({"image", "use", "feimage"})
_OFF_SITE = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")
_HOSTED = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")
_DISPLAY_CRS = "EPSG:4326"


class MapInputError(MessageError):
    """A frame or option given to a map builder cannot be drawn."""


def _reprojected(frame: gpd.GeoDataFrame, name: str, tolerance_m: float) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise MapInputError(
            Message(
                "maps.no_crs",
                f"图层 {name} 没有坐标系，无法确定在地图上的位置；请先为其指定坐标系"
                f"（如 EPSG:4546 CGCS2000 / 3-degree Gauss-Kruger CM 114E）。",
                f"Layer {name} has no CRS, so its place on the map is unknown; set its CRS "
                f"first (e.g. EPSG:4546 CGCS2000 / 3-degree Gauss-Kruger CM 114E).",
            )
        )
    out = frame
    if frame.crs.is_projected and tolerance_m > 0:
        simple = shapely.simplify(frame.geometry.to_numpy(), tolerance_m, preserve_topology=True)
        out = frame.set_geometry(gpd.GeoSeries(simple, index=frame.index, crs=frame.crs))
    if out.crs.is_geographic:
        # CGCS2000 and other geographic datums differ from WGS84 by less than a metre.
        return out.set_crs(_DISPLAY_CRS, allow_override=True)
    return out.to_crs(_DISPLAY_CRS)


def display_frame(
    frame: gpd.GeoDataFrame,
    columns: dict[str, Any],
    name: str,
    tolerance_m: float = 2.0,
    decimals: int = 6,
) -> gpd.GeoDataFrame:
    """The frame as drawn: simplified, in EPSG:4326, rounded, only the given properties.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Any CRS (projected in metres, or geographic); empty geometries are dropped.
    columns : dict
        Output property name → array-like of values aligned to ``frame`` (display text).
    name : str
        Layer name for error messages.
    tolerance_m : float
        Simplification tolerance in metres (projected input only).
    decimals : int
        Decimal places of the degrees kept (6 ≈ 0.1 m).
    """
    shown = _reprojected(frame, name, tolerance_m)
    geoms = shapely.transform(shown.geometry.to_numpy(), lambda xy: np.round(xy, decimals))
    props = {k: list(v) for k, v in columns.items()}
    out = gpd.GeoDataFrame(props, geometry=list(geoms), crs=_DISPLAY_CRS, index=frame.index)
    keep = ~(out.geometry.isna() | out.geometry.is_empty)
    return out[keep.to_numpy()]


def geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """The frame as a GeoJSON FeatureCollection dict without ids or bbox."""
    data: dict[str, Any] = json.loads(frame.to_json(drop_id=True, ensure_ascii=False))
    return data


def base_map(
    tiles: str | Basemap | None = None, attribution: str | None = None, lang: Lang = "zh"
) -> folium.Map:
    """A canvas-rendered map with a metric scale bar and a north arrow above it; no basemap
    unless one is given.

    ``tiles`` is a :class:`~maps.basemaps.Basemap` or an XYZ URL template; ``lang`` the
    language of the north arrow's letter (北 or N).
    """
    m = folium.Map(location=(0, 0), zoom_start=2, tiles=None, prefer_canvas=True)
    metric_scale(m)
    north_arrow(m, lang)
    m.options["max_zoom"] = 20  # folium passes max_zoom to tiles only; clusters need it
    if isinstance(tiles, str):
        tiles = Basemap("xyz", (TileSpec(tiles, attribution or tiles),), online=False)
    for i, spec in enumerate(tiles.layers if tiles is not None else ()):
        folium.TileLayer(
            spec.url,
            attr=spec.attribution,
            name=f"basemap{i}",
            max_zoom=20,
            subdomains=spec.subdomains,
            overlay=spec.overlay,
            control=False,
        ).add_to(m)
    root: Any = m.get_root()  # a branca Figure
    root.header.add_child(
        Element(
            f"<style>{LEGEND_CSS}{CARTOGRAPHY_CSS}.leaflet-container{{background:#f4f1ea}}</style>"
        ),
        name="gs_styles",
    )
    return m


def fit_to(m: folium.Map, frame: gpd.GeoDataFrame) -> None:
    """Fit the map to the bounds of a display (EPSG:4326) frame."""
    if len(frame):
        x0, y0, x1, y1 = frame.total_bounds
        m.fit_bounds([[float(y0), float(x0)], [float(y1), float(x1)]])


def legend(m: folium.Map, blocks: list[str], lang: Lang = "zh") -> None:
    """Add the legend (bottom right) holding the given legend blocks, collapsed on a phone
    (:func:`maps.cartography.legend`)."""
    cartography_legend(m, blocks, lang)


class _Fullscreen(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.addControl(new L.Control.FullScreen({
            position: 'topleft', title: {{ this.title|tojson }},
            titleCancel: {{ this.cancel|tojson }}}));
        {% endmacro %}
        """
    )

    def __init__(self, title: str, cancel: str) -> None:
        super().__init__()
        self.title = title
        self.cancel = cancel


def fullscreen(m: folium.Map, lang: Lang) -> None:
    """Add the fullscreen button."""
    zh = lang != "en"
    m.add_child(_Fullscreen("全屏" if zh else "Full screen", "退出全屏" if zh else "Exit"))


class _Search(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
          var group = L.featureGroup([{{ this.layers|join(', ') }}]);
          var ctl = new L.Control.Search({
            layer: group, propertyName: 'search', marker: false, initial: false,
            textPlaceholder: {{ this.placeholder|tojson }}, textErr: {{ this.err|tojson }},
            position: 'topleft',
            moveToLocation: function(latlng, title, map) {
              if (latlng.layer && latlng.layer.getBounds) {
                map.fitBounds(latlng.layer.getBounds(), {maxZoom: 17});
              } else { map.setView(latlng, 17); }
            }
          });
          ctl.on('search:locationfound', function(e) {
            if (e.layer && e.layer.getPopup()) { e.layer.openPopup(); }
          });
          {{ this._parent.get_name() }}.addControl(ctl);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layers: list[str], placeholder: str, err: str) -> None:
        super().__init__()
        self.layers = layers
        self.placeholder = placeholder
        self.err = err


def search(m: folium.Map, layers: list[folium.GeoJson], placeholder: str, lang: Lang) -> None:
    """Search the ``search`` property of the features of ``layers`` (ids, village names)."""
    err = "未找到" if lang != "en" else "Not found"
    m.add_child(_Search([lay.get_name() for lay in layers], placeholder, err))


def _walk(element: Any) -> list[Any]:
    found = [element]
    for child in element._children.values():
        found.extend(_walk(child))
    return found


def _without_cdn(m: folium.Map) -> Any:
    """The root (a branca Figure) of ``m`` with every element's CDN lists emptied.

    folium adds ``<script src>``/``<link>`` tags for each element's ``default_js`` and
    ``default_css`` (CDN URLs); the pages here load the local npm files instead.
    """
    for element in _walk(m):
        if hasattr(element, "default_js"):
            element.default_js = []
            element.default_css = []
    return m.get_root()


def offline_html(m: folium.Map, bundles: tuple[str, ...] = BUNDLES) -> str:
    """The page of ``m`` with Leaflet and plugins (``bundles``) inlined and no CDN link."""
    root = _without_cdn(m)
    css, js = bundle(bundles)
    root.header.add_child(Element(f"<style>{css}</style>"), name="gs_vendor_css", index=0)
    root.header.add_child(Element(f"<script>{js}</script>"), name="gs_vendor_js", index=1)
    text: str = root.render()
    return text


def served_html(
    m: folium.Map, asset_base: str = ASSET_BASE, bundles: tuple[str, ...] = BUNDLES
) -> str:
    """The page of ``m`` loading Leaflet and plugins by URL from the serving site.

    The page references ``{asset_base}/<bundle>.css`` and ``{asset_base}/<bundle>.js`` for
    each bundle of :data:`maps.assets.BUNDLES` (``leaflet``, ``markercluster``,
    ``fullscreen``, ``search``; the texts of :func:`maps.assets.served_text`) and no CDN.

    Parameters
    ----------
    asset_base : str
        Path where the site serves the bundles, e.g. ``/static/maps`` (no host: the page
        holds no http(s) URL).
    bundles : tuple of str
        The bundles loaded (default :data:`maps.assets.BUNDLES`; a map of vector tiles
        loads :data:`maps.assets.TILED_BUNDLES`).

    Raises
    ------
    MapInputError
        When ``asset_base`` names a scheme or a host (``https://…``, ``//cdn…``).
    """
    if _OFF_SITE.match(asset_base):
        raise MapInputError(
            Message(
                "maps.absolute_asset_base",
                f"资源路径为“{asset_base}”，是一个外部网址；应为本站路径，例如 {ASSET_BASE}。",
                f"`asset_base` was {asset_base!r}, an external URL; it is expected to be a "
                f"path of the serving site such as {ASSET_BASE}.",
            )
        )
    base = html.escape(asset_base.rstrip("/"), quote=True)
    root = _without_cdn(m)
    names = bundle_names(bundles)
    tags = [f'<link rel="stylesheet" href="{base}/{n}">' for n in names if n.endswith(".css")]
    tags += [f'<script src="{base}/{n}"></script>' for n in names if n.endswith(".js")]
    root.header.add_child(Element("\n".join(tags)), name="gs_vendor_links", index=0)
    text: str = root.render()
    return text


class _Assets(HTMLParser):
    """Collects what an HTML page loads: resource attributes, CSS and Leaflet loaders."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            href = name in ("href", "xlink:href")
            if name in _LOADING_ATTRS or (href and tag in ("link", "base", *_SVG_LOADERS)):
                parts = value.split(",") if name.endswith("srcset") else [value]
                self.urls.extend(p.strip().split(" ")[0] for p in parts)
            elif name == "style":
                self.urls.extend(_matches(_CSS_URL, value))
        self._in = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.urls.extend(_matches(_CSS_URL, data))
        elif self._in == "script":
            self.urls.extend(_matches(_LEAFLET_LOADER, data))


def _matches(pattern: re.Pattern[str], text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in pattern.finditer(text)]


def asset_urls(text: str) -> list[str]:
    """The URLs an HTML page loads by itself, in page order.

    These are the ``src``/``srcset``/``poster``/``data`` attributes of any element, the
    ``href`` of ``<link>`` and ``<base>``, CSS ``url()`` and ``@import`` in ``<style>`` and
    ``style=""``, and the URLs given to Leaflet tile, WMS, image and video layers and icons.
    Text of the page (popups, tooltips, embedded GeoJSON, comments) is not an asset: it is
    shown, never fetched.
    """
    parser = _Assets()
    parser.feed(text)
    parser.close()
    return parser.urls


def external_urls(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The assets of an HTML page (:func:`asset_urls`) that another host would serve.

    A URL naming a host (``https://…``, ``//cdn…``, ``ftp://…``) is external unless it
    starts with one of the ``allowed`` prefixes (an intranet tile server the caller asked
    for); ``data:`` URIs and paths of the page's own site are not.
    """
    return [
        u
        for u in asset_urls(text)
        if _HOSTED.match(u) and not any(u.strip().startswith(a) for a in allowed)
    ]


def save_standalone(
    m: folium.Map,
    path: str | Path,
    allowed: tuple[str, ...] = (),
    bundles: tuple[str, ...] = BUNDLES,
) -> Path:
    """Write ``m`` as one self-contained HTML file that loads nothing from the network.

    ``allowed`` lists URL prefixes asked for explicitly (an XYZ tile server's URL template
    up to its first ``{``); any other asset on another host is refused. ``bundles`` are
    the Leaflet bundles inlined (a map of vector tiles: :data:`maps.assets.TILED_BUNDLES`).
    URLs in the text of the page (popups, tooltips, the GeoJSON data: complaint texts,
    village names) are shown, never loaded, so they never refuse a page; the map builders
    escape that text.

    Raises
    ------
    MapInputError
        If the page would load an asset from another host (:func:`external_urls`, e.g. an
        internet tile URL); nothing is written then.
    """
    text = offline_html(m, bundles)
    urls = external_urls(text, allowed)
    if urls:
        raise MapInputError(
            Message(
                "maps.external_url",
                f"独立地图文件中仍有外部网址 {urls[0]}，离线时无法加载；不要为独立文件设置"
                f"互联网底图，或改用内网瓦片服务。",
                f"The standalone map still holds the external URL {urls[0]}, which cannot "
                f"load offline; do not give an internet basemap to a standalone file, or "
                f"use an intranet tile server.",
            )
        )
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out
