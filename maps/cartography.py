"""Map furniture of the web maps: metric scale, title with the data date, north arrow,
a legend that collapses on a phone, and the pane that keeps targets above every layer.

Everything is written by this module as inline HTML, CSS, SVG and JavaScript (no CDN, no
image file), so a standalone page keeps loading nothing from the network. The maps are in
Web Mercator (EPSG:3857 display of EPSG:4326 data), where grid north is true north, so the
north arrow points straight up.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date

import folium
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode

from layers.messages import Lang, pick

__all__ = [
    "CARTOGRAPHY_CSS",
    "LEGEND_COLLAPSE_PX",
    "TARGETS_PANE",
    "TARGETS_PANE_Z",
    "caption",
    "caption_html",
    "date_text",
    "legend",
    "metric_scale",
    "north_arrow",
    "targets_pane",
    "targets_renderer",
]

# Below this viewport width (CSS pixels) the legend starts collapsed.
LEGEND_COLLAPSE_PX = 600
TARGETS_PANE = "gs-targets"
# Above markers (600) and cluster icons, below tooltips (650) and popups (700).
TARGETS_PANE_Z = 640

_NORTH_SVG = (
    '<svg viewBox="0 0 24 40" width="24" height="40" '
    'role="img" aria-label="{label}"><text x="12" y="11" text-anchor="middle" '
    'font-size="11" font-weight="bold" font-family="sans-serif" fill="#222">{letter}</text>'
    '<polygon points="12,13 20,38 12,32" fill="#222"/>'
    '<polygon points="12,13 4,38 12,32" fill="#fff" stroke="#222" stroke-width="1"/></svg>'
)

CARTOGRAPHY_CSS = f"""
.leaflet-top.gs-topcenter{{left:50%;transform:translateX(-50%);text-align:center}}
.gs-caption{{background:rgba(255,255,255,.92);border:1px solid #999;border-radius:4px;
padding:4px 10px;font:13px/1.35 sans-serif;color:#222;max-width:calc(100vw - 140px);
white-space:normal}}
.gs-caption-title{{font-weight:bold;font-size:15px}}
.gs-caption-date{{color:#444;font-size:12px}}
.gs-north{{background:rgba(255,255,255,.85);border-radius:4px;padding:2px 4px;line-height:0}}
.gs-legend{{padding:0}}
.gs-legend-toggle{{display:block;width:100%;border:0;background:#f5f5f5;cursor:pointer;
font:bold 12px/1.5 sans-serif;padding:4px 10px;text-align:left;border-radius:4px}}
.gs-legend-toggle:after{{content:" \\25BE"}}
.gs-legend-body{{padding:2px 10px 6px}}
.gs-legend.gs-collapsed .gs-legend-body{{display:none}}
.gs-legend.gs-collapsed .gs-legend-toggle:after{{content:" \\25B8"}}
.leaflet-{TARGETS_PANE}-pane > svg{{pointer-events:none}}
@media (max-width:{LEGEND_COLLAPSE_PX - 1}px){{
.gs-caption{{font-size:11px;padding:2px 6px;max-width:calc(100vw - 110px)}}
.gs-caption-title{{font-size:12px}}
.gs-legend{{max-height:40vh}}
}}
"""


def date_text(day: date | str | None, lang: Lang = "zh") -> str:
    """``YYYY-MM-DD`` of ``day`` (a date or text starting with one); 日期不详 when missing."""
    if day is None or (isinstance(day, str) and not day.strip()):
        return pick(lang, "日期不详", "date unknown")
    return day.isoformat() if isinstance(day, date) else str(day).strip()[:10]


def caption_html(title: str, dates: Sequence[tuple[str, date | str | None]], lang: Lang) -> str:
    """The title box: the title, then ``label：date`` for each of ``dates`` (escaped)."""
    sep = pick(lang, "：", ": ")
    lines = "".join(
        f'<div class="gs-caption-date">{html.escape(name)}{sep}'
        f"{html.escape(date_text(day, lang))}</div>"
        for name, day in dates
    )
    return f'<div class="gs-caption-title">{html.escape(title)}</div>{lines}'


class _Furniture(MacroElement):
    """A Leaflet control holding fixed HTML, in a corner (``topcenter`` is made here)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
          var map = {{ this._parent.get_name() }};
          if (!map._controlCorners.topcenter) {
            map._controlCorners.topcenter = L.DomUtil.create(
              'div', 'leaflet-top gs-topcenter', map._controlContainer);
          }
          var ctl = L.control({position: {{ this.position|tojson }}});
          ctl.onAdd = function(){
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
          };
          ctl.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, css_class: str, position: str) -> None:
        super().__init__()
        self._name = "Furniture"
        self.html = html_text
        self.css_class = css_class
        self.position = position


def caption(
    m: folium.Map, title: str, dates: Sequence[tuple[str, date | str | None]], lang: Lang
) -> None:
    """Add the title and data dates (top centre); the north arrow comes with
    :func:`maps.render.base_map`."""
    m.add_child(
        _Furniture(caption_html(title, dates, lang), "gs-caption leaflet-control", "topcenter")
    )


def north_arrow(m: folium.Map, lang: Lang) -> None:
    """Add an inline-SVG north arrow (bottom left; above the scale bar when added after it)."""
    svg = _NORTH_SVG.format(label=pick(lang, "指北针", "North arrow"), letter=pick(lang, "北", "N"))
    m.add_child(_Furniture(svg, "gs-north leaflet-control", "bottomleft"))


class _Scale(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 150, position: 'bottomleft'})
          .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def metric_scale(m: folium.Map) -> None:
    """Add a scale bar in metres and kilometres only (no miles or feet)."""
    m.add_child(_Scale())


class _Legend(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(){
          var ctl = L.control({position: 'bottomright'});
          ctl.onAdd = function(){
            var div = L.DomUtil.create('div', 'gs-legend leaflet-control');
            var button = L.DomUtil.create('button', 'gs-legend-toggle', div);
            button.type = 'button';
            button.textContent = {{ this.label|tojson }};
            var body = L.DomUtil.create('div', 'gs-legend-body', div);
            body.innerHTML = {{ this.html|tojson }};
            function show(open) {
              L.DomUtil[open ? 'removeClass' : 'addClass'](div, 'gs-collapsed');
              button.setAttribute('aria-expanded', open ? 'true' : 'false');
            }
            show(!window.matchMedia('(max-width: {{ this.narrow }}px)').matches);
            L.DomEvent.on(button, 'click', function(){
              show(L.DomUtil.hasClass(div, 'gs-collapsed'));
            });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          var map = {{ this._parent.get_name() }};
          ctl.addTo(map);
          if (!window.matchMedia('(max-width: {{ this.narrow }}px)').matches) { return; }
          // On a phone the layer switch (added after this script) starts folded too.
          setTimeout(function(){
            var layers = map.getContainer().querySelector('.leaflet-control-layers');
            if (!layers) { return; }
            var fold = function(){
              L.DomUtil.removeClass(layers, 'leaflet-control-layers-expanded');
            };
            fold();
            map.on('click', fold);
          }, 0);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, label: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html_text
        self.label = label
        self.narrow = LEGEND_COLLAPSE_PX - 1


def legend(m: folium.Map, blocks: list[str], lang: Lang) -> None:
    """Add the legend (bottom right) holding ``blocks``, behind a 图例/Legend button.

    It opens on a screen at least :data:`LEGEND_COLLAPSE_PX` pixels wide and starts
    collapsed on a narrower one (a phone); the button shows or hides it. On such a screen
    the layer switch starts folded as well (its button unfolds it, a map click folds it).
    """
    m.add_child(_Legend("".join(blocks), pick(lang, "图例", "Legend")))


def targets_pane(m: folium.Map) -> None:
    """Create the pane of the targets, above every marker, cluster and other layer.

    Its SVG lets clicks through where no target is drawn, so the layers below stay
    clickable.
    """
    folium.map.CustomPane(TARGETS_PANE, z_index=TARGETS_PANE_Z, pointer_events=True).add_to(m)


def targets_renderer() -> JsCode:
    """The Leaflet renderer option of a targets layer: SVG in :data:`TARGETS_PANE`.

    SVG, not canvas: a canvas over the map would take every click from the layers below.
    """
    return JsCode(f"L.svg({{pane: '{TARGETS_PANE}'}})")
