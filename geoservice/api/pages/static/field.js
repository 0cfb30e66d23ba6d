/* The one map of a problem or target page: shapes from the page, no tiles, no network. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var data = document.getElementById("map-data");
  if (!el || !data || !window.L) { return; }
  var shapes = JSON.parse(data.textContent);
  var fallback = el.querySelector(".map-fallback");
  if (fallback) { fallback.remove(); }
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.5 });
  var styles = {
    village: { color: "#4d5a4f", weight: 2, dashArray: "5 4", fill: false },
    target: { color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.25 },
    problem: { radius: 9, color: "#fff", weight: 3, fillColor: "#b3261e", fillOpacity: 1 }
  };
  var point = null;
  var layer = L.geoJSON(shapes, {
    style: function (f) { return styles[f.properties.kind] || styles.target; },
    pointToLayer: function (f, latlng) {
      point = latlng;
      return L.circleMarker(latlng, styles.problem);
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (!bounds.isValid()) { return; }
  if (point) {
    /* Mirror the corners across the point: the whole village shows, centred on the point. */
    var sw = bounds.getSouthWest(), ne = bounds.getNorthEast();
    bounds.extend([2 * point.lat - sw.lat, 2 * point.lng - sw.lng]);
    bounds.extend([2 * point.lat - ne.lat, 2 * point.lng - ne.lng]);
  }
  map.fitBounds(bounds, { padding: [8, 8], maxZoom: 16 });
  el.setAttribute("data-ready", "1");
})();
