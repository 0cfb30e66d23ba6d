"""Light map pages: a folium shell drawing vector tiles, coloured by a small status object.

The page holds no feature: each layer is a Leaflet.VectorGrid layer loading Mapbox Vector
Tiles from ``{tiles}/{layer}/{z}/{x}/{y}.mvt`` (the service's ``/tiles`` route, or a tile
folder written beside a standalone page), drawn as SVG so that a click on a feature opens
its popup. A tile is drawn 512 pixels wide, a zoom above the one it was cut for
(:data:`ZOOM_OFFSET`): a screen needs a quarter of the requests of 256-pixel tiles. Layer
``min_zoom`` values are map zooms. What changes with the workflow (a village's problem counts and colour, a
problem's state, a target's state) is not in the tiles' styling attributes alone but in a
status object: fetched from ``status_url`` (revalidated with its ETag every minute and the
tiles redrawn when it changed) or, for a standalone page, written into the page.

Status object: ``{"villages": {code: {"c": colour, <field>: text}}, "targets": {id: {...}},
"problems": {id: {...}}}``; a layer with ``listed`` draws only the features whose id is a
key of that part (a department's own targets), ``colour_from`` takes a feature's colour
from it, ``status_fields`` adds its fields to the popup.

Popups are built in the browser from the tile attributes (every attribute is escaped);
codes are turned into names with the ``names`` tables. Popup attributes come with the
detail zooms of the tiles (:data:`geoservice.tiles.specs.DETAIL_ZOOM`); below them a popup
shows the id and what colours the feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from layers.messages import Lang, pick
from maps import cartography, styles
from maps.basemaps import Basemap
from maps.render import base_map, fullscreen, legend

__all__ = ["STYLE_KINDS", "TiledLayer", "tiled_map"]

# How a layer is drawn: outline (village boundaries), fill (a colour per feature), point.
STYLE_KINDS = ("outline", "fill", "point")
NATIVE_MAX_ZOOM = 16  # tiles are cut up to this zoom; closer views stretch them
ZOOM_OFFSET = 1  # a tile of zoom z is drawn 512 pixels wide at map zoom z + 1


@dataclass(frozen=True)
class TiledLayer:
    """One vector tile layer of a page.

    Attributes
    ----------
    name : str
        Tile layer name (URL part and the MVT layer inside the tile).
    label : str
        Name in the layer control.
    id_field : str
        The attribute identifying a feature (the key of its status part).
    kind : {"outline", "fill", "point"}
    colour : str
        Colour when no rule below gives one.
    colour_field : str, optional
        Attribute whose value is looked up in ``colours``.
    colours : dict, optional
        Attribute value → colour.
    colour_from : str, optional
        Status part (``villages``, ``targets``, ``problems``) whose ``c`` colours a feature.
    listed : str, optional
        Status part: draw only the features listed there.
    class_styles : dict, optional
        Value of ``colour_field`` → Leaflet path options of that class (colour, dash),
        e.g. :func:`maps.styles.patch_style` of each change patch class.
    overlay_field : str, optional
        A second attribute whose value is looked up in ``overlay_styles``.
    overlay_styles : dict, optional
        Value of ``overlay_field`` → Leaflet path options laid over the class style (e.g.
        a change patch's edge by workflow state, :data:`maps.styles.PATCH_STAGE_STYLES`).
    only : tuple of (str, tuple), optional
        Draw only features whose attribute is one of the values (e.g. flagged parcels);
        values are compared as trimmed lower-case text.
    exclude : tuple of (str, tuple), optional
        Draw only features whose attribute is none of the values (compared as ``only``).
    style : dict, optional
        Leaflet path options over the kind's defaults (e.g. the white ring of a marker).
    show : bool
        On the map when the page opens (else only in the layer switch).
    pane : str, optional
        The map pane of the layer (default the tile pane).
    fields : dict
        Popup rows: attribute → label (none: the layer takes no click).
    status_fields : dict
        Popup rows from the status part ``colour_from`` or ``listed``: key → label.
    link : tuple of (str, str), optional
        ``(URL prefix, link text)``: the popup links to the prefix plus the feature's id.
    min_zoom : int
        The layer is drawn from this zoom (keeps the first view light).
    """

    name: str
    label: str
    id_field: str
    kind: str = "fill"
    colour: str = styles.UNKNOWN_COLOUR
    colour_field: str | None = None
    colours: dict[str, str] = field(default_factory=dict)
    colour_from: str | None = None
    listed: str | None = None
    class_styles: dict[str, dict[str, Any]] = field(default_factory=dict)
    overlay_field: str | None = None
    overlay_styles: dict[str, dict[str, Any]] = field(default_factory=dict)
    only: tuple[str, tuple[Any, ...]] | None = None
    exclude: tuple[str, tuple[Any, ...]] | None = None
    style: dict[str, Any] = field(default_factory=dict)
    show: bool = True
    pane: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    status_fields: dict[str, str] = field(default_factory=dict)
    link: tuple[str, str] | None = None
    min_zoom: int = 0


class _VectorTiles(MacroElement):
    """The script adding the tiled layers, the layer control and the status refresh."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }}, cfg = {{ this.config|tojson }};
          var status = cfg.status_data || {}, statusText = null, grids = [], overlays = {};
          function esc(v) {
            return String(v).replace(/[&<>"']/g, function(c) {
              return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
            });
          }
          function shown(key, v) {
            if (v === null || v === undefined || v === '') return '';
            var table = cfg.names[key];
            if (!table) return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v;
            return String(v).split(/[;,]/).map(function(s) { return s.trim(); })
              .filter(Boolean).map(function(s) { return table[s] || s; }).join(cfg.sep);
          }
          function part(l) { return status[l.colour_from || l.listed] || {}; }
          function colour(l, p) {
            var own = part(l)[p[l.id_field]];
            if (l.colour_from && own && own.c) return own.c;
            if (l.colour_field && l.colours[p[l.colour_field]]) return l.colours[p[l.colour_field]];
            return l.colour;
          }
          function norm(v) { return String(v).trim().toLowerCase(); }
          function among(rule, p) {
            var v = norm(p[rule[0]]);
            return rule[1].some(function(w) { return norm(w) === v; });
          }
          function baseStyle(l, p) {
            var c = colour(l, p), on = l.fields && Object.keys(l.fields).length > 0;
            if (l.kind === 'outline') return {color: c, weight: 1.5, fill: false};
            if (l.kind === 'point') {
              return {radius: 6, color: '#ffffff', weight: 1.5, fill: true, fillColor: c,
                      fillOpacity: 0.9, opacity: 1};
            }
            var own = l.colour_field && l.class_styles[p[l.colour_field]];
            var over = (l.overlay_field && l.overlay_styles[p[l.overlay_field]]) || {};
            if (own) return Object.assign({fill: true}, own, over);
            return Object.assign({color: c, weight: 2, fill: true, fillColor: c,
                                  fillOpacity: on ? 0.45 : 0.35}, over);
          }
          function styleOf(l) {
            return function(p) {
              if (l.listed && !(String(p[l.id_field]) in (status[l.listed] || {}))) return [];
              if (l.only && !among(l.only, p)) return [];
              if (l.exclude && among(l.exclude, p)) return [];
              return Object.assign(baseStyle(l, p), l.style);
            };
          }
          function popup(l, p) {
            var id = p[l.id_field], rows = [], own = part(l)[id] || {};
            Object.keys(l.fields).forEach(function(k) {
              var v = shown(k, p[k]);
              if (v !== '') rows.push('<tr><th>' + esc(l.fields[k]) + '</th><td>' + esc(v) + '</td></tr>');
            });
            Object.keys(l.status_fields).forEach(function(k) {
              if (own[k] !== undefined) rows.push('<tr><th>' + esc(l.status_fields[k]) + '</th><td>' + esc(own[k]) + '</td></tr>');
            });
            var html = '<table class="gs-popup">' + rows.join('') + '</table>';
            if (l.link) {
              html += '<a class="gs-popup-link" href="' + esc(l.link[0] + encodeURIComponent(id)) + '">' + esc(l.link[1]) + '</a>';
            }
            return html;
          }
          // 512-pixel tiles: the tile of zoom z - 1 drawn at zoom z (a quarter of the requests)
          var Grid = L.VectorGrid.Protobuf.extend({
            _getVectorTilePromise: function(c) {
              var url = L.point(c.x, c.y);
              url.z = c.z - cfg.zoom_offset;
              return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, url);
            }
          });
          function addLayers() {
            cfg.layers.forEach(function(l, i) {
              var styles = {}, on = Object.keys(l.fields).length > 0;
              styles[l.name] = styleOf(l);
              var g = new Grid(cfg.tiles.replace('{layer}', l.name), {
                rendererFactory: L.svg.tile, interactive: on, vectorTileLayerStyles: styles,
                tileSize: cfg.tile_size, minNativeZoom: cfg.zoom_offset,
                maxNativeZoom: cfg.native_max_zoom + cfg.zoom_offset, minZoom: l.min_zoom,
                zIndex: i + 1, pane: l.pane || 'tilePane', getFeatureId: function(f) { return f.properties[l.id_field]; }
              });
              if (on) {
                g.on('click', function(e) {
                  L.popup({maxWidth: 360}).setLatLng(e.latlng)
                    .setContent(popup(l, e.layer.properties)).openOn(map);
                });
              }
              if (l.show) g.addTo(map);
              grids.push(g);
              overlays[l.label] = g;
            });
            // folded on a phone, as the legend (added once the status came, after it)
            var narrow = window.matchMedia('(max-width: ' + cfg.narrow_px + 'px)').matches;
            L.control.layers(null, overlays, {collapsed: cfg.collapsed || narrow}).addTo(map);
          }
          function refresh(first) {
            return fetch(cfg.status_url, {credentials: 'same-origin', cache: 'no-cache'})
              .then(function(r) { return r.ok ? r.text() : null; })
              .then(function(text) {
                if (text === null || text === statusText) return;
                statusText = text;
                status = JSON.parse(text);
                if (!first) grids.forEach(function(g) { g.redraw(); });
              })
              .catch(function() { return null; });
          }
          window.gsTiledMap = {map: map, grids: grids, overlays: overlays, styleOf: styleOf,
                               layers: cfg.layers, status: function() { return status; }};
          if (cfg.status_url) {
            refresh(true).then(addLayers);
            setInterval(function() { refresh(false); }, 60000);
          } else {
            addLayers();
          }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "VectorTiles"
        self.config = config


_POPUP_CSS = (
    "<style>.gs-popup th{text-align:left;padding-right:8px;vertical-align:top;"
    "font-weight:normal;color:#555}.gs-popup td{vertical-align:top}"
    ".gs-popup-link{display:inline-block;margin-top:6px;font-weight:bold}</style>"
)


def tiled_map(
    layers: list[TiledLayer],
    bounds: tuple[float, float, float, float] | None,
    tiles: str,
    lang: Lang,
    *,
    status_url: str | None = None,
    status: dict[str, Any] | None = None,
    names: dict[str, dict[str, str]] | None = None,
    legend_blocks: list[str] | None = None,
    basemap: str | Basemap | None = None,
    caption: tuple[str, Sequence[tuple[str, date | str | None]]] | None = None,
) -> folium.Map:
    """A map page drawing ``layers`` from vector tiles.

    Parameters
    ----------
    layers : list of TiledLayer
        Drawn bottom to top (a layer in :data:`maps.cartography.TARGETS_PANE` above all).
    bounds : tuple, optional
        ``(west, south, east, north)`` in degrees (EPSG:4326) the map opens on.
    tiles : str
        Tile URL template with ``{layer}``, ``{z}``, ``{x}``, ``{y}`` (a site path such
        as ``/tiles/{layer}/{z}/{x}/{y}.mvt``, or a relative one beside a file).
    lang : {"zh", "en"}
    status_url : str, optional
        Where the page fetches the status object (same site; sent with its cookies).
    status : dict, optional
        The status object written into the page (a standalone page) instead.
    names : dict, optional
        Attribute → (code → name) tables for popups (e.g. department codes).
    legend_blocks : list of str, optional
        Legend fragments (:func:`maps.styles.legend_html`).
    basemap : maps.basemaps.Basemap or str, optional
        Basemap under the tiles (default none).
    caption : tuple, optional
        ``(title, [(label, date), ...])`` shown at the top (:func:`maps.cartography.caption`).
    """
    m = base_map(basemap, lang=lang)
    if any(layer.pane == cartography.TARGETS_PANE for layer in layers):
        cartography.targets_pane(m)
    if caption is not None:
        cartography.caption(m, caption[0], caption[1], lang)
    root: Any = m.get_root()
    root.header.add_child(folium.Element(_POPUP_CSS), name="gs_tiled_css")
    config = {
        "layers": [asdict(layer) for layer in layers],
        "tiles": tiles,
        "status_url": status_url,
        "status_data": status if status_url is None else None,
        "names": names or {},
        "sep": pick(lang, "、", ", "),
        "native_max_zoom": NATIVE_MAX_ZOOM,
        "tile_size": 256 * 2**ZOOM_OFFSET,
        "zoom_offset": ZOOM_OFFSET,
        "collapsed": False,
        "narrow_px": cartography.LEGEND_COLLAPSE_PX - 1,
    }
    m.add_child(_VectorTiles(config))
    if legend_blocks:
        legend(m, legend_blocks, lang)
    fullscreen(m, lang)
    if bounds is not None:
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]])
    return m
